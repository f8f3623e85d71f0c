// Graph runs in the store (issue 14): a workflow whose steps are not one chain
// holds a token per ready node (lib.lua's "Graph runs"). Every test drives the
// transition scripts by hand — submit, claim, start, complete, retry, dead
// letter, cancel, deadline, promote, replay, doctor — and compares the nodes
// with engine::GraphRun, the pure model of the same rules, where the two
// describe the same thing. Due times are set by score, never waited for.
//
// The graph of every test: roots a and e; b and c need a; d needs b, c and e.
//
//        a ──> b ──┐
//        │         ├──> d
//        └──> c ──┤
//        e ───────┘
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/graph_run.h"
#include "engine/workflow_graph.h"
#include "store/definition.h"
#include "store/doctor.h"
#include "store/signals.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

const std::vector<std::string> kSteps{"a", "b", "c", "d", "e"};

// The registered definition of the graph above (needs as the file writes them).
Json graph_definition() {
  Json steps = Json::array();
  const std::map<std::string, std::vector<std::string>> needs{
      {"a", {}}, {"b", {"a"}}, {"c", {"a"}}, {"d", {"b", "c", "e"}}, {"e", {}}};
  for (const std::string& s : kSteps) steps.push_back({{"name", s}, {"queue", "q"}, {"needs", needs.at(s)}});
  return {{"name", "g"}, {"steps", steps}};
}

engine::WorkflowGraph model_graph() {
  std::vector<engine::StepNeeds> steps;
  const Json definition = graph_definition();
  for (const Json& s : definition["steps"]) {
    steps.push_back({s["name"].get<std::string>(), s["needs"].get<std::vector<std::string>>()});
  }
  return engine::WorkflowGraph::build(steps);
}

std::size_t index_of(const std::string& node) {
  return static_cast<std::size_t>(std::find(kSteps.begin(), kSteps.end(), node) - kSteps.begin());
}

class GraphRuns : public StoreTest {
 protected:
  engine::WorkflowGraph graph_ = model_graph();

  std::string submit_graph(std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    SubmitRequest r;
    r.workflow = "g";
    r.input = Json{{"n", 1}};
    r.steps = kSteps;
    r.first_queue = "q";
    r.graph = run_graph_of(graph_definition());
    r.start = {delay, 0};
    return run(w1_->submit(r)).run_id;
  }
  // Claims every undelivered entry of q as `consumer` and starts them, by node.
  std::map<std::string, StartItem> claim_all(const std::string& consumer = "w1") {
    std::map<std::string, StartItem> out;
    std::vector<StartItem> items = claim_n(100, consumer);
    if (items.empty()) return out;
    Store& st = consumer == "w1" ? *w1_ : *w2_;
    const auto started = run(st.start(kPartition, "q", items));
    for (std::size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(started.at(i).state, Started::State::ok) << items[i].step;
      out[items[i].step] = items[i];
    }
    return out;
  }
  // A node's transition as the worker writes it: a completion goes as '*'.
  Transition done(const StartItem& it, const std::string& how = "") {
    Transition t = transition(it, engine::Action::advance);
    t.next_step = "*";
    t.next_queue = "q";
    t.workflow = "g";
    t.output = R"({"node":")" + it.step + "\"}";
    t.skipped = how == "skipped";
    t.failed = how == "continued";
    if (t.failed) t.error = "boom";
    return t;
  }
  Applied apply_one(const Transition& t, Store* by = nullptr) { return apply({t}, by).at(0); }
  // The node waits for the signal "approve" with no timeout: its name is its token.
  void park_on_signal(const StartItem& it) {
    Transition t = transition(it, engine::Action::sleep);
    t.attempts = 0;
    t.wake_at_ms = 0;
    t.signal = "approve";
    EXPECT_EQ(apply_one(t), Applied::ok);
  }
  // A field of the run, "" when absent.
  std::string value(const std::string& run_id, const std::string& f) {
    const std::string v = field(run_id, f);
    return v == "<nil>" ? std::string() : v;
  }
  std::string status_of(const std::string& run_id, const std::string& node) {
    return value(run_id, "s." + node + ".status");
  }
  // The nodes holding a stream entry of q (claimed or not), in stream order.
  std::vector<std::string> queued_nodes(const std::string& run_id) {
    std::vector<std::string> out;
    for (const std::string& id : entries()) {
      Fields f = entry(stream(), id);
      if (f["r"] == run_id) out.push_back(f["s"]);
    }
    return out;
  }
  // The store's node statuses against the model's, node by node.
  void expect_same_as(const engine::GraphRun& model, const std::string& run_id) {
    for (std::size_t n = 0; n < kSteps.size(); ++n) {
      const std::string want = [&]() -> std::string {
        switch (model.node(n)) {
          case engine::NodeState::waiting: return "";
          case engine::NodeState::ready: return "queued";
          case engine::NodeState::running: return "running";
          case engine::NodeState::completed: return "completed";
          case engine::NodeState::skipped: return "skipped";
          case engine::NodeState::continued:
          case engine::NodeState::dead: return "failed";
        }
        return "?";
      }();
      EXPECT_EQ(status_of(run_id, kSteps[n]), want) << "node " << kSteps[n];
    }
    EXPECT_EQ(field(run_id, "live"), std::to_string(model.live_nodes().size()));
  }
  std::string token_problem_of(const std::string& run_id) {
    const DoctorReport report = run(examine(*w1_, false));
    for (const Offender& o : report.offenders) {
      if (o.run_id == run_id) return o.problem;
    }
    return "";
  }
};

