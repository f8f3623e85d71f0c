// Durable waits (the `wait` kind, issue 15 item 3) in the store: sleep.lua
// parks a claimed step in the timer set (fenced by the token; no attempt
// spent), promotion queues it again when due, cancel ends it at once, the
// doctor counts its timer as the run's token and puts a lost one back. Due
// times are set by score, never waited for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/doctor.h"
#include "store/keys.h"
#include "store/run_view.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;

class Sleep : public RedisTest {
 protected:
  redis::Client& c = make_client();
  KeySpace keys{"sf", 1};
  Store st{c, keys, "w1"};
  std::string run_id;
  Token token;

  void SetUp() override {
    RedisTest::SetUp();
    run(st.ensure_group(0, "default"));
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json::object();
    req.steps = {"nap", "b"};
    req.first_queue = "default";
    run_id = run(st.submit(req)).run_id;
    token = claim();
  }
  redis::Reply call(std::vector<std::string> argv) { return server().call(argv); }
  std::string hget(const std::string& field) {
    const redis::Reply r = call({"HGET", keys.run(run_id), field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  // Reads the run's entry as w1 and claims it (start.lua): attempts becomes 1.
  Token claim() {
    const redis::Reply r = call({"XREADGROUP", "GROUP", "steadfast", "w1", "COUNT", "1", "STREAMS",
                                 keys.queue(0, "default"), ">"});
    StartItem item;
    item.token = Token{0, "default", std::string(r[0][1][0][0].str()), 1};
    item.run_id = run_id;
    item.step = "nap";
    EXPECT_EQ(run(st.start(0, "default", {item})).at(0).state, Started::State::ok);
    return item.token;
  }
  Transition park(std::int64_t wake_at_ms, Token t) {
    Transition tr;
    tr.token = std::move(t);
    tr.run_id = run_id;
    tr.step = "nap";
    tr.action = engine::Action::sleep;
    tr.attempts = 0;  // the claim is refunded
    tr.wake_at_ms = wake_at_ms;
    return tr;
  }
  std::string member() { return run_id + "\tnap\tsleep"; }
  std::string score() {
    const redis::Reply r = call({"ZSCORE", keys.timers(0), member()});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  long long redis_ms() {
    const redis::Reply t = call({"TIME"});
    return std::stoll(std::string(t[0].str())) * 1000 + std::stoll(std::string(t[1].str())) / 1000;
  }
};

TEST_F(Sleep, AParkedWaitHoldsOnlyItsSleepTimerAndSaysWhatItWaitsFor) {
  const long long due = redis_ms() + 3'600'000;
  ASSERT_EQ(run(st.apply({park(due, token)}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(score(), std::to_string(due));
  EXPECT_EQ(hget("status"), "waiting");
  EXPECT_EQ(hget("s.nap.status"), "waiting");
  EXPECT_EQ(hget("s.nap.wake_at"), std::to_string(due));
  EXPECT_EQ(hget("s.nap.attempts"), "0") << "a wait spends no attempt";
  EXPECT_EQ(hget("entry"), "");
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0) << "the entry is acknowledged and deleted";
  EXPECT_EQ(call({"XPENDING", keys.queue(0, "default"), "steadfast"})[0].as_integer(), 0);

  const Json j = to_json(*run(st.get_run(run_id)));
  EXPECT_EQ(j["status"], "waiting");
  EXPECT_EQ(j["waiting_for"]["kind"], "sleep");
  EXPECT_EQ(j["steps"][0]["waiting_for"], j["waiting_for"]);
  EXPECT_EQ(j["current_steps"], Json::array({"nap"}));
  const RunTokens tokens = run(st.run_tokens(run_id));
  EXPECT_EQ(tokens.in_stream + tokens.in_delayed, 1) << "the timer is the run's one token";
  EXPECT_EQ(run(examine(st, false)).offenders.size(), 0u);
}

TEST_F(Sleep, AStaleTokenParksNothing) {
  Token stale = token;
  stale.deliveries = 7;
  EXPECT_EQ(run(st.apply({park(redis_ms() + 60'000, stale)}, 0ms)).at(0), Applied::stale);
  EXPECT_EQ(score(), "");
  EXPECT_EQ(hget("s.nap.status"), "running");
}

TEST_F(Sleep, AWaitOfACancelledRunIsDiscarded) {
  EXPECT_EQ(run(st.cancel(run_id, 0ms)), "cancelling");  // claimed: its worker hears of it
  call({"HSET", keys.run(run_id), "status", "cancelled"});
  EXPECT_EQ(run(st.apply({park(redis_ms() + 60'000, token)}, 0ms)).at(0), Applied::discarded);
  EXPECT_EQ(score(), "");
}

// A cancel that came while the wait was claimed: the park ends the run as
// cancelled instead of leaving a signal wait `cancelling` until a signal
// comes (maybe never).
TEST_F(Sleep, AParkOfARunCancelledWhileClaimedEndsItCancelled) {
  EXPECT_EQ(run(st.cancel(run_id, 0ms)), "cancelling");
  Transition wait_for_signal = park(0, token);
  wait_for_signal.signal = "approved";
  EXPECT_EQ(run(st.apply({wait_for_signal}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(hget("status"), "cancelled");
  EXPECT_EQ(hget("s.nap.status"), "cancelled");
  EXPECT_EQ(hget("s.nap.signal"), "") << "parked on nothing";
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0);
  EXPECT_FALSE(call({"ZSCORE", keys.index_status(0, "cancelled"), run_id}).is_nil());
  EXPECT_EQ(run(examine(st, false)).offenders.size(), 0u);
}

TEST_F(Sleep, WhenDueTheStepIsQueuedAgainWithItsDueTimeKept) {
  const long long due = redis_ms() + 3'600'000;
  ASSERT_EQ(run(st.apply({park(due, token)}, 0ms)).at(0), Applied::ok);
  EXPECT_GT(run(st.promote(0, 100)), 3'500'000) << "not due: promotion leaves it and says when";
  EXPECT_EQ(hget("status"), "waiting");
  call({"ZADD", keys.timers(0), "XX", "1", member()});
  run(st.promote(0, 100));
  EXPECT_EQ(hget("status"), "queued");
  EXPECT_EQ(hget("s.nap.status"), "queued");
  EXPECT_EQ(hget("s.nap.wake_at"), std::to_string(due)) << "the next claim completes it";
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 1);
  EXPECT_EQ(score(), "");
  const Token again = claim();
  EXPECT_EQ(hget("s.nap.attempts"), "1");
  EXPECT_NE(again.entry_id, token.entry_id);
}

TEST_F(Sleep, CancelEndsAWaitingRunAtOnceAndRemovesItsTimer) {
  ASSERT_EQ(run(st.apply({park(redis_ms() + 60'000, token)}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(run(st.cancel(run_id, 0ms)), "cancelled");
  EXPECT_EQ(hget("status"), "cancelled");
  EXPECT_EQ(hget("s.nap.status"), "cancelled");
  EXPECT_EQ(score(), "");
  run(st.promote(0, 100));
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0);
}

TEST_F(Sleep, TheDoctorPutsALostSleepTimerBackAtItsDueTime) {
  const long long due = redis_ms() + 3'600'000;
  ASSERT_EQ(run(st.apply({park(due, token)}, 0ms)).at(0), Applied::ok);
  call({"ZREM", keys.timers(0), member()});
  const DoctorReport found = run(examine(st, false));
  ASSERT_EQ(found.offenders.size(), 1u);
  EXPECT_EQ(found.offenders[0].problem, "live run has no token (it would never finish)");
  const DoctorReport repaired = run(examine(st, true));
  ASSERT_EQ(repaired.offenders.size(), 1u);
  EXPECT_EQ(repaired.offenders[0].repaired, "sleep timer of step nap put back at its due time");
  EXPECT_EQ(score(), std::to_string(due));
  EXPECT_EQ(hget("status"), "waiting") << "still waiting: not queued early";
  EXPECT_EQ(run(examine(st, false)).offenders.size(), 0u);
}

}  // namespace
}  // namespace steadfast::store
