// worker::PromoterDuty: what each answer of duty.lua makes a worker believe,
// and when it asks again.
#include "worker/promoter_duty.h"

#include <gtest/gtest.h>

#include <vector>

namespace steadfast::worker {
namespace {

using namespace std::chrono_literals;
using Clock = PromoterDuty::Clock;
using std::chrono::milliseconds;

TEST(PromoterDuty, EachAnswerSetsWhenItIsHeldAndWhenToAskAgain) {
  const Clock::time_point t{std::chrono::seconds(1000)};
  struct Case {
    const char* what;
    bool held;
    milliseconds left;
    milliseconds held_for;  // from the ask; 0 = not held
    milliseconds ask_after;
  };
  const std::vector<Case> cases = {
      {"ours: a lease, renewed at a third of it", true, 2000ms, 2000ms, 666ms},
      {"another's: asked again 5 ms after its lease ends", false, 1500ms, 0ms, 1505ms},
      {"another's, about to end: not sooner than 10 ms", false, 0ms, 0ms, 10ms},
      {"another's with a longer lease than ours: a lease at most", false, 60000ms, 0ms, 2000ms},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    PromoterDuty d;
    d.answered(c.held, c.left, t);
    EXPECT_EQ(d.ask_at - t, c.ask_after);
    if (c.held_for > 0ms) {
      EXPECT_EQ(d.held_until - t, c.held_for);
      EXPECT_TRUE(d.held(t + c.held_for - 1ms));
      EXPECT_FALSE(d.held(t + c.held_for));
    } else {
      EXPECT_FALSE(d.held(t));
    }
  }
}

TEST(PromoterDuty, AFailedAskKeepsWhatWasHeldUntilItsLeaseEndsAndAsksAgainSoon) {
  const Clock::time_point t{std::chrono::seconds(1000)};
  PromoterDuty d;
  d.answered(true, 2000ms, t);
  d.failed(t + 700ms);
  EXPECT_EQ(d.ask_at, t + 900ms);
  EXPECT_TRUE(d.held(t + 1999ms)) << "promotion is idempotent: believing too long costs a poll";
  EXPECT_FALSE(d.held(t + 2000ms)) << "but never past the lease it was given";

  PromoterDuty never;
  never.failed(t);
  EXPECT_FALSE(never.held(t));
  EXPECT_EQ(never.ask_at, t + 200ms);
}

TEST(PromoterDuty, ANewWorkerAsksAtOnceAndHoldsNothing) {
  const PromoterDuty d;
  EXPECT_FALSE(d.held(Clock::now()));
  EXPECT_LE(d.ask_at, Clock::now());
}

}  // namespace
}  // namespace steadfast::worker
