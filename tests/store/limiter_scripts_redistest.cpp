// The limiter scripts' bounds against one run (issue 13 item 4), through
// store::Limiter on a real Redis (and a one-node cluster): a reconciliation
// never leaves the bucket deeper than one bucket in debt, and a pause is cut
// to the limiter's max_pause.
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

}  // namespace
}  // namespace steadfast::store::testing
