// The client-side transitions, script by script: submit.lua, cancel.lua,
// promote.lua, replay.lua and check_run.lua; then the cluster contract (every
// script call stays in one slot, over several partitions).
#include <algorithm>
#include <set>

#include "store/run_id.h"
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

using engine::Action;
using std::chrono::hours;

class StoreRunOps : public StoreTest {
 protected:
  // A run whose first step failed once and waits in the delayed set (due in 60 s).
  StartItem retrying_run() {
    const StartItem it = running_run();
    const auto r = apply({transition(it, Action::retry_later)});
    if (r.at(0) != Applied::ok) throw std::runtime_error("retry refused");
    return it;
  }
  // A dead-lettered run; returns its dead-letter entry id.
  std::string failed_run(StartItem* out = nullptr) {
    const StartItem it = running_run();
    if (apply({transition(it, Action::dead_letter)}).at(0) != Applied::ok)
      throw std::runtime_error("dlq refused");
    if (out) *out = it;
    return field(it.run_id, "dlq_entry");
  }
  // The run's retry timer (its step is "a").
  static std::string timer(const std::string& run_id) { return run_id + "\ta\tretry"; }
  void make_due(const std::string& run_id, long long score = 1) {
    expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", std::to_string(score), timer(run_id)}));
  }
  // Both phases, raw: due.lua names the due members, promote.lua gets every
  // key they touch. Returns {due members handled (each leaves the set), ms
  // until the next due member or -1}.
  Reply promote_raw(int limit = 100) {
    const std::vector<std::string> sets{keys_.timers(kPartition), keys_.legacy_delayed(kPartition)};
    const Reply due = eval(scripts::due(), {sets[0], sets[1], keys_.retention(kPartition), keys_.deadlines(kPartition)},
                           {std::to_string(limit)});
    std::vector<std::string> ks = sets;
    std::vector<std::string> args;
    for (const Reply& m : due[0].elements()) {
      const std::string member(m.str());
      const std::string id = member.substr(0, member.find('\t'));
      const Reply q = cmd({"HGET", run_key(id), "queue"});
      const std::string queue = q.is_nil() ? std::string() : std::string(q.str());
      ks.push_back(run_key(id));
      ks.push_back(stream(queue));
      args.insert(args.end(), {member, "t", queue});
    }
    if (!args.empty()) eval(scripts::promote(), ks, args);
    return A({I(static_cast<long long>(due[0].size())), due[2]});
  }
  Reply cancel_raw(const std::string& run_id, const std::string& queue = "q") {
    return eval(scripts::cancel(),
                {run_key(run_id), stream(queue), keys_.timers(kPartition), keys_.legacy_delayed(kPartition),
                 keys_.index_status(kPartition, "live"), keys_.index_status(kPartition, "cancelled"),
                 keys_.retention(kPartition)},
                {run_id, std::string(kGroup), queue, "3600000"});
  }
  Reply replay_raw(const std::string& dlq_entry, const std::string& run_id) {
    return eval(scripts::replay(),
                {keys_.dlq(kPartition), run_key(run_id), stream(), keys_.index_status(kPartition, "failed"),
                 keys_.index_status(kPartition, "live")},
                {dlq_entry, run_id, std::string(kGroup)});
  }
  // submit.lua for one run (a batch of one), raw: its reply is the list of the runs' answers.
  Reply submit_raw(const std::string& run_id, long long max_backlog = 0) {
    return eval(scripts::submit(),
                {stream(), keys_.stats(kPartition), keys_.timers(kPartition), keys_.index_all(kPartition),
                 keys_.index_workflow(kPartition, "wf"), keys_.index_status(kPartition, "live"),
                 keys_.deadlines(kPartition), run_key(run_id), run_key(run_id)},
                {"wf", "a", "q", "1000", std::to_string(max_backlog), R"(["a","b"])", "31536000000", "1000", "0", "",
                 run_id, "{}", "fp", "", "0", "0", "0", "0"});
  }
};

// --- submit.lua ---

