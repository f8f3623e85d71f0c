// `steadfast dlq list|replay|purge`: the dead-letter queue.
#include <iostream>

#include "cli/common.h"
#include "cli/text_table.h"
#include "engine/run_filter.h"
#include "redis/client.h"
#include "engine/quote.h"
#include "steadfast/client.h"
#include "store/config.h"
#include "store/keys.h"
#include "store/run_id.h"
#include "store/store.h"

namespace steadfast::cli {

namespace asio = boost::asio;

void register_dlq(CLI::App& app) {
  auto* dlq = app.add_subcommand("dlq", "The dead-letter queue: runs whose step failed for good");
  dlq->require_subcommand(1);
  struct Args {
    Connection conn;
    std::string id;
    bool json = false;
    std::size_t limit = 100;
    // purge: the shared run filter's flags (CONTRACTS.md §3) and the confirmation.
    std::string workflow;
    std::string created_after;
    std::string created_before;
    std::vector<std::string> meta;  // KEY=VALUE
    bool yes = false;
  };
  auto a = std::make_shared<Args>();
  auto options = [a] { return client_options(a->conn); };
  auto* list = dlq->add_subcommand("list", "List dead-lettered runs");
  add_connection_options(*list, a->conn);
  list->add_flag("--json", a->json, "One JSON object per line");
  list->add_option("--limit", a->limit, "At most this many")->capture_default_str();
  list->final_callback([a, options] {
    Client client(options());
    const std::vector<DeadLetter> entries = client.dead_letters(a->limit);
    TextTable table;
    if (!a->json && !entries.empty()) table.add({"ENTRY", "RUN", "STEP", "ATTEMPTS", "ERROR"});
    for (const DeadLetter& d : entries) {
      if (a->json) {
        std::cout << to_json(d).dump() << "\n";
      } else {
        table.add({d.id, d.run_id, d.workflow + "/" + d.step, std::to_string(d.attempts), d.error});  // may echo run input
      }
    }
    if (!a->json) table.print(std::cout);
  });
  auto* replay = dlq->add_subcommand("replay", "Restart a dead-lettered run from its failed step");
  add_connection_options(*replay, a->conn);
  replay->add_option("id", a->id, "Dead-letter entry id or run id (any case)")->required();
  replay->final_callback([a, options] {
    // An entry id (1732749242001-0) as it is; anything else must be a run id.
    const std::string id = store::is_valid_stream_id(a->id) ? a->id : store::canonical_run_id(a->id);
    if (!store::is_valid_stream_id(id) && !store::is_valid_run_id(id)) {
      throw std::invalid_argument("invalid dead-letter id " + engine::quote(a->id, 80) +
                                  " (a dead-letter entry id such as 1732749242001-0, as dlq list prints, "
                                  "or a run id in any case)");
    }
    Client client(options());
    std::cout << client.replay(id) << "\n";
  });
  auto* purge = dlq->add_subcommand(
      "purge", "Delete dead-letter entries and their failed runs (those matching the filter; all without one)");
  add_connection_options(*purge, a->conn);
  purge->add_option("--workflow", a->workflow, "Only runs of this workflow");
  purge->add_option("--created-after", a->created_after, "Only runs created after this RFC 3339 time");
  purge->add_option("--created-before", a->created_before, "Only runs created before this RFC 3339 time");
  purge->add_option("--meta", a->meta, "KEY=VALUE: only runs with this metadata pair (repeat for more)");
  purge->add_flag("--yes", a->yes, "Confirm: the runs are deleted for good");
  purge->final_callback([a] {
    std::vector<std::pair<std::string, std::string>> pairs;
    if (!a->workflow.empty()) pairs.emplace_back("workflow", a->workflow);
    if (!a->created_after.empty()) pairs.emplace_back("created_after", a->created_after);
    if (!a->created_before.empty()) pairs.emplace_back("created_before", a->created_before);
    for (const std::string& kv : a->meta) {
      const std::size_t eq = kv.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--meta takes KEY=VALUE, not '" + kv + "'");
      pairs.emplace_back("meta." + kv.substr(0, eq), kv.substr(eq + 1));
    }
    const engine::RunFilter filter = engine::parse_run_filter(pairs);
    if (!a->yes) {
      throw std::invalid_argument(std::string("dlq purge deletes ") +
                                  (filter.empty() ? "every dead-lettered run" : "the matching dead-lettered runs") +
                                  " for good: add --yes to confirm");
    }
    asio::io_context io;
    redis::Client client(io.get_executor(), redis::Config::from_url(a->conn.redis_url));
    store::Store st(client, store::KeySpace(a->conn.key_prefix, a->conn.partitions));
    const std::size_t purged = run_sync(io, [&]() -> asio::awaitable<std::size_t> {
      struct Close {
        redis::Client& c;
        ~Close() { c.close(); }
      } close{client};
      co_await client.wait_connected();
      co_await store::check_config(client, st.keys());
      const std::size_t n = co_await st.dlq_purge(filter);
      Json target = Json::object();
      if (!filter.workflow.empty()) target["workflow"] = filter.workflow;
      if (!a->created_after.empty()) target["created_after"] = a->created_after;
      if (!a->created_before.empty()) target["created_before"] = a->created_before;
      if (!filter.meta.empty()) target["meta"] = filter.meta;
      co_await st.audit(store::local_actor("cli"), "dlq_purge", target.dump(), store::audit_detail("purged", n));
      co_return n;
    }());
    std::cout << "purged " << purged << "\n";
  });
}

}  // namespace steadfast::cli
