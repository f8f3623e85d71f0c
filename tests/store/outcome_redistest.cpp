// The outcome side of fencing, script by script, through Store::apply:
// complete.lua (advance, complete_run), retry.lua (retry_later, release),
// dead_letter.lua and drop.lua (cancel_run, discard). A stale token writes
// nothing, byte for byte; a terminal or deleted run loses only the entry.
#include "store/doctor.h"
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

using engine::Action;
using std::chrono::hours;

std::vector<Applied> only(Applied a) { return {a}; }

class StoreOutcome : public StoreTest {
 protected:
  // The keys a discarded outcome must leave alone: the run, the other stream,
  // the delayed set, the dead-letter stream and the counters.
  Snapshot all_but_the_stream(const std::string& run_id) {
    return snapshot_of({run_key(run_id), stream("q2"), keys_.timers(kPartition),
                        keys_.dlq(kPartition), keys_.stats(kPartition)});
  }
  void expect_entry_gone(const StartItem& it) {
    EXPECT_EQ(entries(it.token.queue), std::vector<std::string>{}) << "the entry is deleted";
    EXPECT_EQ(pending(it), std::nullopt) << "and acknowledged";
  }
};

// --- complete.lua ---

TEST_F(StoreOutcome, AdvanceRecordsTheOutputAndQueuesTheNextStep) {
  const StartItem it = running_run();
  EXPECT_EQ(apply({transition(it, Action::advance)}), only(Applied::ok));

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("s.a.status"), "completed");
  EXPECT_EQ(h.at("s.a.output"), R"({"out":1})");
  EXPECT_EQ(h.at("s.a.attempts"), "1");
  EXPECT_EQ(h.at("s.a.finished_at"), h.at("updated_at"));
  EXPECT_EQ(h.at("status"), "queued");
  EXPECT_EQ(h.at("step"), "b");
  EXPECT_EQ(h.at("queue"), "q2");
  EXPECT_EQ(h.at("base"), "0");
  EXPECT_EQ(h.at("s.b.status"), "queued");
  expect_entry_gone(it);
  EXPECT_EQ(entries("q2"), std::vector<std::string>{h.at("entry")});
  EXPECT_EQ(entry(stream("q2"), h.at("entry")), (Fields{{"r", it.run_id}, {"s", "b"}, {"a", "0"}}));
}

// A step whose `if` was false: recorded as skipped, attempts 0, its output
// null; the run goes on (or, for the last step, completes) as for a completion.
TEST_F(StoreOutcome, ASkippedStepIsRecordedAsSkippedAndTheRunGoesOn) {
  for (const Action a : {Action::advance, Action::complete_run}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    Transition t = transition(it, a);
    t.output = "null";
    t.skipped = true;
    EXPECT_EQ(apply({t}), only(Applied::ok));
    const Fields h = hash(it.run_id);
    EXPECT_EQ(h.at("s.a.status"), "skipped");
    EXPECT_EQ(h.at("s.a.output"), "null");
    EXPECT_EQ(h.at("s.a.attempts"), "0");
    EXPECT_EQ(h.at("status"), a == Action::advance ? "queued" : "completed");
    expect_entry_gone(it);
  }
}

// A step that failed for good under on_failure: continue: recorded as
// failed with its error and history, output null; the run goes on (or, for
// the last step, completes) with no dead-letter entry.
TEST_F(StoreOutcome, AFailureWithOnFailureContinueIsRecordedAndTheRunGoesOn) {
  for (const Action a : {Action::advance, Action::complete_run}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    Transition t = transition(it, a);
    t.output = "null";
    t.failed = true;
    t.error = "fatal error: bad input";
    EXPECT_EQ(apply({t}), only(Applied::ok));
    const Fields h = hash(it.run_id);
    EXPECT_EQ(h.at("s.a.status"), "failed");
    EXPECT_EQ(h.at("s.a.error"), "fatal error: bad input");
    EXPECT_NE(h.at("s.a.errors").find(R"("outcome":"failed")"), std::string::npos) << h.at("s.a.errors");
    EXPECT_EQ(h.at("s.a.output"), "null");
    EXPECT_EQ(h.at("status"), a == Action::advance ? "queued" : "completed");
    EXPECT_EQ(h.count("dlq_entry"), 0u);
    expect_entry_gone(it);
  }
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}).as_integer(), 0);
}

