// The shared run filter (CONTRACTS.md §3) as CLI flags: --workflow,
// --status, --meta KEY=VALUE (repeatable), --created-after, --created-before,
// for the commands that act on many runs (dlq purge, dlq replay --all,
// cancel --all).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "engine/run_filter.h"

namespace steadfast::cli {

struct FilterFlags {
  std::string workflow;
  std::string status;
  std::string created_after;
  std::string created_before;
  std::vector<std::string> meta;  // KEY=VALUE

  // True when any flag was given.
  [[nodiscard]] bool any() const;
  // Throws std::invalid_argument naming the flag (engine::parse_run_filter's checks).
  [[nodiscard]] engine::RunFilter filter() const;
};

// Adds the flags to `cmd`; --status only when `with_status`.
void add_filter_options(CLI::App& cmd, FilterFlags& flags, bool with_status);

}  // namespace steadfast::cli
