// `steadfast dlq list|replay|purge`: the dead-letter queue.
#include <iostream>

#include "cli/bulk_command.h"
#include "cli/common.h"
#include "cli/filter_flags.h"
#include "cli/text_table.h"
#include "cli/with_store.h"
#include "engine/quote.h"
#include "engine/run_filter.h"
#include "redis/client.h"
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
    // purge and replay --all: the shared run filter's flags (CONTRACTS.md §3).
    FilterFlags filter;
    bool yes = false;  // purge's confirmation
    bool all = false;  // replay every matching dead-lettered run (a bulk job)
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
  replay->add_option("id", a->id, "Dead-letter entry id or run id (any case)");
  replay->add_flag("--all", a->all,
                   "Replay every dead-lettered run matching the filter flags (all without them): a bulk job, "
                   "see `steadfast bulk`");
  add_filter_options(*replay, a->filter, false);
  replay->add_flag("--json", a->json, "With --all: print the finished job as JSON");
  replay->final_callback([a, options] {
    if (a->all) {
      if (!a->id.empty()) throw std::invalid_argument("give a dead-letter id or --all, not both");
      engine::BulkRequest request{engine::BulkAction::replay, a->filter.filter()};
      run_bulk(a->conn, request, a->json);
      return;
    }
    if (a->id.empty()) throw std::invalid_argument("give a dead-letter id (dlq list prints them) or --all");
    if (a->filter.any()) throw std::invalid_argument("the filter flags go with --all");
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
  add_filter_options(*purge, a->filter, false);
  purge->add_flag("--yes", a->yes, "Confirm: the runs are deleted for good");
  purge->final_callback([a] {
    const engine::RunFilter filter = a->filter.filter();
    if (!a->yes) {
      throw std::invalid_argument(std::string("dlq purge deletes ") +
                                  (filter.empty() ? "every dead-lettered run" : "the matching dead-lettered runs") +
                                  " for good: add --yes to confirm");
    }
    const std::size_t purged = with_store<std::size_t>(a->conn, [&](store::Store& st) -> asio::awaitable<std::size_t> {
      const std::size_t n = co_await st.dlq_purge(filter);
      co_await st.audit(store::local_actor("cli"), "dlq_purge", engine::run_filter_to_json(filter).dump(),
                        store::audit_detail("purged", n));
      co_return n;
    });
    std::cout << "purged " << purged << "\n";
  });
}

}  // namespace steadfast::cli
