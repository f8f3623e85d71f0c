// The operator's view of the store against a real Redis, no worker processes:
// the doctor's checks and repairs (store/doctor.h), removing a key space
// (store/key_space_cleanup.h), Redis' own accounting (store/server_stats.h),
// and the counters and registrations the bench waits on.
#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "store/doctor.h"
#include "store/key_space_cleanup.h"
#include "store/server_stats.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;

class Operator : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    prefix_ = std::string("op-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  Store& store(int partitions = 1) {
    if (!store_) store_ = std::make_unique<Store>(make_client(), KeySpace(prefix_, partitions));
    return *store_;
  }
  const KeySpace& keys() { return store().keys(); }

  // A run of workflow "wf" (one step "a" on queue "default"), queued in its
  // stream, whose consumer group exists.
  std::string submit_run() {
    // Built outside the coroutine: GCC 12 miscompiles braced initializers in one.
    const Json definition = Json::parse(R"({"steps": [{"name": "a", "queue": "default"}]})");
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json::object();
    req.steps = {"a"};
    req.first_queue = "default";
    return run([](Store& st, Json def, SubmitRequest r) -> asio::awaitable<std::string> {
      co_await st.register_workflow("wf", def);
      co_await st.ensure_group(0, "default");  // as a worker does
      co_return (co_await st.submit(r)).run_id;
    }(store(), definition, req));
  }
  DoctorReport examine(bool repair) {
    return run(store::examine(store(), repair));
  }

  std::string stream() { return keys().queue(0, "default"); }
  std::string hget(const std::string& run_id, const std::string& field) {
    redis::Reply r = server().call({"HGET", keys().run(run_id), field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  long long xlen(const std::string& key) { return server().call({"XLEN", key}).as_integer(); }
  // Every key of the test's prefix with its DUMP, to prove a check changed nothing.
  std::vector<std::string> snapshot() {
    std::vector<std::string> out;
    redis::Reply ks = server().call({"KEYS", prefix_ + ":*"});
    std::vector<std::string> names;
    for (const redis::Reply& k : ks.elements()) names.emplace_back(k.str());
    std::sort(names.begin(), names.end());
    for (const std::string& k : names) out.push_back(k + "=" + std::string(server().call({"DUMP", k}).str()));
    return out;
  }

  std::string prefix_;
  std::unique_ptr<Store> store_;
};

TEST_F(Operator, DoctorFindsNothingWrongWithAQueuedRun) {
  submit_run();
  const DoctorReport r = examine(false);
  EXPECT_EQ(r.runs, 1u);
  EXPECT_TRUE(r.offenders.empty());
}

TEST_F(Operator, DoctorReportsALiveRunWithoutTokenAndChangesNothingWithoutRepair) {
  const std::string id = submit_run();
  server().call({"XDEL", stream(), hget(id, "entry")});  // the token is lost
  const auto before = snapshot();
  const DoctorReport r = examine(false);
  ASSERT_EQ(r.offenders.size(), 1u);
  const Offender& o = r.offenders[0];
  EXPECT_EQ(o.kind, Offender::Kind::run);
  EXPECT_EQ(o.run_id, id);
  EXPECT_EQ(o.problem, "live run has no token (it would never finish)");
  EXPECT_EQ(o.tokens.status, "queued");
  EXPECT_EQ(o.tokens.in_stream + o.tokens.in_delayed + o.tokens.in_dlq, 0);
  EXPECT_EQ(o.repaired, "");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(Operator, DoctorRepairGivesALiveRunItsTokenBackAtItsStep) {
  const std::string id = submit_run();
  const std::string lost = hget(id, "entry");
  server().call({"XDEL", stream(), lost});
  server().call({"HSET", keys().run(id), "status", "running"});
  const DoctorReport r = examine(true);
  ASSERT_EQ(r.offenders.size(), 1u);
  EXPECT_EQ(r.offenders[0].repaired, "re-enqueued at step a");
  EXPECT_EQ(hget(id, "status"), "queued");
  const std::string entry = hget(id, "entry");
  EXPECT_NE(entry, lost);
  redis::Reply e = server().call({"XRANGE", stream(), entry, entry});
  ASSERT_EQ(e.size(), 1u);
  std::vector<std::string> fields;
  for (const redis::Reply& f : e[0][1].elements()) fields.emplace_back(f.str());
  EXPECT_EQ(fields, (std::vector<std::string>{"r", id, "s", "a", "a", "0"}));
  const DoctorReport again = examine(false);
  EXPECT_TRUE(again.offenders.empty());
}

TEST_F(Operator, DoctorReportsAFinishedRunStillHoldingATokenAndRepairLeavesIt) {
  const std::string id = submit_run();
  server().call({"HSET", keys().run(id), "status", "completed"});
  const auto before = snapshot();
  const DoctorReport r = examine(true);
  ASSERT_EQ(r.offenders.size(), 1u);
  EXPECT_EQ(r.offenders[0].problem, "finished run still holds a token");
  EXPECT_EQ(r.offenders[0].tokens.in_stream, 1);
  EXPECT_EQ(r.offenders[0].repaired, "");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(Operator, DoctorReportsAFailedRunOutsideTheDeadLetterQueue) {
  const std::string id = submit_run();
  server().call({"HSET", keys().run(id), "status", "failed"});
  const DoctorReport r = examine(false);
  ASSERT_EQ(r.offenders.size(), 1u);
  EXPECT_EQ(r.offenders[0].problem, "failed run must be in the dead-letter queue only");
}

TEST_F(Operator, DoctorReportsALiveRunHoldingTwoTokensAndRepairLeavesIt) {
  const std::string id = submit_run();
  server().call({"ZADD", keys().timers(0), "1", id + "\ta\tretry"});
  const auto before = snapshot();
  const DoctorReport r = examine(true);
  ASSERT_EQ(r.offenders.size(), 1u);
  EXPECT_EQ(r.offenders[0].problem, "live run holds more than one token");
  EXPECT_EQ(r.offenders[0].tokens.in_stream, 1);
  EXPECT_EQ(r.offenders[0].tokens.in_delayed, 1);
  EXPECT_EQ(snapshot(), before);
}

TEST_F(Operator, DoctorRepairDeletesAnUnclaimedOrphanEntryButNotAClaimedOne) {
  submit_run();  // makes the queue known, its stream and its group
  // Read the real run's entry so the orphans are the last two entries.
  const std::string claimed = std::string(server().call({"XADD", stream(), "*", "r", "gone-1", "s", "a", "a", "0"}).str());
  server().call({"XREADGROUP", "GROUP", std::string(kGroup), "w1", "COUNT", "2", "STREAMS", stream(), ">"});
  const std::string unclaimed = std::string(server().call({"XADD", stream(), "*", "r", "gone-2", "s", "a", "a", "0"}).str());

  const DoctorReport look = examine(false);
  ASSERT_EQ(look.offenders.size(), 2u);
  for (const Offender& o : look.offenders) {
    EXPECT_EQ(o.kind, Offender::Kind::orphan_entry);
    EXPECT_EQ(o.problem, "stream entry not held by its run (orphan token)");
    EXPECT_EQ(o.stream, stream());
    EXPECT_EQ(o.repaired, "");
  }
  EXPECT_EQ(look.offenders[0].entry, claimed);
  EXPECT_EQ(look.offenders[0].run_id, "gone-1");
  EXPECT_EQ(look.offenders[1].entry, unclaimed);
  EXPECT_EQ(xlen(stream()), 3);

  const DoctorReport fixed = examine(true);
  ASSERT_EQ(fixed.offenders.size(), 2u);
  EXPECT_EQ(fixed.offenders[0].repaired, "");  // a worker holds it: its to finish
  EXPECT_EQ(fixed.offenders[1].repaired, "deleted the orphan entry");
  EXPECT_EQ(xlen(stream()), 2);
  EXPECT_EQ(server().call({"XRANGE", stream(), unclaimed, unclaimed}).size(), 0u);
}

// What a second Redis on the same AOF leaves (issue 12): a run whose entry
// sits at or below the group's last-delivered id, claimed by nobody, so that
// XREADGROUP never hands it out. Made here with XGROUP SETID.
TEST_F(Operator, DoctorReportsAndRepairsATokenBelowTheGroupsLastDeliveredId) {
  const std::string id = submit_run();
  const std::string stuck = hget(id, "entry");
  server().call({"XGROUP", "SETID", stream(), std::string(kGroup), stuck});
  ASSERT_TRUE(server()
                  .call({"XREADGROUP", "GROUP", std::string(kGroup), "probe", "COUNT", "10", "STREAMS", stream(), ">"})
                  .is_nil());  // the token can never be delivered

  const auto before = snapshot();
  const DoctorReport look = examine(false);
  ASSERT_EQ(look.offenders.size(), 1u);
  const Offender& o = look.offenders[0];
  EXPECT_EQ(o.kind, Offender::Kind::undeliverable);
  EXPECT_EQ(o.run_id, id);
  EXPECT_EQ(o.stream, stream());
  EXPECT_EQ(o.entry, stuck);
  EXPECT_NE(o.problem.find("can never be delivered"), std::string::npos) << o.problem;
  EXPECT_EQ(o.tokens.status, "queued");
  EXPECT_EQ(o.repaired, "");
  EXPECT_EQ(snapshot(), before);

  const DoctorReport fixed = examine(true);
  ASSERT_EQ(fixed.offenders.size(), 1u);
  EXPECT_EQ(fixed.offenders[0].repaired, "re-enqueued at step a");
  const std::string entry = hget(id, "entry");
  EXPECT_NE(entry, stuck);
  EXPECT_EQ(server().call({"XRANGE", stream(), stuck, stuck}).size(), 0u);  // the stuck one is gone
  EXPECT_EQ(xlen(stream()), 1);
  // A worker reading the queue now gets the run's new token.
  const redis::Reply read =
      server().call({"XREADGROUP", "GROUP", std::string(kGroup), "w1", "COUNT", "10", "STREAMS", stream(), ">"});
  ASSERT_TRUE(read.is_array());
  ASSERT_EQ(read[0][1].size(), 1u);
  EXPECT_EQ(read[0][1][0][0].str(), entry);
  EXPECT_EQ(read[0][1][0][1][1].str(), id);
  EXPECT_TRUE(examine(false).offenders.empty());
}

// Two doctors that both saw the run without a token: the script re-checks, so
// the second gives it nothing.
TEST_F(Operator, RepairTwiceGivesARunOneToken) {
  const std::string lost = submit_run();
  server().call({"XDEL", stream(), hget(lost, "entry")});
  const std::string stuck = submit_run();
  server().call({"XGROUP", "SETID", stream(), std::string(kGroup), hget(stuck, "entry")});
  const std::string healthy = submit_run();  // after the SETID: deliverable
  const std::vector<std::string> ids{lost, stuck, healthy};

  EXPECT_EQ(run(re_enqueue(store(), 0, ids)),
            (std::vector<std::string>{"repaired:a", "repaired:a", "skipped:has_token"}));
  const auto after_first = snapshot();
  EXPECT_EQ(run(re_enqueue(store(), 0, ids)),
            (std::vector<std::string>{"skipped:has_token", "skipped:has_token", "skipped:has_token"}));
  EXPECT_EQ(snapshot(), after_first);
  EXPECT_EQ(xlen(stream()), 3);  // one token per run
  EXPECT_TRUE(examine(false).offenders.empty());
}

TEST_F(Operator, RepairLeavesClaimedAndFinishedRunsAlone) {
  const std::string claimed = submit_run();
  server().call({"XREADGROUP", "GROUP", std::string(kGroup), "w1", "COUNT", "1", "STREAMS", stream(), ">"});
  const std::string finished = submit_run();
  server().call({"XDEL", stream(), hget(finished, "entry")});
  server().call({"HSET", keys().run(finished), "status", "completed", "entry", ""});
  const auto before = snapshot();
  EXPECT_EQ(run(re_enqueue(store(), 0, {claimed, finished, "01ARZ3NDEKTSV4RRFFQ69G5FAV"})),
            (std::vector<std::string>{"skipped:has_token", "skipped:finished", "skipped:gone"}));
  EXPECT_EQ(snapshot(), before);
}

TEST_F(Operator, DeleteKeySpaceRemovesEveryKeyOfThePrefixAndNoOther) {
  const std::string id = submit_run();
  server().call({"HSET", keys().workers(), "w1", "{}"});
  server().call({"SET", prefix_ + "x:kept", "1"});  // a prefix that only starts alike
  server().call({"SET", "other:kept", "1"});
  const std::size_t before = snapshot().size();
  ASSERT_GE(before, 4u);  // run, stream, stats, workflows, queues, workers
  const std::size_t deleted = run(delete_key_space(store().client(), keys()));
  EXPECT_EQ(deleted, before);
  EXPECT_TRUE(snapshot().empty());
  EXPECT_EQ(server().call({"EXISTS", prefix_ + "x:kept"}).as_integer(), 1);
  EXPECT_EQ(server().call({"EXISTS", "other:kept"}).as_integer(), 1);
}

TEST_F(Operator, CountersSumOverPartitionsAndWorkersAreCountedByRegistration) {
  Store& st = store(2);
  server().call({"HINCRBY", keys().stats(0), "completed:wf", "5"});
  server().call({"HINCRBY", keys().stats(1), "completed:wf", "2"});
  EXPECT_EQ(run(st.counter("completed:wf")), 7);
  EXPECT_EQ(run(st.counter("failed:wf")), 0);
  EXPECT_EQ(run(st.registered_workers()), 0);
  server().call({"HSET", keys().workers(), "w1", "{}", "w2", "{}"});
  EXPECT_EQ(run(st.registered_workers()), 2);
}

TEST_F(Operator, CommandCallsCountSinceTheResetAndCpuTimeIsRead) {
  redis::Client& c = store().client();
  const CommandCalls calls = run([&]() -> asio::awaitable<CommandCalls> {
    co_await reset_server_stats(c);
    for (int i = 0; i < 3; ++i) co_await c.command("HGET", "op-none", "f");
    co_return co_await command_calls(c);
  }());
  EXPECT_EQ(calls, (CommandCalls{{"config|resetstat", 1}, {"hget", 3}}));
  EXPECT_GT(run(server_cpu_seconds(c)), 0.0);
}

}  // namespace
}  // namespace steadfast::store