TEST_F(StoreRunOps, SubmitCreatesTheRunAndItsFirstToken) {
  const std::string id = submit();
  const Fields h = hash(id);
  EXPECT_EQ(h.at("workflow"), "wf");
  EXPECT_EQ(h.at("status"), "queued");
  EXPECT_EQ(h.at("input"), R"({"n":1})");
  EXPECT_EQ(h.at("step"), "a");
  EXPECT_EQ(h.at("queue"), "q");
  EXPECT_EQ(h.at("base"), "0");
  EXPECT_EQ(h.at("steps"), R"(["a","b"])");
  EXPECT_EQ(h.at("s.a.status"), "queued");
  EXPECT_EQ(h.at("created_at"), h.at("updated_at"));
  EXPECT_EQ(entries(), std::vector<std::string>{h.at("entry")});
  EXPECT_EQ(entry(stream(), h.at("entry")), (Fields{{"r", id}, {"s", "a"}, {"a", "0"}}));
  EXPECT_EQ(run(w1_->counters()).at("submitted:wf"), 1);
}

TEST_F(StoreRunOps, SubmitWithARepeatedIdempotencyKeyReturnsTheFirstRunAndWritesNothing) {
  const std::string id = submit("order-7");
  Snapshot before = snapshot({id});
  const std::string idem = keys_.idempotency("wf", "order-7");
  const Snapshot idem_before = snapshot_of({idem});

  SubmitRequest again;
  again.workflow = "wf";
  again.input = Json{{"n", 1}};
  again.steps = {"a", "b"};
  again.first_queue = "q";
  again.idempotency_key = "order-7";
  const SubmitResult r = run(w1_->submit(again));
  EXPECT_FALSE(r.created);
  EXPECT_EQ(r.run_id, id);
  expect_unchanged(before, "a repeated submit");
  expect_unchanged(idem_before, "a repeated submit");
}

TEST_F(StoreRunOps, ARepeatedIdempotencyKeyWithAnotherInputIsAConflictAndWritesNothing) {
  const std::string id = submit("order-7");
  Snapshot before = snapshot({id});
  const Snapshot idem_before = snapshot_of({keys_.idempotency("wf", "order-7")});

  SubmitRequest other;
  other.workflow = "wf";
  other.input = Json{{"n", 2}};
  other.steps = {"a", "b"};
  other.first_queue = "q";
  other.idempotency_key = "order-7";
  try {
    (void)run(w1_->submit(other));
    ADD_FAILURE() << "a repeat with another input was accepted";
  } catch (const IdempotencyConflict& e) {
    EXPECT_EQ(e.run_id(), id);
  }
  expect_unchanged(before, "a conflicting repeat");
  expect_unchanged(idem_before, "a conflicting repeat");
  EXPECT_EQ(entries().size(), 1u);
}

TEST_F(StoreRunOps, IdempotencyKeysAreScopedPerWorkflow) {
  const std::string first = submit("order-7");
  SubmitRequest r;
  r.workflow = "other";
  r.input = Json{{"n", 1}};
  r.steps = {"a"};
  r.first_queue = "q";
  r.idempotency_key = "order-7";
  const SubmitResult second = run(w1_->submit(r));
  EXPECT_TRUE(second.created);
  EXPECT_NE(second.run_id, first);
  EXPECT_NE(keys_.idempotency("wf", "order-7"), keys_.idempotency("other", "order-7"));
}

// A key that looks like a key name stays inside its own (hashed) key: it can
// never name a run key, nor be listed as a run.
TEST_F(StoreRunOps, AnIdempotencyKeyCannotPoseAsARunKey) {
  const std::string hostile = "x}:run:01JAAAAAAAAAAAAAAAAAAAAAAA";
  (void)submit(hostile);
  const std::string idem = keys_.idempotency("wf", hostile);
  EXPECT_EQ(idem.find("run:"), std::string::npos) << idem;
  EXPECT_EQ(idem.find(hostile), std::string::npos) << idem;
  EXPECT_EQ(cmd({"EXISTS", idem}).as_integer(), 1);
}

