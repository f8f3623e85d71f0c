#include "cli/bulk_command.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <optional>

#include <unistd.h>

#include "cli/run_id_arg.h"
#include "cli/text_table.h"
#include "cli/with_store.h"
#include "engine/rfc3339.h"
#include "store/bulk.h"
#include "store/local_actor.h"
#include "store/store.h"

namespace steadfast::cli {

namespace asio = boost::asio;

namespace {

const char* done_word(engine::BulkAction action) {
  return action == engine::BulkAction::cancel ? "cancelled" : "replayed";
}

std::string summary(const store::BulkJob& job) {
  return "bulk job " + job.id + " " + job.status + ": " + std::to_string(job.matched) + " matched, " +
         std::to_string(job.succeeded) + " " + done_word(job.request.action) + ", " + std::to_string(job.skipped) +
         " skipped";
}

}  // namespace

void run_bulk(const Connection& conn, const engine::BulkRequest& request, bool json) {
  const store::BulkJob job = with_store<store::BulkJob>(conn, [&](store::Store& st) -> asio::awaitable<store::BulkJob> {
    const std::string who = store::local_actor("cli");
    const store::BulkJob made = co_await store::create_bulk_job(st, request, who);
    Json detail = store::audit_detail("action", std::string(engine::to_string(request.action)));
    detail["filter"] = engine::run_filter_to_json(request.filter);
    co_await st.audit(who, "bulk", made.id, std::move(detail));
    std::cerr << "bulk job " << made.id << " (" << engine::to_string(request.action) << " "
              << engine::run_filter_to_json(request.filter).dump() << ")\n";

    store::BulkRunOptions run;
    run.owner = who + ":" + std::to_string(::getpid());
    run.on_page = [](const store::BulkJob& j) { std::cerr << "  " << summary(j) << "\n"; };
    std::optional<store::BulkJob> held = co_await store::claim_bulk_job_by_id(st, made.id, run.owner);
    if (held) {
      const store::BulkRunEnd end = co_await store::run_bulk_job(st, *held, run);
      if (end == store::BulkRunEnd::done) co_return *held;
    }
    // A `serve` took it first (or over): follow it to its end.
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (;;) {
      std::optional<store::BulkJob> now = co_await store::read_bulk_job(st, made.id);
      if (!now) throw std::runtime_error("bulk job " + made.id + " is gone");
      if (now->status == "done" || now->status == "stopped") co_return *now;
      pause.expires_after(std::chrono::milliseconds(250));
      co_await pause.async_wait(asio::use_awaitable);
    }
  });
  if (json) {
    std::cout << store::to_json(job).dump() << "\n";
  } else {
    std::cout << summary(job) << (job.stopped_by.empty() ? "" : " (stopped by " + job.stopped_by + ")") << "\n";
  }
  if (job.status == "stopped") std::exit(kExitFailed);
}

void register_bulk(CLI::App& app) {
  auto* cmd = app.add_subcommand("bulk", "Show bulk jobs (cancel --all, dlq replay --all, POST /v1/runs:bulk): "
                                         "one by id, or the newest; bulk stop JOB stops one");
  struct Args {
    Connection conn;
    std::string id;
    std::size_t limit = 20;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_option("id", a->id, "A job id (any case); without it, the newest jobs");
  cmd->add_option("--limit", a->limit, "At most this many jobs")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", a->json, "One JSON object per job and line (as GET /v1/bulk/{id})");
  auto* stop = cmd->add_subcommand("stop", "Stop a bulk job: no more runs are acted on after the page in progress");
  add_connection_options(*stop, a->conn);
  stop->add_option("job", a->id, "The job id (any case)")->required();
  stop->final_callback([a] {
    const std::string id = run_id_arg(a->id, "bulk job id");
    const store::BulkStop result = with_store<store::BulkStop>(a->conn, [&](store::Store& st) -> asio::awaitable<store::BulkStop> {
      const std::string who = store::local_actor("cli");
      const store::BulkStop r = co_await store::stop_bulk_job(st, id, who);
      if (r == store::BulkStop::stopped) co_await st.audit(who, "bulk_stop", id, Json::object());
      co_return r;
    });
    if (result == store::BulkStop::missing) {
      std::cerr << "steadfast: no bulk job " << id << " (never made, or expired a week after it ended)\n";
      std::exit(kExitFailed);
    }
    if (result == store::BulkStop::ended) {
      std::cerr << "steadfast: bulk job " << id << " already ended: nothing to stop\n";
      std::exit(kExitFailed);
    }
    std::cout << "stopped " << id << "\n";
  });
  cmd->final_callback([a, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // stop ran
    const std::string id = a->id.empty() ? std::string() : run_id_arg(a->id, "bulk job id");
    using Jobs = std::vector<store::BulkJob>;
    const Jobs jobs = with_store<Jobs>(a->conn, [&](store::Store& st) -> asio::awaitable<Jobs> {
      if (id.empty()) co_return co_await store::recent_bulk_jobs(st, a->limit);
      std::optional<store::BulkJob> one = co_await store::read_bulk_job(st, id);
      Jobs out;
      if (one) out.push_back(std::move(*one));
      co_return out;
    });
    if (!id.empty() && jobs.empty()) {
      std::cerr << "steadfast: no bulk job " << id << " (never made, or expired a week after it ended)\n";
      std::exit(kExitFailed);
    }
    TextTable table;
    if (!a->json && !jobs.empty()) table.add({"JOB", "ACTION", "STATUS", "MATCHED", "DONE", "SKIPPED", "CREATED", "WHO", "FILTER"});
    for (const store::BulkJob& j : jobs) {
      if (a->json) {
        std::cout << store::to_json(j).dump() << "\n";
      } else {
        table.add({j.id, std::string(engine::to_string(j.request.action)), j.status, std::to_string(j.matched),
                   std::to_string(j.succeeded), std::to_string(j.skipped), engine::rfc3339_ms(j.created_at_ms), j.who,
                   engine::run_filter_to_json(j.request.filter).dump()});
      }
    }
    if (!a->json) table.print(std::cout);
  });
}

}  // namespace steadfast::cli
