#include "store/schedules.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "engine/quote.h"
#include "engine/rfc3339.h"
#include "engine/time_zone.h"
#include "steadfast/workflow.h"
#include "redis/checked.h"
#include "store/definition.h"
#include "redis/pipeline.h"
#include "store/run_id.h"
#include "store/run_order.h"
#include "store/scripts.h"

namespace steadfast::store {

namespace asio = boost::asio;
using redis::checked;
using redis::Reply;

namespace {

std::int64_t integer_or_zero(const Reply& r) {
  if (r.is_nil()) return 0;
  const std::string_view s = r.str();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : 0;
}

const char* const kStateFields[] = {"last",      "paused",       "paused_at", "last_run",       "last_tick",
                                    "last_trigger", "fired",     "triggered", "overlap_skipped"};

void add_state_read(redis::Pipeline& p, const KeySpace& keys, const std::string& name) {
  std::vector<std::string> argv{"HMGET", keys.schedule(name)};
  argv.insert(argv.end(), std::begin(kStateFields), std::end(kStateFields));
  p.add_argv(argv);
}

ScheduleState state_of(const Reply& r) {
  checked(r);
  ScheduleState s;
  if (!r[0].is_nil()) s.last = integer_or_zero(r[0]);
  s.paused = !r[1].is_nil() && r[1].str() == "1";
  s.paused_at = integer_or_zero(r[2]);
  if (!r[3].is_nil()) s.last_run = std::string(r[3].str());
  s.last_tick = integer_or_zero(r[4]);
  s.last_trigger = integer_or_zero(r[5]);
  s.fired = integer_or_zero(r[6]);
  s.triggered = integer_or_zero(r[7]);
  s.overlap_skipped = integer_or_zero(r[8]);
  return s;
}

// A run id in `partition` (the schedule's): the tick's run shares the slot of
// the schedule's state, so one script writes both.
std::string run_id_in(const KeySpace& keys, int partition) {
  std::string id = new_run_id();
  while (keys.partition_of(id) != partition) id = new_run_id();
  return id;
}

std::optional<ScheduleDefinition> parse_published(const std::string& name, std::string_view text) {
  try {
    return schedule_definition_from_json(name, Json::parse(text));
  } catch (const std::exception& e) {
    spdlog::warn("schedule {}: its published definition is unusable here ({}); skipped", name, e.what());
    return std::nullopt;
  }
}

}  // namespace

std::int64_t time_reply_ms(const Reply& time) {
  return integer_or_zero(time[0]) * 1000 + integer_or_zero(time[1]) / 1000;
}

asio::awaitable<std::int64_t> redis_now_ms(Store& store) {
  const Reply time = checked(co_await store.client().command("TIME"));
  co_return time_reply_ms(time);
}

ScheduleDefinition schedule_definition_of(const steadfast::Schedule& schedule) {
  const std::string what = "schedule " + engine::quote(schedule.name, 80);
  try {
    if (!is_valid_name(schedule.name)) throw std::invalid_argument("the name must match ^[A-Za-z0-9_-]{1,64}$");
    if (schedule.workflow.empty()) throw std::invalid_argument("it names no workflow");
    if (!schedule.input.is_object()) throw std::invalid_argument("its input must be a JSON object");
    (void)engine::parse_cron(schedule.cron);
    (void)engine::locate_time_zone(schedule.timezone);
    ScheduleDefinition d;
    d.name = schedule.name;
    d.workflow = schedule.workflow;
    d.cron = schedule.cron;
    d.timezone = schedule.timezone;
    d.input = schedule.input;
    d.catch_up = engine::parse_catch_up(schedule.catch_up);
    d.overlap = engine::parse_overlap(schedule.overlap);
    return d;
  } catch (const std::exception& e) {
    throw std::invalid_argument(what + ": " + e.what());
  }
}

Json to_json(const ScheduleDefinition& d) {
  return Json{{"workflow", d.workflow},
              {"cron", d.cron},
              {"timezone", d.timezone},
              {"input", d.input},
              {"catch_up", std::string(engine::to_string(d.catch_up))},
              {"overlap", std::string(engine::to_string(d.overlap))}};
}

ScheduleDefinition schedule_definition_from_json(std::string name, const Json& json) {
  if (!json.is_object()) throw std::invalid_argument("a schedule definition is a JSON object");
  const auto text = [&](const char* field) {
    const auto it = json.find(field);
    if (it == json.end() || !it->is_string()) {
      throw std::invalid_argument(std::string("the field '") + field + "' is missing or not a string");
    }
    return it->get<std::string>();
  };
  ScheduleDefinition d;
  d.name = std::move(name);
  d.workflow = text("workflow");
  d.cron = text("cron");
  d.timezone = text("timezone");
  d.input = json.value("input", Json::object());
  d.catch_up = engine::parse_catch_up(text("catch_up"));
  d.overlap = engine::parse_overlap(text("overlap"));
  return d;
}

Json to_json(const Schedule& schedule, std::int64_t now_ms) {
  const ScheduleDefinition& d = schedule.definition;
  const ScheduleState& st = schedule.state;
  const auto time_or_null = [](std::int64_t ms) { return ms > 0 ? Json(engine::rfc3339_ms(ms)) : Json(nullptr); };
  Json j = to_json(d);
  j["name"] = d.name;
  j["paused"] = st.paused;
  j["paused_at"] = st.paused ? time_or_null(st.paused_at) : Json(nullptr);
  Json next = Json::array();
  try {
    const engine::CronExpression cron = engine::parse_cron(d.cron);
    const date::time_zone* zone = engine::locate_time_zone(d.timezone);
    // Ticks after what was dealt with (a tick due but not fired yet shows too).
    engine::CronInstant after{std::chrono::milliseconds(std::min(now_ms, st.last.value_or(now_ms)))};
    for (int i = 0; i < kShownTicks; ++i) {
      const std::optional<engine::CronInstant> t = engine::next_tick(cron, zone, after);
      if (!t) break;
      next.push_back(engine::rfc3339_ms(t->time_since_epoch().count()));
      after = *t;
    }
  } catch (const std::exception& e) {
    j["error"] = e.what();
  }
  j["next_ticks"] = std::move(next);
  j["last_tick"] = time_or_null(st.last_tick);
  j["last_trigger"] = time_or_null(st.last_trigger);
  j["last_run"] = st.last_run.empty() ? Json(nullptr) : Json(st.last_run);
  j["runs_started"] = st.fired;
  j["triggered"] = st.triggered;
  j["overlap_skipped"] = st.overlap_skipped;
  return j;
}

engine::RunMetadata tick_metadata(const std::string& schedule, std::int64_t tick_ms, bool trigger) {
  return {{"schedule", schedule}, {trigger ? "trigger" : "tick", engine::rfc3339_ms(tick_ms)}};
}

asio::awaitable<std::size_t> publish_schedules(Store& store, const std::vector<ScheduleDefinition>& schedules,
                                               const std::vector<std::string>& file_workflows) {
  std::vector<std::string> args{Json(file_workflows).dump()};
  for (const ScheduleDefinition& d : schedules) {
    args.push_back(d.name);
    args.push_back(to_json(d).dump());
  }
  const std::vector<std::string> keys{store.keys().schedules()};
  const Reply r = checked(co_await store.client().eval(scripts::schedule_publish(), keys, args));
  co_return static_cast<std::size_t>(r.as_integer());
}

asio::awaitable<std::vector<ScheduleState>> read_schedule_states(Store& store, const std::vector<std::string>& names) {
  std::vector<ScheduleState> out;
  if (names.empty()) co_return out;
  redis::Pipeline p;
  for (const std::string& name : names) add_state_read(p, store.keys(), name);
  const std::vector<Reply> replies = co_await store.client().exec(std::move(p));
  for (const Reply& r : replies) out.push_back(state_of(r));
  co_return out;
}

asio::awaitable<std::vector<Schedule>> list_schedules(Store& store) {
  const Reply all = checked(co_await store.client().command("HGETALL", store.keys().schedules()));
  std::vector<Schedule> out;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
    std::optional<ScheduleDefinition> d = parse_published(std::string(all[i].str()), all[i + 1].str());
    if (d) out.push_back(Schedule{std::move(*d), {}});
  }
  std::sort(out.begin(), out.end(),
            [](const Schedule& a, const Schedule& b) { return a.definition.name < b.definition.name; });
  std::vector<std::string> names;
  for (const Schedule& s : out) names.push_back(s.definition.name);
  const std::vector<ScheduleState> states = co_await read_schedule_states(store, names);
  for (std::size_t i = 0; i < out.size(); ++i) out[i].state = states[i];
  co_return out;
}