TEST_F(StoreRunOps, SubmitOverTheBacklogBoundIsRefusedAndWritesNothing) {
  const std::string first = submit();
  const std::string id = new_run_id();
  const Snapshot before = snapshot({first, id});

  EXPECT_EQ(submit_raw(id, 1), A({A({I(3), S("BACKLOG queue q holds 1 or more entries; try again later")})}));
  expect_unchanged(before, "a submit over the backlog bound");

  SubmitRequest r;
  r.workflow = "wf";
  r.steps = {"a"};
  r.first_queue = "q";
  r.max_backlog = 1;
  EXPECT_THROW(run(w1_->submit(r)), BacklogFull);
}

TEST_F(StoreRunOps, SubmitOfAnExistingRunIdIsRefusedAndWritesNothing) {
  const std::string id = submit();
  const Snapshot before = snapshot({id});
  EXPECT_EQ(submit_raw(id), A({A({I(5), S("EXISTS")})}));
  expect_unchanged(before, "a submit of an existing run id");
}

// --- cancel.lua ---

TEST_F(StoreRunOps, CancelOfAQueuedRunEndsItAtOnceAndRemovesItsToken) {
  const std::string id = submit();
  EXPECT_EQ(run(w1_->cancel(id, hours(1))), "cancelled");

  const Fields h = hash(id);
  EXPECT_EQ(h.at("status"), "cancelled");
  EXPECT_EQ(h.at("cancel"), "1");
  EXPECT_EQ(h.at("entry"), "");
  EXPECT_EQ(h.at("s.a.status"), "cancelled");
  EXPECT_GT(cmd({"PEXPIRETIME", run_key(id)}).as_integer(), 0);
  EXPECT_TRUE(entries().empty());
}

TEST_F(StoreRunOps, CancelOfARunningRunOnlyRaisesTheFlag) {
  const StartItem it = running_run();
  const Snapshot tokens = snapshot({});
  EXPECT_EQ(cancel_raw(it.run_id), S("cancelling"));
  EXPECT_EQ(field(it.run_id, "cancel"), "1");
  EXPECT_EQ(field(it.run_id, "status"), "running");
  expect_unchanged(tokens, "cancel of a running run: its worker ends it");
}

TEST_F(StoreRunOps, CancelOfARetryingRunTakesItOutOfTheDelayedSet) {
  const StartItem it = retrying_run();
  EXPECT_EQ(cancel_raw(it.run_id), S("cancelled"));
  EXPECT_EQ(field(it.run_id, "status"), "cancelled");
  EXPECT_TRUE(cmd({"ZSCORE", keys_.timers(kPartition), timer(it.run_id)}).is_nil());
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}), I(0));
  EXPECT_EQ(cmd({"ZCARD", keys_.retention(kPartition)}), I(1)) << "its retention's end";
  EXPECT_EQ(run(w1_->delayed_count()), 0) << "a cancelled run is not retrying";
}

TEST_F(StoreRunOps, CancelOfATerminalRunAnswersItsStatusAndWritesNothing) {
  for (const std::string status : {"completed", "failed", "cancelled"}) {
    SCOPED_TRACE(status);
    const std::string id = submit();
    set_field(id, "status", status);
    const Snapshot before = snapshot({id});
    EXPECT_EQ(cancel_raw(id), S("terminal:" + status));
    expect_unchanged(before, "cancel of a " + status + " run");
  }
}

TEST_F(StoreRunOps, CancelOfAMissingRunWritesNothing) {
  const std::string id = new_run_id();
  const Snapshot before = snapshot({id});
  EXPECT_EQ(cancel_raw(id), S("missing"));
  EXPECT_EQ(run(w1_->cancel(id, hours(1))), "missing");
  expect_unchanged(before, "cancel of a missing run");
}

TEST_F(StoreRunOps, CancelOfARunThatChangedQueueAnswersMovedAndWritesNothing) {
  const std::string id = submit();
  const Snapshot before = snapshot({id});
  EXPECT_EQ(cancel_raw(id, "q2"), S("moved"));
  expect_unchanged(before, "cancel naming the wrong queue");
}

// --- promote.lua ---

TEST_F(StoreRunOps, PromoteQueuesADueRetryAgain) {
  const StartItem it = retrying_run();
  make_due(it.run_id);
  EXPECT_EQ(promote_raw(), A({I(1), I(-1)}));

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "queued");
  EXPECT_EQ(h.at("s.a.status"), "queued");
  EXPECT_EQ(h.count("due_at"), 0u);
  EXPECT_EQ(entries(), std::vector<std::string>{h.at("entry")});
  EXPECT_EQ(entry(stream(), h.at("entry")), (Fields{{"r", it.run_id}, {"s", "a"}, {"a", "1"}}));
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}), I(0));
}

