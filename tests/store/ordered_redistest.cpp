// Ordered queues (lua/lib.lua "Ordered queues", feed.lua): a run submitted
// for a queue with priorities or fairness waits in the queue's backlog, and
// feed.lua hands the backlog out — highest priority first, then fair among
// the fairness keys by their weights — as workers have free slots. Driven
// through the scripts with no worker and no sleep: aging is tested by moving
// a token's enqueue time back.
#include <algorithm>
#include <map>
#include <set>

#include "store/definition.h"
#include "store/doctor.h"
#include "store/run_order.h"
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

class OrderedQueue : public StoreTest {
 protected:
  // The definition of "wf" (step a on q, b on q2) with `order` on both queues.
  Json definition(const QueueOrder& order) const {
    return Json{{"name", "wf"},
                {"steps", Json::array({Json{{"name", "a"}, {"queue", "q"}}, Json{{"name", "b"}, {"queue", "q2"}}})},
                {"order", {{"q", queue_order_json(order)}, {"q2", queue_order_json(order)}}}};
  }
  QueueOrder fair(std::map<std::string, int> weights = {}) const {
    QueueOrder o;
    o.fairness_key = "{{input.tenant}}";
    o.weights = std::move(weights);
    return o;
  }

  // A run of "wf" for `tenant` at `priority` on queues ordered by `order`.
  std::string submit_for(const std::string& tenant, int priority = kDefaultPriority,
                         const QueueOrder& order = QueueOrder{"{{input.tenant}}", {}, std::chrono::minutes(5)}) {
    SubmitRequest r;
    r.workflow = "wf";
    r.input = Json{{"tenant", tenant}};
    r.steps = {"a", "b"};
    r.first_queue = "q";
    r.priority = priority;
    r.sched = run_sched(definition(order), r.input, priority);
    return run(w1_->submit(r)).run_id;
  }

  // feed.lua for `free` slots as `consumer`: {moved, still waiting}.
  std::pair<long long, long long> feed(int free, const std::string& consumer = "w1",
                                       const std::string& queue = "q") {
    const Reply r = eval(scripts::feed(), {stream(queue)}, {consumer, std::to_string(free), "60000"});
    if (r.is_error()) throw std::runtime_error(std::string(r.str()));
    return {r[0].as_integer(), r[1].as_integer()};
  }

  // Feeds and claims one token at a time, `n` times: the tenants in the order handed out.
  std::vector<std::string> hand_out(int n) {
    std::vector<std::string> order;
    for (int i = 0; i < n; ++i) {
      if (feed(1).first != 1) break;
      const StartItem it = claim();
      order.push_back(hash(it.run_id).count("input") ? Json::parse(field(it.run_id, "input"))["tenant"].get<std::string>()
                                                     : "?");
      ack(it);
    }
    return order;
  }

  long long xlen(const std::string& queue = "q") { return cmd({"XLEN", stream(queue)}).as_integer(); }

  // Moves the backlog token of `run_id` (head of its key's list at `level`)
  // back in time by `ms`, as if it had been waiting that long.
  void age(const std::string& run_id, int level, long long ms) {
    const std::string entry = field(run_id, "entry");
    ASSERT_TRUE(entry.starts_with("b:"));
    std::vector<std::string> f;
    std::string m = entry.substr(2);
    for (std::size_t at = 0;;) {
      const std::size_t tab = m.find('\t', at);
      f.push_back(m.substr(at, tab - at));
      if (tab == std::string::npos) break;
      at = tab + 1;
    }
    ASSERT_EQ(f.size(), 9u) << m;
    const std::string list = stream() + ":o:" + std::to_string(level) + ":" + f[5];
    ASSERT_EQ(cmd({"LINDEX", list, "0"}).str(), m) << "the token is its key's head";
    f[1] = std::to_string(std::stoll(f[1]) - ms);
    std::string aged = f[0];
    for (std::size_t i = 1; i < f.size(); ++i) aged += "\t" + f[i];
    expect_ok(cmd({"LSET", list, "0", aged}));
    const long long aging = std::stoll(f[4]);
    expect_ok(cmd({"ZADD", stream() + ":oa:" + std::to_string(level),
                   std::to_string(std::stoll(f[1]) + (level - std::stoll(f[2]) + 1) * aging), f[5]}));
    set_field(run_id, "entry", "b:" + aged);
  }
};

