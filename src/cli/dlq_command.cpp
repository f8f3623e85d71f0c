// `steadfast dlq list|replay|purge`: the dead-letter queue.
#include <iostream>

#include "cli/common.h"
#include "engine/quote.h"
#include "steadfast/client.h"

namespace steadfast::cli {

void register_dlq(CLI::App& app) {
  auto* dlq = app.add_subcommand("dlq", "The dead-letter queue: runs whose step failed for good");
  dlq->require_subcommand(1);
  struct Args {
    Connection conn;
    std::string id;
    bool json = false;
    std::size_t limit = 100;
  };
  auto a = std::make_shared<Args>();
  auto options = [a] {
    ClientOptions o;
    o.redis_url = a->conn.redis_url;
    o.key_prefix = a->conn.key_prefix;
    o.partitions = a->conn.partitions;
    return o;
  };
  auto* list = dlq->add_subcommand("list", "List dead-lettered runs");
  add_connection_options(*list, a->conn);
  list->add_flag("--json", a->json, "One JSON object per line");
  list->add_option("--limit", a->limit, "At most this many")->capture_default_str();
  list->final_callback([a, options] {
    Client client(options());
    for (const DeadLetter& d : client.dead_letters(a->limit)) {
      if (a->json) {
        std::cout << to_json(d).dump() << "\n";
      } else {
        std::cout << d.id << "  run " << d.run_id << "  " << d.workflow << "/" << d.step
                  << "  attempts " << d.attempts << "  " << engine::printable(d.error) << "\n";  // may echo run input
      }
    }
  });
  auto* replay = dlq->add_subcommand("replay", "Restart a dead-lettered run from its failed step");
  add_connection_options(*replay, a->conn);
  replay->add_option("id", a->id, "Dead-letter entry id or run id")->required();
  replay->final_callback([a, options] {
    Client client(options());
    std::cout << client.replay(a->id) << "\n";
  });
  auto* purge = dlq->add_subcommand("purge", "Delete every dead-letter entry and its run");
  add_connection_options(*purge, a->conn);
  purge->final_callback([a, options] {
    Client client(options());
    std::cout << "purged " << client.purge_dead_letters() << "\n";
  });
}

}  // namespace steadfast::cli
