// The per-minute series from cumulative minute samples: each minute's count is
// the next sample minus its own, summed over partitions; what makes a minute
// unknown; queue depths as sampled.
#include "engine/series.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

using Fields = std::map<std::string, std::int64_t>;

// A sampled minute: the marker plus the given fields.
Fields sampled(Fields f) {
  f["@"] = 1;
  return f;
}

PerMinute known(std::vector<std::int64_t> v) {
  PerMinute out;
  for (std::int64_t x : v) out.emplace_back(x);
  return out;
}

TEST(Series, ACountIsTheNextSampleMinusItsOwnSummedOverPartitions) {
  const std::vector<MinuteSamples> partitions = {
      {{100, sampled({{"completed:wf", 5}})},
       {101, sampled({{"completed:wf", 7}})},
       {102, sampled({{"completed:wf", 7}})},
       {103, sampled({{"completed:wf", 10}})}},
      {{100, sampled({})},  // no run of wf completed here before minute 101
       {101, sampled({{"completed:wf", 1}})},
       {102, sampled({{"completed:wf", 4}})},
       {103, sampled({{"completed:wf", 4}})}},
  };
  const Series s = build_series(partitions, 100, 102, "");
  EXPECT_EQ(s.counts.at("completed").at("wf"), known({3, 3, 3}));
  EXPECT_EQ(s.counts.size(), 1u) << "no other counter was ever written";
}

TEST(Series, WhatMakesAMinuteUnknown) {
  struct Case {
    const char* what;
    std::vector<MinuteSamples> partitions;
    PerMinute want;  // minutes 10..12
  };
  const std::vector<Case> cases = {
      {"no sample at the window's end (the minute after it)",
       {{{10, sampled({{"failed:wf", 1}})}, {11, sampled({{"failed:wf", 2}})}, {12, sampled({{"failed:wf", 4}})}}},
       {1, 2, std::nullopt}},
      {"a minute no worker sampled: the minutes on both sides of it",
       {{{10, sampled({{"failed:wf", 1}})}, {12, sampled({{"failed:wf", 4}})}, {13, sampled({{"failed:wf", 4}})}}},
       {std::nullopt, std::nullopt, 0}},
      {"one partition without the sample makes the sum unknown",
       {{{10, sampled({})}, {11, sampled({{"failed:wf", 1}})}, {12, sampled({})}, {13, sampled({})}},
        {{10, sampled({})}, {11, sampled({})}, {13, sampled({})}}},
       {1, std::nullopt, std::nullopt}},
      {"a depth without the marker is not a counter sample",
       {{{10, {{"depth:q", 3}}}, {11, sampled({{"failed:wf", 1}})}, {12, sampled({{"failed:wf", 1}})},
         {13, sampled({{"failed:wf", 2}})}}},
       {std::nullopt, 0, 1}},
      {"a counter that went down (its stats were reset)",
       {{{10, sampled({{"failed:wf", 9}})}, {11, sampled({{"failed:wf", 2}})}, {12, sampled({{"failed:wf", 3}})},
         {13, sampled({{"failed:wf", 3}})}}},
       {std::nullopt, 1, 0}},
  };
  for (const Case& c : cases) {
    const Series s = build_series(c.partitions, 10, 12, "");
    EXPECT_EQ(s.counts.at("failed").at("wf"), c.want) << c.what;
  }
}

TEST(Series, AWorkflowFilterKeepsOnlyItsCountsAndUnknownFieldsAreIgnored) {
  const std::vector<MinuteSamples> partitions = {{
      {0, sampled({{"submitted:a", 1}, {"submitted:b", 1}, {"retried:a", 0}, {"retries", 4}, {"odd", 1}})},
      {1, sampled({{"submitted:a", 3}, {"submitted:b", 5}, {"retried:a", 2}, {"retries", 9}, {"odd", 2}})},
  }};
  const Series all = build_series(partitions, 0, 0, "");
  EXPECT_EQ(all.counts.at("submitted").at("a"), known({2}));
  EXPECT_EQ(all.counts.at("submitted").at("b"), known({4}));
  EXPECT_EQ(all.counts.at("retried").at("a"), known({2}));
  EXPECT_EQ(all.counts.size(), 2u) << "retries (no workflow) and odd fields are no series";
  const Series only_b = build_series(partitions, 0, 0, "b");
  EXPECT_EQ(only_b.counts.at("submitted").size(), 1u);
  EXPECT_EQ(only_b.counts.at("submitted").at("b"), known({4}));
  EXPECT_FALSE(only_b.counts.contains("retried"));
}

TEST(Series, QueueDepthsAreSummedOverThePartitionsThatSampledThem) {
  const std::vector<MinuteSamples> partitions = {
      {{20, {{"depth:q", 3}}}, {21, sampled({{"depth:q", 1}, {"depth:r", 7}})}},
      {{20, {{"depth:q", 2}}}},
  };
  const Series s = build_series(partitions, 20, 22, "");
  EXPECT_EQ(s.queue_depth.at("q"), (PerMinute{5, 1, std::nullopt}));
  EXPECT_EQ(s.queue_depth.at("r"), (PerMinute{std::nullopt, 7, std::nullopt}));
  EXPECT_TRUE(s.counts.empty());
}

TEST(Series, QueueThroughputIsTheDeliveredCountsDifferenceSummedOverPartitions) {
  const std::vector<MinuteSamples> partitions = {
      {{30, {{"read:q", 10}}}, {31, {{"read:q", 25}}}, {32, {{"read:q", 25}}}, {33, {{"read:q", 3}}}},
      {{30, {{"read:q", 100}}}, {31, {{"read:q", 104}}}},  // no sample at 32: counts where both ends are known
  };
  const Series s = build_series(partitions, 30, 34, "");
  // 30: 15 + 4; 31: 0 (the second partition lacks 32); 32: went down (group made again): unknown; 33, 34: no next sample.
  EXPECT_EQ(s.queue_throughput.at("q"), (PerMinute{19, 0, std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(latest(s.queue_throughput.at("q")), 0);
  EXPECT_EQ(latest(PerMinute{std::nullopt, std::nullopt}), std::nullopt);
  EXPECT_EQ(latest(PerMinute{4, std::nullopt}), 4);
}

}  // namespace
}  // namespace steadfast::engine