asio::awaitable<std::optional<Schedule>> find_schedule(Store& store, const std::string& name) {
  const Reply r = checked(co_await store.client().command("HGET", store.keys().schedules(), name));
  if (r.is_nil()) co_return std::nullopt;
  std::optional<ScheduleDefinition> d = parse_published(name, r.str());
  if (!d) co_return std::nullopt;
  const std::vector<std::string> names{name};
  const std::vector<ScheduleState> states = co_await read_schedule_states(store, names);
  co_return Schedule{std::move(*d), states.front()};
}

namespace {

asio::awaitable<ScheduleChange> change_pause(Store& store, const std::string& name, std::string action) {
  // HGET, not HEXISTS: the ACL users of examples/redis-acl.conf have it.
  const Reply known = checked(co_await store.client().command("HGET", store.keys().schedules(), name));
  if (known.is_nil()) co_return ScheduleChange::missing;
  const std::vector<std::string> keys{store.keys().schedule(name)};
  const std::vector<std::string> args{action, name};
  const Reply r = checked(co_await store.client().eval(scripts::schedule_pause(), keys, args));
  co_return r.as_integer() == 1 ? ScheduleChange::changed : ScheduleChange::unchanged;
}

}  // namespace

asio::awaitable<ScheduleChange> pause_schedule(Store& store, const std::string& name) {
  co_return co_await change_pause(store, name, std::string("pause"));
}

