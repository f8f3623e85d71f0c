// Run ids: ULIDs whose order is creation order — what the run indexes page by.
#include "store/run_id.h"
#include "store/keys.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

namespace steadfast::store {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(RunId, IdsOfOneThreadSortInTheOrderTheyWereMadeEvenWithinOneMillisecond) {
  std::string last = new_run_id();
  std::set<std::string> seen{last};
  for (int i = 0; i < 100000; ++i) {  // far more than one per ms
    const std::string id = new_run_id();
    ASSERT_TRUE(is_valid_run_id(id)) << id;
    ASSERT_LT(last, id);
    last = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100001u);
}

TEST(RunId, TheTimePrefixBoundsTheIdsOfItsMillisecond) {
  const std::int64_t before = now_ms();
  const std::string id = new_run_id();
  const std::int64_t after = now_ms();
  EXPECT_LE(run_id_time_prefix(before), id.substr(0, 10));
  EXPECT_GE(run_id_time_prefix(after), id.substr(0, 10));
  EXPECT_GT(run_id_time_prefix(after + 1), id);
  EXPECT_EQ(run_id_time_prefix(0), "0000000000");
  EXPECT_EQ(run_id_time_prefix(-5), "0000000000");
  EXPECT_EQ(run_id_time_prefix((std::int64_t{1} << 48) - 1), "7ZZZZZZZZZ");
  EXPECT_EQ(run_id_time_prefix(std::int64_t{1} << 60), "7ZZZZZZZZZ") << "clamped";
}

TEST(RunId, ValidIdsAndTheirCanonicalCase) {
  EXPECT_TRUE(is_valid_run_id("01M8W36PF7CYXM036AKRVGBQ72"));
  EXPECT_FALSE(is_valid_run_id("01m8w36pf7cyxm036akrvgbq72"));
  EXPECT_EQ(canonical_run_id("01m8w36pf7cyxm036akrvgbq72"), "01M8W36PF7CYXM036AKRVGBQ72");
  EXPECT_FALSE(is_valid_run_id("01M8W36PF7CYXM036AKRVGBQ7"));    // 25
  EXPECT_FALSE(is_valid_run_id("01M8W36PF7CYXM036AKRVGBQ72U"));  // 27
  EXPECT_FALSE(is_valid_run_id("01M8W36PF7CYXM036AKRVGBQ7U"));   // U is not Crockford
  EXPECT_FALSE(is_valid_run_id(""));
}

}  // namespace
}  // namespace steadfast::store

namespace steadfast::store {
namespace {

// A child run's id is a function of its parent and the step (and item) that
// starts it, a valid run id sorting beside its parent, in its partition.
TEST(ChildRunId, IsStableValidAndInTheParentsPartition) {
  const KeySpace keys("sf", 8);
  const std::string parent = "01M9506DR8TNNDR3V85XH1FG32";
  const std::string a = child_run_id(keys, parent, "summarize");
  EXPECT_EQ(a, child_run_id(keys, parent, "summarize")) << "the same step, the same child";
  EXPECT_TRUE(is_valid_run_id(a)) << a;
  EXPECT_EQ(a.substr(0, 10), parent.substr(0, 10)) << "the parent's time part";
  std::set<std::string> ids{a};
  for (int k = 0; k < 50; ++k) {
    const std::string item = child_run_id(keys, parent, "summarize[" + std::to_string(k) + "]");
    EXPECT_TRUE(is_valid_run_id(item)) << item;
    EXPECT_EQ(keys.partition_of(item), keys.partition_of(parent)) << item;
    ids.insert(item);
  }
  ids.insert(child_run_id(keys, parent, "other"));
  ids.insert(child_run_id(keys, "01M9506DR8TNNDR3V85XH1FG33", "summarize"));
  EXPECT_EQ(ids.size(), 53u) << "every step, item and parent has its own child";
}

}  // namespace
}  // namespace steadfast::store