TEST_F(OrderedQueue, ASubmittedRunWaitsInTheBacklogUntilAWorkerFeedsItThenItsClaimPointsAtTheEntry) {
  const std::string id = submit_for("acme");
  EXPECT_EQ(xlen(), 0) << "nothing in the stream before a worker asks";
  EXPECT_EQ(field(id, "status"), "queued");
  EXPECT_TRUE(field(id, "entry").starts_with("b:")) << field(id, "entry");
  const Json view = to_json(*run(w1_->get_run(id)));
  EXPECT_EQ(view["status"], "waiting") << "not in a stream yet (CONTRACTS §1)";
  EXPECT_EQ(view["priority"], 5);
  EXPECT_EQ(view["waiting_for"], (Json{{"kind", "fairness"}, {"until", nullptr}, {"key", "acme"}, {"queue", "q"}}));
  EXPECT_EQ(view["steps"][0]["status"], "waiting");
  const RunTokens t = run(w1_->run_tokens(id));
  EXPECT_EQ(t.in_stream, 1) << "the backlog token counts as the run's one token";
  EXPECT_EQ(t.pending, 0);

  EXPECT_EQ(feed(4), (std::pair<long long, long long>{1, 0}));
  EXPECT_EQ(xlen(), 1);
  const StartItem it = claim();
  EXPECT_EQ(it.run_id, id);
  EXPECT_FALSE(it.ticket.empty());
  const auto started = run(w1_->start(kPartition, "q", {it}));
  ASSERT_EQ(started.at(0).state, Started::State::ok);
  EXPECT_EQ(field(id, "status"), "running");
  EXPECT_EQ(field(id, "entry"), it.token.entry_id) << "the claim swaps the ticket for the stream entry";
  EXPECT_EQ(to_json(*run(w1_->get_run(id)))["waiting_for"], nullptr);
  EXPECT_TRUE(run(examine(*w1_, false)).offenders.empty());
}

// A busy ordered queue's read (Store::read_and_start with a feed first, as a
// worker reads it while work waits): the feed and the claims in one round
// trip, fair across the keys, each claim swapping its ticket for the entry.
TEST_F(OrderedQueue, AReadOfABusyQueueFeedsThenClaimsInOneCall) {
  for (int i = 0; i < 4; ++i) submit_for("a");
  const std::string b = submit_for("b");
  const auto claims = run(w1_->read_and_start(kPartition, "q", 2, std::chrono::milliseconds(60000)));
  ASSERT_EQ(claims.size(), 2u);
  std::set<std::string> tenants;
  for (const ReadClaim& c : claims) {
    EXPECT_EQ(c.started.state, Started::State::ok);
    EXPECT_FALSE(c.item.ticket.empty());
    EXPECT_EQ(field(c.item.run_id, "entry"), c.item.token.entry_id) << "the ticket swapped for the entry";
    EXPECT_EQ(field(c.item.run_id, "status"), "running");
    tenants.insert(Json::parse(field(c.item.run_id, "input"))["tenant"].get<std::string>());
  }
  EXPECT_EQ(tenants, (std::set<std::string>{"a", "b"})) << "b's one run is not behind a's four";
  EXPECT_TRUE(std::any_of(claims.begin(), claims.end(), [&](const ReadClaim& c) { return c.item.run_id == b; }));
  EXPECT_EQ(xlen(), 2) << "only what the read could take was fed";
  EXPECT_TRUE(run(examine(*w1_, false)).offenders.empty());
}

