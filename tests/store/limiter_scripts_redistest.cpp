// The limiter scripts' bounds against one run (issue 13 item 4), through
// store::Limiter on a real Redis (and a one-node cluster): a reconciliation
// never leaves the bucket deeper than one bucket in debt, and a pause is cut
// to the limiter's max_pause; admissions and waits are counted per minute.
#include "store/limiter.h"

#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

class StoreLimiter : public StoreTest {
 protected:
  double field(const Limiter& l, const std::string& name) {
    const Reply r = cmd({"HGET", keys_.limit(l.spec().name), name});
    return r.is_nil() ? 0.0 : std::stod(std::string(r.str()));
  }
  double redis_now_ms() {
    const Reply t = cmd({"TIME"});
    return std::stod(std::string(t[0].str())) * 1000 + std::stod(std::string(t[1].str())) / 1000;
  }
};

TEST_F(StoreLimiter, ReconciledDebtStopsAtOneBucket) {
  LimitSpec spec;
  spec.name = "llm";
  spec.tokens_per_minute = 60000;
  spec.token_burst = 1000;
  Limiter l(*client_, keys_, spec);
  const Limiter::Admission a = run(l.try_acquire(100, "h1", std::chrono::milliseconds(0)));
  ASSERT_TRUE(a.admitted);
  // The output claims a million tokens used (an estimate of 100).
  run(l.release("h1", 100 - 1000000));
  EXPECT_GE(field(l, "tokens"), -1000.0);
  EXPECT_LT(field(l, "tokens"), -990.0);  // in debt by one bucket (refilled by a few ms at most)
  // The next admission of 100 waits for 1100 tokens at 1000 per second: about 1.1 s, not 16 minutes.
  const Limiter::Admission next = run(l.try_acquire(100, "h2", std::chrono::milliseconds(0)));
  EXPECT_FALSE(next.admitted);
  EXPECT_EQ(next.reason, "tokens");
  EXPECT_LE(next.wait.count(), 1100);
}

TEST_F(StoreLimiter, PauseIsCutToMaxPause) {
  LimitSpec spec;
  spec.name = "api";
  spec.requests_per_minute = 60;
  spec.max_pause = std::chrono::milliseconds(2000);
  Limiter l(*client_, keys_, spec);
  EXPECT_EQ(l.capped_pause(std::chrono::hours(24)), std::chrono::milliseconds(2000));
  EXPECT_EQ(l.capped_pause(std::chrono::milliseconds(500)), std::chrono::milliseconds(500));
  run(l.pause(std::chrono::hours(24)));
  const double left = field(l, "paused_until") - redis_now_ms();
  EXPECT_GT(left, 1000.0);
  EXPECT_LE(left, 2000.0);
  const Limiter::Admission a = run(l.try_acquire(0, "h", std::chrono::milliseconds(0)));
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.reason, "paused");
  EXPECT_LE(a.wait.count(), 2000);
}

// The counts GET /v1/limiters shows: totals, and the two newest minutes,
// rolled by the first call of a minute. The minute before is written by hand
// (no sleeps); a call that straddles a minute boundary is detected and the
// check done for the minute it landed in.
TEST_F(StoreLimiter, AdmissionsAndWaitsAreCountedInTotalAndPerMinute) {
  LimitSpec spec;
  spec.name = "llm";
  spec.concurrency = 1;
  Limiter l(*client_, keys_, spec);
  const std::string key = keys_.limit("llm");
  ASSERT_TRUE(run(l.try_acquire(0, "h1", std::chrono::milliseconds(60000))).admitted);
  EXPECT_FALSE(run(l.try_acquire(0, "h2", std::chrono::milliseconds(60000))).admitted);  // the slot is held
  EXPECT_FALSE(run(l.try_acquire(0, "h3", std::chrono::milliseconds(60000))).admitted);
  EXPECT_EQ(field(l, "admitted"), 1.0);
  EXPECT_EQ(field(l, "waits"), 2.0);
  const auto minute = static_cast<long long>(field(l, "recent_minute"));
  if (minute == static_cast<long long>(redis_now_ms()) / 60000) {  // no boundary crossed since the first call
    EXPECT_EQ(field(l, "recent_admitted"), 1.0);
    EXPECT_EQ(field(l, "recent_waits"), 2.0);
    EXPECT_EQ(field(l, "previous_admitted"), 0.0);  // the minute before was not counted
  }

  // As if those were counted in the minute before this one: the next call rolls them over.
  const long long now_minute = static_cast<long long>(redis_now_ms()) / 60000;
  expect_ok(cmd({"HSET", key, "recent_minute", std::to_string(now_minute - 1), "recent_admitted", "7", "recent_waits", "3"}));
  EXPECT_FALSE(run(l.try_acquire(0, "h4", std::chrono::milliseconds(60000))).admitted);
  const auto rolled = static_cast<long long>(field(l, "recent_minute"));
  if (rolled == now_minute) {
    EXPECT_EQ(field(l, "recent_admitted"), 0.0);
    EXPECT_EQ(field(l, "recent_waits"), 1.0);
    EXPECT_EQ(field(l, "previous_admitted"), 7.0);
    EXPECT_EQ(field(l, "previous_waits"), 3.0);
  } else {  // the call landed in the next minute: the hand-written one is two minutes old, not carried
    EXPECT_EQ(field(l, "previous_admitted"), 0.0);
  }
  // Counted long ago: nothing is carried over.
  expect_ok(cmd({"HSET", key, "recent_minute", std::to_string(now_minute - 5), "recent_admitted", "7", "recent_waits", "3"}));
  EXPECT_FALSE(run(l.try_acquire(0, "h5", std::chrono::milliseconds(60000))).admitted);
  EXPECT_EQ(field(l, "previous_admitted"), 0.0);
  EXPECT_EQ(field(l, "previous_waits"), 0.0);
  EXPECT_EQ(field(l, "recent_waits"), 1.0);
  EXPECT_EQ(field(l, "waits"), 4.0);  // totals are never rolled
  EXPECT_EQ(field(l, "admitted"), 1.0);
}

}  // namespace
}  // namespace steadfast::store::testing
