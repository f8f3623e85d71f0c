// Runs that start later (issue 15, item 1): submit.lua parks a run with a
// delay or run_at as `scheduled` with one 'start' member in the partition's
// timer set and no entry in any queue; promotion (due.lua, promote.lua)
// queues its first step when due; cancel removes the timer; the doctor counts
// the timer as the run's token and puts a lost one back. Due times are set
// by score, never waited for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/doctor.h"
#include "store/keys.h"
#include "store/run_index.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;

class ScheduledRun : public RedisTest {
 protected:
  redis::Client& c = make_client();
  KeySpace keys{"sf", 1};
  Store st{c, keys, "w1"};

  void SetUp() override {
    RedisTest::SetUp();
    run(st.ensure_group(0, "default"));
  }
  redis::Reply call(std::vector<std::string> argv) { return server().call(argv); }
  std::string hget(const std::string& id, const std::string& field) {
    const redis::Reply r = call({"HGET", keys.run(id), field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  long long redis_ms() {
    const redis::Reply t = call({"TIME"});
    return std::stoll(std::string(t[0].str())) * 1000 + std::stoll(std::string(t[1].str())) / 1000;
  }
  SubmitRequest request(engine::StartTime start, const std::string& idempotency_key = {}) {
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json::object();
    req.steps = {"a"};
    req.first_queue = "default";
    req.start = start;
    req.idempotency_key = idempotency_key;
    return req;
  }
  SubmitResult submit_in(std::chrono::milliseconds delay, const std::string& idempotency_key = {}) {
    return run(st.submit(request({delay, 0}, idempotency_key)));
  }
  std::string member(const std::string& id) { return id + "\ta\tstart"; }
  long long xlen() { return call({"XLEN", keys.queue(0, "default")}).as_integer(); }
  std::string score(const std::string& id) {
    const redis::Reply r = call({"ZSCORE", keys.timers(0), member(id)});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  void make_due(const std::string& id) { call({"ZADD", keys.timers(0), "XX", "1", member(id)}); }
};

TEST_F(ScheduledRun, ADelayedRunIsScheduledAndHoldsOnlyItsStartTimer) {
  const SubmitResult r = submit_in(10min);
  ASSERT_TRUE(r.created);
  EXPECT_EQ(hget(r.run_id, "status"), "scheduled");
  EXPECT_EQ(std::stoll(hget(r.run_id, "run_at")) - std::stoll(hget(r.run_id, "created_at")), 600'000)
      << "the delay counts from Redis time at submit";
  EXPECT_EQ(r.run_at_ms, std::stoll(hget(r.run_id, "run_at")));
  EXPECT_EQ(score(r.run_id), hget(r.run_id, "run_at"));
  EXPECT_EQ(xlen(), 0) << "no entry in any queue while scheduled";
  EXPECT_EQ(hget(r.run_id, "entry"), "");

  const auto info = run(st.get_run(r.run_id));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, "scheduled");
  EXPECT_EQ(info->run_at_ms, r.run_at_ms);
  ASSERT_EQ(info->steps.size(), 1u);
  EXPECT_EQ(info->steps[0].status, "waiting");
  const Json wait = to_json(*info)["waiting_for"];
  EXPECT_EQ(wait["kind"], "scheduled");
  EXPECT_EQ(wait["until"], to_json(*info)["run_at"]);
  EXPECT_EQ(info->steps[0].waiting_for, wait);
  EXPECT_EQ(info->current_steps, std::vector<std::string>{"a"});
}

TEST_F(ScheduledRun, PromotionLeavesItUntilDueAndAnswersTheWait) {
  const SubmitResult r = submit_in(10min);
  const long long wait = run(st.promote(0, 100));
  EXPECT_GT(wait, 590'000);
  EXPECT_LE(wait, 600'000);
  EXPECT_EQ(hget(r.run_id, "status"), "scheduled");
  EXPECT_EQ(xlen(), 0);
}

TEST_F(ScheduledRun, WhenDueItsFirstStepIsQueued) {
  const SubmitResult r = submit_in(10min);
  make_due(r.run_id);
  EXPECT_EQ(run(st.promote(0, 100)), -1) << "nothing else is due";
  EXPECT_EQ(hget(r.run_id, "status"), "queued");
  EXPECT_EQ(hget(r.run_id, "s.a.status"), "queued");
  EXPECT_EQ(xlen(), 1);
  EXPECT_NE(hget(r.run_id, "entry"), "");
  EXPECT_EQ(score(r.run_id), "") << "the timer is gone";
  EXPECT_EQ(std::stoll(hget(r.run_id, "run_at")), r.run_at_ms) << "run_at stays, to show when it was due";
  const auto info = run(st.get_run(r.run_id));
  EXPECT_TRUE(info->waiting_for.is_null());
}

TEST_F(ScheduledRun, CancelWhileScheduledEndsItAtOnce) {
  const SubmitResult r = submit_in(10min);
  EXPECT_EQ(run(st.cancel(r.run_id, 0ms)), "cancelled");
  EXPECT_EQ(hget(r.run_id, "status"), "cancelled");
  EXPECT_EQ(hget(r.run_id, "s.a.status"), "cancelled");
  EXPECT_EQ(score(r.run_id), "");
  EXPECT_EQ(run(st.promote(0, 100)), -1);
  EXPECT_EQ(xlen(), 0);
}

TEST_F(ScheduledRun, ARunAtInTheFutureStartsThenAndOneJustPastStartsAtOnce) {
  const long long now = redis_ms();
  const SubmitResult later = run(st.submit(request({0ms, now + 3'600'000})));
  EXPECT_EQ(later.run_at_ms, now + 3'600'000);
  EXPECT_EQ(score(later.run_id), std::to_string(now + 3'600'000));

  const SubmitResult past = run(st.submit(request({0ms, now - 500})));  // within kRunAtPastGrace
  EXPECT_EQ(past.run_at_ms, 0) << "queued at once";
  EXPECT_EQ(hget(past.run_id, "status"), "queued");
  EXPECT_EQ(hget(past.run_id, "run_at"), std::to_string(now - 500));
  EXPECT_EQ(xlen(), 1);
}

TEST_F(ScheduledRun, ARunAtOutOfRangeIsRefusedAndWritesNothing) {
  const long long now = redis_ms();
  for (const long long at : {now - 60'000, now + 366LL * 86'400'000}) {
    try {
      (void)run(st.submit(request({0ms, at})));
      ADD_FAILURE() << "run_at " << at << " was taken";
    } catch (const RunAtOutOfRange& e) {
      EXPECT_NE(std::string(e.what()).find("run_at is"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
  EXPECT_EQ(call({"ZCARD", keys.index_all(0)}).as_integer(), 0) << "no run was made";
  EXPECT_EQ(xlen(), 0);
}

TEST_F(ScheduledRun, ADelayedRunDoesNotCountAgainstTheBacklogBound) {
  SubmitRequest full = request({});
  full.max_backlog = 1;
  (void)run(st.submit(full));
  EXPECT_THROW((void)run(st.submit(full)), BacklogFull);
  SubmitRequest later = request({10min, 0});
  later.max_backlog = 1;
  EXPECT_EQ(hget(run(st.submit(later)).run_id, "status"), "scheduled");
}

TEST_F(ScheduledRun, AnIdempotentRepeatMustAskForTheSameStart) {
  const SubmitResult first = submit_in(10min, "nightly-7");
  const SubmitResult again = submit_in(10min, "nightly-7");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.run_id, first.run_id);
  EXPECT_THROW((void)submit_in(20min, "nightly-7"), IdempotencyConflict);
  EXPECT_THROW((void)submit_in(0ms, "nightly-7"), IdempotencyConflict);
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 1);
}

TEST_F(ScheduledRun, TheRunListFindsItByStatus) {
  const SubmitResult r = submit_in(10min);
  (void)run(st.submit(request({})));
  const RunPage page = run(list_runs(c, keys, engine::parse_run_filter({{"status", "scheduled"}}), 10, ""));
  ASSERT_EQ(page.runs.size(), 1u);
  EXPECT_EQ(page.runs[0].id, r.run_id);
}

TEST_F(ScheduledRun, TheDoctorCountsTheStartTimerAsItsTokenAndPutsALostOneBack) {
  const SubmitResult r = submit_in(10min);
  EXPECT_TRUE(run(examine(st, false)).offenders.empty());

  call({"ZREM", keys.timers(0), member(r.run_id)});
  const DoctorReport found = run(examine(st, true));
  ASSERT_EQ(found.offenders.size(), 1u);
  EXPECT_EQ(found.offenders[0].problem, "live run has no token (it would never finish)");
  EXPECT_EQ(found.offenders[0].repaired, "start timer of step a put back at its run_at");
  EXPECT_EQ(score(r.run_id), std::to_string(r.run_at_ms)) << "back at its run_at, not queued early";
  EXPECT_EQ(hget(r.run_id, "status"), "scheduled");
  EXPECT_EQ(xlen(), 0);
  EXPECT_TRUE(run(examine(st, false)).offenders.empty());
}

}  // namespace
}  // namespace steadfast::store