TEST_F(StoreOutcome, LastStepCompletesTheRunWithItsRetention) {
  const StartItem it = running_run();
  const long long before = redis_now_ms();
  EXPECT_EQ(apply({transition(it, Action::complete_run)}, nullptr, hours(1)), only(Applied::ok));

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "completed");
  EXPECT_EQ(h.at("entry"), "");
  EXPECT_EQ(h.at("s.a.status"), "completed");
  EXPECT_EQ(h.at("s.a.output"), R"({"out":2})");
  // The retention is the expire timer (the promoter deletes the run with its
  // index entries); the hash's own TTL is an hour later, a safety net.
  const Reply due = cmd({"ZSCORE", keys_.retention(kPartition), it.run_id + "\t\texpire"});
  ASSERT_FALSE(due.is_nil());
  const long long due_at = std::stoll(std::string(due.str()));
  EXPECT_GE(due_at, before + 3600000);
  EXPECT_LE(due_at, redis_now_ms() + 3600000);
  const long long expire_at = cmd({"PEXPIRETIME", run_key(it.run_id)}).as_integer();
  // (PEXPIRE counts from the script's start, TIME from its call: a ms apart at most.)
  EXPECT_LE(std::abs(expire_at - (due_at + 3600000)), 50) << expire_at << " vs " << due_at;
  EXPECT_EQ(run(w1_->counters()).at("completed:wf"), 1);
  EXPECT_EQ(run(w1_->delayed_count()), 0) << "a retained run is not a retrying one";
  expect_entry_gone(it);
  EXPECT_TRUE(entries("q2").empty());
}

TEST_P(StaleTokenTest, CompleteOfAStaleTokenIsStaleAndWritesNothing) {
  for (const Action a : {Action::advance, Action::complete_run}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    make_stale(it, GetParam());
    const Snapshot before = snapshot({it.run_id});
    EXPECT_EQ(apply_raw(transition(it, a)), A({S("stale")}));
    expect_unchanged(before, "complete of a stale token");
    // Clear the stream for the next action's run.
    expect_ok(cmd({"DEL", stream()}));
    run(w1_->ensure_group(kPartition, "q"));
  }
}

TEST_F(StoreOutcome, CompleteOfARunBeingCancelledAdvancesAndKeepsTheFlag) {
  // complete.lua reads no status: the next step's start returns cancel=1 and the
  // worker cancels the run there.
  const StartItem it = running_run();
  set_field(it.run_id, "cancel", "1");
  EXPECT_EQ(apply({transition(it, Action::advance)}), only(Applied::ok));
  EXPECT_EQ(field(it.run_id, "cancel"), "1");
  EXPECT_EQ(field(it.run_id, "step"), "b");
}

// A run can only lose its hash under a live token by hand (DEL, FLUSHDB) or by
// eviction; no outcome may bring back a fragment of it.
TEST_F(StoreOutcome, CompleteOfADeletedRunDropsTheEntryAndRecreatesNothing) {
  for (const Action a : {Action::advance, Action::complete_run}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    delete_run(it.run_id);
    const Snapshot others = snapshot_of({stream("q2"), keys_.stats(kPartition)});
    EXPECT_EQ(apply({transition(it, a)}), only(Applied::discarded));
    EXPECT_FALSE(exists(run_key(it.run_id))) << "the run hash is not recreated";
    expect_entry_gone(it);
    expect_unchanged(others, "complete of a deleted run");
  }
}

// Every transition that ends a run removes its token in the same script, so a
// token that passes complete.lua's fencing check belongs to a live run.
TEST_F(StoreOutcome, CompleteAfterTheSameTokenEndedTheRunIsStale) {
  for (const Action ending : {Action::complete_run, Action::dead_letter, Action::cancel_run}) {
    SCOPED_TRACE(engine::to_string(ending));
    const StartItem it = running_run();
    ASSERT_EQ(apply({transition(it, ending)}), only(Applied::ok));
    const Snapshot before = snapshot({it.run_id});
    EXPECT_EQ(apply({transition(it, Action::advance)}), only(Applied::stale));
    EXPECT_EQ(apply({transition(it, Action::complete_run)}), only(Applied::stale));
    expect_unchanged(before, "complete after the run ended");
  }
}

