// The Redis client through a redis+cluster:// URL, against a real cluster of
// three primaries on loopback (support/redis_cluster.h): routing by slot,
// pipelines split over nodes with replies in order, scripts loaded per node,
// MOVED, ASK and unserved slots followed, WAIT over the nodes written to, and
// a command written to a node that hangs never sent twice.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "redis/cluster_router.h"
#include "redis/slot.h"
#include "support/redis_cluster.h"
#include "support/redis_test.h"

namespace steadfast::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::AsyncTest;
using test::RedisCluster;

class ClusterClient : public AsyncTest {
 protected:
  RedisCluster cluster_{3};

  Client& client() {
    if (client_ == nullptr) client_ = &make_client(config_for(cluster_.url()));
    return *client_;
  }
  // A key (with a hash tag of its own) whose slot node `n` serves, the `k`-th such.
  std::string key_on(int n, int k = 0) {
    for (int i = 0;; ++i) {
      std::string candidate = key("{" + std::to_string(i) + "}");
      const int slot = key_slot(candidate);
      if (slot >= n * kClusterSlots / 3 && slot < (n + 1) * kClusterSlots / 3 && k-- == 0) return candidate;
    }
  }
  long long dbsize(int n) { return cluster_.node(n).call({"DBSIZE"}).as_integer(); }

 private:
  Client* client_ = nullptr;
};

TEST_F(ClusterClient, ReadsTheMapAndSendsEachKeyToItsNode) {
  run([&]() -> asio::awaitable<void> {
    co_await client().wait_connected();
    EXPECT_TRUE(client().is_cluster());
    std::vector<std::string> expected;
    for (int i = 0; i < 3; ++i) expected.push_back("127.0.0.1:" + std::to_string(cluster_.node(i).port()));
    std::sort(expected.begin(), expected.end());
    auto replies = co_await client().exec_on_primaries([] {
      Pipeline p;
      p.add("PING");
      return p;
    }());
    EXPECT_EQ(replies.size(), 3U);
    for (int n = 0; n < 3; ++n) {
      for (int k = 0; k < 5; ++k) co_await client().command("SET", key_on(n, k), n);
    }
  }());
  for (int n = 0; n < 3; ++n) {
    EXPECT_EQ(dbsize(n), 5) << "node " << n;
    EXPECT_EQ(cluster_.node(n).call({"GET", key_on(n, 4)}).str(), std::to_string(n));
  }
  EXPECT_EQ(client().cluster_stats().moved, 0U) << "steady state: no redirects";
}

TEST_F(ClusterClient, APipelineOverEveryNodeAnswersInItsOrder) {
  run([&]() -> asio::awaitable<void> {
    Pipeline p;
    for (int i = 0; i < 60; ++i) {
      p.add("INCRBY", key_on(i % 3, i / 3), i);
      p.add("GET", key_on((i + 1) % 3, 100));  // absent: nil, from another node
      p.add("PING", std::to_string(i));         // keyless: the first keyed command's node
    }
    const std::vector<Reply> r = co_await client().exec(std::move(p));
    EXPECT_EQ(r.size(), 180U);
    for (int i = 0; i < 60; ++i) {
      EXPECT_EQ(r[3 * i].as_integer(), i) << i;
      EXPECT_TRUE(r[3 * i + 1].is_nil()) << i;
      EXPECT_EQ(r[3 * i + 2].str(), std::to_string(i)) << i;
    }
  }());
  EXPECT_EQ(dbsize(0) + dbsize(1) + dbsize(2), 60);
}

TEST_F(ClusterClient, ScriptsAreLoadedOnEachNodeAndAgainAfterAFlush) {
  const Script script("cluster_test", "return redis.call('INCR', KEYS[1])");
  run([&]() -> asio::awaitable<void> {
    for (int round = 1; round <= 2; ++round) {
      Pipeline p;
      for (int n = 0; n < 3; ++n) p.add_eval(script, std::vector<std::string>{key_on(n)}, std::vector<std::string>{});
      const std::vector<Reply> r = co_await client().exec(std::move(p));
      for (int n = 0; n < 3; ++n) EXPECT_EQ(r[static_cast<std::size_t>(n)].as_integer(), round) << "node " << n;
      // Node 1 forgets its scripts: the next EVALSHA there answers NOSCRIPT, and is loaded and sent again.
      EXPECT_EQ(cluster_.node(1).call({"SCRIPT", "FLUSH"}).str(), "OK");
    }
  }());
}

