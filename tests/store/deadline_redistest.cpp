// Run deadlines (issue 15, item 5) in the store: submit.lua writes a
// 'deadline' member of the deadline set at start + deadline; when it is due the
// promoter's deadline.lua fails a run that has not ended into the dead-letter
// queue, whatever it does (queued, running, retrying, waiting), and removes
// an ended run's member. Due times are set by score, never waited for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/doctor.h"
#include "store/keys.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;

class Deadline : public RedisTest {
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
  std::string submit(std::chrono::milliseconds delay = 0ms) {
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json::object();
    req.steps = {"a", "b"};
    req.first_queue = "default";
    req.deadline = 2h;
    req.start = {delay, 0};
    return run(st.submit(req)).run_id;
  }
  std::string member(const std::string& id) { return id + "\t\tdeadline"; }
  std::string score(const std::string& id) {
    const redis::Reply r = call({"ZSCORE", keys.deadlines(0), member(id)});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  void make_due(const std::string& id) { call({"ZADD", keys.deadlines(0), "XX", "1", member(id)}); }
  // Reads the run's entry as w1 and claims it: the step runs on w1.
  Token claim(const std::string& id) {
    const redis::Reply r = call({"XREADGROUP", "GROUP", "steadfast", "w1", "COUNT", "1", "STREAMS",
                                 keys.queue(0, "default"), ">"});
    StartItem item;
    item.token = Token{0, "default", std::string(r[0][1][0][0].str()), 1};
    item.run_id = id;
    item.step = "a";
    EXPECT_EQ(run(st.start(0, "default", {item})).at(0).state, Started::State::ok);
    return item.token;
  }
  void expect_failed_by_deadline(const std::string& id) {
    EXPECT_EQ(hget(id, "status"), "failed");
    EXPECT_EQ(hget(id, "s.a.status"), "failed");
    EXPECT_EQ(hget(id, "s.a.error"), "deadline exceeded: the run had not ended by its deadline");
    const std::vector<DeadLetter> dead = run(st.dlq_list(10));
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].run_id, id);
    EXPECT_EQ(score(id), "") << "the member is gone";
    EXPECT_EQ(call({"ZSCORE", keys.index_status(0, "failed"), id}).is_nil(), false);
    EXPECT_EQ(call({"ZSCORE", keys.index_status(0, "live"), id}).is_nil(), true);
  }
};

TEST_F(Deadline, ASubmitWritesTheDeadlineFromCreationOrFromRunAt) {
  const std::string now_run = submit();
  EXPECT_EQ(std::stoll(score(now_run)) - std::stoll(hget(now_run, "created_at")), 7'200'000);
  EXPECT_EQ(hget(now_run, "deadline_at"), score(now_run));
  const std::string later = submit(10min);
  EXPECT_EQ(std::stoll(score(later)) - std::stoll(hget(later, "run_at")), 7'200'000);
  EXPECT_GT(run(st.promote(0, 100)), 0) << "nothing due yet";
  EXPECT_EQ(hget(now_run, "status"), "queued");
}

// A deadline is no retry: the retrying count (stats' `delayed`, the timer
// set's size) does not count it.
TEST_F(Deadline, ADeadlineIsNotCountedAsADelayedRun) {
  const std::string id = submit();
  EXPECT_NE(score(id), "");
  EXPECT_EQ(run(st.delayed_count()), 0);
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
}

// Versions before the deadline set kept the member in the timer set: such a
// member still fails its run when due, and leaves that set.
TEST_F(Deadline, AMemberAnOlderVersionLeftInTheTimerSetStillFailsItsRun) {
  const std::string id = submit();
  call({"ZREM", keys.deadlines(0), member(id)});
  call({"ZADD", keys.timers(0), "1", member(id)});
  run(st.promote(0, 100));
  expect_failed_by_deadline(id);
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
}

TEST_F(Deadline, AQueuedRunFailsIntoTheDeadLetterQueueAndLeavesItsQueue) {
  const std::string id = submit();
  make_due(id);
  run(st.promote(0, 100));
  expect_failed_by_deadline(id);
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0) << "its undelivered entry is deleted";
  EXPECT_EQ(run(examine(st, false)).offenders.size(), 0u);
}

TEST_F(Deadline, ARunningStepLosesItsTokenAndItsOutcomeIsRefused) {
  const std::string id = submit();
  const Token token = claim(id);
  make_due(id);
  run(st.promote(0, 100));
  expect_failed_by_deadline(id);
  StartItem item;
  item.token = token;
  item.run_id = id;
  item.step = "a";
  EXPECT_EQ(run(st.renew({item})).at(0), Store::Renewal::lost) << "its token is gone: the worker stops the step";
  Transition t;
  t.token = token;
  t.run_id = id;
  t.step = "a";
  t.action = engine::Action::advance;
  t.attempts = 1;
  t.output = "{}";
  t.next_step = "b";
  t.next_queue = "default";
  EXPECT_EQ(run(st.apply({t}, 0ms)).at(0), Applied::stale) << "the run ended: the outcome is not written";
  EXPECT_EQ(hget(id, "status"), "failed");
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0);
}

TEST_F(Deadline, ARetryingRunLosesItsRetryTimer) {
  const std::string id = submit();
  Transition t;
  t.token = claim(id);
  t.run_id = id;
  t.step = "a";
  t.action = engine::Action::retry_later;
  t.attempts = 1;
  t.delay = 1h;
  t.error = "500";
  ASSERT_EQ(run(st.apply({t}, 0ms)).at(0), Applied::ok);
  make_due(id);
  run(st.promote(0, 100));
  expect_failed_by_deadline(id);
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0) << "no retry left behind";
}

TEST_F(Deadline, AnEndedRunIsLeftAloneAndItsMemberRemoved) {
  const std::string id = submit();
  EXPECT_EQ(run(st.cancel(id, 0ms)), "cancelled");
  make_due(id);
  run(st.promote(0, 100));
  EXPECT_EQ(hget(id, "status"), "cancelled");
  EXPECT_EQ(score(id), "");
  EXPECT_TRUE(run(st.dlq_list(10)).empty());
}

}  // namespace
}  // namespace steadfast::store
