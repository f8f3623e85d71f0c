// `steadfast stats` and `steadfast runs`: what the engine is doing, for operators.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "cli/common.h"
#include "cli/run_id_arg.h"
#include "cli/text_table.h"
#include "cli/with_store.h"
#include "engine/quote.h"
#include "engine/run_filter.h"
#include "engine/run_metadata.h"
#include "redis/client.h"
#include "store/config.h"
#include "store/explorer_view.h"
#include "store/run_id.h"
#include "store/run_view.h"
#include "store/series.h"
#include "store/store.h"

namespace steadfast::cli {

namespace asio = boost::asio;

namespace {

struct Snapshot {
  std::vector<store::Store::QueueDepth> queues;
  std::int64_t delayed = 0;
  std::int64_t dead = 0;
  std::map<std::string, std::int64_t> counters;
};

asio::awaitable<Snapshot> snapshot(store::Store& st) {
  Snapshot s;
  s.queues = co_await st.queue_depths();
  s.delayed = co_await st.delayed_count();
  s.dead = co_await st.dlq_count();
  s.counters = co_await st.counters();
  co_return s;
}

std::int64_t sum_prefix(const std::map<std::string, std::int64_t>& c, std::string_view prefix) {
  std::int64_t n = 0;
  for (const auto& [k, v] : c) {
    if (k.starts_with(prefix)) n += v;
  }
  return n;
}

}  // namespace

void register_stats(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("stats", "Queue depth, in flight, delayed, dead-letter, throughput");
    struct Args {
      Connection conn;
      bool json = false;
      double interval = 1.0;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_flag("--json", a->json, "Print JSON");
    cmd->add_option("--interval", a->interval, "Seconds between the two samples of the throughput")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 60.0));
    cmd->final_callback([a] {
      const auto interval = std::chrono::milliseconds(static_cast<long>(a->interval * 1000));
      auto [first, second] = with_store<std::pair<Snapshot, Snapshot>>(
          a->conn, [interval](store::Store& st) -> asio::awaitable<std::pair<Snapshot, Snapshot>> {
            Snapshot s1 = co_await snapshot(st);
            asio::steady_timer t(co_await asio::this_coro::executor, interval);
            co_await t.async_wait(asio::use_awaitable);
            co_return std::pair{s1, co_await snapshot(st)};
          });
      const double secs = static_cast<double>(interval.count()) / 1000.0;
      const double completed_per_s =
          static_cast<double>(sum_prefix(second.counters, "completed:") - sum_prefix(first.counters, "completed:")) / secs;
      const double submitted_per_s =
          static_cast<double>(sum_prefix(second.counters, "submitted:") - sum_prefix(first.counters, "submitted:")) / secs;
      std::int64_t entries = 0;
      std::int64_t pending = 0;
      Json queues = Json::array();
      for (const auto& q : second.queues) {
        entries += q.entries;
        pending += q.pending;
        entries += q.backlog;
        Json by_priority = Json::object();
        for (const auto& [level, n] : q.backlog_by_priority) by_priority[std::to_string(level)] = n;
        queues.push_back({{"queue", q.queue},
                          {"depth", q.entries - q.pending + q.backlog},
                          {"in_flight", q.pending},
                          {"backlog", q.backlog},
                          {"backlog_by_priority", by_priority},
                          {"active_keys", q.active_keys}});
      }
      // One object a script reads with `jq .totals.depth`: the queues' rows,
      // their totals, and the cumulative counters ("completed:<workflow>", ...).
      const Json totals = {{"depth", entries - pending},
                           {"in_flight", pending},
                           {"delayed", second.delayed},
                           {"dlq", second.dead},
                           {"throughput", completed_per_s},
                           {"submitted_per_s", submitted_per_s}};
      if (a->json) {
        std::cout << Json{{"queues", queues}, {"totals", totals}, {"counters", second.counters},
                          {"interval_s", secs}}
                         .dump()
                  << "\n";
        return;
      }
      TextTable table;
      table.add({"QUEUE", "DEPTH", "IN-FLIGHT", "BACKLOG BY PRIORITY", "KEYS"});
      for (const auto& q : second.queues) {
        // An ordered queue's backlog (part of DEPTH) by level, highest first: "9:3 5:120".
        std::string levels;
        for (auto it = q.backlog_by_priority.rbegin(); it != q.backlog_by_priority.rend(); ++it) {
          levels += (levels.empty() ? "" : " ") + std::to_string(it->first) + ":" + std::to_string(it->second);
        }
        table.add({q.queue, std::to_string(q.entries - q.pending + q.backlog), std::to_string(q.pending),
                   levels.empty() ? "-" : levels, q.active_keys > 0 ? std::to_string(q.active_keys) : "-"});
      }
      table.add({"(total)", std::to_string(entries - pending), std::to_string(pending), "", ""});
      table.print(std::cout);
      std::cout << "delayed (retrying): " << second.delayed << "\ndead-letter: " << second.dead
                << "\nthroughput: " << std::fixed << std::setprecision(1) << completed_per_s
                << " runs completed/s, " << submitted_per_s << " submitted/s\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("runs", "List runs, newest first (a page; --cursor for the next)");
    struct Args {
      Connection conn;
      std::string status;
      std::string workflow;
      std::vector<std::string> meta;
      std::string created_after;
      std::string created_before;
      std::string cursor;
      std::size_t limit = 50;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_option("--status", a->status, "Only runs with this status (queued, running, retrying, completed, ...; live: every run not ended)");
    cmd->add_option("--workflow", a->workflow, "Only runs of this workflow");
    cmd->add_option("--meta", a->meta, "Only runs with this metadata pair, KEY=VALUE (repeat for more)");
    cmd->add_option("--created-after", a->created_after, "Only runs created after this time (RFC 3339)");
    cmd->add_option("--created-before", a->created_before, "Only runs created before this time (RFC 3339)");
    cmd->add_option("--cursor", a->cursor,
                    "Continue below this run id, any case (the next page's cursor printed last)");
    cmd->add_option("--limit", a->limit, "At most this many")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", a->json, "One JSON object per line; the next page's cursor as {\"next_cursor\"}");
    cmd->final_callback([a] {
      std::vector<std::pair<std::string, std::string>> pairs;
      if (!a->status.empty()) pairs.emplace_back("status", a->status);
      if (!a->workflow.empty()) pairs.emplace_back("workflow", a->workflow);
      for (const std::string& m : a->meta) {
        auto [k, v] = engine::parse_metadata_pair(m);
        pairs.emplace_back("meta." + k, v);
      }
      if (!a->created_after.empty()) pairs.emplace_back("created_after", a->created_after);
      if (!a->created_before.empty()) pairs.emplace_back("created_before", a->created_before);
      const engine::RunFilter filter = engine::parse_run_filter(pairs);
      // The cursor is the run id an earlier page printed last, in any case.
      const std::string cursor = a->cursor.empty() ? "" : run_id_arg(a->cursor, "--cursor");
      const auto page = with_store<store::RunPage>(
          a->conn, [a, filter, cursor](store::Store& st) { return st.list_runs(filter, a->limit, cursor); });
      TextTable table;
      if (!a->json) table.add({"RUN", "STATUS", "WORKFLOW", "CREATED", "METADATA"});
      for (const auto& r : page.runs) {
        if (a->json) {
          std::cout << Json{{"id", r.id}, {"workflow", r.workflow}, {"status", r.status},
                            {"created_at", store::iso8601_ms(r.created_at_ms)},
                            {"updated_at", store::iso8601_ms(r.updated_at_ms)},
                            {"metadata", r.metadata}}
                           .dump()
                    << "\n";
        } else {
          std::string meta;
          for (const auto& [k, v] : r.metadata) meta += (meta.empty() ? "" : " ") + k + "=" + v;
          table.add({r.id, r.status, r.workflow, store::iso8601_ms(r.created_at_ms), meta});
        }
      }
      if (!a->json && !page.runs.empty()) table.print(std::cout);
      if (!page.next_cursor.empty()) {
        if (a->json) {
          std::cout << Json{{"next_cursor", page.next_cursor}}.dump() << "\n";
        } else {
          std::cout << "next page: --cursor " << page.next_cursor << "\n";
        }
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("workers", "List the registered workers (GET /v1/workers)");
    struct Args {
      Connection conn;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_flag("--json", a->json, "One JSON object per line");
    cmd->final_callback([a] {
      const auto workers =
          with_store<std::vector<Json>>(a->conn, [](store::Store& st) { return st.workers(); });
      TextTable table;
      if (!a->json) table.add({"WORKER", "HOST", "PID", "IN-FLIGHT", "QUEUES", "BEAT"});
      for (const Json& w : workers) {
        const Json r = store::worker_record(w);
        if (a->json) {
          std::cout << r.dump() << "\n";
          continue;
        }
        std::string queues;
        for (const Json& q : r["queues"]) queues += (queues.empty() ? "" : ",") + q.get<std::string>();
        table.add({r["id"].get<std::string>(), r["host"].get<std::string>(), r["pid"].dump(),
                   (r["in_flight"].is_number() ? std::to_string(r["in_flight"].get<int>()) : std::string("-")) + "/" +
                       std::to_string(r["concurrency"].get<int>()),
                   queues, r["beat_at"].get<std::string>()});
      }
      if (!a->json && !workers.empty()) table.print(std::cout);
    });
  }
  {
    auto* cmd = app.add_subcommand("limiters", "List the limiters with their bounds and state (GET /v1/limiters)");
    // A keyed limiter's three busiest keys this minute and the last:
    // "acme 120/3" = 120 admitted, 3 waits ("-" for none; --json has ten).
    const auto busiest = [](const store::Store::LimiterState& l) {
      std::string out;
      for (std::size_t i = 0; i < l.busiest_keys.size() && i < 3; ++i) {
        const auto& b = l.busiest_keys[i];
        if (!out.empty()) out += ", ";
        out += Json(b.key).dump() + " " + std::to_string(b.admitted_this_minute + b.admitted_last_minute) + "/" +
               std::to_string(b.waits_this_minute + b.waits_last_minute);
      }
      return out.empty() ? std::string("-") : out;
    };
    struct Args {
      Connection conn;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_flag("--json", a->json, "One JSON object per line");
    cmd->final_callback([a, busiest] {
      const auto limiters = with_store<std::vector<store::Store::LimiterState>>(
          a->conn, [](store::Store& st) { return st.limiters(); });
      TextTable table;
      if (!a->json) {
        table.add({"LIMITER", "BOUNDS", "TOKENS", "HOLDERS", "ADMITTED", "WAITS", "LAST-MINUTE", "PAUSED-UNTIL",
                   "BUSIEST-KEYS"});
      }
      for (const auto& l : limiters) {
        const Json r = store::to_json(l);
        if (a->json) {
          std::cout << r.dump() << "\n";
          continue;
        }
        const Json& recent = r["recent"];
        table.add({l.name, r["bounds"].dump(), r["tokens"].dump(), std::to_string(l.holders), std::to_string(l.admitted),
                   std::to_string(l.waits),
                   recent["admitted_last_minute"].dump() + " admitted, " + recent["waits_last_minute"].dump() + " waits",
                   r["paused_until"].is_null() ? "-" : r["paused_until"].get<std::string>(), busiest(l)});
      }
      if (!a->json && !limiters.empty()) table.print(std::cout);
    });
  }
  {
    auto* cmd = app.add_subcommand("audit", "Operator actions, newest first: cancel, replay, purge (GET /v1/audit)");
    struct Args {
      Connection conn;
      std::size_t limit = 50;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_option("--limit", a->limit, "At most this many")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", a->json, "One JSON object per line");
    cmd->final_callback([a] {
      const auto entries = with_store<std::vector<store::Store::AuditEntry>>(
          a->conn, [a](store::Store& st) { return st.audit_log(a->limit); });
      TextTable table;
      if (!a->json) table.add({"AT", "WHO", "ACTION", "TARGET", "DETAIL"});
      for (const auto& e : entries) {
        if (a->json) {
          std::cout << store::to_json(e).dump() << "\n";
        } else {
          table.add({store::iso8601_ms(e.at_ms), e.who, e.action, e.target, e.detail.dump()});
        }
      }
      if (!a->json && !entries.empty()) table.print(std::cout);
    });
  }
  {
    auto* cmd = app.add_subcommand("queues", "List the queues (GET /v1/queues); pause or resume one");
    struct Args {
      Connection conn;
      bool json = false;
      std::string queue;
    };
    auto a = std::make_shared<Args>();
    add_connection_options(*cmd, a->conn);
    cmd->add_flag("--json", a->json, "One JSON object per line");
    cmd->require_subcommand(0, 1);
    for (const bool pause : {true, false}) {
      auto* sub = cmd->add_subcommand(pause ? "pause" : "resume",
                                      pause ? "Workers take nothing new from the queue (within 1.25 s); submits go on"
                                            : "Workers take from the queue again");
      add_connection_options(*sub, a->conn);
      sub->add_option("queue", a->queue, "Queue name")->required();
      sub->final_callback([a, pause] {
        if (!is_valid_name(a->queue)) {
          throw std::invalid_argument("invalid queue name " + engine::quote(a->queue, 80) + " (1-64 of A-Z a-z 0-9 _ -)");
        }
        const bool known = with_store<bool>(a->conn, [a, pause](store::Store& st) -> asio::awaitable<bool> {
          bool k = false;  // (not `?:` over two co_awaits: GCC 12 miscompiles it)
          if (pause) {
            k = co_await st.pause_queue(a->queue);
          } else {
            k = co_await st.resume_queue(a->queue);
          }
          if (k) co_await st.audit(store::local_actor("cli"), pause ? "queue_pause" : "queue_resume", a->queue,
                                   Json::object());
          co_return k;
        });
        if (!known) {
          std::cerr << "steadfast: no queue '" << a->queue << "' (steadfast queues lists them)\n";
          std::exit(kExitFailed);
        }
        std::cout << (pause ? "paused " : "resumed ") << a->queue << "\n";
      });
    }
    cmd->final_callback([a, cmd] {
      if (!cmd->get_subcommands().empty()) return;  // pause or resume ran
      const auto rows = with_store<std::vector<Json>>(a->conn, [](store::Store& st) -> asio::awaitable<std::vector<Json>> {
        const auto depths = co_await st.queue_depths();
        const auto paused = co_await st.paused_queues();
        const auto workers = co_await st.workers();
        const std::int64_t now_minute = std::chrono::duration_cast<std::chrono::minutes>(
                                            std::chrono::system_clock::now().time_since_epoch()).count();
        const auto throughput = co_await store::recent_queue_throughput(st.client(), st.keys(), now_minute);
        co_return store::queue_records(depths, paused, workers, throughput);
      });
      TextTable table;
      if (!a->json) table.add({"QUEUE", "STATE", "WAITING", "IN-FLIGHT", "WORKERS", "PER-MINUTE"});
      for (const Json& r : rows) {
        if (a->json) {
          std::cout << r.dump() << "\n";
        } else {
          table.add({r["name"].get<std::string>(), r["paused"].get<bool>() ? "PAUSED" : "active", r["waiting"].dump(),
                     r["in_flight"].dump(), r["workers"].dump(),
                     r["throughput_per_minute"].is_null() ? "-" : r["throughput_per_minute"].dump()});
        }
      }
      if (!a->json && !rows.empty()) table.print(std::cout);
    });
  }
}

}  // namespace steadfast::cli