TEST_F(ClusterClient, AMovedSlotIsFollowedAndRemembered) {
  const std::string k = key_on(0);
  const int slot = key_slot(k);
  cluster_.move_empty_slot(slot, 2);
  run([&]() -> asio::awaitable<void> {
    // The client's map was read before the move? Read it now, then move back.
    co_await client().wait_connected();
    co_return;
  }());
  cluster_.move_empty_slot(slot, 0);  // the client still thinks node 2 serves it
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client().command("SET", k, "here")).str(), "OK");
    EXPECT_EQ((co_await client().command("GET", k)).str(), "here");
  }());
  EXPECT_EQ(cluster_.node(0).call({"GET", k}).str(), "here");
  EXPECT_EQ(client().cluster_stats().moved, 1U) << "the second command went straight to the new owner";
}

TEST_F(ClusterClient, AnAskDuringAMigrationIsFollowedOnceWithAsking) {
  const std::string k = key_on(0);
  const int slot = key_slot(k);
  // Slot migrating from node 0 to node 2; the key is not on node 0, so node 0 answers ASK.
  EXPECT_EQ(cluster_.node(2).call({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", cluster_.id(0)}).str(), "OK");
  EXPECT_EQ(cluster_.node(0).call({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", cluster_.id(2)}).str(), "OK");
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client().command("SET", k, "moving")).str(), "OK");
    EXPECT_EQ((co_await client().command("GET", k)).str(), "moving");
  }());
  EXPECT_EQ(cluster_.node(2).call({"DBSIZE"}).as_integer(), 1);
  EXPECT_TRUE(cluster_.node(0).call({"GET", k}).is_error()) << "node 0 redirects it";
  EXPECT_EQ(client().cluster_stats().ask, 2U) << "an ASK does not remap the slot";
  EXPECT_EQ(client().cluster_stats().moved, 0U);
}

TEST_F(ClusterClient, ACommandForAnUnservedSlotWaitsForTheSlotToComeBack) {
  const std::string k = key_on(1);
  const std::string slot = std::to_string(key_slot(k));
  run([&]() -> asio::awaitable<void> { co_await client().wait_connected(); }());
  for (int n = 0; n < 3; ++n) EXPECT_EQ(cluster_.node(n).call({"CLUSTER", "DELSLOTS", slot}).str(), "OK");
  run([&]() -> asio::awaitable<void> {
    // A short timeout: the CLUSTERDOWN is the answer.
    const Reply down = (co_await client().exec([&] {
      Pipeline p;
      p.add("SET", k, "x");
      return p;
    }(), {300ms}))[0];
    EXPECT_TRUE(down.is_error());
    EXPECT_TRUE(down.str().starts_with("CLUSTERDOWN") || down.str().starts_with("TRYAGAIN")) << down.str();
    // The slot is served again while a command with time to spare waits.
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      co_await test::sleep(150ms);
      EXPECT_EQ(cluster_.node(1).call({"CLUSTER", "ADDSLOTS", slot}).str(), "OK");
    }, asio::detached);
    EXPECT_EQ((co_await client().command_with(CommandOptions{5s}, "SET", k, "back")).str(), "OK");
  }());
  EXPECT_EQ(cluster_.node(1).call({"GET", k}).str(), "back");
  EXPECT_GT(client().cluster_stats().retried, 0U);
}

TEST_F(ClusterClient, WaitAsksEveryNodeTheBatchWroteTo) {
  run([&]() -> asio::awaitable<void> {
    Pipeline p;
    p.add("SET", key_on(0), "a");
    p.add("SET", key_on(2), "b");
    p.add("WAIT", 0, 100);
    const std::vector<Reply> r = co_await client().exec(std::move(p));
    EXPECT_EQ(r[2].as_integer(), 0) << "no replicas: 0 from both nodes";
    const auto info = co_await client().exec_on_primaries([] {
      Pipeline q;
      q.add("INFO", "commandstats");
      return q;
    }());
    int waited = 0;
    for (const auto& node : info) waited += node[0].str().find("cmdstat_wait:") != std::string_view::npos;
    EXPECT_EQ(waited, 2) << "WAIT went to nodes 0 and 2 only";
  }());
}

