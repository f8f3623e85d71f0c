// Signal waits (issue 15 item 4) in the store: signal.lua keeps a signal's
// body in the run and queues the step parked on its name; sleep.lua parks a
// claimed signal wait, or queues it again at once when its signal came while
// it was claimed; complete.lua deletes the signal the completion took. A
// signal sent before, during and after the wait is taken exactly once;
// repeats, unknown names, ended runs and the bounds are refused with nothing
// written; a timeout is a 'signal' timer; cancel, the deadline and the doctor
// know a wait with no token but its name. Due times are set by score, never
// waited for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/doctor.h"
#include "store/keys.h"
#include "store/run_view.h"
#include "store/signals.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;

class Signals : public RedisTest {
 protected:
  redis::Client& c = make_client();
  KeySpace keys{"sf", 1};
  Store st{c, keys, "w1"};
  std::string run_id;

  void SetUp() override {
    RedisTest::SetUp();
    run(st.ensure_group(0, "default"));
    Json steps = Json::array();
    steps.push_back({{"name", "approve"}, {"queue", "default"}, {"signal", "approved"}});
    steps.push_back({{"name", "send"}, {"queue", "default"}});
    run(st.register_workflow("wf", Json{{"name", "wf"}, {"steps", steps}}));
    run_id = submit();
  }
  std::string submit(std::chrono::milliseconds deadline = 0ms) {
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json::object();
    req.steps = {"approve", "send"};
    req.first_queue = "default";
    req.deadline = deadline;
    return run(st.submit(req)).run_id;
  }
  redis::Reply call(std::vector<std::string> argv) { return server().call(argv); }
  std::string hget(const std::string& field) {
    const redis::Reply r = call({"HGET", keys.run(run_id), field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  long long xlen() { return call({"XLEN", keys.queue(0, "default")}).as_integer(); }
  // Reads the run's entry as w1 and claims it (start.lua); the run hash it returned.
  std::pair<Token, Fields> claim() {
    const redis::Reply r = call({"XREADGROUP", "GROUP", "steadfast", "w1", "COUNT", "1", "STREAMS",
                                 keys.queue(0, "default"), ">"});
    StartItem item;
    item.token = Token{0, "default", std::string(r[0][1][0][0].str()), 1};
    item.run_id = run_id;
    item.step = "approve";
    Started s = run(st.start(0, "default", {item})).at(0);
    EXPECT_EQ(s.state, Started::State::ok);
    return {item.token, std::move(s.run)};
  }
  Transition park(Token t, std::int64_t due = 0) {
    Transition tr;
    tr.token = std::move(t);
    tr.run_id = run_id;
    tr.step = "approve";
    tr.action = engine::Action::sleep;
    tr.attempts = 0;
    tr.wake_at_ms = due;
    tr.signal = "approved";
    return tr;
  }
  Transition complete(Token t, const std::string& output, const std::string& took) {
    Transition tr;
    tr.token = std::move(t);
    tr.run_id = run_id;
    tr.step = "approve";
    tr.action = engine::Action::advance;
    tr.attempts = 1;
    tr.output = output;
    tr.next_step = "send";
    tr.next_queue = "default";
    tr.workflow = "wf";
    tr.signal = took;
    return tr;
  }
  SignalResult send(const Json& body, const std::string& key = {}, const std::string& name = "approved",
                    const std::string& id = {}) {
    return run(send_signal(st, SignalRequest{id.empty() ? run_id : id, name, body, key}));
  }
  std::string timer() {
    const redis::Reply r = call({"ZSCORE", keys.timers(0), run_id + "\tapprove\tsignal"});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  long long redis_ms() {
    const redis::Reply t = call({"TIME"});
    return std::stoll(std::string(t[0].str())) * 1000 + std::stoll(std::string(t[1].str())) / 1000;
  }
  void expect_one_token() {
    const RunTokens tokens = run(st.run_tokens(run_id));
    EXPECT_EQ(tokens.in_stream + tokens.in_delayed, 1) << "status " << tokens.status;
    EXPECT_EQ(run(examine(st, false)).offenders.size(), 0u);
  }
};

using O = SignalResult::Outcome;

TEST_F(Signals, ASignalSentBeforeTheWaitIsKeptAndTakenByItsClaim) {
  EXPECT_EQ(send(Json{{"approved", true}}).outcome, O::kept);
  EXPECT_EQ(hget("sig.approved"), R"({"approved":true})");
  EXPECT_EQ(hget("status"), "queued") << "a kept signal moves no step";
  auto [token, fields] = claim();
  ASSERT_EQ(fields["sig.approved"], R"({"approved":true})") << "the claim sees it";
  ASSERT_EQ(run(st.apply({complete(token, fields["sig.approved"], "approved")}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(hget("s.approve.output"), R"({"approved":true})");
  EXPECT_EQ(hget("sig.approved"), "") << "taken once: deleted with the completion";
  EXPECT_EQ(hget("sigs_kept"), "0");
  EXPECT_EQ(hget("step"), "send");
}

TEST_F(Signals, ASignalThatComesWhileTheWaitIsClaimedQueuesItAgainAtItsPark) {
  auto [token, fields] = claim();
  EXPECT_EQ(fields.count("sig.approved"), 0u);
  EXPECT_EQ(send(Json("yes")).outcome, O::kept) << "the step is running, not parked";
  ASSERT_EQ(run(st.apply({park(token, redis_ms() + 60'000)}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(hget("status"), "queued") << "parking found the signal: the step goes back to its queue";
  EXPECT_EQ(hget("s.approve.status"), "queued");
  EXPECT_EQ(xlen(), 1);
  EXPECT_EQ(timer(), "") << "no timeout timer for a wait that never began";
  expect_one_token();
  auto [again, seen] = claim();
  EXPECT_EQ(seen["sig.approved"], "\"yes\"");
}

TEST_F(Signals, ASignalToAParkedWaitQueuesItAndRemovesItsTimeout) {
  auto [token, fields] = claim();
  const long long due = redis_ms() + 3'600'000;
  ASSERT_EQ(run(st.apply({park(token, due)}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(hget("status"), "waiting");
  EXPECT_EQ(hget("s.approve.signal"), "approved");
  EXPECT_EQ(hget("s.approve.wake_at"), std::to_string(due));
  EXPECT_EQ(timer(), std::to_string(due));
  EXPECT_EQ(xlen(), 0);
  expect_one_token();
  const Json j = to_json(*run(st.get_run(run_id)));
  EXPECT_EQ(j["waiting_for"]["kind"], "signal");
  EXPECT_EQ(j["waiting_for"]["signal"], "approved");
  EXPECT_TRUE(j["waiting_for"]["until"].is_string());

  EXPECT_EQ(send(Json{{"ok", 1}}).outcome, O::delivered);
  EXPECT_EQ(hget("status"), "queued");
  EXPECT_EQ(timer(), "");
  EXPECT_EQ(xlen(), 1);
  expect_one_token();
  auto [again, seen] = claim();
  EXPECT_EQ(seen["sig.approved"], R"({"ok":1})");
  EXPECT_EQ(seen["s.approve.wake_at"], std::to_string(due)) << "the timeout keeps counting from the first claim";
}

TEST_F(Signals, AWaitWithoutTimeoutHoldsNoTimerAndIsNoOffender) {
  auto [token, fields] = claim();
  ASSERT_EQ(run(st.apply({park(token)}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(hget("status"), "waiting");
  EXPECT_EQ(hget("s.approve.wake_at"), "");
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
  expect_one_token();
  EXPECT_EQ(run(examine(st, true)).offenders.size(), 0u) << "the doctor repairs nothing";
  EXPECT_EQ(xlen(), 0);
  const Json j = to_json(*run(st.get_run(run_id)));
  EXPECT_EQ(j["waiting_for"], (Json{{"kind", "signal"}, {"signal", "approved"}, {"until", nullptr}}));
  EXPECT_EQ(send(Json()).outcome, O::delivered);
  EXPECT_EQ(hget("sig.approved"), "null");
}

TEST_F(Signals, TheTimeoutQueuesTheStepAgainWithItsDueTimeKept) {
  auto [token, fields] = claim();
  const long long due = redis_ms() + 3'600'000;
  ASSERT_EQ(run(st.apply({park(token, due)}, 0ms)).at(0), Applied::ok);
  EXPECT_GT(run(st.promote(0, 100)), 3'500'000) << "not due yet";
  call({"ZADD", keys.timers(0), "XX", "1", run_id + "\tapprove\tsignal"});
  run(st.promote(0, 100));
  EXPECT_EQ(hget("status"), "queued");
  EXPECT_EQ(hget("s.approve.wake_at"), std::to_string(due)) << "its claim sees the timeout passed";
  EXPECT_EQ(timer(), "");
  expect_one_token();
}

TEST_F(Signals, ARepeatedIdempotencyKeyChangesNothing) {
  EXPECT_EQ(send(Json(1), "k-1").outcome, O::kept);
  EXPECT_EQ(send(Json(2), "k-1").outcome, O::repeat);
  call({"HSET", keys.run(run_id), "status", "completed"});
  EXPECT_EQ(send(Json(2), "k-1").outcome, O::repeat) << "a retry hears it was taken even once the run ended";
  EXPECT_EQ(send(Json(2), "k-2").outcome, O::ended);
  call({"HSET", keys.run(run_id), "status", "queued"});
  EXPECT_EQ(hget("sig.approved"), "1");
  EXPECT_EQ(send(Json(3)).outcome, O::kept) << "without a key a signal replaces the kept one of its name";
  EXPECT_EQ(hget("sig.approved"), "3");
  EXPECT_EQ(hget("sigs_kept"), "1");
}

TEST_F(Signals, RefusalsWriteNothing) {
  const std::string before(call({"DUMP", keys.run(run_id)}).str());
  const SignalResult unknown = send(Json(1), {}, "rejected");
  EXPECT_EQ(unknown.outcome, O::unknown_signal);
  EXPECT_EQ(unknown.detail, "no wait step of workflow 'wf' waits for signal 'rejected' (it waits for: approved)");
  EXPECT_EQ(send(Json(1), {}, "approved", "01ARZ3NDEKTSV4RRFFQ69G5FAV").outcome, O::missing);
  EXPECT_THROW(send(Json(1), {}, "bad name"), std::invalid_argument);
  EXPECT_THROW(send(Json(std::string(kMaxSignalBytes, 'x'))), std::invalid_argument) << "over 64 KiB with its quotes";
  EXPECT_THROW(send(Json(1), "a key with spaces"), std::invalid_argument);
  EXPECT_EQ(std::string(call({"DUMP", keys.run(run_id)}).str()), before);
  EXPECT_EQ(send(Json(std::string(kMaxSignalBytes - 2, 'x'))).outcome, O::kept) << "64 KiB exactly is taken";

  call({"HSET", keys.run(run_id), "status", "completed"});
  const SignalResult ended = send(Json(1));
  EXPECT_EQ(ended.outcome, O::ended);
  EXPECT_EQ(ended.detail, "completed");
}

TEST_F(Signals, ARunKeepsAtMost100SignalsAndReplacesAKeptName) {
  Json steps = Json::array();
  for (int i = 0; i <= kMaxKeptSignals; ++i) {
    steps.push_back({{"name", "w" + std::to_string(i)}, {"queue", "default"}, {"signal", "s" + std::to_string(i)}});
  }
  run(st.register_workflow("wf", Json{{"name", "wf"}, {"steps", steps}}));
  for (int i = 0; i < kMaxKeptSignals; ++i) {
    ASSERT_EQ(send(Json(i), {}, "s" + std::to_string(i)).outcome, O::kept) << i;
  }
  const SignalResult full = send(Json(1), {}, "s" + std::to_string(kMaxKeptSignals));
  EXPECT_EQ(full.outcome, O::full);
  EXPECT_EQ(full.detail, "the run keeps 100 signals no wait has taken yet; a new name is refused");
  EXPECT_EQ(hget("sig.s100"), "");
  EXPECT_EQ(send(Json("again"), {}, "s7").outcome, O::kept) << "a kept name is replaced, not added";
  EXPECT_EQ(hget("sig.s7"), "\"again\"");
}

TEST_F(Signals, CancelEndsAWaitThatHoldsNoTokenButItsName) {
  auto [token, fields] = claim();
  ASSERT_EQ(run(st.apply({park(token)}, 0ms)).at(0), Applied::ok);
  EXPECT_EQ(run(st.cancel(run_id, 0ms)), "cancelled");
  EXPECT_EQ(hget("status"), "cancelled");
  const SignalResult late = send(Json(1));
  EXPECT_EQ(late.outcome, O::ended);
  EXPECT_EQ(late.detail, "cancelled");
}

TEST_F(Signals, ADeadlinePassingWhileTheRunWaitsForASignalFailsIt) {
  run_id = submit(2h);
  auto [token, fields] = claim();
  ASSERT_EQ(run(st.apply({park(token, redis_ms() + 3'600'000)}, 0ms)).at(0), Applied::ok);
  call({"ZADD", keys.deadlines(0), "XX", "1", run_id + "\t\tdeadline"});
  run(st.promote(0, 100));
  EXPECT_EQ(hget("status"), "failed");
  EXPECT_EQ(hget("s.approve.error"), "deadline exceeded: the run had not ended by its deadline");
  EXPECT_EQ(timer(), "") << "its timeout timer went with it";
  const RunTokens tokens = run(st.run_tokens(run_id));
  EXPECT_EQ(tokens.in_dlq, 1);
  EXPECT_EQ(tokens.in_stream + tokens.in_delayed, 0);
  EXPECT_EQ(send(Json(1)).outcome, O::ended);
}

TEST_F(Signals, TheDoctorPutsALostTimeoutBackAndReplayForgetsIt) {
  auto [token, fields] = claim();
  const long long due = redis_ms() + 3'600'000;
  ASSERT_EQ(run(st.apply({park(token, due)}, 0ms)).at(0), Applied::ok);
  call({"ZREM", keys.timers(0), run_id + "\tapprove\tsignal"});
  const DoctorReport repaired = run(examine(st, true));
  ASSERT_EQ(repaired.offenders.size(), 1u);
  EXPECT_EQ(repaired.offenders[0].repaired, "signal timeout timer of step approve put back at its due time");
  EXPECT_EQ(timer(), std::to_string(due));
  EXPECT_EQ(hget("status"), "waiting");

  // Timed out and failed: a replay waits afresh, with a new timeout.
  call({"ZADD", keys.timers(0), "XX", "1", run_id + "\tapprove\tsignal"});
  run(st.promote(0, 100));
  auto [again, seen] = claim();
  Transition fail;
  fail.token = again;
  fail.run_id = run_id;
  fail.step = "approve";
  fail.action = engine::Action::dead_letter;
  fail.attempts = 1;
  fail.error = "timed out: no signal 'approved' came within 1h";
  ASSERT_EQ(run(st.apply({fail}, 0ms)).at(0), Applied::ok);
  const std::vector<DeadLetter> dead = run(st.dlq_list(10));
  ASSERT_EQ(dead.size(), 1u);
  run(st.dlq_replay(dead[0].id));
  EXPECT_EQ(hget("status"), "queued");
  EXPECT_EQ(hget("s.approve.wake_at"), "");
}

}  // namespace
}  // namespace steadfast::store