TEST_F(StoreRunOps, PromoteLeavesARetryThatIsNotDueAndAnswersTheWait) {
  const StartItem it = retrying_run();
  const Snapshot before = snapshot({it.run_id});
  const Reply r = promote_raw();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], I(0));
  EXPECT_GT(r[1].as_integer(), 0);
  EXPECT_LE(r[1].as_integer(), 60000);
  expect_unchanged(before, "promote before the due time");
}

TEST_F(StoreRunOps, PromoteDropsADueMemberWhoseRunNoLongerRetries) {
  for (const std::string status : {"cancelled", "<deleted>"}) {
    SCOPED_TRACE(status);
    const StartItem it = retrying_run();
    if (status == "<deleted>")
      delete_run(it.run_id);
    else
      set_field(it.run_id, "status", status);
    make_due(it.run_id);
    const Snapshot run_and_streams = snapshot_of({run_key(it.run_id), stream(), stream("q2"),
                                                  keys_.dlq(kPartition), keys_.stats(kPartition)});
    EXPECT_EQ(promote_raw(), A({I(1), I(-1)}));
    expect_unchanged(run_and_streams, "promote of a run no longer retrying");
    EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}), I(0));
  }
}

TEST_F(StoreRunOps, PromoteMovesAtMostItsLimitOldestFirst) {
  std::vector<StartItem> items;
  for (int i = 0; i < 3; ++i) items.push_back(retrying_run());
  for (int i = 0; i < 3; ++i) make_due(items[i].run_id, i + 1);
  EXPECT_EQ(promote_raw(2), A({I(2), I(0)})) << "the third is due already";
  EXPECT_EQ(field(items[0].run_id, "status"), "queued");
  EXPECT_EQ(field(items[1].run_id, "status"), "queued");
  EXPECT_EQ(field(items[2].run_id, "status"), "retrying");
  EXPECT_EQ(run(w1_->promote(kPartition, 2)), -1);
  EXPECT_EQ(field(items[2].run_id, "status"), "queued");
}

TEST_F(StoreRunOps, PromoteOfAMixedSetMovesOnlyTheDueRetries) {
  const StartItem due = retrying_run();
  const StartItem cancelled = retrying_run();
  const StartItem later = retrying_run();
  make_due(due.run_id);
  set_field(cancelled.run_id, "status", "cancelled");
  make_due(cancelled.run_id, 2);
  const Snapshot untouched = snapshot({cancelled.run_id, later.run_id}, false);

  const Reply r = promote_raw();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], I(2)) << "both due members leave the set";
  EXPECT_GT(r[1].as_integer(), 0);
  EXPECT_LE(r[1].as_integer(), 60000);
  EXPECT_EQ(field(due.run_id, "status"), "queued");
  EXPECT_EQ(entries(), std::vector<std::string>{field(due.run_id, "entry")});
  expect_unchanged(untouched, "the cancelled and the not yet due runs");
  EXPECT_EQ(cmd({"ZRANGE", keys_.timers(kPartition), "0", "-1"}), A({S(timer(later.run_id))}));
}

// --- duty.lua: a partition's promoter duty ---