TEST_F(StoreOutcome, CompleteOfAMixedBatchWritesOnlyTheTokensItOwns) {
  std::vector<StartItem> items;
  for (int i = 0; i < 5; ++i) items.push_back(running_run());
  make_stale(items[2], Staleness::moved);
  make_stale(items[3], Staleness::redelivered);
  make_stale(items[4], Staleness::acked);
  const Snapshot untouched = snapshot({items[2].run_id, items[3].run_id, items[4].run_id}, false);

  // Raw, to pin the exact reply: one complete.lua call for the whole batch.
  std::vector<std::string> ks{stream(),
                              keys_.stats(kPartition),
                              keys_.retention(kPartition),
                              keys_.index_status(kPartition, "live"),
                              keys_.index_status(kPartition, "cancelled"),
                              keys_.dlq(kPartition),
                              keys_.index_status(kPartition, "failed"),
                              keys_.timers(kPartition)};
  std::vector<std::string> args{std::string(kGroup), "w1", "3600000"};
  for (std::size_t i = 0; i < items.size(); ++i) {
    const bool last = i == 1;
    ks.push_back(run_key(items[i].run_id));
    ks.push_back(last ? stream() : stream("q2"));
    args.insert(args.end(), {items[i].token.entry_id, "1", items[i].run_id, "a",
                             R"({"i":)" + std::to_string(i) + "}", "1", last ? "" : "b",
                             last ? "" : "q2", "wf", "", "", ""});
  }
  EXPECT_EQ(eval(scripts::complete(), ks, args),
            A({S("ok"), S("ok"), S("stale"), S("stale"), S("stale")}));

  EXPECT_EQ(field(items[0].run_id, "step"), "b");
  EXPECT_EQ(field(items[1].run_id, "status"), "completed");
  expect_unchanged(untouched, "the stale items' runs");
  EXPECT_EQ(entries(), (std::vector<std::string>{items[2].token.entry_id, items[3].token.entry_id,
                                                 items[4].token.entry_id}))
      << "only the applied entries are deleted";
  EXPECT_EQ(pending(items[2]), (std::pair<std::string, long long>{"w2", 1}));
  EXPECT_EQ(pending(items[3]), (std::pair<std::string, long long>{"w1", 2}));
  EXPECT_EQ(entries("q2").size(), 1u);
}

// --- retry.lua ---

TEST_F(StoreOutcome, RetryLaterRecordsTheErrorAndParksTheRunUntilItsDueTime) {
  const StartItem it = running_run();
  const long long before = redis_now_ms();
  EXPECT_EQ(apply({transition(it, Action::retry_later)}), only(Applied::ok));
  const long long after = redis_now_ms();

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "retrying");
  EXPECT_EQ(h.at("entry"), "");
  EXPECT_EQ(h.at("s.a.status"), "retrying");
  EXPECT_EQ(h.at("s.a.error"), "boom");
  EXPECT_EQ(h.at("s.a.attempts"), "1");
  EXPECT_EQ(h.at("base"), "1");
  const long long due = std::stoll(h.at("due_at"));
  EXPECT_GE(due, before + 60000);
  EXPECT_LE(due, after + 60000);
  EXPECT_EQ(cmd({"ZSCORE", keys_.timers(kPartition), it.run_id + "\ta\tretry"}), S(h.at("due_at")));
  const Json errors = Json::parse(h.at("s.a.errors"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["attempt"], 1);
  EXPECT_EQ(errors[0]["error"], "boom");
  EXPECT_EQ(errors[0]["started_at"], std::stoll(h.at("s.a.started_at")));
  EXPECT_EQ(run(w1_->counters()).at("retries"), 1);
  EXPECT_EQ(run(w1_->counters()).at("retried:wf"), 1) << "per workflow, for the per-minute series";
  expect_entry_gone(it);
}