TEST_F(OrderedQueue, FeedRotatesOverTheKeysInsteadOfFirstComeFirstServed) {
  for (int i = 0; i < 6; ++i) submit_for("a");
  for (int i = 0; i < 2; ++i) submit_for("b");
  submit_for("c");
  const std::vector<std::string> order = hand_out(9);
  ASSERT_EQ(order.size(), 9u);
  EXPECT_EQ(std::set<std::string>(order.begin(), order.begin() + 3), (std::set<std::string>{"a", "b", "c"}))
      << "each key's first step goes before any key's second";
  EXPECT_EQ(std::set<std::string>(order.begin() + 3, order.begin() + 5), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(std::vector<std::string>(order.begin() + 5, order.end()), std::vector<std::string>(4, "a"));
  EXPECT_EQ(feed(1).first, 0) << "the backlog is empty";
}

TEST_F(OrderedQueue, AKeyThatComesLaterStartsAtTheCurrentRoundNotAtTheBack) {
  for (int i = 0; i < 10; ++i) submit_for("a");
  EXPECT_EQ(hand_out(5), std::vector<std::string>(5, "a"));
  submit_for("b");
  const std::vector<std::string> next = hand_out(2);
  EXPECT_NE(std::find(next.begin(), next.end(), "b"), next.end())
      << "b's step is handed out within one round, not after a's backlog";
}

TEST_F(OrderedQueue, WeightsGiveEachKeyItsShare) {
  const QueueOrder order = fair({{"gold", 3}});
  for (int i = 0; i < 40; ++i) {
    submit_for("gold", kDefaultPriority, order);
    submit_for("free", kDefaultPriority, order);
  }
  const std::vector<std::string> got = hand_out(40);
  ASSERT_EQ(got.size(), 40u);
  const auto gold = std::count(got.begin(), got.end(), "gold");
  EXPECT_GE(gold, 29);
  EXPECT_LE(gold, 31) << "3:1 while both have work";
}

TEST_F(OrderedQueue, AHigherPriorityIsHandedOutFirstThenFairAmongKeys) {
  EXPECT_EQ(to_json(*run(w1_->get_run(submit_for("low", 0))))["priority"], 0);
  for (int i = 0; i < 3; ++i) submit_for("mid", kDefaultPriority);
  submit_for("high", 9);
  submit_for("high2", 9);
  const std::vector<std::string> got = hand_out(6);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.begin() + 2), (std::set<std::string>{"high", "high2"}));
  EXPECT_EQ(std::vector<std::string>(got.begin() + 2, got.begin() + 5), std::vector<std::string>(3, "mid"));
  EXPECT_EQ(got.back(), "low");
}

TEST_F(OrderedQueue, ATokenCountsOneLevelHigherPerAgingIntervalItWaited) {
  QueueOrder order = fair();
  order.aging = std::chrono::seconds(10);
  const std::string old = submit_for("old", 3, order);
  const std::string once = submit_for("once", 4, order);
  age(old, 3, 35000);   // 3 intervals: counts 6
  age(once, 4, 12000);  // 1 interval: counts 5
  submit_for("fresh", kDefaultPriority, order);
  const std::vector<std::string> got = hand_out(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "old") << "priority 3 waited three intervals: it counts 6, above a fresh 5";
  EXPECT_EQ(std::set<std::string>(got.begin() + 1, got.end()), (std::set<std::string>{"once", "fresh"}));
}

TEST_F(OrderedQueue, WithoutAgingALowPriorityWaitsBehindEveryHigherOne) {
  QueueOrder order = fair();
  order.aging = std::chrono::milliseconds(0);
  submit_for("low", 0, order);
  submit_for("high", 1, order);
  EXPECT_EQ(hand_out(2), (std::vector<std::string>{"high", "low"}));
}

TEST_F(OrderedQueue, TheQueuesDepthCountsItsBacklogByPriorityAndItsActiveKeys) {
  run(w1_->register_workflow("wf", definition(fair())));  // the queues become known
  for (int i = 0; i < 3; ++i) submit_for("a");
  submit_for("b");
  submit_for("c", 9);
  feed(1);  // c's, the highest: into the stream
  Store::QueueDepth q;
  for (const Store::QueueDepth& d : run(w1_->queue_depths())) {
    if (d.queue == "q") q = d;
  }
  EXPECT_EQ(q.entries, 1);
  EXPECT_EQ(q.backlog, 4);
  EXPECT_EQ(q.backlog_by_priority, (std::map<int, std::int64_t>{{5, 4}}));
  EXPECT_EQ(q.active_keys, 2) << "a and b";
}

TEST_F(OrderedQueue, FeedMovesNoMoreThanTheFreeSlots) {
  for (int i = 0; i < 10; ++i) submit_for("t" + std::to_string(i % 3));
  EXPECT_EQ(feed(4), (std::pair<long long, long long>{4, 6}));
  EXPECT_EQ(xlen(), 4);
  EXPECT_EQ(feed(0), (std::pair<long long, long long>{0, 6}));
  EXPECT_EQ(xlen(), 4);
}