asio::awaitable<ScheduleChange> resume_schedule(Store& store, const std::string& name) {
  co_return co_await change_pause(store, name, std::string("resume"));
}

asio::awaitable<TickResult> apply_tick(Store& store, const TickRequest& request) {
  using Mode = TickRequest::Mode;
  const KeySpace& keys = store.keys();
  const ScheduleDefinition& d = *request.definition;
  const ScheduleState& read = *request.read;
  const int partition = keys.schedule_partition(d.name);
  const std::string state_key = keys.schedule(d.name);

  std::string first_step;
  std::string first_queue;
  std::int64_t deadline_ms = 0;
  std::string graph;  // run_graph_of: '' for a chain
  std::string sched;  // run_sched: '' when the workflow uses no ordered queue
  Json steps = Json::array();
  if (request.mode != Mode::init) {
    const std::optional<Json> definition = co_await store.workflow_definition(d.workflow);
    if (!definition || !definition->contains("steps") || (*definition)["steps"].empty()) {
      co_return TickResult{TickResult::Outcome::no_workflow, {}};
    }
    for (const Json& st : (*definition)["steps"]) steps.push_back(st.at("name"));
    first_step = (*definition)["steps"][0].at("name").get<std::string>();
    first_queue = (*definition)["steps"][0].at("queue").get<std::string>();
    deadline_ms = definition->value("deadline_ms", std::int64_t{0});
    graph = run_graph_of(*definition);
    sched = run_sched(*definition, d.input, kDefaultPriority);
  }

  std::vector<std::string> k{state_key,
                             keys.queue(partition, first_queue.empty() ? "-" : first_queue),
                             keys.stats(partition),
                             keys.timers(partition),
                             keys.index_all(partition),
                             keys.index_workflow(partition, d.workflow),
                             keys.index_status(partition, "live"),
                             keys.index_meta(partition, "schedule", d.name),
                             read.last_run.empty() ? state_key : keys.run(read.last_run),
                             keys.deadlines(partition)};
  const char* mode = request.mode == Mode::tick ? "tick" : request.mode == Mode::init ? "init" : "trigger";
  std::vector<std::string> args{mode,
                                read.last ? std::to_string(*read.last) : std::string(),
                                std::to_string(request.new_last),
                                read.last_run,
                                std::string(engine::to_string(d.overlap)),
                                d.workflow,
                                first_step,
                                first_queue,
                                steps.dump(),
                                d.input.dump(),
                                d.name,
                                std::to_string(deadline_ms),
                                graph,
                                sched};
  const bool trigger = request.mode == Mode::trigger;
  for (std::int64_t tick : request.ticks) {
    const std::string run_id = run_id_in(keys, partition);
    const engine::RunMetadata metadata = tick_metadata(d.name, tick, trigger);
    k.push_back(keys.run(run_id));
    k.push_back(keys.index_meta(partition, trigger ? "trigger" : "tick", metadata.at(trigger ? "trigger" : "tick")));
    args.push_back(run_id);
    args.push_back(std::to_string(tick));
    args.push_back(Json(metadata).dump());
  }
  const Reply r = checked(co_await store.client().eval(scripts::schedule_tick(), k, args));
  TickResult result;
  const std::string_view what = r[0].str();
  if (what == "fired") {
    result.outcome = TickResult::Outcome::fired;
    for (std::size_t i = 1; i < r.size(); ++i) result.run_ids.emplace_back(r[i].str());
  } else if (what == "initialized") {
    result.outcome = TickResult::Outcome::initialized;
  } else if (what == "skipped") {
    result.outcome = TickResult::Outcome::skipped;
  } else if (what == "paused") {
    result.outcome = TickResult::Outcome::paused;
  } else {
    result.outcome = TickResult::Outcome::stale;
  }
  co_return result;
}

asio::awaitable<std::optional<TickResult>> trigger_schedule(Store& store, const std::string& name,
                                                            std::chrono::milliseconds retention) {
  // A stale answer means a tick or another operator moved the state between
  // the read and the script: read again (a few times; each race is a write
  // that happened, so this ends).
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::optional<Schedule> s = co_await find_schedule(store, name);
    if (!s) co_return std::nullopt;
    if (s->definition.overlap == engine::Overlap::cancel_previous && !s->state.last_run.empty()) {
      co_await store.cancel(s->state.last_run, retention);
    }
    const std::int64_t now = co_await redis_now_ms(store);
    TickRequest request;
    request.mode = TickRequest::Mode::trigger;
    request.definition = &s->definition;
    request.read = &s->state;
    request.new_last = now;
    request.ticks = {now};
    TickResult result = co_await apply_tick(store, request);
    if (result.outcome != TickResult::Outcome::stale) co_return result;
  }
  throw std::runtime_error("schedule " + name + " kept changing while it was triggered; try again");
}

}  // namespace steadfast::store
