// The arithmetic of `steadfast bench`: quantiles, calls per command, rounding
// (parsing INFO commandstats is tests/store/server_stats_test.cpp).
#include "cli/bench_stats.h"

#include <gtest/gtest.h>

namespace steadfast::cli {
namespace {

TEST(Quantile, NearestRank) {
  std::vector<double> v{5, 1, 4, 2, 3};
  EXPECT_EQ(quantile(v, 0.0), 1);
  EXPECT_EQ(quantile(v, 0.2), 1);
  EXPECT_EQ(quantile(v, 0.21), 2);
  EXPECT_EQ(quantile(v, 0.5), 3);
  EXPECT_EQ(quantile(v, 0.99), 5);
  EXPECT_EQ(quantile(v, 1.0), 5);
  EXPECT_EQ(v, (std::vector<double>{1, 2, 3, 4, 5}));  // sorted in place
}

TEST(Quantile, P99And999OfAThousand) {
  std::vector<double> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  EXPECT_EQ(quantile(v, 0.99), 990);
  EXPECT_EQ(quantile(v, 0.999), 999);
}

TEST(Quantile, EmptyAndOutOfRange) {
  std::vector<double> none;
  EXPECT_EQ(quantile(none, 0.5), 0);
  std::vector<double> one{7};
  EXPECT_EQ(quantile(one, -1), 7);
  EXPECT_EQ(quantile(one, 2), 7);
}

TEST(SubtractCalls, TakesOutTheBenchsOwnAndDropsWhatIsLeftAtZero) {
  const auto left = subtract_calls({{"hget", 10}, {"info", 1}, {"hset", 4}}, {{"hget", 3}, {"info", 1}, {"ping", 2}});
  EXPECT_EQ(left, (std::map<std::string, std::int64_t>{{"hget", 7}, {"hset", 4}}));
}

TEST(RoundTo, Decimals) {
  EXPECT_DOUBLE_EQ(round_to(1.23456, 2), 1.23);
  EXPECT_DOUBLE_EQ(round_to(37675.4, 0), 37675);
}

}  // namespace
}  // namespace steadfast::cli
