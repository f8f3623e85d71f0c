// The one run filter of CONTRACTS.md §3, wherever runs are selected (DLQ
// purge now; the run list, bulk cancel/replay and DLQ replay later): parsed
// once, here, from name/value pairs — a query string's, a JSON body's (with
// `meta` flattened to `meta.k`), or CLI flags'. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "steadfast/json.h"

namespace steadfast::engine {

struct RunFilter {
  std::string workflow;                      // empty = any
  // empty = any; a run status (CONTRACTS.md §1), or "live": every run not
  // ended (not completed, failed or cancelled).
  std::string status;
  std::map<std::string, std::string> meta;   // every pair must match; empty = any
  // Creation time bounds, Unix ms, both exclusive; nullopt = unbounded.
  std::optional<std::int64_t> created_after_ms;
  std::optional<std::int64_t> created_before_ms;

  // True when it selects every run.
  [[nodiscard]] bool empty() const noexcept {
    return workflow.empty() && status.empty() && meta.empty() && !created_after_ms && !created_before_ms;
  }
  friend bool operator==(const RunFilter&, const RunFilter&) = default;
};

// Whether a run with `run_status` passes the status filter `wanted`: any run
// when it is empty, one not ended when it is "live", else the same status.
[[nodiscard]] bool status_matches(std::string_view wanted, std::string_view run_status) noexcept;

// Parses `workflow`, `status`, `meta.<key>`, `created_after`, `created_before`
// (RFC 3339 timestamps, e.g. 2026-12-02T10:00:00Z or with an offset). Throws
// std::invalid_argument naming the field and what is wrong: an unknown name,
// a repeated one, an empty value, a bad workflow name, status, meta key or
// value (CONTRACTS.md §3 bounds), a bad timestamp, or created_after not before
// created_before.
[[nodiscard]] RunFilter parse_run_filter(const std::vector<std::pair<std::string, std::string>>& pairs);

// The same from a JSON object's members (`meta` an object of strings);
// members outside the filter are the caller's and are left alone.
[[nodiscard]] RunFilter run_filter_from_json(const Json& object);

// The filter as run_filter_from_json reads it back (only the conditions set;
// times as RFC 3339 with milliseconds): how a bulk job stores and shows it.
[[nodiscard]] Json run_filter_to_json(const RunFilter& filter);

// "2026-12-02T10:00:00.000Z" style RFC 3339 → Unix ms; nullopt if malformed.
[[nodiscard]] std::optional<std::int64_t> parse_rfc3339_ms(const std::string& text);

}  // namespace steadfast::engine
