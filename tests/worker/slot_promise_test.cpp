// worker::SlotPromise (what a claim in flight holds of the free slots) and
// worker::claim_size (how much one claim beside the partitioned fetch loop
// may promise).
#include "worker/slot_promise.h"

#include <gtest/gtest.h>

#include <vector>

namespace steadfast::worker {
namespace {

TEST(SlotPromise, HoldsWhatItAddsInTheWorkersCountUntilReleased) {
  int reserved = 3;  // another claim's
  {
    SlotPromise p(reserved, 4);
    EXPECT_EQ(p.held(), 4);
    EXPECT_EQ(reserved, 7);
    p.add(2);
    p.add(-5);  // nothing
    EXPECT_EQ(p.held(), 6);
    EXPECT_EQ(reserved, 9);
    p.release(1);  // a claimed entry takes its slot instead
    EXPECT_EQ(reserved, 8);
    p.release(100);  // never more than it holds
    EXPECT_EQ(p.held(), 0);
    EXPECT_EQ(reserved, 3);
    p.add(2);
  }
  EXPECT_EQ(reserved, 3) << "the destructor gives back what is left";
}

TEST(ClaimSize, LeavesTheOtherPrimariesTheirShareAndKeepsBatchesLarge) {
  struct Case {
    const char* what;
    int concurrency;
    int primaries;
    int most;
    int least_beside_another;
  };
  const std::vector<Case> cases = {
      {"one server or one primary: every slot, no floor", 64, 1, 64, 1},
      {"no map yet (no primary known)", 64, 0, 64, 1},
      {"three primaries: all but a third", 64, 3, 43, 21},
      {"two primaries: half", 64, 2, 32, 32},
      {"twelve primaries", 64, 12, 59, 5},
      {"fewer slots than primaries: one left to the others", 2, 3, 1, 1},
      {"one slot: a claim must still take it", 1, 3, 1, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const ClaimSize s = claim_size(c.concurrency, c.primaries);
    EXPECT_EQ(s.most, c.most);
    EXPECT_EQ(s.least_beside_another, c.least_beside_another);
  }
}

}  // namespace
}  // namespace steadfast::worker