TEST_F(GraphRuns, RootsStartTogetherBranchesRunInParallelAndTheFanInWaitsForAllItsNeeds) {
  const std::string id = submit_graph();
  engine::GraphRun model(graph_);
  EXPECT_EQ(field(id, "status"), "queued");
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
  expect_same_as(model, id);
  EXPECT_EQ(token_problem_of(id), "");

  auto claimed = claim_all();
  model.claim(index_of("a"));
  model.claim(index_of("e"));
  EXPECT_EQ(field(id, "status"), "running");
  expect_same_as(model, id);

  // a finishes: both of its dependents are ready at once, in one script.
  EXPECT_EQ(apply_one(done(claimed["a"])), Applied::ok);
  model.finish(index_of("a"), engine::NodeEnd::completed);
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"e", "b", "c"})) << "e still runs";
  expect_same_as(model, id);
  EXPECT_EQ(token_problem_of(id), "");
  EXPECT_EQ(field(id, "s.a.output"), R"({"node":"a"})");

  auto more = claim_all("w2");
  model.claim(index_of("b"));
  model.claim(index_of("c"));
  // e and b finish: d still needs c.
  EXPECT_EQ(apply_one(done(claimed["e"])), Applied::ok);
  model.finish(index_of("e"), engine::NodeEnd::completed);
  EXPECT_EQ(apply_one(done(more["b"]), w2_.get()), Applied::ok);
  model.finish(index_of("b"), engine::NodeEnd::completed);
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"c"})) << "c still runs";
  EXPECT_EQ(status_of(id, "d"), "");
  expect_same_as(model, id);
  EXPECT_EQ(token_problem_of(id), "");

  // c, the last need, finishes: d gets the one token.
  EXPECT_EQ(apply_one(done(more["c"], "skipped"), w2_.get()), Applied::ok);
  model.finish(index_of("c"), engine::NodeEnd::skipped);
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"d"}));
  expect_same_as(model, id);

  auto last = claim_all();
  model.claim(index_of("d"));
  EXPECT_EQ(last["d"].token.deliveries, 1);
  EXPECT_EQ(field(id, "s.d.attempts"), "1");
  EXPECT_EQ(apply_one(done(last["d"])), Applied::ok);
  model.finish(index_of("d"), engine::NodeEnd::completed);
  EXPECT_EQ(model.state(), engine::GraphRunState::completed);
  EXPECT_EQ(field(id, "status"), "completed");
  expect_same_as(model, id);
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(cmd({"ZSCORE", keys_.index_status(kPartition, "live"), id}).is_nil(), true);
  EXPECT_EQ(cmd({"HGET", keys_.stats(kPartition), "completed:g"}).str(), "1");
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, AStaleTokenOfANodeWritesNothing) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  move_to(claimed["a"], "w2");  // reclaimed by another worker meanwhile
  const Snapshot before = snapshot({id});
  EXPECT_EQ(apply_one(done(claimed["a"])), Applied::stale);
  expect_unchanged(before, "the run of a stale completion");
}

