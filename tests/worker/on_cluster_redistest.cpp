// steadfast on a Redis Cluster of three primaries (support/redis_cluster.h):
// a worker, a client and the store pointed at one redis+cluster:// URL. Runs
// spread over every primary (12 partitions, spread tags), complete, and are
// found by the run list; no command is ever refused CROSSSLOT and no MOVED is
// seen in steady state; a process with another partition count is refused.
// Failovers under load: cluster_failover_redistest.cpp.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "redis/slot.h"
#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "store/config.h"
#include "store/keys.h"
#include "store/store.h"
#include "support/redis_cluster.h"
#include "support/redis_test.h"
#include "worker/three_steps.h"

namespace steadfast {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RedisCluster;
using test::three_steps;

class OnACluster : public ::testing::Test {
 protected:
  RedisCluster cluster_{3};

  WorkerOptions worker_options() const {
    WorkerOptions o;
    o.redis_url = cluster_.url();
    o.key_prefix = "c";
    o.id = "w1";
    o.concurrency = 16;
    o.drain_timeout = 1s;
    o.handle_signals = false;
    return o;
  }
  ClientOptions client_options() const {
    ClientOptions o;
    o.redis_url = cluster_.url();
    o.key_prefix = "c";
    return o;
  }
  // Every primary's INFO section, by node.
  std::vector<std::string> info(const char* section) {
    std::vector<std::string> out;
    for (int n = 0; n < cluster_.size(); ++n) out.emplace_back(cluster_.node(n).call({"INFO", section}).str());
    return out;
  }
};

TEST_F(OnACluster, RunsSpreadOverEveryPrimaryCompleteAndAreListed) {
  const Workflow wf = three_steps();
  Client client(client_options());
  client.register_workflow(wf);
  Worker worker(worker_options(), {wf});
  std::thread runner([&] { worker.run(); });

  // Idle, the worker blocks in one read per partition, each at its partition's
  // node: 12 blocked XREADGROUPs over the 3 nodes, 4 at each.
  const auto blocked_reads = [&](int node) {
    const std::string clients(cluster_.node(node).call({"CLIENT", "LIST"}).str());
    int n = 0;
    for (std::size_t at = 0; (at = clients.find("cmd=xreadgroup", at)) != std::string::npos; ++at) {
      const std::size_t line = clients.rfind('\n', at) == std::string::npos ? 0 : clients.rfind('\n', at);
      n += clients.substr(line, at - line).find("flags=b ") != std::string::npos ? 1 : 0;
    }
    return n;
  };
  std::vector<int> blocked(3, 0);
  for (const auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
    for (int n = 0; n < 3; ++n) blocked[static_cast<std::size_t>(n)] = blocked_reads(n);
    if (blocked == std::vector<int>{4, 4, 4}) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(blocked, (std::vector<int>{4, 4, 4}));

  std::vector<std::pair<std::string, int>> runs;
  for (int i = 0; i < 60; ++i) runs.emplace_back(client.submit("three", Json{{"n", i}}).run_id, i);
  std::vector<SubmitItem> batch;
  for (int i = 60; i < 120; ++i) {
    SubmitItem item{Json{{"n", i}}, {}};
    item.options.idempotency_key = "k" + std::to_string(i);
    batch.push_back(item);
  }
  const std::vector<BatchSubmitted> submitted = client.submit_many("three", batch);
  for (int i = 60; i < 120; ++i) {
    ASSERT_TRUE(submitted[static_cast<std::size_t>(i - 60)].error.empty()) << submitted[static_cast<std::size_t>(i - 60)].error;
    runs.emplace_back(submitted[static_cast<std::size_t>(i - 60)].run_id, i);
  }
  // A repeat of the batch (the same keys) makes no second run.
  const std::vector<BatchSubmitted> again = client.submit_many("three", batch);
  for (std::size_t i = 0; i < again.size(); ++i) {
    EXPECT_FALSE(again[i].created);
    EXPECT_EQ(again[i].run_id, submitted[i].run_id);
  }

  for (const auto& [id, n] : runs) {
    const RunInfo run = client.wait(id, 30s);
    EXPECT_EQ(run.status, "completed") << id;
    ASSERT_EQ(run.steps.size(), 3U);
    EXPECT_EQ(run.steps[2].output["n"], n * 2 + 1) << id;
  }
  worker.stop();
  runner.join();

  // Every primary holds runs (12 partitions, 4 per primary).
  for (int n = 0; n < cluster_.size(); ++n) {
    EXPECT_GT(cluster_.node(n).call({"DBSIZE"}).as_integer(), 20) << "node " << n;
  }
  for (const std::string& errors : info("errorstats")) {
    EXPECT_EQ(errors.find("CROSSSLOT"), std::string::npos) << errors;
  }

  // The run list walks every partition's index on every node.
  asio::io_context io;
  redis::Client redis(io.get_executor(), redis::Config::from_url(cluster_.url()));
  store::Store st(redis, store::KeySpace::for_redis(redis.config(), "c", 0));
  EXPECT_EQ(st.keys().partitions(), 12);
  const store::RunPage page = test::run(io, st.list_runs({}, 200));
  std::set<std::string> listed;
  for (const auto& r : page.runs) listed.insert(r.id);
  EXPECT_EQ(listed.size(), 120U);
  const auto completed = test::run(io, st.counter("completed:three"));
  EXPECT_EQ(completed, 120);
  const auto config = test::run(io, store::check_config(redis, st.keys()));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->layout, "spread");
  EXPECT_EQ(config->partitions, 12);
  EXPECT_EQ(redis.cluster_stats().moved, 0U);

  // A process started with another partition count is refused before it writes.
  store::KeySpace four = store::KeySpace::for_redis(redis.config(), "c", 4);
  EXPECT_THROW(test::run(io, store::check_config(redis, four)), store::ConfigMismatch);
  redis.close();
}

TEST(SpreadTags, FallEvenlyOverEqualSlotRanges) {
  for (const int partitions : {1, 2, 3, 4, 6, 12, 24}) {
    const std::vector<std::string> tags = store::spread_tags(partitions);
    ASSERT_EQ(tags.size(), static_cast<std::size_t>(partitions));
    for (const int primaries : {1, 2, 3, 4, 6, 12}) {
      if (partitions % primaries != 0) continue;
      std::vector<int> per(static_cast<std::size_t>(primaries), 0);
      for (const std::string& t : tags) ++per[static_cast<std::size_t>(redis::key_slot(t) * primaries / redis::kClusterSlots)];
      for (int n : per) EXPECT_EQ(n, partitions / primaries) << partitions << " partitions over " << primaries;
    }
  }
  const store::KeySpace spread("sf", 12, store::Layout::spread);
  EXPECT_EQ(spread.partition_base(0), "sf:{" + store::spread_tags(12)[0] + "}:");
  EXPECT_EQ(std::string(spread.layout_name()), "spread");
  EXPECT_EQ(std::string(store::KeySpace("sf", 12).layout_name()), "partitioned");
  EXPECT_EQ(store::KeySpace("sf", 3).partition_base(2), "sf:{2}:");
}

}  // namespace
}  // namespace steadfast
