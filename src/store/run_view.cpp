#include "store/run_view.h"

#include <charconv>
#include <stdexcept>

#include "engine/rfc3339.h"
#include "engine/run_metadata.h"
#include "engine/status.h"
#include "engine/waiting_for.h"
#include "redis/error.h"

namespace steadfast::store {

namespace {

std::int64_t to_int(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  if (it == f.end()) return 0;
  std::int64_t v = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return v;
}

std::string get(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  return it == f.end() ? std::string() : it->second;
}

// A limit_wait.lua note ("<worker>\t<attempt>\t<limiter>\t<key>") is the
// step's current attempt's: one left by a crashed worker or an earlier
// attempt is not shown.
bool limiter_wait_is_current(const std::string& note, const StepInfo& s) {
  const auto tab1 = note.find('\t');
  const auto tab2 = tab1 == std::string::npos ? std::string::npos : note.find('\t', tab1 + 1);
  if (tab2 == std::string::npos || note.find('\t', tab2 + 1) == std::string::npos) return false;
  return note.substr(0, tab1) == s.worker && note.substr(tab1 + 1, tab2 - tab1 - 1) == std::to_string(s.attempts);
}

Json parse_or_string(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json(text) : j;
}

// A step's finished attempts, derived from what the scripts already keep (no
// write on the hot path): the error history (each failed attempt, with its
// worker and outcome since schema 2) and, for a completed step, its last
// attempt's start, finish and worker.
// StepInfo::items of expanded map step `step` (lib.lua's "Map steps"):
// counted over the items started; the others wait.
Json map_items(const Fields& f, const std::string& step) {
  const std::string p = "s." + step + ".";
  const std::int64_t total = to_int(f, p + "n");
  const std::int64_t started = to_int(f, p + "next");
  std::int64_t completed = 0, failed = 0, running = 0;
  for (std::int64_t k = 0; k < started; ++k) {
    const std::string st = get(f, "s." + step + "[" + std::to_string(k) + "].status");
    completed += st == "completed" ? 1 : 0;
    failed += st == "failed" ? 1 : 0;
    running += st == "running" ? 1 : 0;
  }
  return {{"total", total},          {"completed", completed},
          {"failed", failed},        {"running", running},
          {"waiting", total - completed - failed - running},
          {"max_parallel", to_int(f, p + "mp")}};
}

Json attempt_history(const Fields& f, const std::string& p, const std::string& step_status, int attempts) {
  Json history = Json::array();
  const Json errors = Json::parse(get(f, p + "errors"), nullptr, false);
  if (errors.is_array()) {
    for (std::size_t i = 0; i < errors.size(); ++i) {
      const Json& e = errors[i];
      if (!e.is_object()) continue;
      engine::AttemptRecord r;
      r.attempt = e.value("attempt", 0);
      r.worker = e.value("worker", std::string());
      r.started_at = e.value("started_at", std::int64_t{0});
      r.finished_at = e.value("failed_at", std::int64_t{0});
      r.error = e.value("error", std::string());
      const std::string outcome = e.value("outcome", std::string());
      // Schema 1 kept no outcome: the last failure of a failed step failed it.
      const bool last_of_failed = step_status == "failed" && i + 1 == errors.size();
      r.outcome = outcome == "failed" || (outcome.empty() && last_of_failed) ? engine::AttemptOutcome::failed
                                                                            : engine::AttemptOutcome::retrying;
      history = engine::append_attempt(std::move(history), r);
    }
  }
  if (step_status == "completed") {
    engine::AttemptRecord r;
    r.attempt = attempts;
    r.worker = get(f, p + "worker");
    r.started_at = to_int(f, p + "started_at");
    r.finished_at = to_int(f, p + "finished_at");
    r.outcome = engine::AttemptOutcome::completed;
    history = engine::append_attempt(std::move(history), r);
  }
  return history;
}

// When the step's first attempt was claimed: the oldest failure's start (the
// error history keeps the latest 20, so a step that failed more often shows
// its 20th-latest), else the latest attempt's (s.<step>.started_at, written at
// every claim). 0 = never claimed.
std::int64_t first_started_at(const Fields& f, const std::string& p) {
  const Json errors = Json::parse(get(f, p + "errors"), nullptr, false);
  if (errors.is_array() && !errors.empty() && errors[0].is_object()) {
    const Json t = errors[0].value("started_at", Json());
    if (t.is_number() && t.get<double>() > 0) return t.get<std::int64_t>();
  }
  return to_int(f, p + "started_at");
}

}  // namespace

Fields to_fields(const redis::Reply& flat) {
  if (!flat.is_array() || flat.size() % 2 != 0) {
    throw redis::ProtocolError("expected a flat field/value array, got " + flat.debug_string());
  }
  Fields f;
  f.reserve(flat.size() / 2);
  for (std::size_t i = 0; i < flat.size(); i += 2) {
    f.emplace(std::string(flat[i].str()), std::string(flat[i + 1].str()));
  }
  return f;
}

std::string iso8601_ms(std::int64_t unix_ms) {
  if (unix_ms <= 0) return {};
  try {
    return engine::rfc3339_ms(unix_ms);
  } catch (const std::out_of_range&) {
    return {};  // past the year 9999: a corrupt field, shown as no time
  }
}

RunInfo to_run_info(std::string_view run_id, const Fields& f) {
  RunInfo run;
  run.id = std::string(run_id);
  run.workflow = get(f, "workflow");
  run.status = get(f, "status");
  run.created_at_ms = to_int(f, "created_at");
  run.updated_at_ms = to_int(f, "updated_at");
  run.run_at_ms = to_int(f, "run_at");
  run.deadline_at_ms = to_int(f, "deadline_at");
  run.input = parse_or_string(get(f, "input"));
  run.metadata = engine::stored_metadata(get(f, "metadata"));
  run.rerun_of = get(f, "rerun_of");
  run.rerun_from = get(f, "rerun_from");
  run.parent = get(f, "parent");
  run.parent_step = get(f, "parent_node");
  // The run's place on ordered queues (lua/lib.lua "Ordered queues"):
  // {"p": priority, "q": {queue: [key hash, weight, key value, aging ms]}}.
  const Json sched = Json::parse(get(f, "sched"), nullptr, false);
  if (sched.is_object() && sched.contains("p") && sched["p"].is_number_integer()) run.priority = sched["p"].get<int>();
  // A queued step whose token is still in its ordered queue's backlog
  // ("b:<member>"): it waits for its turn among the queue's keys.
  const auto backlog_wait = [&](const std::string& entry, const std::string& queue) -> std::optional<engine::WaitingFor> {
    if (!entry.starts_with("b:")) return std::nullopt;
    engine::WaitingFor w;
    w.kind = engine::WaitKind::fairness;
    w.queue = queue;
    if (sched.is_object() && sched.contains("q") && sched["q"].contains(queue) && sched["q"][queue].is_array() &&
        sched["q"][queue].size() > 2 && sched["q"][queue][2].is_string()) {
      w.key = sched["q"][queue][2].get<std::string>();
    }
    return w;
  };
  Json names = Json::parse(get(f, "steps"), nullptr, false);
  if (!names.is_array()) names = Json::array({get(f, "step")});
  // A graph run keeps every step's needs (lib.lua's "Graph runs"); a chain's
  // step needs the one before it.
  const Json graph = Json::parse(get(f, "graph"), nullptr, false);
  for (const auto& n : names) {
    if (!n.is_string()) continue;
    StepInfo s;
    s.name = n.get<std::string>();
    if (graph.is_object()) {
      if (const auto g = graph.find(s.name); g != graph.end() && g->is_array()) {
        for (const Json& need : *g) {
          if (need.is_string()) s.needs.push_back(need.get<std::string>());
        }
      }
    } else if (!run.steps.empty()) {
      s.needs.push_back(run.steps.back().name);
    }
    const std::string p = "s." + s.name + ".";
    if (auto st = get(f, p + "status"); !st.empty()) s.status = st;
    s.attempts = static_cast<int>(to_int(f, p + "attempts"));
    if (auto o = f.find(p + "output"); o != f.end()) s.output = parse_or_string(o->second);
    if (s.status != "completed" && s.status != "skipped") s.error = get(f, p + "error");
    s.worker = get(f, p + "worker");
    if (auto e = f.find(p + "errors"); e != f.end()) s.errors = parse_or_string(e->second);
    if (auto pr = get(f, p + "progress"); !pr.empty()) {
      double v = 0;
      if (std::from_chars(pr.data(), pr.data() + pr.size(), v).ec == std::errc()) s.progress = v;
    }
    s.message = get(f, p + "message");
    s.attempt_history = attempt_history(f, p, s.status, s.attempts);
    s.started_at_ms = first_started_at(f, p);
    if (s.status == "completed" || s.status == "skipped" || s.status == "failed") {
      s.finished_at_ms = to_int(f, p + "finished_at");
    } else if (s.status == "cancelled") {
      s.finished_at_ms = run.updated_at_ms;  // the cancel wrote the run's last update
    }
    if (f.count(p + "n") != 0) s.items = map_items(f, s.name);
    s.child = get(f, p + "child");
    run.steps.push_back(std::move(s));
  }
  std::vector<engine::NodeStatus> nodes;
  std::vector<std::optional<engine::WaitingFor>> waits;
  for (StepInfo& s : run.steps) {
    nodes.push_back({s.name, engine::parse_step_status(s.status).value_or(engine::StepStatus::pending)});
    std::optional<engine::WaitingFor> w;
    // A step handed back by a worker without its handler, while no live
    // worker on its queue has it (retry.lua's s.<step>.no_worker): it waits
    // for a worker, not for a time.
    const std::string no_worker = get(f, "s." + s.name + ".no_worker");
    // A retry's or parked step's due time: a graph run's node keeps its own
    // (retry.lua), a chain run keeps it at run level.
    const std::int64_t node_due = to_int(f, "s." + s.name + ".due_at");
    const std::int64_t due_at = node_due > 0 ? node_due : to_int(f, "due_at");
    const std::string entry = graph.is_object() ? get(f, "s." + s.name + ".entry")
                              : (get(f, "step") == s.name ? get(f, "entry") : std::string());
    if (auto in_backlog = backlog_wait(entry, get(f, "queue")); s.status == "queued" && in_backlog) {
      // Not in a stream yet: `waiting` (CONTRACTS §1) until a worker's feed moves it there.
      s.status = "waiting";
      if (!graph.is_object() && run.status == "queued") run.status = "waiting";
      w = std::move(in_backlog);
    } else if (s.status == "waiting" && run.status == "scheduled" && !iso8601_ms(run.run_at_ms).empty()) {
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::scheduled;
      w->until = run.run_at_ms;
    } else if (const std::string parked = get(f, "s." + s.name + ".parked");
               s.status == "waiting" && !parked.empty()) {
      // "<limiter>\t<key>" (retry.lua): parked outside every worker while
      // its limiter refuses it, asked again at due_at.
      const auto tab = parked.find('\t');
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::limiter;
      w->limiter = parked.substr(0, tab);
      if (tab != std::string::npos && tab + 1 < parked.size()) w->key = parked.substr(tab + 1);
      if (!iso8601_ms(due_at).empty()) w->until = due_at;
    } else if (s.status == "waiting" && !s.child.empty()) {
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::child;
      w->run_id = s.child;
    } else if (const std::string signal = get(f, "s." + s.name + ".signal");
               s.status == "waiting" && !signal.empty()) {
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::signal;
      w->signal = signal;
      if (const std::int64_t timeout = to_int(f, "s." + s.name + ".wake_at"); !iso8601_ms(timeout).empty()) {
        w->until = timeout;
      }
    } else if (const std::int64_t wake = to_int(f, "s." + s.name + ".wake_at");
               s.status == "waiting" && !iso8601_ms(wake).empty()) {
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::sleep;
      w->until = wake;
    } else if (const std::string limited = get(f, "s." + s.name + ".limiter_wait");
               s.status == "running" && !limited.empty() && limiter_wait_is_current(limited, s)) {
      // "<worker>\t<attempt>\t<limiter>\t<key>" (limit_wait.lua), of this attempt and worker.
      const auto tab1 = limited.find('\t');
      const auto tab2 = limited.find('\t', tab1 + 1);
      const auto tab3 = limited.find('\t', tab2 + 1);
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::limiter;
      w->limiter = limited.substr(tab2 + 1, tab3 - tab2 - 1);
      if (const std::string key = limited.substr(tab3 + 1); !key.empty()) w->key = key;
    } else if (s.status == "retrying" && !no_worker.empty()) {
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::no_worker;
      w->queue = no_worker;
    } else if (s.status == "retrying" && !iso8601_ms(due_at).empty()) {
      w = engine::WaitingFor{};
      w->kind = engine::WaitKind::retry;
      w->until = due_at;
    }
    s.waiting_for = engine::waiting_for_json(w);
    waits.push_back(std::move(w));
  }
  // A graph run's status field says only whether it ended or is scheduled
  // (its scripts leave it while other nodes run on): a live one's status is
  // derived from its nodes, by CONTRACTS §1's precedence.
  if (graph.is_object() && !is_terminal_status(run.status) && run.status != "scheduled") {
    std::vector<engine::StepStatus> statuses;
    for (const engine::NodeStatus& n : nodes) statuses.push_back(n.status);
    run.status = std::string(engine::to_string(engine::derive_run_status(statuses, engine::RunEnd::not_ended, false)));
  }
  if (!is_terminal_status(run.status)) run.current_steps = engine::current_steps(nodes);
  run.waiting_for = engine::waiting_for_json(engine::soonest(waits));
  return run;
}

}  // namespace steadfast::store