TEST_F(GraphRuns, AContinuedFailureCountsAsFinishedForTheFanIn) {
  const std::string id = submit_graph();
  auto first = claim_all();
  apply_one(done(first["a"]));
  apply_one(done(first["e"], "continued"));
  EXPECT_EQ(status_of(id, "e"), "failed");
  EXPECT_EQ(field(id, "s.e.error"), "boom");
  auto second = claim_all();
  apply_one(done(second["b"]));
  apply_one(done(second["c"]));
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"d"}));
}

TEST_F(GraphRuns, ARetryKeepsTheTokenAtTheNodeAndThePromoterQueuesItWithItsAttempts) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  Transition t = transition(claimed["e"], engine::Action::retry_later);
  t.attempts = 1;
  EXPECT_EQ(apply_one(t), Applied::ok);
  EXPECT_EQ(status_of(id, "e"), "retrying");
  EXPECT_EQ(field(id, "s.e.entry"), "");
  EXPECT_EQ(field(id, "s.e.base"), "1");
  EXPECT_EQ(field(id, "status"), "running") << "a runs on: the run's status is not the node's";
  EXPECT_EQ(run(w1_->get_run(id)).value().status, "running");
  EXPECT_FALSE(cmd({"ZSCORE", keys_.timers(kPartition), id + "\te\tretry"}).is_nil());
  EXPECT_FALSE(field(id, "s.e.due_at").empty());
  EXPECT_EQ(token_problem_of(id), "");

  expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", "1", id + "\te\tretry"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(status_of(id, "e"), "queued");
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"})) << "a still runs";
  auto again = claim_all();
  EXPECT_EQ(field(id, "s.e.attempts"), "2") << "the second claim is attempt 2";
  EXPECT_EQ(field(id, "live"), "2");
  (void)again;
}

// A node handed back while its limiter refuses it (release with a delay and
// parked_limiter) waits outside every worker under a 'limiter' timer of its
// own; the run and the other branch run on; the promoter queues it again.
TEST_F(GraphRuns, ANodeParkedAtALimiterWaitsAloneAndThePromoterQueuesIt) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  Transition t = transition(claimed["e"], engine::Action::release);
  t.attempts = 0;
  t.delay = std::chrono::milliseconds(60'000);
  t.parked_limiter = "openai";
  t.parked_key = "acme";
  EXPECT_EQ(apply_one(t), Applied::ok);
  EXPECT_EQ(status_of(id, "e"), "waiting");
  EXPECT_EQ(field(id, "s.e.entry"), "");
  EXPECT_EQ(value(id, "s.e.parked"), "openai\tacme");
  EXPECT_FALSE(cmd({"ZSCORE", keys_.timers(kPartition), id + "\te\tlimiter"}).is_nil());
  EXPECT_TRUE(cmd({"ZSCORE", keys_.timers(kPartition), id + "\te\tretry"}).is_nil());
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a"})) << "e holds no entry while it waits";
  EXPECT_EQ(field(id, "live"), "2") << "the timer is e's token";
  EXPECT_EQ(token_problem_of(id), "");

  const RunInfo info = run(w1_->get_run(id)).value();
  EXPECT_EQ(info.status, "running") << "a runs on: the run's status is not the node's";
  const StepInfo& e = info.steps.at(index_of("e"));
  ASSERT_TRUE(e.waiting_for.is_object()) << e.waiting_for.dump();
  EXPECT_EQ(e.waiting_for["kind"], "limiter");
  EXPECT_EQ(e.waiting_for["limiter"], "openai");
  EXPECT_EQ(e.waiting_for["key"], "acme");
  EXPECT_FALSE(e.waiting_for["until"].is_null());

  expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", "1", id + "\te\tlimiter"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(status_of(id, "e"), "queued");
  EXPECT_EQ(value(id, "s.e.parked"), "") << "asked again: no longer parked";
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(field(id, "s.e.entry"), entries().back());
  auto again = claim_all();
  EXPECT_EQ(field(id, "s.e.attempts"), "1") << "a hand-back spends no attempt";
  EXPECT_EQ(token_problem_of(id), "");
  (void)again;
}

