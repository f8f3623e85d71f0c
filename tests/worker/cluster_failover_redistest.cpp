// Failovers of a Redis Cluster primary under load (3 primaries with a
// replica each, support/redis_cluster.h): a worker, the C++ client with
// wait_replicas 1, and the store, pointed at one redis+cluster:// URL. Label
// "fault" (a process is killed; in the sanitizer phase's rotated sample).
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "redis/slot.h"
#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "store/doctor.h"
#include "store/keys.h"
#include "store/store.h"
#include "support/redis_cluster.h"
#include "support/redis_test.h"
#include "worker/three_steps.h"
#include "worker/worker_thread.h"

namespace steadfast {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RedisCluster;
using test::three_steps;
using test::WorkerThread;

// The worker of these tests: w1, 16 slots, prefix "c"; and its client.
WorkerOptions worker_options(const RedisCluster& cluster) {
  WorkerOptions wo;
  wo.redis_url = cluster.url();
  wo.key_prefix = "c";
  wo.id = "w1";
  wo.concurrency = 16;
  wo.drain_timeout = 1s;
  wo.handle_signals = false;
  return wo;
}
ClientOptions client_options(const RedisCluster& cluster) {
  ClientOptions co;
  co.redis_url = cluster.url();
  co.key_prefix = "c";
  return co;
}

enum class Disturbance {
  kill,     // SIGKILL of primary 1; started again once its replica (node 4) took over
  planned,  // CLUSTER FAILOVER at node 4, primary 1's replica
  reshard,  // partition 0's slot, with every key, migrated from node 0 to node 1
};

// A disturbance of the cluster under load, on 3 primaries with a replica
// each (node timeout 1 s), once 80 of 240 runs are submitted. Every submit
// acknowledged with wait_replicas 1 completes — submits that failed
// meanwhile were repeated with their idempotency key until answered — the
// worker never exits, and doctor finds nothing wrong.
void under_load(Disturbance disturbance) {
  RedisCluster cluster(test::RedisClusterOptions{3, 1, 1000});
  const Workflow wf = three_steps();
  ClientOptions co = client_options(cluster);
  co.wait_replicas = 1;
  co.wait_replicas_timeout = 2s;
  Client client(co);
  client.register_workflow(wf);
  WorkerThread worker(worker_options(cluster), {wf});

  // Once 80 runs are in, primary 1 is SIGKILLed; its replica (node 4) takes
  // over, and the old primary, started again, rejoins as node 4's replica
  // (until then that shard has no replica, and its submits are refused as
  // not replicated). Submits go on meanwhile.
  std::atomic<int> answered{0};
  std::atomic<bool> give_up{false};
  std::string chaos_error;
  std::thread chaos([&] {
    while (answered < 80 && !give_up) std::this_thread::sleep_for(5ms);
    if (give_up) return;
    try {
      if (disturbance == Disturbance::reshard) {
        const int slot = redis::key_slot(store::KeySpace::for_redis(redis::Config::from_url(cluster.url()), "c", 0)
                                             .partition_base(0));
        if (cluster.owner_of(slot) != 0) throw std::runtime_error("partition 0 is not on node 0");
        cluster.migrate_slot(slot, 0, 1);
        if (cluster.owner_of(slot) != 1) throw std::runtime_error("the slot did not move");
      } else if (disturbance == Disturbance::planned) {
        const redis::Reply r = cluster.node(4).call({"CLUSTER", "FAILOVER"});
        if (r.is_error()) throw std::runtime_error("CLUSTER FAILOVER: " + std::string(r.str()));
        cluster.wait_primary(4, 20s);
      } else {
        cluster.node(1).kill();
        cluster.wait_primary(4, 20s);
        cluster.node(1).start();
      }
    } catch (const std::exception& e) {
      chaos_error = e.what();
    }
  });
  // A failed assertion below leaves the test: the threads end first.
  struct Join {
    std::function<void()> f;
    ~Join() { f(); }
  } join{[&] {
    give_up = true;
    if (chaos.joinable()) chaos.join();
  }};
  std::vector<std::pair<std::string, int>> acknowledged;
  int refused = 0;
  for (int i = 0; i < 240; ++i) {
    SubmitOptions so;
    so.idempotency_key = "run-" + std::to_string(i);
    for (const auto until = std::chrono::steady_clock::now() + 30s;;) {
      try {
        acknowledged.emplace_back(client.submit("three", Json{{"n", i}}, so).run_id, i);
        ++answered;
        break;
      } catch (const std::exception& e) {
        ++refused;
        ASSERT_LT(std::chrono::steady_clock::now(), until) << "submit " << i << " never answered: " << e.what();
        std::this_thread::sleep_for(50ms);
      }
    }
  }
  give_up = true;
  chaos.join();
  ASSERT_EQ(chaos_error, "");
  if (disturbance == Disturbance::kill) {
    EXPECT_GT(refused, 0) << "some submits met the failover";
  }

  for (const auto& [id, n] : acknowledged) {
    std::optional<RunInfo> run;
    for (const auto until = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < until;) {
      try {
        run = client.get_run(id);
        if (run && run->status == "completed") break;
      } catch (const std::exception&) {
        // a read during the failover: asked again
      }
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(run) << id << " (n " << n << ") is gone";
    EXPECT_EQ(run->status, "completed") << id;
    if (run->steps.size() == 3) {
      EXPECT_EQ(run->steps[2].output["n"], n * 2 + 1) << id;
    }
  }
  EXPECT_FALSE(worker.ended()) << "the worker exited during the failover: " << worker.error_text();
  worker.stop();

  asio::io_context io;
  redis::Client redis(io.get_executor(), redis::Config::from_url(cluster.url()));
  store::Store st(redis, store::KeySpace::for_redis(redis.config(), "c", 0));
  const store::DoctorReport report = test::run(io, store::examine(st, false), 60s);
  EXPECT_EQ(report.runs, acknowledged.size());
  for (const auto& o : report.offenders) ADD_FAILURE() << "doctor: " << o.run_id << ": " << o.problem;
  redis.close();
}

TEST(OnAClusterWithReplicas, APrimaryKilledUnderLoadLosesNoAcknowledgedRun) { under_load(Disturbance::kill); }

TEST(OnAClusterWithReplicas, APlannedFailoverUnderLoadLosesNoAcknowledgedRun) { under_load(Disturbance::planned); }

// The slot holding partition 0 (its runs, queue stream with its consumer
// group and pending entries, indexes, timers) is resharded to another
// primary while runs go: the clients follow ASK, TRYAGAIN and then MOVED.
TEST(OnAClusterWithReplicas, ReshardingALoadedPartitionsSlotLosesNoRun) { under_load(Disturbance::reshard); }

enum class Loss {
  kill,  // SIGKILL: its connections drop, reconnects are refused
  hang,  // SIGSTOP: connections stay open, nothing is answered
};

// A primary lost and not replaced (it has no replica, and the others go on
// serving their slots: cluster-require-full-coverage no; node timeout 15 s).
// The runs on the other primaries' partitions go on completing: only the
// lost one's partitions stop. Before, the worker's fetch loop waited on the
// lost node — for the command timeout (5 s) per claim, reclaim and pause
// check, and a due reclaim pass for a read of it that never ended — and one
// outcome pipeline for every partition waited with it, so every partition
// stopped for seconds at a time. After a kill, a submit without an
// idempotency key goes to a live primary (a hung one the client cannot know
// of before it has sent it something).
// The cluster of these tests: 3 primaries without replicas that go on
// serving their slots while one is lost (cluster-require-full-coverage no;
// node timeout 15 s, so no failover either).
test::RedisClusterOptions lose_one_primary() { return test::RedisClusterOptions{3, 0, 15000}; }
void serve_without_full_coverage(RedisCluster& cluster) {
  for (int n = 0; n < 3; ++n) {
    ASSERT_FALSE(cluster.node(n).call({"CONFIG", "SET", "cluster-require-full-coverage", "no"}).is_error());
  }
}
// A primary to lose: one that holds no partition-less key (config,
// registry, limiters); -1 if none does.
int victim_without_global_keys(RedisCluster& cluster, const store::KeySpace& keys) {
  for (int n = 1; n < 3; ++n) {
    if (cluster.owner_of(redis::key_slot(keys.meta_base())) != n &&
        cluster.owner_of(redis::key_slot(keys.limiters())) != n) {
      return n;
    }
  }
  return -1;
}

void one_primary_lost(Loss loss) {
  RedisCluster cluster(lose_one_primary());
  serve_without_full_coverage(cluster);
  const store::KeySpace keys = store::KeySpace::for_redis(redis::Config::from_url(cluster.url()), "c", 0);
  const int victim = victim_without_global_keys(cluster, keys);
  ASSERT_GE(victim, 1);
  std::vector<bool> live_partition(static_cast<std::size_t>(keys.partitions()));
  int dead_partitions = 0;
  for (int p = 0; p < keys.partitions(); ++p) {
    live_partition[static_cast<std::size_t>(p)] = cluster.owner_of(redis::key_slot(keys.partition_base(p))) != victim;
    dead_partitions += live_partition[static_cast<std::size_t>(p)] ? 0 : 1;
  }
  ASSERT_GT(dead_partitions, 0);
  ASSERT_LT(dead_partitions, keys.partitions());

  const Workflow wf = three_steps();
  Client client(client_options(cluster));
  client.register_workflow(wf);
  WorkerThread worker(worker_options(cluster), {wf});
  const auto completed = [&](const std::string& id) {
    const std::optional<RunInfo> run = client.get_run(id);
    return run && run->status == "completed";
  };
  // Runs on every partition, the dead one's too, until each completed: the
  // worker reads and claims every partition (its streams are busy).
  std::vector<std::string> before;
  for (int i = 0; i < 48; ++i) {
    SubmitOptions so;
    so.idempotency_key = "before-" + std::to_string(i);
    before.push_back(client.submit("three", Json{{"n", i}}, so).run_id);
  }
  for (const std::string& id : before) {
    for (const auto until = std::chrono::steady_clock::now() + 20s; !completed(id);) {
      ASSERT_LT(std::chrono::steady_clock::now(), until) << id << " did not complete";
      std::this_thread::sleep_for(10ms);
    }
  }

  struct Resume {
    std::function<void()> f;
    ~Resume() { f(); }
  } resume{[&] {
    if (loss == Loss::hang) cluster.node(victim).resume();
  }};
  if (loss == Loss::kill) {
    cluster.node(victim).kill();
  } else {
    cluster.node(victim).pause();
  }
  // A second with the primary lost before the runs below: the worker's loop
  // meets it meanwhile (every 250 ms a pause check reads every partition;
  // a reclaim pass at least every second reads each).
  std::this_thread::sleep_for(1s);
  const auto submitted = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, int>> after;
  for (int i = 0; after.size() < 40; ++i) {
    SubmitOptions so;
    so.idempotency_key = "after-" + std::to_string(i);
    if (!live_partition[static_cast<std::size_t>(keys.idempotency_partition("three", so.idempotency_key))]) continue;
    after.emplace_back(client.submit("three", Json{{"n", i}}, so).run_id, i);
  }
  // Without an idempotency key a submit is free to go anywhere: none goes to
  // the dead primary (there it would wait out its timeout and fail).
  for (int i = 1000; i < (loss == Loss::kill ? 1030 : 1000); ++i) {
    const std::string id = client.submit("three", Json{{"n", i}}).run_id;
    EXPECT_TRUE(live_partition[static_cast<std::size_t>(keys.partition_of(id))]) << id;
    after.emplace_back(id, i);
  }
  for (const auto& [id, n] : after) {
    while (!completed(id)) {
      ASSERT_LT(std::chrono::steady_clock::now(), submitted + 3s)
          << id << " (n " << n << ", on a live primary) did not complete within 3 s";
      std::this_thread::sleep_for(5ms);
    }
    const std::optional<RunInfo> run = client.get_run(id);
    ASSERT_EQ(run->steps.size(), 3u);
    EXPECT_EQ(run->steps[2].output["n"], n * 2 + 1) << id;
  }
  // Still no failover: the dead primary's slots are served by nobody.
  EXPECT_EQ(cluster.owner_of(redis::key_slot(keys.partition_base(
                static_cast<int>(std::find(live_partition.begin(), live_partition.end(), false) - live_partition.begin())))),
            victim);
  EXPECT_FALSE(worker.ended()) << "the worker exited while a primary was lost: " << worker.error_text();
}

TEST(OnAClusterWithALostPrimary, SubmitsAndRunsOnTheOtherPrimariesGoOnAfterAKill) { one_primary_lost(Loss::kill); }

TEST(OnAClusterWithALostPrimary, RunsOnTheOtherPrimariesGoOnWhileOneHangs) { one_primary_lost(Loss::hang); }

// A primary that hangs while the worker is busy on every partition. The
// claims and reclaims the worker wrote to it before it was known to hang
// (1 s of silence) each wait their 2 s (Impl::kLoopCallTimeout), holding
// the slots they promised — and nothing else waits: steps of the other
// primaries' partitions go on completing meanwhile, and the worker never
// runs more steps at once than its concurrency. Before, the fetch loop
// awaited its claims and its reclaim pass, and one of them written to the
// hung node stopped every partition for those 2 s; then a claim beside the
// loop that promised every free slot, and the outcomes waiting for the hung
// node (counted against twice the concurrency), did the same.
TEST(OnAClusterWithALostPrimary, StepsOnTheOtherPrimariesGoOnTheMomentOneHangsUnderLoad) {
  RedisCluster cluster(lose_one_primary());
  serve_without_full_coverage(cluster);
  const store::KeySpace keys = store::KeySpace::for_redis(redis::Config::from_url(cluster.url()), "c", 0);
  const int victim = victim_without_global_keys(cluster, keys);
  ASSERT_GE(victim, 1);

  std::atomic<int> running{0};
  std::atomic<int> most{0};
  Workflow wf("one");
  wf.step("a", [&running, &most](StepContext&) -> StepResult {
    const int now = ++running;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(1ms);
    --running;
    return Json{{"done", true}};
  });
  Client client(client_options(cluster));
  client.register_workflow(wf);
  // A backlog on every partition (a third of it on the victim's): every
  // stream stays busy, so the worker claims from each in turn.
  const std::vector<SubmitItem> backlog(6000, SubmitItem{Json::object(), {}});
  for (const BatchSubmitted& b : client.submit_many("one", backlog)) ASSERT_TRUE(b.created) << b.error;

  WorkerThread worker(worker_options(cluster), {wf});
  const auto succeeded = [&worker] { return worker.worker().stats().succeeded; };
  for (const auto until = std::chrono::steady_clock::now() + 20s; succeeded() < 300;) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "the worker never got going";
    std::this_thread::sleep_for(5ms);
  }
  struct Resume {
    std::function<void()> f;
    ~Resume() { f(); }
  } resume{[&] { cluster.node(victim).resume(); }};
  cluster.node(victim).pause();
  const auto paused = std::chrono::steady_clock::now();
  const std::uint64_t before = succeeded();
  // 300 more steps (all on the live primaries' partitions: the hung one
  // answers nothing) before a call written to it could have given up.
  while (succeeded() < before + 300) {
    ASSERT_LT(std::chrono::steady_clock::now(), paused + 1500ms)
        << "only " << succeeded() - before << " steps completed in the 1.5 s after a primary hung";
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_LE(most.load(), 16) << "more steps ran at once than the worker's concurrency";
  EXPECT_FALSE(worker.ended()) << "the worker exited while a primary hung: " << worker.error_text();
}


// On a cluster, as on one server (InProcess.AnEntryOfOursWhoseClaims...):
// an entry of ours that runs nowhere — a claim's answer lost with its
// connection — is taken back by the worker, beside its fetch loop, once
// the partition's primary answers again, not after the step's lease (30 s).
// The entry is delivered to another consumer before the worker starts,
// then XCLAIMed to the worker's; the connections to its primary are cut.
TEST(OnAClusterWithALostPrimary, AnEntryOfOursWhoseClaimsAnswerWasLostIsTakenBackOnceItsPrimaryAnswers) {
  RedisCluster cluster(3);
  Workflow wf("lost");
  wf.step("a", [](StepContext&) -> StepResult { return Json{{"ran", true}}; });
  Client client(client_options(cluster));
  client.register_workflow(wf);
  const std::string id = client.submit("lost", Json::object()).run_id;
  const store::KeySpace keys = store::KeySpace::for_redis(redis::Config::from_url(cluster.url()), "c", 0);
  const std::string stream = keys.queue(keys.partition_of(id), "default");
  const int node = cluster.owner_of(redis::key_slot(stream));
  // (the group as a worker makes it)
  ASSERT_FALSE(
      cluster.node(node).call({"XGROUP", "CREATE", stream, std::string(store::kGroup), "0", "MKSTREAM"}).is_error());
  const redis::Reply read = cluster.node(node).call(
      {"XREADGROUP", "GROUP", std::string(store::kGroup), "ghost", "COUNT", "1", "STREAMS", stream, ">"});
  ASSERT_TRUE(read.is_array() && read.size() == 1) << "the ghost read nothing";
  const std::string entry(read[0][1][0][0].str());

  WorkerThread worker(worker_options(cluster), {wf});
  ASSERT_EQ(client.wait(client.submit("lost", Json::object()).run_id, 20s).status, "completed");
  ASSERT_FALSE(cluster.node(node).call({"XCLAIM", stream, std::string(store::kGroup), "w1", "0", entry}).is_error());
  EXPECT_EQ(client.get_run(id)->status, "queued");
  const auto cut = std::chrono::steady_clock::now();
  ASSERT_FALSE(cluster.node(node).call({"CLIENT", "KILL", "TYPE", "normal"}).is_error());
  const RunInfo done = client.wait(id, 10s);
  EXPECT_EQ(done.status, "completed") << "the entry waits for its lease";
  EXPECT_LT(std::chrono::steady_clock::now() - cut, 10s);
  EXPECT_EQ(done.steps[0].output, (Json{{"ran", true}}));
  EXPECT_FALSE(worker.ended()) << worker.error_text();
}

// claim.lua reads the runs its entries name — keys it cannot declare, since
// it learns them from its own XREADGROUP. While a resharding moves their
// slot, a run hash already moved away makes Redis stop the script after the
// read ("Script attempted to access a non local key"): the entry is
// delivered, no step started. The worker takes that as an unknown outcome,
// as a lost reply (the entry waits for a reclaimer), not as a fatal error.
// Deterministic: two runs in one partition, the second's hash migrated
// alone, a worker of two slots (on a cluster a blocking read takes one
// entry; the first run fills it, so the queue counts as busy and the next
// read is claim.lua's, for the other slot, which meets the second).
TEST(OnAClusterMidResharding, AClaimThatMeetsAMovedRunHashLeavesItToTheReclaimer) {
  RedisCluster cluster(3);
  Workflow wf("one");
  StepOptions so;
  so.lease = 500ms;
  wf.step("a", [](StepContext&) -> StepResult { return Json{{"done", true}}; }, so);
  Client client(client_options(cluster));
  client.register_workflow(wf);

  const store::KeySpace keys = store::KeySpace::for_redis(redis::Config::from_url(cluster.url()), "c", 0);
  // Two idempotency keys of one partition, so the runs share a stream, in order.
  std::vector<std::string> same;
  const int partition = keys.idempotency_partition("one", "k0");
  for (int i = 0; same.size() < 2; ++i) {
    const std::string k = "k" + std::to_string(i);
    if (keys.idempotency_partition("one", k) == partition) same.push_back(k);
  }
  SubmitOptions first_key;
  first_key.idempotency_key = same[0];
  SubmitOptions second_key;
  second_key.idempotency_key = same[1];
  const std::string first = client.submit("one", Json::object(), first_key).run_id;
  const std::string second = client.submit("one", Json::object(), second_key).run_id;

  // The slot half-migrated: the second run's hash alone on the importing node.
  const int slot = redis::key_slot(keys.partition_base(partition));
  const int from = cluster.owner_of(slot);
  const int to = (from + 1) % 3;
  ASSERT_EQ(redis::key_slot(keys.run(second)), slot);
  ASSERT_FALSE(cluster.node(to).call({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", cluster.id(from)}).is_error());
  ASSERT_FALSE(cluster.node(from).call({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", cluster.id(to)}).is_error());
  const redis::Reply moved = cluster.node(from).call(
      {"MIGRATE", "127.0.0.1", std::to_string(cluster.node(to).port()), keys.run(second), "0", "5000"});
  ASSERT_EQ(std::string(moved.str()), "OK");

  WorkerOptions wo = worker_options(cluster);
  wo.concurrency = 2;
  WorkerThread worker(wo, {wf});

  // Both entries delivered — the second by claim.lua, whose XREADGROUP
  // stands — while the second run's hash, on the other node, was never
  // touched: the script stopped there. (The first run's outcome waits for
  // the migration: a script of a migrating slot that writes a key not yet
  // there is answered TRYAGAIN.)
  const std::string stream = keys.queue(partition, "default");
  const auto delivered = [&] {
    const redis::Reply r = cluster.node(from).call({"XPENDING", stream, "steadfast"});
    return !r.is_error() && r.size() > 0 && r[0].as_integer() == 2;
  };
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       !delivered() && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(delivered())
      << "the entries were never both delivered";
  // (The importing node answers for the slot only after ASKING, on the same connection.)
  const test::ProcessResult status = test::run_process(
      {"bash", "-c",
       "printf 'ASKING\\nHGET " + keys.run(second) + " status\\n' | redis-cli -p " +
           std::to_string(cluster.node(to).port())},
      5s);
  EXPECT_EQ(status.output, "OK\nqueued\n") << "the second run was touched";

  // The migration finished: the reclaimer takes the entry after its lease, on the new owner.
  cluster.migrate_slot(slot, from, to);
  ASSERT_EQ(cluster.owner_of(slot), to);
  EXPECT_EQ(client.wait(first, 20s).status, "completed");
  EXPECT_EQ(client.wait(second, 20s).status, "completed");
  EXPECT_FALSE(worker.ended()) << "the worker exited: " << worker.error_text();
}

}  // namespace
}  // namespace steadfast