namespace steadfast {

namespace {
Json time_or_null(std::int64_t unix_ms) {
  const std::string t = store::iso8601_ms(unix_ms);
  return t.empty() ? Json(nullptr) : Json(t);
}
}  // namespace

bool is_terminal_status(std::string_view s) noexcept {
  return s == "completed" || s == "failed" || s == "cancelled";
}

Json to_json(const RunInfo& run) {
  Json steps = Json::array();
  for (const StepInfo& s : run.steps) {
    steps.push_back({{"name", s.name},
                     {"needs", s.needs},
                     {"status", s.status},
                     {"attempts", s.attempts},
                     {"started_at", time_or_null(s.started_at_ms)},
                     {"finished_at", time_or_null(s.finished_at_ms)},
                     {"worker", s.worker.empty() ? Json(nullptr) : Json(s.worker)},
                     {"output", s.output},
                     {"error", s.error.empty() ? Json(nullptr) : Json(s.error)},
                     {"progress", s.progress ? Json(*s.progress) : Json(nullptr)},
                     {"message", s.message.empty() ? Json(nullptr) : Json(s.message)},
                     {"errors", s.errors},
                     {"attempt_history", s.attempt_history},
                     {"waiting_for", s.waiting_for},
                     {"items", s.items},
                     {"child", s.child.empty() ? Json(nullptr) : Json(s.child)}});
  }
  return {{"id", run.id},
          {"workflow", run.workflow},
          {"status", run.status},
          {"created_at", store::iso8601_ms(run.created_at_ms)},
          {"updated_at", store::iso8601_ms(run.updated_at_ms)},
          {"run_at", time_or_null(run.run_at_ms)},
          {"deadline_at", time_or_null(run.deadline_at_ms)},
          {"input", run.input},
          {"metadata", run.metadata},
          {"current_steps", run.current_steps},
          {"waiting_for", run.waiting_for},
          {"rerun_of", run.rerun_of.empty() ? Json(nullptr) : Json(run.rerun_of)},
          {"rerun_from", run.rerun_from.empty() ? Json(nullptr) : Json(run.rerun_from)},
          {"parent", run.parent.empty() ? Json(nullptr) : Json{{"run_id", run.parent}, {"step", run.parent_step}}},
          {"priority", run.priority},
          {"steps", steps}};
}

Json to_json(const MapItemsPage& page) {
  Json items = Json::array();
  for (const MapItemInfo& i : page.items) {
    items.push_back({{"index", i.index},
                     {"status", i.status},
                     {"attempts", i.attempts},
                     {"output", i.output},
                     {"error", i.error.empty() ? Json(nullptr) : Json(i.error)},
                     {"child", i.child.empty() ? Json(nullptr) : Json(i.child)}});
  }
  return {{"total", page.total}, {"offset", page.offset}, {"items", std::move(items)}};
}

Json to_json(const DeadLetter& e) {
  return {{"id", e.id},         {"run_id", e.run_id}, {"workflow", e.workflow},
          {"step", e.step},     {"attempts", e.attempts}, {"error", e.error},
          {"errors", e.errors}, {"at", store::iso8601_ms(e.at_ms)}};
}

}  // namespace steadfast