TEST_F(StoreOutcome, ReleaseQueuesTheSameStepAtOnceWithoutAnError) {
  const StartItem it = running_run();
  EXPECT_EQ(apply({transition(it, Action::release)}), only(Applied::ok));

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "queued");
  EXPECT_EQ(h.at("s.a.status"), "queued");
  EXPECT_EQ(h.count("s.a.error"), 0u);
  EXPECT_EQ(h.at("base"), "1");
  EXPECT_EQ(entries(), std::vector<std::string>{h.at("entry")})
      << "a new entry replaces the old one";
  EXPECT_NE(h.at("entry"), it.token.entry_id);
  EXPECT_EQ(entry(stream(), h.at("entry")), (Fields{{"r", it.run_id}, {"s", "a"}, {"a", "1"}}));
  EXPECT_EQ(pending(it), std::nullopt);
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}), I(0));
  EXPECT_EQ(run(w1_->counters()).count("retries"), 0u);
}

// Bounded waiting: a rate-limited retry keeps the attempt's counters in the
// run, where the next claim (on any worker, after any restart) reads them.
TEST_F(StoreOutcome, RetryKeepsTheAttemptsAdmissionCountersForTheNextClaim) {
  const StartItem it = running_run();
  Transition t = transition(it, Action::retry_later);
  t.attempts = 0;
  t.delay = std::chrono::milliseconds(10);
  t.error = "rate limited: 429";
  t.rate_limited = 2;
  t.waited = std::chrono::milliseconds(1500);
  EXPECT_EQ(apply({t}), only(Applied::ok));
  Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("s.a.rate_limited"), "2");
  EXPECT_EQ(h.at("s.a.waited_ms"), "1500");

  // Promoted and claimed again: start.lua hands the counters back, with Redis' time.
  cmd({"ZADD", keys_.timers(kPartition), "0", it.run_id + "\ta\tretry"});
  run(w1_->promote(kPartition, 10));
  const StartItem again = claim();
  const long long before = redis_now_ms();
  const auto started = run(w1_->start(kPartition, "q", {again}));
  ASSERT_EQ(started.at(0).state, Started::State::ok);
  EXPECT_EQ(started.at(0).run.at("s.a.rate_limited"), "2");
  EXPECT_EQ(started.at(0).run.at("s.a.waited_ms"), "1500");
  EXPECT_GE(started.at(0).now_ms, before);
  EXPECT_LE(started.at(0).now_ms, redis_now_ms());

  // A failure that counts starts the next attempt's counters at zero.
  Transition failed = transition(again, Action::retry_later);
  EXPECT_EQ(apply({failed}), only(Applied::ok));
  h = hash(it.run_id);
  EXPECT_EQ(h.at("s.a.rate_limited"), "0");
  EXPECT_EQ(h.at("s.a.waited_ms"), "0");
}

// Rolling deploys: a step handed back by a worker without its handler, while
// no live worker on its queue has it, shows waiting_for no_worker and keeps
// when that began; a hand-back while one has it (or any write by a worker
// with the handler) clears both.
TEST_F(StoreOutcome, AHandBackForWantOfAHandlerShowsNoWorkerAndKeepsWhenItBegan) {
  const StartItem it = running_run();
  Transition t = transition(it, Action::release);
  t.attempts = 0;
  t.delay = std::chrono::milliseconds(60000);
  t.unhandled = true;
  t.no_worker_queue = "q";
  const long long before = redis_now_ms();
  EXPECT_EQ(apply({t}), only(Applied::ok));
  Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "retrying");
  EXPECT_EQ(h.at("s.a.attempts"), "0");
  EXPECT_EQ(h.count("s.a.error"), 0u);
  EXPECT_EQ(h.at("s.a.no_worker"), "q");
  const std::string since = h.at("s.a.unhandled_since");
  EXPECT_GE(std::stoll(since), before);
  EXPECT_EQ(run(w1_->counters()).count("retries"), 0u) << "a hand-back is not a retry";
  const auto info = run(w1_->get_run(it.run_id));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->steps[0].waiting_for, (Json{{"kind", "no_worker"}, {"until", nullptr}, {"queue", "q"}}));
  EXPECT_EQ(info->waiting_for, info->steps[0].waiting_for);

  // Handed back again: the start of the wait is kept (the grace counts from it).
  cmd({"ZADD", keys_.timers(kPartition), "0", it.run_id + "\ta\tretry"});
  run(w1_->promote(kPartition, 10));
  const StartItem again = claim();
  ASSERT_EQ(run(w1_->start(kPartition, "q", {again})).at(0).state, Started::State::ok);
  Transition t2 = transition(again, Action::release);
  t2.attempts = 0;
  t2.delay = std::chrono::milliseconds(60000);
  t2.unhandled = true;
  t2.no_worker_queue = "q";
  EXPECT_EQ(apply({t2}), only(Applied::ok));
  EXPECT_EQ(hash(it.run_id).at("s.a.unhandled_since"), since);

  // Now a live worker has it: handed back without no_worker, both cleared.
  cmd({"ZADD", keys_.timers(kPartition), "0", it.run_id + "\ta\tretry"});
  run(w1_->promote(kPartition, 10));
  const StartItem third = claim();
  ASSERT_EQ(run(w1_->start(kPartition, "q", {third})).at(0).state, Started::State::ok);
  Transition t3 = transition(third, Action::release);
  t3.attempts = 0;
  t3.delay = std::chrono::milliseconds(60000);
  t3.unhandled = true;
  EXPECT_EQ(apply({t3}), only(Applied::ok));
  h = hash(it.run_id);
  EXPECT_EQ(h.count("s.a.no_worker"), 0u);
  EXPECT_EQ(h.count("s.a.unhandled_since"), 0u);
  const auto retrying = run(w1_->get_run(it.run_id));
  EXPECT_EQ(retrying->steps[0].waiting_for["kind"], "retry");
}