TEST_F(GraphRuns, AHandBackRequeuesTheNodeAtOnce) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  Transition t = transition(claimed["a"], engine::Action::release);
  t.attempts = 0;
  t.delay = std::chrono::milliseconds(0);
  EXPECT_EQ(apply_one(t), Applied::ok);
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"e", "a"})) << "e still runs; a is queued again";
  EXPECT_EQ(status_of(id, "a"), "queued");
  EXPECT_EQ(field(id, "s.a.entry"), entries().back());
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, ADeadNodeFailsTheRunDropsTheQueuedBranchesAndReplayRunsExactlyWhatDidNotFinish) {
  const std::string id = submit_graph();
  engine::GraphRun model(graph_);
  auto first = claim_all();
  model.claim(index_of("a"));
  model.claim(index_of("e"));
  apply_one(done(first["a"]));
  model.finish(index_of("a"), engine::NodeEnd::completed);
  // b and c are queued; b is claimed, then e dies.
  std::vector<StartItem> b = claim_n(1, "w2");
  ASSERT_EQ(b.at(0).step, "b");
  run(w2_->start(kPartition, "q", b));
  model.claim(index_of("b"));
  EXPECT_EQ(apply_one(transition(first["e"], engine::Action::dead_letter)), Applied::ok);
  model.finish(index_of("e"), engine::NodeEnd::dead);
  EXPECT_EQ(model.state(), engine::GraphRunState::failed);

  EXPECT_EQ(field(id, "status"), "failed");
  EXPECT_EQ(field(id, "step"), "e") << "the node the run failed at";
  EXPECT_EQ(status_of(id, "e"), "failed");
  EXPECT_EQ(status_of(id, "c"), "cancelled") << "its queued token went with the failure";
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"b"})) << "b's claim is w2's to finish";
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}).as_integer(), 1);
  EXPECT_EQ(token_problem_of(id), "") << "a failed run may keep the entries workers run";

  // b finishes after the failure: its output is kept, nothing starts.
  EXPECT_EQ(apply_one(done(b[0]), w2_.get()), Applied::ok);
  model.finish(index_of("b"), engine::NodeEnd::completed);
  EXPECT_EQ(status_of(id, "b"), "completed");
  EXPECT_EQ(field(id, "status"), "failed");
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(token_problem_of(id), "");

  // The replay gives a token to exactly the unfinished nodes whose needs
  // finished (the model kept c's token through the failure; the store
  // dropped it and gives it back: the same nodes hold one after).
  const std::string dlq_entry = field(id, "dlq_entry");
  run(w1_->dlq_replay(dlq_entry));
  model.replay();
  std::vector<std::string> want;
  for (std::size_t n : model.live_nodes()) want.push_back(kSteps[n]);
  std::vector<std::string> got = queued_nodes(id);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(got, (std::vector<std::string>{"c", "e"}));
  EXPECT_EQ(field(id, "status"), "queued");
  EXPECT_EQ(field(id, "live"), "2");
  EXPECT_EQ(field(id, "s.e.budget_from"), "1") << "e gets a fresh budget";
  EXPECT_EQ(status_of(id, "a"), "completed");
  EXPECT_EQ(status_of(id, "b"), "completed");
  EXPECT_EQ(token_problem_of(id), "");

  // And the run completes from there.
  auto rest = claim_all();
  apply_one(done(rest["c"]));
  apply_one(done(rest["e"]));
  auto d = claim_all();
  ASSERT_EQ(d.count("d"), 1U);
  apply_one(done(d["d"]));
  EXPECT_EQ(field(id, "status"), "completed");
}

