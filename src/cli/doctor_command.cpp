// `steadfast doctor`: checks invariant 1 — every live run holds exactly one
// token (a stream entry, a delayed-set member, or, for a failed run, a
// dead-letter entry) — and that no stream entry is left without its run.
#include <iostream>

#include "cli/common.h"
#include "redis/client.h"
#include "store/config.h"
#include "store/store.h"

namespace steadfast::cli {

namespace asio = boost::asio;

namespace {

struct Finding {
  std::string run_id;
  std::string problem;
  Json detail;
};

asio::awaitable<std::vector<Finding>> examine(store::Store& st, bool repair, std::size_t& runs) {
  std::vector<Finding> found;
  redis::Client& c = st.client();
  const auto& keys = st.keys();
  for (const std::string& id : co_await st.all_run_ids()) {
    store::RunTokens t = co_await st.run_tokens(id);
    if (t.status.empty()) continue;  // expired between SCAN and now
    ++runs;
    const int live = t.in_stream + t.in_delayed;
    std::string problem;
    if (t.status == "completed" || t.status == "cancelled") {
      if (live + t.in_dlq != 0) problem = "finished run still holds a token";
    } else if (t.status == "failed") {
      if (t.in_dlq != 1 || live != 0) problem = "failed run must be in the dead-letter queue only";
    } else if (live != 1 || t.in_dlq != 0) {
      problem = live == 0 ? "live run has no token (it would never finish)"
                          : "live run holds more than one token";
    }
    if (problem.empty()) continue;
    Json detail = {{"status", t.status}, {"in_stream", t.in_stream}, {"in_delayed", t.in_delayed},
                   {"in_dlq", t.in_dlq}, {"pending", t.pending}};
    if (repair && live == 0 && t.in_dlq == 0 &&
        (t.status == "queued" || t.status == "running" || t.status == "retrying")) {
      // Safe fix: give the run its token back at its current step (at-least-once).
      redis::Reply f = co_await c.command("HMGET", keys.run(id), "step", "queue", "base");
      const int p = keys.partition_of(id);
      redis::Reply nid = co_await c.command("XADD", keys.queue(p, f[1].str()), "*", "r", id, "s",
                                            f[0].str(), "a", f[2].is_nil() ? "0" : f[2].str());
      co_await c.command("HSET", keys.run(id), "status", "queued", "entry", nid.str());
      detail["repaired"] = "re-enqueued at step " + std::string(f[0].str());
    }
    found.push_back({id, problem, detail});
  }
  // Stream entries whose run does not point back at them.
  for (const std::string& q : co_await st.known_queues()) {
    for (int p = 0; p < keys.partitions(); ++p) {
      const std::string stream = keys.queue(p, q);
      std::string from = "-";
      for (;;) {
        redis::Reply page = co_await c.command("XRANGE", stream, from, "+", "COUNT", 500);
        if (page.size() == 0) break;
        redis::Pipeline look;
        std::vector<std::pair<std::string, std::string>> entries;
        for (const redis::Reply& e : page.elements()) {
          std::string run;
          for (std::size_t k = 0; k + 1 < e[1].size(); k += 2) {
            if (e[1][k].str() == "r") run = std::string(e[1][k + 1].str());
          }
          entries.emplace_back(std::string(e[0].str()), run);
          look.add("HGET", keys.run(run), "entry");
        }
        auto owners = co_await c.exec(std::move(look));
        for (std::size_t i = 0; i < entries.size(); ++i) {
          if (!owners[i].is_nil() && owners[i].str() == entries[i].first) continue;
          Json detail = {{"stream", stream}, {"entry", entries[i].first}};
          if (repair) {
            redis::Pipeline pending;
            pending.add("XPENDING", stream, store::kGroup, entries[i].first, entries[i].first, 1);
            auto pr = co_await c.exec(std::move(pending));
            if (pr[0].is_array() && pr[0].size() == 0) {
              co_await c.command("XDEL", stream, entries[i].first);
              detail["repaired"] = "deleted the orphan entry";
            }
          }
          found.push_back({entries[i].second, "stream entry not held by its run (orphan token)", detail});
        }
        from = "(" + std::string(page[page.size() - 1][0].str());
      }
    }
  }
  co_return found;
}

}  // namespace

void register_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "doctor", "Check that every live run holds exactly one token; exit 1 listing offenders");
  struct Args {
    Connection conn;
    bool repair = false;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_flag("--repair", a->repair,
                "Apply safe fixes: re-enqueue live runs with no token, delete undelivered orphan entries");
  cmd->add_flag("--json", a->json, "Print a JSON report");
  cmd->final_callback([a] {
    asio::io_context io;
    redis::Client client(io.get_executor(), redis::Config::from_url(a->conn.redis_url));
    store::Store st(client, store::KeySpace(a->conn.key_prefix, a->conn.partitions));
    std::size_t runs = 0;
    auto found = run_sync(io, [&]() -> asio::awaitable<std::vector<Finding>> {
      struct Close {
        redis::Client& c;
        ~Close() { c.close(); }
      } close{client};
      co_await client.wait_connected();
      co_await store::check_config(client, st.keys());
      co_return co_await examine(st, a->repair, runs);
    }());
    if (a->json) {
      Json list = Json::array();
      for (const auto& f : found) list.push_back({{"run", f.run_id}, {"problem", f.problem}, {"detail", f.detail}});
      std::cout << Json{{"runs", runs}, {"offenders", list}}.dump() << "\n";
    } else {
      for (const auto& f : found) {
        std::cout << "run " << f.run_id << ": " << f.problem << " " << f.detail.dump() << "\n";
      }
      std::cout << "checked " << runs << " runs: " << found.size() << " offender(s)\n";
    }
    if (!found.empty()) std::exit(kExitFailed);
  });
}

}  // namespace steadfast::cli