// A step whose limiter refuses it for a while is parked: waiting (not
// retrying), no attempt spent, waiting_for the limiter and key until its
// due time, one token (the 'limiter' timer) that doctor accepts; promoted,
// it is queued again with the note gone; a cancel removes the timer.
TEST_F(StoreOutcome, AStepParkedAtItsLimiterWaitsWithOneTokenAndComesBack) {
  const StartItem it = running_run();
  Transition t = transition(it, Action::release);
  t.attempts = 0;
  t.delay = std::chrono::milliseconds(60000);
  t.rate_limited = 1;
  t.waited = std::chrono::milliseconds(2500);
  t.parked_limiter = "llm-tenant";
  t.parked_key = "acme";
  // The claim's note of its wait at the limiter (limit_wait.lua) goes with it.
  cmd({"HSET", run_key(it.run_id), "s.a.limiter_wait", "w1\t1\tllm-tenant\tacme"});
  const long long before = redis_now_ms();
  EXPECT_EQ(apply({t}), only(Applied::ok));
  Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "waiting");
  EXPECT_EQ(h.at("s.a.status"), "waiting");
  EXPECT_EQ(h.at("s.a.attempts"), "0");
  EXPECT_EQ(h.at("s.a.waited_ms"), "2500") << "counted on toward retry.max_wait";
  EXPECT_EQ(h.at("s.a.parked"), "llm-tenant\tacme");
  EXPECT_EQ(h.count("s.a.limiter_wait"), 0u);
  EXPECT_EQ(h.count("s.a.error"), 0u);
  EXPECT_EQ(entries(), std::vector<std::string>{}) << "no entry: the timer is its token";
  const auto due = cmd({"ZSCORE", keys_.timers(kPartition), it.run_id + "\ta\tlimiter"});
  ASSERT_TRUE(due.is_string()) << "a 'limiter' timer";
  EXPECT_GE(std::stoll(std::string(due.str())), before + 60000);
  EXPECT_EQ(run(w1_->counters()).count("retries"), 0u) << "a parked step is not a retry";
  const auto info = run(w1_->get_run(it.run_id));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->status, "waiting");
  EXPECT_EQ(info->steps[0].waiting_for["kind"], "limiter");
  EXPECT_EQ(info->steps[0].waiting_for["limiter"], "llm-tenant");
  EXPECT_EQ(info->steps[0].waiting_for["key"], "acme");
  EXPECT_FALSE(info->steps[0].waiting_for["until"].is_null());
  const DoctorReport parked = run(examine(*w1_, false));
  EXPECT_TRUE(parked.offenders.empty()) << parked.offenders.front().problem;

  // Due: queued again, asking its limiter anew; the note is gone.
  cmd({"ZADD", keys_.timers(kPartition), "0", it.run_id + "\ta\tlimiter"});
  EXPECT_EQ(run(w1_->promote(kPartition, 10)), -1) << "nothing else due";
  h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "queued");
  EXPECT_EQ(h.count("s.a.parked"), 0u);
  const StartItem again = claim();
  const auto started = run(w1_->start(kPartition, "q", {again}));
  ASSERT_EQ(started.at(0).state, Started::State::ok);
  EXPECT_EQ(started.at(0).run.at("s.a.waited_ms"), "2500");

  // Parked again, then cancelled: no timer is left behind.
  Transition t2 = transition(again, Action::release);
  t2.attempts = 0;
  t2.delay = std::chrono::milliseconds(60000);
  t2.parked_limiter = "llm";
  EXPECT_EQ(apply({t2}), only(Applied::ok));
  EXPECT_EQ(hash(it.run_id).at("s.a.parked"), "llm\t");
  EXPECT_EQ(run(w1_->get_run(it.run_id))->steps[0].waiting_for.count("key"), 0u) << "a plain limiter has no key";
  EXPECT_EQ(run(w1_->cancel(it.run_id, std::chrono::hours(1))), "cancelled");
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}), I(0));
}

