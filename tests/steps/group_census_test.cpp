// GroupCensus: one walk answers every group asked since the walk before,
// walks are spaced by their cost, answers are handed out once, and a
// forgotten group (its leader reaped, its id free for reuse) is asked fresh.
// A fake walk and clock; the real walk is proc::groups_with_live_members
// (tests/proc/child_test.cpp, and ExecKindTest through the exec kind).
#include "steps/group_census.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using Clock = GroupCensus::Clock;

struct Fake {
  Clock::time_point now{1h};
  std::vector<pid_t> live;                 // groups the walk finds live
  Clock::duration cost = 0ms;              // how long a walk takes
  std::vector<std::vector<pid_t>> walks;   // what each walk was asked

  GroupCensus census() {
    return GroupCensus(
        [this](std::span<const pid_t> asked) {
          walks.emplace_back(asked.begin(), asked.end());
          now += cost;
          std::vector<pid_t> found;
          for (const pid_t g : asked) {
            if (std::find(live.begin(), live.end(), g) != live.end()) found.push_back(g);
          }
          return found;
        },
        [this] { return now; });
  }
};

TEST(GroupCensus, TheFirstQuestionWalksAtOnce) {
  Fake f;
  f.live = {10};
  GroupCensus c = f.census();
  EXPECT_EQ(c.live(10), true);
  ASSERT_EQ(f.walks.size(), 1u);
  EXPECT_EQ(f.walks[0], (std::vector<pid_t>{10}));
  EXPECT_EQ(c.next_walk(), f.now + GroupCensus::kMinSpacing);
}

TEST(GroupCensus, QuestionsBetweenWalksWaitAndShareTheNextWalk) {
  Fake f;
  f.live = {20};
  GroupCensus c = f.census();
  EXPECT_EQ(c.live(10), false);  // walk 1
  f.now += 1ms;
  EXPECT_EQ(c.live(20), std::nullopt);
  EXPECT_EQ(c.live(30), std::nullopt);
  EXPECT_EQ(c.live(20), std::nullopt);  // asked twice: once in the walk
  EXPECT_EQ(f.walks.size(), 1u);
  f.now = c.next_walk();
  EXPECT_EQ(c.live(30), false);  // walk 2 answers 20 and 30
  ASSERT_EQ(f.walks.size(), 2u);
  EXPECT_EQ(f.walks[1], (std::vector<pid_t>{20, 30}));
  EXPECT_EQ(c.live(20), true);  // from walk 2, no walk of its own
  EXPECT_EQ(f.walks.size(), 2u);
  EXPECT_EQ(c.walks(), 2);
}

TEST(GroupCensus, AnAnswerIsHandedOutOnceThenAskedAgain) {
  Fake f;
  f.live = {20};
  GroupCensus c = f.census();
  EXPECT_EQ(c.live(10), false);
  f.now += 1ms;
  EXPECT_EQ(c.live(20), std::nullopt);
  f.now = c.next_walk();
  EXPECT_EQ(c.live(20), true);
  f.live.clear();  // its last member ended
  EXPECT_EQ(c.live(20), std::nullopt);  // not the stale "live": a new walk is due later
  f.now = c.next_walk();
  EXPECT_EQ(c.live(20), false);
}

TEST(GroupCensus, WalksAreSpacedByFourTimesTheirCost) {
  Fake f;
  f.cost = 10ms;
  GroupCensus c = f.census();
  (void)c.live(10);
  EXPECT_EQ(c.next_walk(), f.now + 40ms);
  f.cost = 0ms;
  f.now += 39ms;
  EXPECT_EQ(c.live(11), std::nullopt);
  f.now += 1ms;
  EXPECT_EQ(c.live(11), false);
  EXPECT_EQ(c.next_walk(), f.now + GroupCensus::kMinSpacing);  // cheap again: the floor
}

TEST(GroupCensus, AForgottenGroupIsAskedFresh) {
  Fake f;
  f.live = {20};
  GroupCensus c = f.census();
  (void)c.live(10);
  f.now += 1ms;
  EXPECT_EQ(c.live(20), std::nullopt);
  EXPECT_EQ(c.live(30), std::nullopt);
  c.forget(20);  // its leader was reaped: 20 may name another group soon
  f.now = c.next_walk();
  EXPECT_EQ(c.live(30), false);
  EXPECT_EQ(f.walks.back(), (std::vector<pid_t>{30}));  // 20 was not walked for
  // An answer not yet handed out is dropped too.
  f.now += 1ms;
  EXPECT_EQ(c.live(40), std::nullopt);
  EXPECT_EQ(c.live(50), std::nullopt);
  f.now = c.next_walk();
  EXPECT_EQ(c.live(40), false);  // walk answers 40 and 50
  c.forget(50);
  f.live = {50};
  f.now = c.next_walk();
  EXPECT_EQ(c.live(50), true);  // walked again, not the dropped "false"
}

}  // namespace
}  // namespace steadfast::steps
