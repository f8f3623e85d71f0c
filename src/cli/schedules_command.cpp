// `steadfast schedules [list] | pause NAME | resume NAME | trigger NAME`: the
// cron schedules the workflows files published (GET /v1/schedules and its
// POST routes, straight on Redis).
#include <iostream>

#include "cli/common.h"
#include "cli/text_table.h"
#include "cli/with_store.h"
#include "config/workflows_file.h"
#include "engine/quote.h"
#include "store/local_actor.h"
#include "store/schedules.h"
#include "store/store.h"

namespace steadfast::cli {

namespace asio = boost::asio;

namespace {

struct Args {
  Connection conn;
  bool json = false;
  std::string name;
  std::string retention = "168h";
};

void check_name(const std::string& name) {
  if (!is_valid_name(name)) {
    throw std::invalid_argument("invalid schedule name " + engine::quote(name, 80) + " (1-64 of A-Z a-z 0-9 _ -)");
  }
}

[[noreturn]] void unknown(const std::string& name) {
  std::cerr << "steadfast: no schedule '" << name << "' (steadfast schedules lists them)\n";
  std::exit(kExitFailed);
}

void list(const Args& a) {
  const auto rows = with_store<std::vector<Json>>(a.conn, [](store::Store& st) -> asio::awaitable<std::vector<Json>> {
    const std::vector<store::Schedule> schedules = co_await store::list_schedules(st);
    const std::int64_t now = co_await store::redis_now_ms(st);
    std::vector<Json> out;
    for (const store::Schedule& s : schedules) out.push_back(store::to_json(s, now));
    co_return out;
  });
  TextTable table;
  if (!a.json) table.add({"SCHEDULE", "WORKFLOW", "CRON", "TIMEZONE", "STATE", "NEXT", "LAST-TICK", "LAST-RUN", "RUNS"});
  for (const Json& r : rows) {
    if (a.json) {
      std::cout << r.dump() << "\n";
      continue;
    }
    const auto text_or_dash = [](const Json& j) { return j.is_string() ? j.get<std::string>() : std::string("-"); };
    table.add({r["name"].get<std::string>(), r["workflow"].get<std::string>(), r["cron"].get<std::string>(),
               r["timezone"].get<std::string>(), r["paused"].get<bool>() ? "PAUSED" : "active",
               r["next_ticks"].empty() ? (r.contains("error") ? "error: " + r["error"].get<std::string>() : "-")
                                       : r["next_ticks"][0].get<std::string>(),
               text_or_dash(r["last_tick"]), text_or_dash(r["last_run"]), r["runs_started"].dump()});
  }
  if (!a.json && !rows.empty()) table.print(std::cout);
  if (!a.json && rows.empty()) std::cout << "no schedules (a workflows file's `schedules:` section publishes them)\n";
}

}  // namespace

void register_schedules(CLI::App& app) {
  auto* cmd = app.add_subcommand("schedules", "List the cron schedules (GET /v1/schedules); pause, resume or trigger one");
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_flag("--json", a->json, "One JSON object per line");
  cmd->require_subcommand(0, 1);
  auto* ls = cmd->add_subcommand("list", "List them (the default)");
  add_connection_options(*ls, a->conn);
  ls->add_flag("--json", a->json, "One JSON object per line");
  ls->final_callback([a] { list(*a); });
  for (const bool pause : {true, false}) {
    auto* sub = cmd->add_subcommand(pause ? "pause" : "resume",
                                    pause ? "No tick fires until resumed (kept in Redis)"
                                          : "Ticks fire again, from now on (the paused ones are not caught up)");
    add_connection_options(*sub, a->conn);
    sub->add_option("name", a->name, "Schedule name")->required();
    sub->final_callback([a, pause] {
      check_name(a->name);
      const auto change = with_store<store::ScheduleChange>(
          a->conn, [a, pause](store::Store& st) -> asio::awaitable<store::ScheduleChange> {
            store::ScheduleChange c = store::ScheduleChange::missing;
            if (pause) {
              c = co_await store::pause_schedule(st, a->name);
            } else {
              c = co_await store::resume_schedule(st, a->name);
            }
            if (c != store::ScheduleChange::missing) {
              Json detail = Json::object();
              detail["changed"] = c == store::ScheduleChange::changed;
              co_await st.audit(store::local_actor("cli"), pause ? "schedule_pause" : "schedule_resume", a->name,
                                std::move(detail));
            }
            co_return c;
          });
      if (change == store::ScheduleChange::missing) unknown(a->name);
      std::cout << (pause ? "paused " : "resumed ") << a->name
                << (change == store::ScheduleChange::unchanged ? (pause ? " (it already was)" : " (it was not paused)")
                                                               : "")
                << "\n";
    });
  }
  auto* trigger = cmd->add_subcommand("trigger", "Start a run of the schedule now (paused or not; overlap applies)");
  add_connection_options(*trigger, a->conn);
  trigger->add_option("name", a->name, "Schedule name")->required();
  trigger->add_option("--retention", a->retention, "Retention of a run cancelled by overlap cancel_previous")
      ->capture_default_str();
  trigger->final_callback([a] {
    check_name(a->name);
    const auto retention = config::parse_duration(a->retention);
    const auto result = with_store<std::optional<store::TickResult>>(
        a->conn, [a, retention](store::Store& st) -> asio::awaitable<std::optional<store::TickResult>> {
          std::optional<store::TickResult> r = co_await store::trigger_schedule(st, a->name, retention);
          if (r && r->outcome == store::TickResult::Outcome::fired && !r->run_ids.empty()) {
            Json detail = Json::object();
            detail["run_id"] = r->run_ids.front();
            co_await st.audit(store::local_actor("cli"), "schedule_trigger", a->name, std::move(detail));
          }
          co_return r;
        });
    if (!result) unknown(a->name);
    if (result->outcome == store::TickResult::Outcome::no_workflow) {
      std::cerr << "steadfast: the schedule's workflow is not registered: no worker or server has started with it\n";
      std::exit(kExitFailed);
    }
    if (result->outcome != store::TickResult::Outcome::fired || result->run_ids.empty()) {
      std::cerr << "steadfast: the schedule's previous run is still live and its overlap is skip: nothing started\n";
      std::exit(kExitFailed);
    }
    std::cout << result->run_ids.front() << "\n";
  });
  cmd->final_callback([a, cmd] {
    if (cmd->get_subcommands().empty()) list(*a);
  });
}

}  // namespace steadfast::cli