TEST_P(StaleTokenTest, RetryOfAStaleTokenIsStaleAndWritesNothing) {
  for (const Action a : {Action::retry_later, Action::release, Action::sleep}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    make_stale(it, GetParam());
    const Snapshot before = snapshot({it.run_id});
    EXPECT_EQ(apply_raw(transition(it, a)), A({S("stale")}));
    expect_unchanged(before, "retry of a stale token");
    expect_ok(cmd({"DEL", stream()}));
    run(w1_->ensure_group(kPartition, "q"));
  }
}

TEST_F(StoreOutcome, RetryOfATerminalRunOnlyDropsTheEntry) {
  for (const std::string status : {"completed", "failed", "cancelled"}) {
    for (const Action a : {Action::retry_later, Action::release, Action::sleep}) {
      SCOPED_TRACE(status + " " + std::string(engine::to_string(a)));
      const StartItem it = running_run();
      set_field(it.run_id, "status", status);
      const Snapshot before = all_but_the_stream(it.run_id);
      EXPECT_EQ(apply_raw(transition(it, a)), A({S("discarded")}));
      expect_unchanged(before, "retry of a " + status + " run");
      expect_entry_gone(it);
    }
  }
}

TEST_F(StoreOutcome, RetryOfADeletedRunDropsTheEntryAndRecreatesNothing) {
  for (const Action a : {Action::retry_later, Action::release, Action::sleep}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    delete_run(it.run_id);
    const Snapshot before = all_but_the_stream(it.run_id);
    EXPECT_EQ(apply({transition(it, a)}), only(Applied::discarded));
    expect_unchanged(before, "retry of a deleted run");
    expect_entry_gone(it);
  }
}

TEST_F(StoreOutcome, RetryOfAMixedBatchAnswersPerItem) {
  std::vector<StartItem> items;
  for (int i = 0; i < 6; ++i) items.push_back(running_run());
  make_stale(items[2], Staleness::moved);
  make_stale(items[3], Staleness::redelivered);
  make_stale(items[4], Staleness::acked);
  set_field(items[5].run_id, "status", "cancelled");
  const Snapshot untouched =
      snapshot({items[2].run_id, items[3].run_id, items[4].run_id, items[5].run_id}, false);

  std::vector<Transition> batch;
  for (std::size_t i = 0; i < items.size(); ++i) {
    batch.push_back(transition(items[i], i == 1 ? Action::release : Action::retry_later));
  }
  EXPECT_EQ(apply(batch),
            (std::vector<Applied>{Applied::ok, Applied::ok, Applied::stale, Applied::stale,
                                  Applied::stale, Applied::discarded}));
  EXPECT_EQ(field(items[0].run_id, "status"), "retrying");
  EXPECT_EQ(field(items[1].run_id, "status"), "queued");
  expect_unchanged(untouched, "the refused items' runs");
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}), I(1));
  EXPECT_EQ(run(w1_->counters()).at("retries"), 1);
  EXPECT_EQ(pending(items[2]), (std::pair<std::string, long long>{"w2", 1}));
  EXPECT_EQ(pending(items[3]), (std::pair<std::string, long long>{"w1", 2}));
  EXPECT_EQ(pending(items[5]), std::nullopt);
}

// --- dead_letter.lua ---

