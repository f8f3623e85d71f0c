// What a batch of steps costs Redis, counted: the commands start.lua and
// complete.lua issue for a batch of 32 steps (INFO commandstats, exact,
// whatever the machine's speed). Redis time per step is the hot path's cost
// (issue 20; docs/benchmarks.md "The hot path's scripts"); these counts are its
// shape, so that a change that adds a command per step fails here, not only
// in a benchmark nobody reruns.
#include <map>

#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

using engine::Action;

class HotPath : public StoreTest {
 protected:
  static constexpr int kBatch = 32;

  // calls per command since the last reset (INFO commandstats), without INFO's own
  std::map<std::string, long long> commands() {
    std::map<std::string, long long> out;
    const std::string text(cmd({"INFO", "commandstats"}).str());
    std::size_t at = 0;
    while ((at = text.find("cmdstat_", at)) != std::string::npos) {
      const std::size_t colon = text.find(':', at);
      const std::size_t calls = text.find("calls=", colon) + 6;
      const std::string name = text.substr(at + 8, colon - at - 8);
      if (name != "info" && name != "config|resetstat") out[name] = std::stoll(text.substr(calls));
      at = colon;
    }
    return out;
  }
  void reset() { expect_ok(cmd({"CONFIG", "RESETSTAT"})); }

  // kBatch runs submitted, their first step claimed in one read.
  std::vector<StartItem> claimed_batch() {
    for (int i = 0; i < kBatch; ++i) submit();
    auto items = claim_n(kBatch);
    if (items.size() != static_cast<std::size_t>(kBatch)) throw std::runtime_error("short read");
    return items;
  }
  void start(const std::vector<StartItem>& items) {
    for (const Started& s : run(w1_->start(kPartition, "q", items))) {
      ASSERT_EQ(s.state, Started::State::ok);
    }
  }
  // other_workflow: every second step's run counts as workflow "other"
  void finish(const std::vector<StartItem>& items, Action a, bool other_workflow = false) {
    std::vector<Transition> batch;
    for (const StartItem& it : items) {
      batch.push_back(transition(it, a));
      if (other_workflow && batch.size() % 2 == 0) batch.back().workflow = "other";
    }
    for (const Applied r : apply(batch)) ASSERT_EQ(r, Applied::ok);
  }
  void SetUp() override {
    StoreTest::SetUp();
    // every script loaded, so that no NOSCRIPT round counts below
    const auto warm = claimed_batch();
    start(warm);
    finish(warm, Action::complete_run);
    (void)run(w1_->read_and_start(kPartition, "q", 1));
  }
};

TEST_F(HotPath, AClaimOfABatchReadsAndMarksEachRunOnce) {
  const auto items = claimed_batch();
  reset();
  start(items);
  EXPECT_EQ(commands(), (std::map<std::string, long long>{
                            {"evalsha", 1}, {"time", 1}, {"xpending", 1},  // per batch: the fencing check
                            {"hgetall", kBatch}, {"hset", kBatch},         // per step: read, mark running
                        }));
}

// claim.lua, for a queue with work waiting: the read and the claims in one
// call, with no fencing check (the delivery and the claim are one step).
TEST_F(HotPath, AReadAndClaimOfABatchIsOneCallWithoutAFencingCheck) {
  for (int i = 0; i < kBatch; ++i) submit();
  reset();
  const auto claims = run(w1_->read_and_start(kPartition, "q", kBatch));
  ASSERT_EQ(claims.size(), static_cast<std::size_t>(kBatch));
  EXPECT_EQ(commands(), (std::map<std::string, long long>{
                            {"evalsha", 1}, {"xreadgroup", 1}, {"time", 1},
                            {"hgetall", kBatch}, {"hset", kBatch},
                        }));
}

// A run's last step: its output and status in one HSET, its retention's
// PEXPIRE; the live index, the retention set and the completed counter once
// for the whole batch.
TEST_F(HotPath, ABatchOfLastStepsWritesEachRunOnceAndTheIndexesOncePerBatch) {
  const auto items = claimed_batch();
  start(items);
  reset();
  finish(items, Action::complete_run);
  EXPECT_EQ(commands(), (std::map<std::string, long long>{
                            {"evalsha", 1}, {"time", 1}, {"xpending", 1}, {"xack", 1}, {"xdel", 1},
                            {"zrem", 1}, {"zadd", 1}, {"hincrby", 1},
                            {"hmget", kBatch}, {"hset", kBatch}, {"pexpire", kBatch},
                        }));
  EXPECT_EQ(run(w1_->counters()).at("completed:wf"), kBatch + kBatch) << "the warm-up's and these";
  EXPECT_EQ(cmd({"ZCARD", keys_.index_status(kPartition, "live")}).as_integer(), 0);
  EXPECT_EQ(cmd({"ZSCORE", keys_.retention(kPartition), items.back().run_id + "\t\texpire"}).is_nil(), false);
  EXPECT_EQ(cmd({"ZCARD", keys_.retention(kPartition)}).as_integer(), 2 * kBatch);
  for (const StartItem& it : items) {
    EXPECT_GT(cmd({"PTTL", run_key(it.run_id)}).as_integer(), 0) << it.run_id;
  }
}

TEST_F(HotPath, ABatchOfStepsThatAdvanceWritesEachRunOnceAndQueuesItsNextStep) {
  const auto items = claimed_batch();
  start(items);
  reset();
  finish(items, Action::advance);
  EXPECT_EQ(commands(), (std::map<std::string, long long>{
                            {"evalsha", 1}, {"time", 1}, {"xpending", 1}, {"xack", 1}, {"xdel", 1},
                            {"hmget", kBatch}, {"hset", kBatch}, {"xadd", kBatch},
                        }));
  EXPECT_EQ(entries("q2").size(), static_cast<std::size_t>(kBatch));
}

// One counter write per workflow that the batch completes runs of.
TEST_F(HotPath, ABatchCountsTheCompletedRunsOfEachOfItsWorkflows) {
  const auto items = claimed_batch();
  start(items);
  reset();
  finish(items, Action::complete_run, /*other_workflow=*/true);
  EXPECT_EQ(commands().at("hincrby"), 2);
  const auto counters = run(w1_->counters());
  EXPECT_EQ(counters.at("completed:wf"), kBatch + kBatch / 2) << "the warm-up's and half of these";
  EXPECT_EQ(counters.at("completed:other"), kBatch / 2);
}

}  // namespace
}  // namespace steadfast::store::testing