TEST_F(StoreRunOps, ThePromoterDutyIsOneWorkersUntilItsLeaseEndsOrItGivesItUp) {
  using std::chrono::milliseconds;
  const std::string key = keys_.duty(kPartition);
  const Store::Duty first = run(w1_->take_duty(kPartition, "w1", milliseconds(2000)));
  EXPECT_TRUE(first.held);
  EXPECT_EQ(first.left, milliseconds(2000));
  EXPECT_EQ(cmd({"GET", key}), S("w1"));
  const long long pttl = cmd({"PTTL", key}).as_integer();
  EXPECT_GT(pttl, 1000);
  EXPECT_LE(pttl, 2000);

  // Another worker is told how long the holder's lease has left, and writes nothing.
  const Store::Duty other = run(w1_->take_duty(kPartition, "w2", milliseconds(2000)));
  EXPECT_FALSE(other.held);
  EXPECT_GT(other.left, milliseconds(1000));
  EXPECT_LE(other.left, milliseconds(2000));
  EXPECT_EQ(cmd({"GET", key}), S("w1"));
  EXPECT_LE(cmd({"PTTL", key}).as_integer(), pttl) << "the holder's lease is not extended";
  // Nor can it give up a duty it does not hold.
  EXPECT_FALSE(run(w1_->take_duty(kPartition, "w2", milliseconds(0))).held);
  EXPECT_EQ(cmd({"GET", key}), S("w1"));

  // The holder renews: the lease starts again.
  expect_ok(cmd({"PEXPIRE", key, "500"}));
  EXPECT_TRUE(run(w1_->take_duty(kPartition, "w1", milliseconds(3000))).held);
  EXPECT_GT(cmd({"PTTL", key}).as_integer(), 2000);

  // Given up: the next worker to ask takes it at once.
  const Store::Duty given = run(w1_->take_duty(kPartition, "w1", milliseconds(0)));
  EXPECT_FALSE(given.held);
  EXPECT_EQ(cmd({"EXISTS", key}), I(0));
  EXPECT_TRUE(run(w1_->take_duty(kPartition, "w2", milliseconds(2000))).held);
  EXPECT_EQ(cmd({"GET", key}), S("w2"));

  // A lease that ran out (the holder was killed) is the next asker's.
  expect_ok(cmd({"DEL", key}));
  EXPECT_TRUE(run(w1_->take_duty(kPartition, "w3", milliseconds(2000))).held);
  EXPECT_EQ(cmd({"GET", key}), S("w3"));
}

// --- replay.lua ---

TEST_F(StoreRunOps, ReplayQueuesAFailedRunWithAFreshBudget) {
  StartItem it;
  const std::string dlq_entry = failed_run(&it);
  set_field(it.run_id, "cancel", "1");
  expect_ok(cmd({"PEXPIRE", run_key(it.run_id), "3600000"}));
  EXPECT_EQ(run(w1_->dlq_replay(dlq_entry)), it.run_id);

  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("status"), "queued");
  EXPECT_EQ(h.at("s.a.status"), "queued");
  EXPECT_EQ(h.at("base"), "1");
  EXPECT_EQ(h.at("s.a.budget_from"), "1");
  EXPECT_EQ(h.count("dlq_entry"), 0u);
  EXPECT_EQ(h.count("cancel"), 0u);
  EXPECT_EQ(cmd({"PEXPIRETIME", run_key(it.run_id)}), I(-1));
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}), I(0));
  EXPECT_EQ(entries(), std::vector<std::string>{h.at("entry")});
  EXPECT_EQ(entry(stream(), h.at("entry")), (Fields{{"r", it.run_id}, {"s", "a"}, {"a", "1"}}));
}

TEST_F(StoreRunOps, ReplayByRunIdFindsItsDeadLetterEntry) {
  StartItem it;
  failed_run(&it);
  EXPECT_EQ(run(w1_->dlq_replay(it.run_id)), it.run_id);
  EXPECT_EQ(field(it.run_id, "status"), "queued");
}

TEST_F(StoreRunOps, ReplayIsRefusedWithTheReasonAndWritesNothing) {
  StartItem it;
  const std::string dlq_entry = failed_run(&it);
  const std::string id = it.run_id;
  {
    const Snapshot before = snapshot({id});
    EXPECT_EQ(replay_raw("1-1", id), Reply::make_error("ERR no dead-letter entry 1-1"));
    expect_unchanged(before, "replay of an unknown dead-letter entry");
  }
  {
    set_field(id, "status", "queued");
    const Snapshot before = snapshot({id});
    EXPECT_EQ(replay_raw(dlq_entry, id),
              Reply::make_error("ERR run " + id + " is queued, not failed"));
    expect_unchanged(before, "replay of a run that is not failed");
  }
  {
    delete_run(id);
    const Snapshot before = snapshot({id});
    EXPECT_EQ(replay_raw(dlq_entry, id), Reply::make_error("ERR run " + id + " no longer exists"));
    expect_unchanged(before, "replay of a deleted run");
    EXPECT_THROW(run(w1_->dlq_replay(dlq_entry)), std::invalid_argument);
  }
}

