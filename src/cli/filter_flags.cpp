#include "cli/filter_flags.h"

#include <stdexcept>
#include <utility>

namespace steadfast::cli {

bool FilterFlags::any() const {
  return !workflow.empty() || !status.empty() || !created_after.empty() || !created_before.empty() || !meta.empty();
}

engine::RunFilter FilterFlags::filter() const {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!workflow.empty()) pairs.emplace_back("workflow", workflow);
  if (!status.empty()) pairs.emplace_back("status", status);
  if (!created_after.empty()) pairs.emplace_back("created_after", created_after);
  if (!created_before.empty()) pairs.emplace_back("created_before", created_before);
  for (const std::string& kv : meta) {
    const std::size_t eq = kv.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--meta takes KEY=VALUE, not '" + kv.substr(0, 80) + "'");
    pairs.emplace_back("meta." + kv.substr(0, eq), kv.substr(eq + 1));
  }
  return engine::parse_run_filter(pairs);
}

void add_filter_options(CLI::App& cmd, FilterFlags& flags, bool with_status) {
  cmd.add_option("--workflow", flags.workflow, "Only runs of this workflow");
  if (with_status) cmd.add_option("--status", flags.status, "Only runs in this status (queued, running, ...)");
  cmd.add_option("--created-after", flags.created_after, "Only runs created after this RFC 3339 time");
  cmd.add_option("--created-before", flags.created_before, "Only runs created before this RFC 3339 time");
  cmd.add_option("--meta", flags.meta, "KEY=VALUE: only runs with this metadata pair (repeat for more)");
}

}  // namespace steadfast::cli
