// The timer set per partition (sf:{P}:timers, members "<run>\t<node>\t<kind>"):
// a retry parks its run there, promotion (due.lua, then promote.lua with every
// key declared) moves due members back to their queue, cancel removes them,
// and members of schema 1's delayed set (run ids) are still promoted and
// cancelled. Due times are set by score, never waited for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/keys.h"
#include "store/run_view.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;

class Timers : public RedisTest {
 protected:
  redis::Client& c = make_client();
  KeySpace keys{"sf", 1};
  Store st{c, keys, "w1"};

  redis::Reply call(std::vector<std::string> argv) { return server().call(argv); }

  // A run of one step "a" on queue "default", claimed by w1 and failed: it
  // waits in the timer set for `delay`.
  std::string retrying_run(std::chrono::milliseconds delay) {
    run(st.ensure_group(0, "default"));
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json::object();
    req.steps = {"a"};
    req.first_queue = "default";
    const std::string id = run(st.submit(req)).run_id;
    const redis::Reply r = call({"XREADGROUP", "GROUP", "steadfast", "w1", "COUNT", "1", "STREAMS",
                                 keys.queue(0, "default"), ">"});
    StartItem item;
    item.token = Token{0, "default", std::string(r[0][1][0][0].str()), 1};
    item.run_id = id;
    item.step = "a";
    const auto started = run(st.start(0, "default", {item}));
    EXPECT_EQ(started.at(0).state, Started::State::ok);
    Transition t;
    t.token = item.token;
    t.run_id = id;
    t.step = "a";
    t.action = engine::Action::retry_later;
    t.attempts = 1;
    t.delay = delay;
    t.error = "upstream said 500";
    EXPECT_EQ(run(st.apply({t}, 0ms)).at(0), Applied::ok);
    return id;
  }
  std::string member(const std::string& id) { return id + "\ta\tretry"; }
};

TEST_F(Timers, ARetryParksTheRunAsOneMemberNamingRunNodeAndKind) {
  const std::string id = retrying_run(60s);
  const redis::Reply all = call({"ZRANGE", keys.timers(0), "0", "-1"});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].str(), member(id));
  EXPECT_EQ(call({"HGET", keys.run(id), "status"}).str(), "retrying");
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0);
  EXPECT_EQ(run(st.delayed_count()), 1);
}

// What `steadfast status` shows of it: the step retrying, waiting for its
// timer until the due time, and the run at that step.
TEST_F(Timers, TheRunViewSaysWhatTheRetryingRunWaitsForAndUntilWhen) {
  const std::string id = retrying_run(60s);
  const auto info = run(st.get_run(id));
  ASSERT_TRUE(info.has_value());
  const Json j = to_json(*info);
  const long long due = std::stoll(std::string(call({"HGET", keys.run(id), "due_at"}).str()));
  EXPECT_EQ(j["current_steps"], Json::array({"a"}));
  EXPECT_EQ(j["steps"][0]["waiting_for"], (Json{{"kind", "retry"}, {"until", iso8601_ms(due)}}));
  EXPECT_EQ(j["waiting_for"], j["steps"][0]["waiting_for"]);
  const Json& h = j["steps"][0]["attempt_history"];
  ASSERT_EQ(h.size(), 1u) << h.dump();
  EXPECT_EQ(h[0]["outcome"], "retrying");
  EXPECT_EQ(h[0]["worker"], "w1");
  EXPECT_EQ(h[0]["error"], "upstream said 500");
}

TEST_F(Timers, ATimerNotDueStaysAndPromoteSaysWhenTheNextIsDue) {
  const std::string id = retrying_run(60s);
  const long long wait = run(st.promote(0, 100));
  EXPECT_GT(wait, 50000);
  EXPECT_LE(wait, 60000);
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 1);
  EXPECT_EQ(call({"HGET", keys.run(id), "status"}).str(), "retrying");
}

TEST_F(Timers, ADueTimerGoesBackToItsQueueWithItsAttempts) {
  const std::string id = retrying_run(60s);
  call({"ZADD", keys.timers(0), "XX", "0", member(id)});
  run(st.promote(0, 100));
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
  EXPECT_EQ(call({"HGET", keys.run(id), "status"}).str(), "queued");
  const redis::Reply entries = call({"XRANGE", keys.queue(0, "default"), "-", "+"});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(call({"HGET", keys.run(id), "entry"}).str(), entries[0][0].str());
  const redis::Reply& f = entries[0][1];
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[1].str(), id);
  EXPECT_EQ(f[3].str(), "a");
  EXPECT_EQ(f[5].str(), "1");
  EXPECT_EQ(run(st.run_tokens(id)).in_stream, 1);
}

TEST_F(Timers, CancelRemovesTheTimerAndPromotionThenMovesNothing) {
  const std::string id = retrying_run(60s);
  EXPECT_EQ(run(st.cancel(id, 0ms)), "cancelled");
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
  EXPECT_EQ(run(st.promote(0, 100)), -1);
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0);
}

TEST_F(Timers, ADueMemberOfARunNoLongerRetryingIsDroppedWithoutAToken) {
  const std::string id = retrying_run(60s);
  call({"HSET", keys.run(id), "status", "cancelled"});
  call({"ZADD", keys.timers(0), "XX", "0", member(id)});
  run(st.promote(0, 100));
  EXPECT_EQ(call({"ZCARD", keys.timers(0)}).as_integer(), 0);
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 0);
}

// Upgrade in place: a run parked by a worker of schema 1 (member = run id in
// sf:{P}:delayed) is seen by doctor, cancelled and promoted by this version.
TEST_F(Timers, Schema1DelayedMembersAreReadPromotedAndCancelled) {
  const std::string a = retrying_run(60s);
  const std::string b = retrying_run(60s);
  for (const std::string& id : {a, b}) {
    call({"ZREM", keys.timers(0), member(id)});
    call({"ZADD", keys.legacy_delayed(0), "0", id});
  }
  EXPECT_EQ(run(st.run_tokens(a)).in_delayed, 1);
  EXPECT_EQ(run(st.delayed_count()), 2);
  EXPECT_EQ(run(st.cancel(b, 0ms)), "cancelled");
  run(st.promote(0, 100));
  EXPECT_EQ(call({"ZCARD", keys.legacy_delayed(0)}).as_integer(), 0);
  EXPECT_EQ(call({"HGET", keys.run(a), "status"}).str(), "queued");
  EXPECT_EQ(call({"HGET", keys.run(b), "status"}).str(), "cancelled");
  EXPECT_EQ(call({"XLEN", keys.queue(0, "default")}).as_integer(), 1);
}

}  // namespace
}  // namespace steadfast::store