TEST_F(OrderedQueue, AWorkerThatFoundNothingGetsTheNextTokensStraightIntoTheStream) {
  EXPECT_EQ(feed(2), (std::pair<long long, long long>{0, 0}));
  const std::string first = submit_for("a");
  const std::string second = submit_for("a");
  const std::string third = submit_for("a");
  EXPECT_EQ(xlen(), 2) << "two free slots were noted: two tokens skip the backlog";
  EXPECT_FALSE(field(first, "entry").starts_with("b:"));
  EXPECT_FALSE(field(second, "entry").starts_with("b:"));
  EXPECT_TRUE(field(third, "entry").starts_with("b:"));
  EXPECT_EQ(feed(1), (std::pair<long long, long long>{1, 0})) << "a feed that finds work clears the note";
  EXPECT_EQ(cmd({"HLEN", stream() + ":ow"}).as_integer(), 0);
}

TEST_F(OrderedQueue, ARunCancelledInTheBacklogEndsAtOnceAndItsTokenIsDroppedAtItsClaim) {
  const std::string id = submit_for("a");
  EXPECT_EQ(run(w1_->cancel(id, std::chrono::hours(1))), "cancelled");
  EXPECT_EQ(field(id, "status"), "cancelled");
  EXPECT_EQ(feed(1).first, 1) << "the token is not searched for in the backlog: it leaves as any";
  const StartItem it = claim();
  const auto started = run(w1_->start(kPartition, "q", {it}));
  EXPECT_EQ(started.at(0).state, Started::State::missing);
  EXPECT_EQ(xlen(), 0) << "the stale entry is dropped";
  EXPECT_FALSE(pending(it).has_value());
  EXPECT_EQ(field(id, "status"), "cancelled");
}

TEST_F(OrderedQueue, ALaterStepOfAnOrderedRunGoesThroughItsQueuesBacklog) {
  const std::string id = submit_for("a");
  feed(1);
  StartItem it = claim();
  ASSERT_EQ(run(w1_->start(kPartition, "q", {it})).at(0).state, Started::State::ok);
  EXPECT_EQ(apply({transition(it, engine::Action::advance)}), std::vector<Applied>{Applied::ok});
  EXPECT_EQ(field(id, "step"), "b");
  EXPECT_TRUE(field(id, "entry").starts_with("b:")) << "q2 is ordered too";
  EXPECT_EQ(xlen("q2"), 0);
  EXPECT_EQ(feed(1, "w1", "q2").first, 1);
  const StartItem b = claim("w1", "q2");
  EXPECT_EQ(b.run_id, id);
  EXPECT_EQ(b.step, "b");
}

TEST_F(OrderedQueue, ARetryComesBackThroughTheBacklog) {
  const std::string id = submit_for("a");
  feed(1);
  const StartItem it = claim();
  ASSERT_EQ(run(w1_->start(kPartition, "q", {it})).at(0).state, Started::State::ok);
  Transition t = transition(it, engine::Action::retry_later);
  t.delay = std::chrono::milliseconds(0);
  EXPECT_EQ(apply({t}), std::vector<Applied>{Applied::ok});
  EXPECT_EQ(field(id, "status"), "queued");
  EXPECT_TRUE(field(id, "entry").starts_with("b:"));
  EXPECT_EQ(feed(1).first, 1);
  const StartItem again = claim();
  EXPECT_EQ(again.run_id, id);
  const auto started = run(w1_->start(kPartition, "q", {again}));
  ASSERT_EQ(started.at(0).state, Started::State::ok);
  EXPECT_EQ(field(id, "s.a.attempts"), "2");
}

TEST_F(OrderedQueue, ATokenReclaimedBeforeItsFirstClaimIsStillTheRuns) {
  const std::string id = submit_for("a");
  feed(1);
  StartItem it = claim("w1");
  move_to(it, "w2");  // w1 stalled between the read and start.lua; w2 reclaimed it
  it.token.deliveries = 0;
  const auto started = run(w2_->start(kPartition, "q", {it}));
  ASSERT_EQ(started.at(0).state, Started::State::ok);
  EXPECT_EQ(field(id, "entry"), it.token.entry_id);
  EXPECT_EQ(field(id, "s.a.worker"), "w2");
}