TEST_F(StoreRunOps, ReplayOfARunNotInTheDeadLetterStreamIsRefused) {
  const std::string id = submit();
  const Snapshot before = snapshot({id});
  EXPECT_THROW(run(w1_->dlq_replay(id)), std::invalid_argument);
  expect_unchanged(before, "replay of a queued run");
}

// --- check_run.lua ---

TEST_F(StoreRunOps, RunTokensFindTheOneTokenOfARunWhereverItIs) {
  const StartItem running = running_run();
  const StartItem retrying = retrying_run();
  StartItem failed;
  failed_run(&failed);
  const StartItem completed = running_run();
  ASSERT_EQ(apply({transition(completed, Action::complete_run)}),
            std::vector<Applied>{Applied::ok});
  const std::string queued = submit();

  auto tokens = [&](const std::string& id) {
    const RunTokens t = run(w1_->run_tokens(id));
    return std::tuple{t.status, t.in_stream, t.in_delayed, t.in_dlq, t.pending};
  };
  EXPECT_EQ(tokens(queued), std::tuple("queued", 1, 0, 0, false));
  EXPECT_EQ(tokens(running.run_id), std::tuple("running", 1, 0, 0, true));
  EXPECT_EQ(tokens(retrying.run_id), std::tuple("retrying", 0, 1, 0, false));
  EXPECT_EQ(tokens(failed.run_id), std::tuple("failed", 0, 0, 1, false));
  EXPECT_EQ(tokens(completed.run_id), std::tuple("completed", 0, 0, 0, false));
}

// --- the cluster contract ---

// The cluster run of this tier is a real cluster: keys of two slots in one
// script are refused there, while a plain server runs them.
TEST_F(StoreRunOps, TheClusterRunRefusesAScriptOverTwoSlots) {
  const redis::Script two_slots(
      "two_slots", "redis.call('SET', KEYS[1], 1); return redis.call('SET', KEYS[2], 2)");
  const Reply r = eval(two_slots, {"{a}x", "{b}x"}, {});
  if (test::RedisTest::on_cluster()) {
    EXPECT_TRUE(r.is_error() && r.str().starts_with("CROSSSLOT")) << r.debug_string();
  } else {
    EXPECT_EQ(r, Reply::make_status("OK"));
  }
}

// Every key a script touches must be declared and share one slot, which Redis
// checks only for scripts that declare their flags (`#!lua`): a script without
// them may reach any key of the node, so the cluster run would not catch an
// undeclared key of another slot.
TEST(StoreScripts, EachStartsWithItsFlagsSoTheClusterChecksItsKeys) {
  for (const redis::Script* s :
       {&scripts::submit(), &scripts::start(), &scripts::complete(), &scripts::retry(),
        &scripts::dead_letter(), &scripts::drop(), &scripts::cancel(), &scripts::renew(),
        &scripts::reclaim(), &scripts::promote(), &scripts::replay(), &scripts::check_run(),
        &scripts::config(), &scripts::due(), &scripts::limit_acquire(), &scripts::limit_release(), &scripts::limit_pause(),
        &scripts::limit_renew(), &scripts::limit_wait(), &scripts::spawn(), &scripts::sleep(), &scripts::signal(),
        &scripts::feed()}) {
    EXPECT_TRUE(s->source().starts_with("#!lua")) << s->name() << ".lua does not start with #!lua";
  }
}

// With several partitions the runs' keys spread over several slots: every
// script call the Store makes must stay within one partition's keys.
class StorePartitioned : public StoreTest {
 protected:
  static constexpr int kPartitions = 4;
  void SetUp() override {
    StoreTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    keys_ = KeySpace(std::string("p.") + info->name(), kPartitions);
    w1_ = std::make_unique<Store>(*client_, keys_, "w1");
    for (int p = 0; p < kPartitions; ++p) {
      run(w1_->ensure_group(p, "q"));
      run(w1_->ensure_group(p, "q2"));
    }
  }
  // Every member of the partition's delayed set becomes due.
  void make_due_all(int partition) {
    for (const std::string& set : {keys_.timers(partition), keys_.retention(partition)}) {
      const Reply members = cmd({"ZRANGE", set, "0", "-1"});
      for (const Reply& m : members.elements()) expect_ok(cmd({"ZADD", set, "XX", "1", std::string(m.str())}));
    }
  }
};

