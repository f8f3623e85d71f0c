// Cron schedules in Redis (issue 15, item 2): schedule_tick.lua creates a
// tick's run and advances the schedule in one script fenced by the state the
// caller read, so two schedulers racing for a tick make one run;
// schedule_pause.lua; schedule_publish.lua's per-workflow replacement; and a
// Scheduler pass end to end. Ticks are made due by writing the stored `last`
// back, never waited for.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "store/keys.h"
#include "store/scheduler.h"
#include "store/schedules.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;

class Schedules : public RedisTest {
 protected:
  redis::Client& c = make_client();
  KeySpace keys{"sf", 3};  // three partitions: the runs must land in the schedule's
  Store st{c, keys, "w1"};

  void SetUp() override {
    RedisTest::SetUp();
    for (int p = 0; p < keys.partitions(); ++p) run(st.ensure_group(p, "default"));
    run(st.register_workflow("wf", Json{{"name", "wf"}, {"steps", Json::array({Json{{"name", "a"}, {"queue", "default"}},
                                                                                  Json{{"name", "b"}, {"queue", "default"}}})}}));
  }
  redis::Reply call(std::vector<std::string> argv) { return server().call(argv); }
  long long redis_ms() {
    const redis::Reply t = call({"TIME"});
    return std::stoll(std::string(t[0].str())) * 1000 + std::stoll(std::string(t[1].str())) / 1000;
  }
  static ScheduleDefinition definition(const std::string& name, const std::string& cron = "* * * * * *",
                                       engine::Overlap overlap = engine::Overlap::allow) {
    ScheduleDefinition d;
    d.name = name;
    d.workflow = "wf";
    d.cron = cron;
    d.input = Json{{"scope", "all"}};
    d.overlap = overlap;
    return d;
  }
  void publish(const std::vector<ScheduleDefinition>& defs, std::vector<std::string> workflows = {"wf"}) {
    run(publish_schedules(st, defs, workflows));
  }
  ScheduleState state(const std::string& name) { return run(find_schedule(st, name))->state; }
  TickResult tick(const ScheduleDefinition& d, const ScheduleState& read, std::vector<std::int64_t> ticks,
                  TickRequest::Mode mode = TickRequest::Mode::tick) {
    TickRequest req;
    req.mode = mode;
    req.definition = &d;
    req.read = &read;
    req.new_last = new_last = redis_ms();
    req.ticks = std::move(ticks);
    return run(apply_tick(st, req));
  }
  std::int64_t new_last = 0;  // of the latest tick() call
  ScheduleState initialized(const ScheduleDefinition& d) {
    const ScheduleState fresh = state(d.name);
    EXPECT_EQ(tick(d, fresh, {}, TickRequest::Mode::init).outcome, TickResult::Outcome::initialized);
    return state(d.name);
  }
  std::vector<std::string> runs_of(const std::string& schedule) {
    const int p = keys.schedule_partition(schedule);
    std::vector<std::string> out;
    const redis::Reply members = call({"ZRANGE", keys.index_meta(p, "schedule", schedule), "0", "-1"});
    for (const redis::Reply& r : members.elements()) {
      out.emplace_back(r.str());
    }
    return out;
  }
  // Moves the schedule's last to just before the current hour began, so
  // that the hour's tick of "0 * * * *" is due (and no other).
  void make_hour_due(const std::string& name) {
    call({"HSET", keys.schedule(name), "last", std::to_string(redis_ms() / 3'600'000 * 3'600'000 - 1)});
  }
  std::string hget(const std::string& key, const std::string& field) {
    const redis::Reply r = call({"HGET", key, field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
};

TEST_F(Schedules, ATickMakesOneQueuedRunInTheSchedulesPartitionAndAdvancesLast) {
  const ScheduleDefinition d = definition("nightly");
  publish({d});
  const ScheduleState fresh = state("nightly");
  EXPECT_FALSE(fresh.last.has_value()) << "no scheduler saw it yet";
  const ScheduleState read = initialized(d);
  ASSERT_TRUE(read.last.has_value());

  const std::int64_t tick_ms = *read.last + 1000;
  const TickResult r = tick(d, read, {tick_ms});
  ASSERT_EQ(r.outcome, TickResult::Outcome::fired);
  ASSERT_EQ(r.run_ids.size(), 1u);
  const std::string& id = r.run_ids[0];
  const int p = keys.schedule_partition("nightly");
  EXPECT_EQ(keys.partition_of(id), p) << "beside the schedule's state";
  EXPECT_EQ(hget(keys.run(id), "status"), "queued");
  EXPECT_EQ(hget(keys.run(id), "step"), "a");
  EXPECT_EQ(call({"XLEN", keys.queue(p, "default")}).as_integer(), 1);
  EXPECT_EQ(Json::parse(hget(keys.run(id), "input")), d.input);
  EXPECT_EQ(Json::parse(hget(keys.run(id), "metadata")),
            Json(tick_metadata("nightly", tick_ms, false)));
  EXPECT_EQ(runs_of("nightly"), std::vector<std::string>{id});
  EXPECT_EQ(call({"ZSCORE", keys.index_all(p), id}).str(), "0");

  const ScheduleState after = state("nightly");
  EXPECT_EQ(*after.last, new_last);
  EXPECT_EQ(after.last_run, id);
  EXPECT_EQ(after.last_tick, tick_ms);
  EXPECT_EQ(after.fired, 1);
  const auto info = run(st.get_run(id));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->workflow, "wf");
}

TEST_F(Schedules, TwoSchedulersRacingForOneTickMakeOneRun) {
  const ScheduleDefinition d = definition("race");
  publish({d});
  const ScheduleState read = initialized(d);  // both read this state
  const std::int64_t t = *read.last + 1000;
  const TickResult first = tick(d, read, {t});
  const TickResult second = tick(d, read, {t});
  EXPECT_EQ(first.outcome, TickResult::Outcome::fired);
  EXPECT_EQ(second.outcome, TickResult::Outcome::stale) << "its expected last is gone";
  EXPECT_EQ(runs_of("race").size(), 1u);
  EXPECT_EQ(state("race").fired, 1);

  // Initializing twice is fenced the same way.
  const ScheduleDefinition other = definition("race2");
  publish({d, other});
  const ScheduleState fresh = state("race2");
  EXPECT_EQ(tick(other, fresh, {}, TickRequest::Mode::init).outcome, TickResult::Outcome::initialized);
  const std::int64_t last = *state("race2").last;
  EXPECT_EQ(tick(other, fresh, {}, TickRequest::Mode::init).outcome, TickResult::Outcome::stale);
  EXPECT_EQ(*state("race2").last, last);
}

TEST_F(Schedules, CatchUpTicksAreOneRunEachInOneCall) {
  const ScheduleDefinition d = definition("many");
  publish({d});
  const ScheduleState read = initialized(d);
  const TickResult r = tick(d, read, {*read.last + 1000, *read.last + 2000, *read.last + 3000});
  ASSERT_EQ(r.run_ids.size(), 3u);
  EXPECT_EQ(std::set<std::string>(r.run_ids.begin(), r.run_ids.end()).size(), 3u);
  EXPECT_EQ(runs_of("many").size(), 3u);
  EXPECT_EQ(state("many").last_tick, *read.last + 3000);
  EXPECT_EQ(state("many").last_run, r.run_ids[2]);
  EXPECT_EQ(call({"HGET", keys.stats(keys.schedule_partition("many")), "submitted:wf"}).str(), "3");
}

TEST_F(Schedules, APausedScheduleFiresNothingAndResumingSkipsThePausedTicks) {
  const ScheduleDefinition d = definition("p");
  publish({d});
  const ScheduleState read = initialized(d);
  EXPECT_EQ(run(pause_schedule(st, "p")), ScheduleChange::changed);
  EXPECT_EQ(run(pause_schedule(st, "p")), ScheduleChange::unchanged);
  const ScheduleState paused = state("p");
  EXPECT_TRUE(paused.paused);
  EXPECT_GT(paused.paused_at, 0);
  EXPECT_EQ(tick(d, paused, {*read.last + 1000}).outcome, TickResult::Outcome::paused);
  EXPECT_TRUE(runs_of("p").empty());

  const long long before = redis_ms();
  EXPECT_EQ(run(resume_schedule(st, "p")), ScheduleChange::changed);
  EXPECT_EQ(run(resume_schedule(st, "p")), ScheduleChange::unchanged);
  const ScheduleState resumed = state("p");
  EXPECT_FALSE(resumed.paused);
  EXPECT_GE(*resumed.last, before) << "the ticks of the pause are behind last: not caught up";

  EXPECT_EQ(run(pause_schedule(st, "nope")), ScheduleChange::missing);
  EXPECT_EQ(run(resume_schedule(st, "nope")), ScheduleChange::missing);
}

TEST_F(Schedules, OverlapSkipLeavesALiveRunAloneAndCountsTheSkip) {
  const ScheduleDefinition d = definition("o", "* * * * * *", engine::Overlap::skip);
  publish({d});
  ScheduleState read = initialized(d);
  const TickResult first = tick(d, read, {*read.last + 1000});
  ASSERT_EQ(first.outcome, TickResult::Outcome::fired);

  read = state("o");
  EXPECT_EQ(tick(d, read, {*read.last + 1000}).outcome, TickResult::Outcome::skipped);
  const ScheduleState after = state("o");
  EXPECT_EQ(after.overlap_skipped, 1);
  EXPECT_EQ(*after.last, new_last) << "the skipped tick is dealt with";
  EXPECT_EQ(runs_of("o").size(), 1u);

  // Once the previous run has ended, the next tick fires.
  EXPECT_EQ(run(st.cancel(first.run_ids[0], 0ms)), "cancelled");
  read = state("o");
  EXPECT_EQ(tick(d, read, {*read.last + 1000}).outcome, TickResult::Outcome::fired);
  EXPECT_EQ(runs_of("o").size(), 2u);
}

// Moving past missed ticks (catch_up none: nothing fires) is no overlap skip.
TEST_F(Schedules, MovingPastMissedTicksCountsNoOverlapSkip) {
  const ScheduleDefinition d = definition("m", "* * * * * *", engine::Overlap::skip);
  publish({d});
  ScheduleState read = initialized(d);
  ASSERT_EQ(tick(d, read, {*read.last + 1000}).outcome, TickResult::Outcome::fired);  // live from now on
  read = state("m");
  const TickResult r = tick(d, read, {});
  EXPECT_EQ(r.outcome, TickResult::Outcome::fired);
  EXPECT_TRUE(r.run_ids.empty());
  EXPECT_EQ(state("m").overlap_skipped, 0);
  EXPECT_EQ(*state("m").last, new_last);
}

TEST_F(Schedules, ATriggerStartsARunWhilePausedWithoutMovingTheTicks) {
  const ScheduleDefinition d = definition("t", "0 3 * * *");
  publish({d});
  const ScheduleState read = initialized(d);
  EXPECT_EQ(run(pause_schedule(st, "t")), ScheduleChange::changed);
  const std::optional<TickResult> r = run(trigger_schedule(st, "t", 0ms));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->outcome, TickResult::Outcome::fired);
  ASSERT_EQ(r->run_ids.size(), 1u);
  const ScheduleState after = state("t");
  EXPECT_EQ(after.last, read.last) << "a trigger is not a tick";
  EXPECT_EQ(after.triggered, 1);
  EXPECT_EQ(after.fired, 0);
  EXPECT_EQ(after.last_run, r->run_ids[0]);
  EXPECT_TRUE(Json::parse(hget(keys.run(r->run_ids[0]), "metadata")).contains("trigger"));
  EXPECT_FALSE(run(trigger_schedule(st, "missing", 0ms)).has_value());
}

TEST_F(Schedules, ATriggerWithCancelPreviousCancelsTheLiveRunFirst) {
  const ScheduleDefinition d = definition("c", "0 3 * * *", engine::Overlap::cancel_previous);
  publish({d});
  initialized(d);
  const std::optional<TickResult> first = run(trigger_schedule(st, "c", 0ms));
  const std::optional<TickResult> second = run(trigger_schedule(st, "c", 0ms));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(hget(keys.run(first->run_ids[0]), "status"), "cancelled");
  EXPECT_EQ(hget(keys.run(second->run_ids[0]), "status"), "queued");
}

TEST_F(Schedules, AWorkflowNotRegisteredYetWritesNothing) {
  ScheduleDefinition d = definition("x");
  d.workflow = "later";
  publish({d}, {"later"});
  const ScheduleState read = initialized(d);
  const TickResult r = tick(d, read, {*read.last + 1000});
  EXPECT_EQ(r.outcome, TickResult::Outcome::no_workflow);
  EXPECT_EQ(state("x").last, read.last) << "the tick stays due";
}

TEST_F(Schedules, PublishingAFileReplacesOnlyTheSchedulesOfItsWorkflows) {
  ScheduleDefinition a1 = definition("a1");
  ScheduleDefinition b1 = definition("b1");
  b1.workflow = "other";
  publish({a1, b1}, {"wf", "other"});
  EXPECT_EQ(run(list_schedules(st)).size(), 2u);

  ScheduleDefinition a2 = definition("a2", "0 * * * *");
  const std::size_t removed = run(publish_schedules(st, {a2}, {"wf"}));
  EXPECT_EQ(removed, 1u) << "a1 left the file that defines wf";
  std::vector<std::string> names;
  for (const Schedule& s : run(list_schedules(st))) names.push_back(s.definition.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a2", "b1"})) << "b1's workflow is another file's";
  const std::optional<Schedule> got = run(find_schedule(st, "a2"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->definition.cron, "0 * * * *");
  EXPECT_EQ(got->definition.input, a2.input);
}

TEST_F(Schedules, ASchedulerPassInitializesThenFiresTheDueTickOnce) {
  ScheduleDefinition hourly = definition("hourly", "0 * * * *");
  hourly.catch_up = engine::CatchUp::one;  // the hour's tick fires however late
  publish({hourly});
  Scheduler a(st, {"a", 0ms});
  Scheduler b(st, {"b", 0ms});
  const std::chrono::milliseconds wait = run(a.pass());
  EXPECT_GE(wait.count(), 1);
  EXPECT_LE(wait.count(), 1000);
  ASSERT_TRUE(state("hourly").last.has_value());
  EXPECT_TRUE(runs_of("hourly").empty()) << "first sight fires nothing";

  make_hour_due("hourly");
  const int p = keys.schedule_partition("hourly");
  run(a.pass());
  run(b.pass());
  EXPECT_EQ(runs_of("hourly").size(), 1u) << "one run for the tick, whichever scheduler came first";
  EXPECT_EQ(state("hourly").last_tick, redis_ms() / 3'600'000 * 3'600'000);
  EXPECT_EQ(call({"XLEN", keys.queue(p, "default")}).as_integer(), 1);
}

TEST_F(Schedules, ASchedulerPassWithCancelPreviousCancelsTheLastRun) {
  ScheduleDefinition d = definition("cp", "0 * * * *", engine::Overlap::cancel_previous);
  d.catch_up = engine::CatchUp::one;
  publish({d});
  Scheduler s(st, {"s", 0ms});
  run(s.pass());
  make_hour_due("cp");
  run(s.pass());
  ASSERT_EQ(runs_of("cp").size(), 1u);
  const std::string first = state("cp").last_run;
  make_hour_due("cp");
  run(s.pass());
  EXPECT_EQ(runs_of("cp").size(), 2u);
  EXPECT_EQ(hget(keys.run(first), "status"), "cancelled");
  EXPECT_EQ(hget(keys.run(state("cp").last_run), "status"), "queued");
}

}  // namespace
}  // namespace steadfast::store

namespace steadfast::store {
namespace {

// A schedule given in C++ (WorkerOptions::schedules) is checked as the file's
// is; each refusal names the schedule and the field.
TEST(ScheduleDefinitionOf, RefusesEachBadFieldNamingIt) {
  const auto refusal = [](steadfast::Schedule s) -> std::string {
    try {
      (void)schedule_definition_of(s);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  steadfast::Schedule good;
  good.name = "nightly";
  good.workflow = "digest";
  good.cron = "0 3 * * *";
  good.timezone = "Europe/Berlin";
  EXPECT_EQ(refusal(good), "accepted");
  const ScheduleDefinition d = schedule_definition_of(good);
  EXPECT_EQ(d.catch_up, engine::CatchUp::none);
  EXPECT_EQ(d.overlap, engine::Overlap::allow);

  auto bad = good;
  bad.name = "a b";
  EXPECT_NE(refusal(bad).find("schedule 'a b': the name must match"), std::string::npos) << refusal(bad);
  bad = good;
  bad.cron = "61 * * * *";
  EXPECT_NE(refusal(bad).find("schedule 'nightly': "), std::string::npos) << refusal(bad);
  EXPECT_NE(refusal(bad).find("minute"), std::string::npos) << refusal(bad);
  bad = good;
  bad.timezone = "Mars/Olympus";
  EXPECT_NE(refusal(bad).find("Mars/Olympus"), std::string::npos) << refusal(bad);
  bad = good;
  bad.catch_up = "some";
  EXPECT_NE(refusal(bad).find("catch_up 'some'"), std::string::npos) << refusal(bad);
  bad = good;
  bad.overlap = "queue";
  EXPECT_NE(refusal(bad).find("overlap 'queue'"), std::string::npos) << refusal(bad);
  bad = good;
  bad.input = Json::array();
  EXPECT_NE(refusal(bad).find("input must be a JSON object"), std::string::npos) << refusal(bad);
}

}  // namespace
}  // namespace steadfast::store