TEST_F(OrderedQueue, DoctorFindsALostBacklogTokenAndRepairPutsItBack) {
  const std::string a = submit_for("a");
  const std::string b = submit_for("b");
  EXPECT_TRUE(run(examine(*w1_, false)).offenders.empty());
  // one token fed into the stream, not claimed yet: held, not an orphan
  ASSERT_EQ(feed(1).first, 1);
  EXPECT_TRUE(run(examine(*w1_, false)).offenders.empty());
  const Reply fed = cmd({"XRANGE", stream(), "-", "+"});
  ASSERT_EQ(fed.size(), 1u);
  const std::string lost = std::string(fed[0][1][1].str()) == a ? b : a;
  // the other one's list lost (by hand)
  const Reply lists = cmd({"KEYS", stream() + ":o:5:*"});
  ASSERT_EQ(lists.size(), 1u);
  expect_ok(cmd({"DEL", std::string(lists[0].str())}));
  const DoctorReport before = run(examine(*w1_, false));
  ASSERT_EQ(before.offenders.size(), 1u);
  EXPECT_EQ(before.offenders[0].run_id, lost);
  EXPECT_EQ(before.offenders[0].tokens.in_stream, 0);
  const DoctorReport repaired = run(examine(*w1_, true));
  ASSERT_EQ(repaired.offenders.size(), 1u);
  EXPECT_FALSE(repaired.offenders[0].repaired.empty());
  EXPECT_TRUE(run(examine(*w1_, false)).offenders.empty());
  EXPECT_TRUE(field(lost, "entry").starts_with("b:")) << "the new token waits in the backlog too";
  EXPECT_EQ(run(w1_->run_tokens(lost)).in_stream, 1);
}

TEST_F(OrderedQueue, AnyKeyValueIsHarmlessItsHashNamesTheKey) {
  const std::string odd = submit_for("../{x}*");
  const std::string big = submit_for(std::string(10 * 1024, 'k'));
  const Reply keys = cmd({"KEYS", stream() + ":o:*"});
  for (const Reply& k : keys.elements()) {
    EXPECT_EQ(std::string(k.str()).find("{x}"), std::string::npos) << k.str();
    EXPECT_LT(k.str().size(), 200u) << k.str();
  }
  std::set<std::string> got;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(feed(1).first, 1);
    got.insert(claim().run_id);
  }
  EXPECT_EQ(got, (std::set<std::string>{odd, big}));
}

TEST_F(OrderedQueue, AQueuesBacklogCountsTowardItsMaxBacklog) {
  for (int i = 0; i < 3; ++i) submit_for("a");
  SubmitRequest r;
  r.workflow = "wf";
  r.input = Json{{"tenant", "a"}};
  r.steps = {"a", "b"};
  r.first_queue = "q";
  r.max_backlog = 3;
  r.sched = run_sched(definition(fair()), r.input, kDefaultPriority);
  EXPECT_THROW(run(w1_->submit(r)), BacklogFull);
}

TEST_F(OrderedQueue, APlainRunOnAnOrderedQueueGoesStraightToTheStream) {
  const std::string plain = submit();  // no `sched`: submitted by a process that does not know the order
  EXPECT_EQ(xlen(), 1);
  EXPECT_FALSE(field(plain, "entry").starts_with("b:"));
}

TEST(RunSched, RecordsPriorityKeyHashWeightAndAgingPerOrderedQueue) {
  QueueOrder o;
  o.fairness_key = "{{input.tenant}}";
  o.weights = {{"gold", 3}};
  o.aging = std::chrono::seconds(30);
  const Json def = {{"order", {{"q", queue_order_json(o)}}}};
  const Json s = Json::parse(run_sched(def, Json{{"tenant", "gold"}}, 7));
  EXPECT_EQ(s["p"], 7);
  ASSERT_TRUE(s["q"].contains("q"));
  EXPECT_EQ(s["q"]["q"][0].get<std::string>().size(), 20u);
  EXPECT_EQ(s["q"]["q"][1], 3);
  EXPECT_EQ(s["q"]["q"][2], "gold");
  EXPECT_EQ(s["q"]["q"][3], 30000);
  const Json missing = Json::parse(run_sched(def, Json::object(), kDefaultPriority));
  EXPECT_EQ(missing["q"]["q"][0], "") << "no value: the shared key";
  EXPECT_EQ(run_sched(Json{{"steps", Json::array()}}, Json::object(), kDefaultPriority), "")
      << "nothing ordered, default priority: no field";
  EXPECT_EQ(Json::parse(run_sched(Json::object(), Json::object(), 9))["p"], 9) << "a priority is kept";
  EXPECT_THROW((void)run_sched(def, Json::object(), 10), std::invalid_argument);
  EXPECT_THROW((void)run_sched(def, Json::object(), -1), std::invalid_argument);
  const std::string shown = Json::parse(run_sched(def, Json{{"tenant", std::string(300, 'x')}}, 5))["q"]["q"][2];
  EXPECT_EQ(shown.size(), kFairnessKeyShown);
}

}  // namespace
}  // namespace steadfast::store::testing