TEST_F(GraphRuns, ANodeWhoseLastNeedFinishedWhileTheRunWasFailedStartsAtTheReplay) {
  const std::string id = submit_graph();
  auto first = claim_all();
  apply_one(done(first["a"]));
  auto second = claim_all("w2");  // b and c
  apply_one(done(second["b"]), w2_.get());
  apply_one(done(first["e"]));
  // c dies: d's other needs are done, its last one never will be.
  EXPECT_EQ(apply_one(transition(second["c"], engine::Action::dead_letter), w2_.get()), Applied::ok);
  EXPECT_EQ(status_of(id, "d"), "");
  run(w1_->dlq_replay(field(id, "dlq_entry")));
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"c"}));
  auto c = claim_all();
  apply_one(done(c["c"]));
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"d"}));
}

TEST_F(GraphRuns, CancelDropsTheQueuedNodesAndTheLastRunningOneEndsTheRunAsCancelled) {
  const std::string id = submit_graph();
  std::vector<StartItem> a = claim_n(1);  // a runs; e stays queued
  ASSERT_EQ(a.at(0).step, "a");
  run(w1_->start(kPartition, "q", a));
  EXPECT_EQ(run(w1_->cancel(id, std::chrono::hours(1))), "cancelling");
  EXPECT_EQ(status_of(id, "e"), "cancelled");
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a"}));
  EXPECT_EQ(field(id, "cancel"), "1");
  EXPECT_EQ(token_problem_of(id), "");

  // a completes (the cancel came too late for it): nothing starts, the run ends.
  EXPECT_EQ(apply_one(done(a[0])), Applied::ok);
  EXPECT_EQ(status_of(id, "a"), "completed");
  EXPECT_EQ(status_of(id, "b"), "");
  EXPECT_EQ(field(id, "status"), "cancelled");
  EXPECT_TRUE(entries().empty());
  EXPECT_FALSE(cmd({"ZSCORE", keys_.index_status(kPartition, "cancelled"), id}).is_nil());
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, CancelOfARunWhoseNodesAllWaitEndsItAtOnce) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  Transition t = transition(claimed["a"], engine::Action::retry_later);
  apply_one(t);
  Transition r = transition(claimed["e"], engine::Action::release);
  r.delay = std::chrono::milliseconds(0);
  apply_one(r);
  EXPECT_EQ(run(w1_->cancel(id, std::chrono::hours(1))), "cancelled");
  EXPECT_EQ(field(id, "status"), "cancelled");
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}).as_integer(), 0);
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, TheDeadlineTakesEveryTokenEvenAClaimedOne) {
  SubmitRequest r;
  const std::string id = [&] {
    SubmitRequest req;
    req.workflow = "g";
    req.input = Json::object();
    req.steps = kSteps;
    req.first_queue = "q";
    req.graph = run_graph_of(graph_definition());
    req.deadline = std::chrono::hours(2);
    return run(w1_->submit(req)).run_id;
  }();
  std::vector<StartItem> a = claim_n(1);
  run(w1_->start(kPartition, "q", a));
  expect_ok(cmd({"ZADD", keys_.deadlines(kPartition), "XX", "1", id + "\t\tdeadline"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(field(id, "status"), "failed");
  EXPECT_TRUE(entries().empty());
  EXPECT_NE(field(id, "s." + field(id, "step") + ".error").find("deadline"), std::string::npos);
  EXPECT_EQ(apply_one(done(a[0])), Applied::stale) << "the claimed node's token went with the deadline";
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, ADelayedRunStartsEveryRootWhenDue) {
  const std::string id = submit_graph(std::chrono::hours(1));
  EXPECT_EQ(field(id, "status"), "scheduled");
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(status_of(id, "a"), "waiting");
  EXPECT_EQ(token_problem_of(id), "");
  for (const std::string n : {"a", "e"}) {
    expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", "1", id + "\t" + n + "\tstart"}));
  }
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(field(id, "status"), "queued");
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, DoctorFindsALostNodeTokenAndRepairGivesItBack) {
  const std::string id = submit_graph();
  const std::string e_entry = field(id, "s.e.entry");
  expect_ok(cmd({"XDEL", stream(), e_entry}));  // lost (an operator, a failover)
  EXPECT_EQ(token_problem_of(id), "run holds 1 tokens for 2 live steps");
  const DoctorReport report = run(examine(*w1_, true));
  bool repaired = false;
  for (const Offender& o : report.offenders) {
    if (o.run_id == id && !o.repaired.empty()) repaired = true;
  }
  EXPECT_TRUE(repaired);
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
  EXPECT_NE(field(id, "s.e.entry"), e_entry);
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, DoctorDoesNotCallANodesEntryAnOrphan) {
  const std::string id = submit_graph();
  const DoctorReport report = run(examine(*w1_, true));
  EXPECT_TRUE(report.offenders.empty()) << report.offenders.front().problem;
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
}

// The source run is driven to its end node by node (each round claims and
// completes what is ready), then rerun from b.
TEST_F(GraphRuns, ARerunFromABranchKeepsEveryStepThatDoesNotNeedItAndRunsTheRest) {
  const std::string source = submit_graph();
  for (int round = 0; round < 4; ++round) {
    for (auto& [node, it] : claim_all()) EXPECT_EQ(apply_one(done(it)), Applied::ok) << node;
  }
  ASSERT_EQ(field(source, "status"), "completed");

  const RerunSource from = run(w1_->rerun_source(source)).value();
  const RerunResult made = run(w1_->rerun(RerunRequest{from, "b", "q", std::nullopt, std::nullopt}));
  ASSERT_EQ(made.outcome, RerunResult::Outcome::created);
  const std::string id = made.run_id;
  for (const std::string kept : {"a", "c", "e"}) {
    EXPECT_EQ(status_of(id, kept), "completed") << kept;
    EXPECT_EQ(field(id, "s." + kept + ".output"), field(source, "s." + kept + ".output")) << kept;
  }
  EXPECT_EQ(status_of(id, "b"), "queued");
  EXPECT_EQ(status_of(id, "d"), "") << "d needs b: it runs again, after it";
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"b"}));
  EXPECT_EQ(field(id, "live"), "1");
  EXPECT_EQ(token_problem_of(id), "");

  auto b = claim_all();
  apply_one(done(b["b"]));
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"d"}));
  auto d = claim_all();
  apply_one(done(d["d"]));
  EXPECT_EQ(field(id, "status"), "completed");
  EXPECT_EQ(field(source, "status"), "completed") << "the source is only read";
}

