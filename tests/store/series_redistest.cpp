// The per-minute series in Redis: series_sample.lua (the minute's counters
// once, each queue's depth and delivered count once, nothing written for another hour than
// Redis's) and read_series (each partition's minutes of a window).
#include "store/series.h"

#include "store_test.h"

namespace steadfast::store::testing {
namespace {

class StoreSeries : public StoreTest {
 protected:
  SeriesSampled sample(const std::vector<std::string>& queues, std::int64_t hour) {
    return run(sample_series(*client_, keys_, kPartition, queues, hour));
  }
  std::map<std::string, std::string> series_hash(std::int64_t hour) {
    std::map<std::string, std::string> out;
    const Reply r = cmd({"HGETALL", keys_.series(kPartition, hour)});
    for (std::size_t i = 0; i + 1 < r.size(); i += 2) out[std::string(r[i].str())] = std::string(r[i + 1].str());
    return out;
  }
};

TEST_F(StoreSeries, TheFirstSampleOfAMinuteCopiesTheCountersAndEachQueueIsSampledOnce) {
  submit();
  submit();
  const std::int64_t hour = redis_now_ms() / 3'600'000;
  const SeriesSampled first = sample({"q"}, hour);
  if (first.redis_now_ms / 3'600'000 != hour) GTEST_SKIP() << "the hour turned during the test";
  ASSERT_TRUE(first.written);
  const std::string m = std::to_string(first.redis_now_ms / 60'000);
  auto h = series_hash(hour);
  EXPECT_EQ(h.at(m + "|submitted:wf"), "2");
  EXPECT_EQ(h.at(m + "|depth:q"), "2");
  EXPECT_EQ(h.at(m + "|read:q"), "0") << "nothing delivered yet";
  EXPECT_TRUE(h.contains(m + "|@"));
  EXPECT_EQ(h.size(), 4u) << "only the series counters of the stats hash";
  const long long ttl = cmd({"TTL", keys_.series(kPartition, hour)}).as_integer();
  EXPECT_GT(ttl, 49 * 3600);
  EXPECT_LE(ttl, 50 * 3600);

  submit();  // a third run, and a second sample (another worker, say) with another queue
  const SeriesSampled second = sample({"q", "q2"}, hour);
  ASSERT_TRUE(second.written || second.redis_now_ms / 3'600'000 != hour);
  h = series_hash(hour);
  const std::string m2 = std::to_string(second.redis_now_ms / 60'000);
  if (m2 == m) {
    EXPECT_EQ(h.at(m + "|submitted:wf"), "2") << "the minute's first sample stands";
    EXPECT_EQ(h.at(m + "|depth:q"), "2");
    EXPECT_EQ(h.at(m + "|depth:q2"), "0") << "a queue no sampler had this minute";
  } else if (second.written) {  // the minute turned in between: a sample of its own
    EXPECT_EQ(h.at(m2 + "|submitted:wf"), "3");
    EXPECT_EQ(h.at(m2 + "|depth:q"), "3");
  }
}

// Throughput is the difference of the group's entries-read between samples:
// what the sample holds is how many entries workers were ever given.
TEST_F(StoreSeries, AQueueSampleHoldsTheEntriesItsGroupDelivered) {
  for (int i = 0; i < 3; ++i) submit();
  ASSERT_EQ(claim_n(2).size(), 2u);
  const std::int64_t hour = redis_now_ms() / 3'600'000;
  const SeriesSampled r = sample({"q", "never-made"}, hour);
  if (r.redis_now_ms / 3'600'000 != hour) GTEST_SKIP() << "the hour turned during the test";
  const auto h = series_hash(hour);
  const std::string m = std::to_string(r.redis_now_ms / 60'000);
  EXPECT_EQ(h.at(m + "|read:q"), "2");
  EXPECT_EQ(h.at(m + "|depth:q"), "3") << "delivered entries stay until acknowledged";
  EXPECT_EQ(h.at(m + "|depth:never-made"), "0");
  EXPECT_FALSE(h.contains(m + "|read:never-made")) << "no stream, no group: unknown, not 0";
}

TEST_F(StoreSeries, ASampleForAnHourThatIsNotRedissWritesNothing) {
  submit();
  const std::int64_t hour = redis_now_ms() / 3'600'000;
  const SeriesSampled r = sample({"q"}, hour + 1);
  EXPECT_FALSE(r.written);
  EXPECT_GE(r.redis_now_ms / 3'600'000, hour) << "Redis's time, to name the right hour";
  EXPECT_EQ(cmd({"EXISTS", keys_.series(kPartition, hour + 1)}).as_integer(), 0);
}

TEST_F(StoreSeries, AReadReturnsEachMinuteOfTheWindowAcrossHourKeys) {
  // Minutes 119..121 span hours 1 and 2; 118 and 122 lie outside [119, 120 + 1].
  cmd({"HSET", keys_.series(kPartition, 1), "118|@", "1", "118|completed:wf", "1", "119|@", "1",
       "119|completed:wf", "4", "119|depth:q", "7", "junk", "1", "119|bad", "x"});
  cmd({"HSET", keys_.series(kPartition, 2), "120|@", "1", "120|completed:wf", "6", "121|@", "1",
       "121|completed:wf", "9", "122|@", "1"});
  const std::vector<engine::MinuteSamples> got = run(read_series(*client_, keys_, 119, 120));
  ASSERT_EQ(got.size(), 1u);
  const engine::MinuteSamples want = {
      {119, {{"@", 1}, {"completed:wf", 4}, {"depth:q", 7}}},
      {120, {{"@", 1}, {"completed:wf", 6}}},
      {121, {{"@", 1}, {"completed:wf", 9}}},
  };
  EXPECT_EQ(got[0], want);
  const engine::Series s = engine::build_series(got, 119, 120, "");
  EXPECT_EQ(s.counts.at("completed").at("wf"), (engine::PerMinute{2, 3}));
  EXPECT_THROW(run(read_series(*client_, keys_, 0, kSeriesMaxMinutes)), std::invalid_argument);
  EXPECT_THROW(run(read_series(*client_, keys_, 5, 4)), std::invalid_argument);
}

}  // namespace
}  // namespace steadfast::store::testing