TEST_F(StorePartitioned, EveryTransitionOfRunsInEveryPartitionStaysInOneSlot) {
  // Runs in every partition (ids are drawn until each partition has two).
  std::map<int, int> per_partition;
  std::vector<std::string> ids;
  int submitted = 0;
  while (static_cast<int>(per_partition.size()) < kPartitions ||
         std::any_of(per_partition.begin(), per_partition.end(),
                     [](auto& e) { return e.second < 2; })) {
    SubmitRequest r;
    r.workflow = "wf";
    r.steps = {"a", "b"};
    r.first_queue = "q";
    // A fresh key each time: a repeated one would return its first run forever.
    r.idempotency_key = "k" + std::to_string(submitted++);
    const std::string id = run(w1_->submit(r)).run_id;
    if (per_partition[keys_.partition_of(id)]++ < 2) ids.push_back(id);
  }
  // Claim every partition's entries and start them in one call per partition.
  std::vector<StartItem> items;
  for (int p = 0; p < kPartitions; ++p) {
    const Reply read = cmd({"XREADGROUP", "GROUP", std::string(kGroup), "w1", "COUNT", "100",
                            "STREAMS", keys_.queue(p, "q"), ">"});
    std::vector<StartItem> mine;
    for (const Reply& e : read[0][1].elements()) {
      StartItem it;
      it.token = Token{p, "q", std::string(e[0].str()), 1};
      const Fields f = to_fields(e[1]);
      it.run_id = f.at("r");
      it.step = f.at("s");
      mine.push_back(it);
    }
    for (const Started& s : run(w1_->start(p, "q", mine))) EXPECT_EQ(s.state, Started::State::ok);
    items.insert(items.end(), mine.begin(), mine.end());
  }
  EXPECT_EQ(run(w1_->renew(items)), std::vector<Store::Renewal>(items.size(), Store::Renewal::ok));

  // One outcome of every kind, spread over the partitions, in one apply.
  const std::vector<Action> kinds{Action::advance, Action::complete_run, Action::retry_later,
                                  Action::release, Action::dead_letter,  Action::cancel_run};
  std::vector<Transition> batch;
  for (std::size_t i = 0; i < items.size(); ++i)
    batch.push_back(transition(items[i], kinds[i % kinds.size()]));
  for (const Applied a : apply(batch)) EXPECT_EQ(a, Applied::ok);
  // Runs that ended get a retention timer; made due with the retries below,
  // expire.lua deletes them with their index entries.
  std::set<std::string> ended;
  for (const Transition& t : batch) {
    if (t.action == Action::complete_run || t.action == Action::cancel_run) ended.insert(t.run_id);
  }

  for (int p = 0; p < kPartitions; ++p) {
    make_due_all(p);
    run(w1_->promote(p, 100));
    const Reclaimed r = run(w1_->reclaim(p, "q", std::chrono::milliseconds(0), "0-0", 100));
    EXPECT_EQ(r.payload_lost, 0);
  }
  for (const std::string& id : ids) {
    const RunTokens t = run(w1_->run_tokens(id));
    EXPECT_EQ(t.status.empty(), ended.contains(id)) << id;
  }
  EXPECT_EQ(run(w1_->delayed_count()), 0);
  EXPECT_EQ(run(w1_->dlq_count()),
            std::count_if(batch.begin(), batch.end(),
                          [](const Transition& t) { return t.action == Action::dead_letter; }));
  const auto dead = run(w1_->dlq_list(10));
  for (const DeadLetter& d : dead) EXPECT_EQ(run(w1_->dlq_replay(d.id)), d.run_id);
  for (const std::string& id : ids) {
    const std::string c = run(w1_->cancel(id, hours(1)));
    EXPECT_TRUE(c == "cancelled" || c == "cancelling" || c.starts_with("terminal:") ||
                (c == "missing" && ended.contains(id)))
        << c;
  }
}

}  // namespace
}  // namespace steadfast::store::testing