TEST_F(ClusterClient, AWaitFollowsACommandThatARedirectSentElsewhere) {
  // Slot of k migrating from node 0 to node 2: the SET is answered ASK by
  // node 0 and runs at node 2, so the WAIT after it must reach node 2 too.
  const std::string k = key_on(0);
  const std::string slot = std::to_string(key_slot(k));
  ASSERT_EQ(cluster_.node(2).call({"CLUSTER", "SETSLOT", slot, "IMPORTING", cluster_.id(0)}).str(), "OK");
  ASSERT_EQ(cluster_.node(0).call({"CLUSTER", "SETSLOT", slot, "MIGRATING", cluster_.id(2)}).str(), "OK");
  for (int n = 0; n < 3; ++n) cluster_.node(n).call({"CONFIG", "RESETSTAT"});
  run([&]() -> asio::awaitable<void> {
    Pipeline p;
    p.add("SET", k, "v");
    p.add("WAIT", 0, 100);
    const std::vector<Reply> r = co_await client().exec(std::move(p));
    EXPECT_EQ(r[0].str(), "OK");
    EXPECT_EQ(r[1].as_integer(), 0);
  }());
  EXPECT_EQ(cluster_.node(2).call({"DBSIZE"}).as_integer(), 1) << "the SET ran at node 2";
  EXPECT_NE(cluster_.node(2).call({"INFO", "commandstats"}).str().find("cmdstat_wait:calls=1,"), std::string_view::npos)
      << "the WAIT followed it there";
}

TEST_F(ClusterClient, ACommandWrittenToAHungNodeIsNeverSentAgain) {
  const std::string k = key_on(1);
  run([&]() -> asio::awaitable<void> { co_await client().wait_connected(); }());
  cluster_.node(1).pause();
  run([&]() -> asio::awaitable<void> {
    bool timed_out = false;
    try {
      co_await client().command_with(CommandOptions{300ms}, "INCR", k);
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  }());
  cluster_.node(1).resume();
  run([&]() -> asio::awaitable<void> {
    // The INCR that was written runs when the node wakes; nothing sent it twice.
    EXPECT_EQ((co_await client().command("INCR", k)).as_integer(), 2);
  }());
}

}  // namespace
}  // namespace steadfast::redis

namespace steadfast::redis {
namespace {

class ClusterClientFailover : public AsyncTest {
 protected:
  RedisCluster cluster_{test::RedisClusterOptions{3, 1, 1000}};  // node 3 + i is primary i's replica
};

// A primary SIGKILLed: a command for its slot sent while its replica is not
// yet promoted goes to that replica once it is, instead of waiting on the
// dead node's connection until its timeout.
TEST_F(ClusterClientFailover, ACommandForADeadPrimaryGoesToTheReplicaThatTookItsSlotsOver) {
  Client& client = make_client(config_for(cluster_.url()));
  std::string k;
  for (int i = 0; k.empty(); ++i) {
    const std::string candidate = key("{" + std::to_string(i) + "}");
    if (cluster_.owner_of(key_slot(candidate)) == 1) k = candidate;
  }
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    co_await client.command("SET", k, "before");
  }());
  cluster_.node(1).kill();
  run([&]() -> asio::awaitable<void> {
    // The timeout is far beyond the failover (about 2-3 s): only a command
    // still bound to the dead node's connection would use it up and fail.
    const Reply set = co_await client.command_with(CommandOptions{30s}, "SET", k, "after");
    EXPECT_EQ(set.str(), "OK");
  }(), 40s);
  EXPECT_EQ(cluster_.owner_of(key_slot(k)), 4);
  EXPECT_EQ(cluster_.node(4).call({"GET", k}).str(), "after");
}

}  // namespace
}  // namespace steadfast::redis