TEST_F(StoreOutcome, DeadLetterFailsTheRunAndAddsItToTheDeadLetterStream) {
  const StartItem it = running_run();
  EXPECT_EQ(apply({transition(it, Action::dead_letter)}), only(Applied::ok));

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "failed");
  EXPECT_EQ(h.at("entry"), "");
  EXPECT_EQ(h.at("s.a.status"), "failed");
  EXPECT_EQ(h.at("s.a.error"), "fatal");
  EXPECT_EQ(h.at("s.a.finished_at"), h.at("updated_at"));
  const Fields d = entry(keys_.dlq(kPartition), h.at("dlq_entry"));
  EXPECT_EQ(d.at("run"), it.run_id);
  EXPECT_EQ(d.at("workflow"), "wf");
  EXPECT_EQ(d.at("step"), "a");
  EXPECT_EQ(d.at("attempts"), "1");
  EXPECT_EQ(d.at("error"), "fatal");
  EXPECT_EQ(d.at("errors"), h.at("s.a.errors"));
  EXPECT_EQ(d.at("at"), h.at("updated_at"));
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}), I(1));
  EXPECT_EQ(run(w1_->counters()).at("failed:wf"), 1);
  EXPECT_EQ(cmd({"PEXPIRETIME", run_key(it.run_id)}), I(-1)) << "a failed run waits for a replay";
  expect_entry_gone(it);
}

TEST_P(StaleTokenTest, DeadLetterOfAStaleTokenIsStaleAndWritesNothing) {
  const StartItem it = running_run();
  make_stale(it, GetParam());
  const Snapshot before = snapshot({it.run_id});
  EXPECT_EQ(apply_raw(transition(it, Action::dead_letter)), A({S("stale")}));
  expect_unchanged(before, "dead-letter of a stale token");
}

TEST_F(StoreOutcome, DeadLetterOfATerminalRunOnlyDropsTheEntry) {
  for (const std::string status : {"completed", "failed", "cancelled"}) {
    SCOPED_TRACE(status);
    const StartItem it = running_run();
    set_field(it.run_id, "status", status);
    const Snapshot before = all_but_the_stream(it.run_id);
    EXPECT_EQ(apply_raw(transition(it, Action::dead_letter)), A({S("discarded")}));
    expect_unchanged(before, "dead-letter of a " + status + " run");
    expect_entry_gone(it);
  }
}

TEST_F(StoreOutcome, DeadLetterOfADeletedRunDropsTheEntryAndRecreatesNothing) {
  const StartItem it = running_run();
  delete_run(it.run_id);
  const Snapshot before = all_but_the_stream(it.run_id);
  EXPECT_EQ(apply({transition(it, Action::dead_letter)}), only(Applied::discarded));
  expect_unchanged(before, "dead-letter of a deleted run");
  expect_entry_gone(it);
}

TEST_F(StoreOutcome, DeadLetterOfAMixedBatchAnswersPerItem) {
  std::vector<StartItem> items;
  for (int i = 0; i < 3; ++i) items.push_back(running_run());
  make_stale(items[1], Staleness::moved);
  set_field(items[2].run_id, "status", "completed");
  const Snapshot untouched = snapshot({items[1].run_id, items[2].run_id}, false);

  EXPECT_EQ(
      apply({transition(items[0], Action::dead_letter), transition(items[1], Action::dead_letter),
             transition(items[2], Action::dead_letter)}),
      (std::vector<Applied>{Applied::ok, Applied::stale, Applied::discarded}));
  EXPECT_EQ(field(items[0].run_id, "status"), "failed");
  expect_unchanged(untouched, "the refused items' runs");
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}), I(1));
  EXPECT_EQ(entries(), std::vector<std::string>{items[1].token.entry_id});
}

// --- drop.lua ---

TEST_F(StoreOutcome, CancelRunCancelsTheRunWithItsRetention) {
  const StartItem it = running_run();
  set_field(it.run_id, "cancel", "1");  // as cancel.lua leaves a running run
  EXPECT_EQ(apply({transition(it, Action::cancel_run)}), only(Applied::ok));

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "cancelled");
  EXPECT_EQ(h.at("s.a.status"), "cancelled");
  EXPECT_EQ(h.at("entry"), "");
  EXPECT_GT(cmd({"PEXPIRETIME", run_key(it.run_id)}).as_integer(), 0);
  expect_entry_gone(it);
}