// A wait at a node (sleep.lua) parks that node only: the other branches run
// on, and the run's status is theirs.
TEST_F(GraphRuns, ASleepingBranchHoldsNoEntryAndComesBackWhenDue) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  Transition t = transition(claimed["e"], engine::Action::sleep);
  t.attempts = 0;
  t.wake_at_ms = redis_now_ms() + 3600000;
  EXPECT_EQ(apply_one(t), Applied::ok);
  EXPECT_EQ(status_of(id, "e"), "waiting");
  EXPECT_EQ(value(id, "s.e.entry"), "");
  EXPECT_EQ(field(id, "status"), "running") << "a still runs";
  EXPECT_FALSE(cmd({"ZSCORE", keys_.timers(kPartition), id + "\te\tsleep"}).is_nil());
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a"}));
  EXPECT_EQ(token_problem_of(id), "");
  const RunInfo view = run(w1_->get_run(id)).value();
  EXPECT_EQ(view.steps.at(4).waiting_for.value("kind", ""), "sleep");

  expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", "1", id + "\te\tsleep"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(status_of(id, "e"), "queued");
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, ASignalQueuesTheBranchParkedOnItsName) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  park_on_signal(claimed["e"]);
  EXPECT_EQ(value(id, "s.e.signal"), "approve");
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}).as_integer(), 0);
  EXPECT_EQ(token_problem_of(id), "") << "e's name and a's entry: 2 tokens for 2 live nodes";

  const SignalResult sent = run(send_signal(*w1_, SignalRequest{id, "approve", Json{{"ok", true}}, ""}));
  EXPECT_EQ(sent.outcome, SignalResult::Outcome::delivered);
  EXPECT_EQ(status_of(id, "e"), "queued");
  EXPECT_EQ(queued_nodes(id), (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(token_problem_of(id), "");
}

TEST_F(GraphRuns, CancelEndsARunWhoseOnlyTokensAreQueuedEntriesAndANameAtOnce) {
  const std::string id = submit_graph();
  auto claimed = claim_all();
  park_on_signal(claimed["e"]);
  apply_one(done(claimed["a"]));  // b and c queued
  EXPECT_EQ(run(w1_->cancel(id, std::chrono::hours(1))), "cancelled");
  EXPECT_EQ(field(id, "status"), "cancelled");
  EXPECT_EQ(status_of(id, "e"), "cancelled");
  EXPECT_EQ(status_of(id, "b"), "cancelled");
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(token_problem_of(id), "");
  const SignalResult late = run(send_signal(*w1_, SignalRequest{id, "approve", Json::object(), ""}));
  EXPECT_EQ(late.outcome, SignalResult::Outcome::ended);
}

// The status a graph run shows is derived from its nodes (CONTRACTS §1):
// running while any runs, then queued, then retrying, then waiting.
TEST_F(GraphRuns, TheRunsStatusIsDerivedFromItsNodes) {
  const std::string id = submit_graph();
  EXPECT_EQ(run(w1_->get_run(id)).value().status, "queued");
  auto claimed = claim_all();
  EXPECT_EQ(run(w1_->get_run(id)).value().status, "running");
  Transition t = transition(claimed["a"], engine::Action::retry_later);
  apply_one(t);
  park_on_signal(claimed["e"]);
  const RunInfo retrying = run(w1_->get_run(id)).value();
  EXPECT_EQ(retrying.status, "retrying") << "a retries, e waits: nothing runs or is queued";
  EXPECT_EQ(retrying.current_steps, (std::vector<std::string>{"a", "e"}));
  expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", "1", id + "\ta\tretry"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(run(w1_->get_run(id)).value().status, "queued");
}

TEST_F(GraphRuns, ARunOfAChainKeepsItsOneRunLevelToken) {
  EXPECT_EQ(run_graph_of({{"steps", Json::array({{{"name", "a"}, {"queue", "q"}}, {{"name", "b"}, {"queue", "q"}}})}}),
            "");
  const std::string id = submit();
  EXPECT_EQ(value(id, "graph"), "");
  EXPECT_EQ(field(id, "entry"), entries().front());
}

TEST_F(GraphRuns, TheRunKeepsTheNeedsOfEveryStepAndItsStatusShowsThem) {
  const std::string id = submit_graph();
  EXPECT_EQ(Json::parse(field(id, "graph")),
            Json::parse(R"({"a":[],"b":["a"],"c":["a"],"d":["b","c","e"],"e":[]})"));
  const RunInfo graph = run(w1_->get_run(id)).value();
  EXPECT_EQ(graph.steps.at(3).needs, (std::vector<std::string>{"b", "c", "e"}));
  EXPECT_TRUE(graph.steps.at(4).needs.empty());
  EXPECT_EQ(to_json(graph)["steps"][3]["needs"], Json::parse(R"(["b","c","e"])"));
  EXPECT_EQ(graph.current_steps, (std::vector<std::string>{"a", "e"}));

  const RunInfo chain = run(w1_->get_run(submit())).value();
  EXPECT_TRUE(chain.steps.at(0).needs.empty());
  EXPECT_EQ(chain.steps.at(1).needs, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace steadfast::store::testing