TEST_F(StoreOutcome, DiscardOnlyDropsTheEntry) {
  const StartItem it = running_run();
  set_field(it.run_id, "status", "completed");
  const Snapshot before = all_but_the_stream(it.run_id);
  EXPECT_EQ(apply_raw(transition(it, Action::discard)), A({S("ok")}));
  expect_unchanged(before, "discard");
  expect_entry_gone(it);
}

TEST_P(StaleTokenTest, DropOfAStaleTokenIsStaleAndWritesNothing) {
  for (const Action a : {Action::cancel_run, Action::discard}) {
    SCOPED_TRACE(engine::to_string(a));
    const StartItem it = running_run();
    make_stale(it, GetParam());
    const Snapshot before = snapshot({it.run_id});
    EXPECT_EQ(apply_raw(transition(it, a)), A({S("stale")}));
    expect_unchanged(before, "drop of a stale token");
    expect_ok(cmd({"DEL", stream()}));
    run(w1_->ensure_group(kPartition, "q"));
  }
}

TEST_F(StoreOutcome, CancelRunOfATerminalOrDeletedRunOnlyDropsTheEntry) {
  for (const std::string status : {"completed", "failed", "cancelled", "<deleted>"}) {
    SCOPED_TRACE(status);
    const StartItem it = running_run();
    if (status == "<deleted>")
      delete_run(it.run_id);
    else
      set_field(it.run_id, "status", status);
    const Snapshot before = all_but_the_stream(it.run_id);
    EXPECT_EQ(apply_raw(transition(it, Action::cancel_run)), A({S("ok")}));
    expect_unchanged(before, "cancel of a " + status + " run");
    expect_entry_gone(it);
  }
}

TEST_F(StoreOutcome, DropOfAMixedBatchAnswersPerItem) {
  std::vector<StartItem> items;
  for (int i = 0; i < 4; ++i) items.push_back(running_run());
  make_stale(items[2], Staleness::redelivered);
  make_stale(items[3], Staleness::acked);
  set_field(items[1].run_id, "status", "completed");
  const Snapshot untouched = snapshot({items[1].run_id, items[2].run_id, items[3].run_id}, false);

  EXPECT_EQ(
      apply({transition(items[0], Action::cancel_run), transition(items[1], Action::discard),
             transition(items[2], Action::cancel_run), transition(items[3], Action::discard)}),
      (std::vector<Applied>{Applied::ok, Applied::ok, Applied::stale, Applied::stale}));
  EXPECT_EQ(field(items[0].run_id, "status"), "cancelled");
  expect_unchanged(untouched, "the discarded and stale items' runs");
  EXPECT_EQ(entries(),
            (std::vector<std::string>{items[2].token.entry_id, items[3].token.entry_id}));
}

// One pipeline, one script call per script kind: each group answers for its own items.
TEST_F(StoreOutcome, ApplyOfABatchMixingEveryScriptAnswersPerItem) {
  std::vector<StartItem> items;
  for (int i = 0; i < 5; ++i) items.push_back(running_run());
  make_stale(items[3], Staleness::moved);
  const Snapshot untouched = snapshot({items[3].run_id}, false);

  EXPECT_EQ(
      apply({transition(items[0], Action::advance), transition(items[1], Action::retry_later),
             transition(items[2], Action::dead_letter), transition(items[3], Action::complete_run),
             transition(items[4], Action::cancel_run)}),
      (std::vector<Applied>{Applied::ok, Applied::ok, Applied::ok, Applied::stale, Applied::ok}));
  EXPECT_EQ(field(items[0].run_id, "status"), "queued");
  EXPECT_EQ(field(items[1].run_id, "status"), "retrying");
  EXPECT_EQ(field(items[2].run_id, "status"), "failed");
  EXPECT_EQ(field(items[4].run_id, "status"), "cancelled");
  expect_unchanged(untouched, "the stale item's run");
  EXPECT_EQ(entries(), std::vector<std::string>{items[3].token.entry_id});
}

INSTANTIATE_TEST_SUITE_P(StoreStale, StaleTokenTest, STEADFAST_STALENESS_VALUES, staleness_name);

}  // namespace
}  // namespace steadfast::store::testing
