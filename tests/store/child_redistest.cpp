// Child runs in the store (issue 14, lib.lua's "Child runs"): spawn.lua
// starts a child workflow step's child in the parent's partition and parks
// the step on it; the child's end puts a 'child' timer for the step, which
// the promoter queues again; a parent being cancelled starts no child, and
// Store::cancel reaches the children. Every test drives the scripts by hand.
//
// The parent's graph: c (a child workflow step) ──> after. The child runs
// workflow "k", one step `only`, on another queue (q2): its keys still share
// the parent's slot.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/definition.h"
#include "store/doctor.h"
#include "store/run_id.h"
#include "store/run_order.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

Json parent_definition() {
  Json steps = Json::array();
  steps.push_back({{"name", "c"}, {"queue", "q"}, {"child_workflow", "k"}});
  steps.push_back({{"name", "after"}, {"queue", "q"}});
  return {{"name", "p"}, {"steps", steps}};
}

class ChildRuns : public StoreTest {
 protected:
  std::string submit_parent() {
    SubmitRequest r;
    r.workflow = "p";
    r.input = Json::object();
    r.steps = {"c", "after"};
    r.first_queue = "q";
    r.graph = run_graph_of(parent_definition());
    return run(w1_->submit(r)).run_id;
  }
  // The parent's step c, claimed by w1 and started.
  StartItem claimed_step() {
    const StartItem it = claim();
    EXPECT_EQ(it.step, "c");
    EXPECT_EQ(run(w1_->start(kPartition, "q", {it})).at(0).state, Started::State::ok);
    return it;
  }
  // The worker's write for step c's first claim: park on the child it starts.
  Transition spawn(const StartItem& it) {
    Transition t = transition(it, engine::Action::sleep);
    t.attempts = 0;  // the claim is refunded
    ChildStart c;
    c.run_id = child_run_id(keys_, it.run_id, it.step);
    c.workflow = "k";
    c.first_step = "only";
    c.queue = "q2";
    c.steps = R"(["only"])";
    c.input = R"({"x":1})";
    t.child = c;
    return t;
  }
  Applied apply_one(const Transition& t) { return apply({t}).at(0); }
  std::string value(const std::string& run_id, const std::string& f) {
    const std::string v = field(run_id, f);
    return v == "<nil>" ? std::string() : v;
  }
  std::string problem_of(const std::string& run_id) {
    for (const Offender& o : run(examine(*w1_, false)).offenders) {
      if (o.run_id == run_id) return o.problem;
    }
    return "";
  }
  bool has_child_timer(const std::string& parent) {
    return !cmd({"ZSCORE", keys_.timers(kPartition), parent + "\tc\tchild"}).is_nil();
  }
};

TEST_F(ChildRuns, TheStepStartsItsChildAndWaitsForItHoldingNoEntry) {
  const std::string parent = submit_parent();
  const StartItem it = claimed_step();
  const std::string child = child_run_id(keys_, parent, "c");
  ASSERT_EQ(apply_one(spawn(it)), Applied::ok);
  EXPECT_EQ(value(parent, "s.c.status"), "waiting");
  EXPECT_EQ(value(parent, "s.c.child"), child);
  EXPECT_EQ(value(parent, "s.c.entry"), "");
  EXPECT_EQ(value(parent, "s.c.attempts"), "0") << "the claim is refunded";
  EXPECT_EQ(value(parent, "live"), "1") << "the child is the step's token";
  EXPECT_TRUE(entries("q").empty());
  EXPECT_EQ(value(child, "status"), "queued");
  EXPECT_EQ(value(child, "workflow"), "k");
  EXPECT_EQ(value(child, "input"), R"({"x":1})");
  EXPECT_EQ(value(child, "parent"), parent);
  EXPECT_EQ(value(child, "parent_node"), "c");
  ASSERT_EQ(entries("q2").size(), 1u);
  EXPECT_EQ(entry(stream("q2"), entries("q2")[0])["r"], child);
  EXPECT_FALSE(cmd({"ZSCORE", keys_.index_status(kPartition, "live"), child}).is_nil());
  EXPECT_FALSE(cmd({"ZSCORE", keys_.index_workflow(kPartition, "k"), child}).is_nil());
  EXPECT_EQ(problem_of(parent), "") << "a step waiting for its child holds its token";
  EXPECT_EQ(problem_of(child), "");

  const RunInfo view = run(w1_->get_run(parent)).value();
  EXPECT_EQ(view.status, "waiting");
  EXPECT_EQ(view.steps[0].child, child);
  EXPECT_EQ(view.steps[0].waiting_for, (Json{{"kind", "child"}, {"until", nullptr}, {"run_id", child}}));
  EXPECT_EQ(run(w1_->get_run(child)).value().parent, parent);
  EXPECT_EQ(run(w1_->children_of(parent)), std::vector<std::string>{child});
}

// On ordered queues (issue 16): the child waits under the fairness key of its
// own input on its own queue, at its parent's priority; a child whose queues
// are not ordered keeps only the priority.
TEST_F(ChildRuns, AChildTakesItsParentsPriorityAndItsOwnFairnessKey) {
  QueueOrder order;
  order.fairness_key = "{{input.x}}";
  const Json parent_def = {{"order", {{"q", queue_order_json(order)}}}};
  const Json child_def = {{"order", {{"q2", queue_order_json(order)}}}};
  for (const bool ordered_child : {true, false}) {
    SCOPED_TRACE(ordered_child ? "ordered child queue" : "FIFO child queue");
    const std::string parent = submit_parent();
    const StartItem it = claimed_step();
    set_field(parent, "sched", run_sched(parent_def, Json{{"x", "parent-tenant"}}, 8));
    Transition t = spawn(it);
    t.child->sched = run_sched(ordered_child ? child_def : Json::object(), Json{{"x", 1}}, kDefaultPriority);
    ASSERT_EQ(apply_one(t), Applied::ok);
    const std::string child = child_run_id(keys_, parent, "c");
    const Json sched = Json::parse(value(child, "sched"));
    EXPECT_EQ(sched["p"], 8) << sched;
    EXPECT_EQ(run(w1_->get_run(child)).value().priority, 8);
    if (ordered_child) {
      EXPECT_EQ(sched["q"]["q2"][2], "1") << "its own input's key: " << sched;
      EXPECT_FALSE(sched["q"].contains("q")) << "not the parent's queues";
      EXPECT_TRUE(value(child, "entry").starts_with("b:")) << "in q2's backlog";
      EXPECT_EQ(cmd({"LLEN", stream("q2") + ":o:8:" + sched["q"]["q2"][0].get<std::string>()}).as_integer(), 1);
    } else {
      EXPECT_FALSE(sched.contains("q")) << sched;
      EXPECT_FALSE(value(child, "entry").starts_with("b:")) << "straight to q2's stream";
    }
  }
}

TEST_F(ChildRuns, TheChildsEndQueuesTheStepAgainAndItsClaimReadsTheOutcome) {
  const std::string parent = submit_parent();
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  const std::string child = child_run_id(keys_, parent, "c");
  EXPECT_FALSE(has_child_timer(parent));
  const StartItem only = claim("w1", "q2");
  ASSERT_EQ(run(w1_->start(kPartition, "q2", {only})).at(0).state, Started::State::ok);
  Transition last = transition(only, engine::Action::complete_run);
  last.output = R"({"done":true})";
  ASSERT_EQ(apply_one(last), Applied::ok);
  EXPECT_EQ(value(child, "status"), "completed");
  EXPECT_TRUE(has_child_timer(parent)) << "the child's end wakes its parent";
  const std::optional<Store::ChildOutcome> o = run(w1_->child_outcome(child));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->status, "completed");
  EXPECT_EQ(o->output, R"({"done":true})");

  run(w1_->promote(kPartition, 100));
  EXPECT_FALSE(has_child_timer(parent));
  EXPECT_EQ(value(parent, "s.c.status"), "queued");
  const StartItem again = claimed_step();
  EXPECT_EQ(value(parent, "s.c.attempts"), "1") << "the claim that takes the outcome is the attempt";
  Transition done = transition(again, engine::Action::advance);
  done.next_step = "*";
  done.next_queue = "q";
  done.output = o->output;
  ASSERT_EQ(apply_one(done), Applied::ok);
  EXPECT_EQ(value(parent, "s.c.output"), R"({"done":true})");
  EXPECT_EQ(value(parent, "s.after.status"), "queued");
  EXPECT_EQ(problem_of(parent), "");
}

// A failed or cancelled child wakes its parent too (its step then fails,
// naming it); a stale wake-up of a step no longer waiting is dropped.
TEST_F(ChildRuns, AFailedChildWakesItsParentAndAStaleWakeUpIsDropped) {
  const std::string parent = submit_parent();
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  const std::string child = child_run_id(keys_, parent, "c");
  const StartItem only = claim("w1", "q2");
  ASSERT_EQ(run(w1_->start(kPartition, "q2", {only})).at(0).state, Started::State::ok);
  ASSERT_EQ(apply_one(transition(only, engine::Action::dead_letter)), Applied::ok);
  EXPECT_EQ(value(child, "status"), "failed");
  EXPECT_TRUE(has_child_timer(parent));
  const std::optional<Store::ChildOutcome> o = run(w1_->child_outcome(child));
  EXPECT_EQ(o->status, "failed");
  EXPECT_EQ(o->step, "only");
  EXPECT_EQ(o->error, "fatal");

  // The parent's step is no longer waiting (set by hand): the wake-up goes, nothing is queued.
  set_field(parent, "s.c.status", "failed");
  run(w1_->promote(kPartition, 100));
  EXPECT_FALSE(has_child_timer(parent));
  EXPECT_TRUE(entries("q").empty());
}

TEST_F(ChildRuns, AStaleTokenOrAnEndedParentStartsNoChild) {
  const std::string parent = submit_parent();
  const StartItem it = claimed_step();
  const std::string child = child_run_id(keys_, parent, "c");
  move_to(it, "w2");
  EXPECT_EQ(apply_one(spawn(it)), Applied::stale);
  EXPECT_EQ(value(child, "status"), "") << "no child";
  EXPECT_EQ(value(parent, "s.c.status"), "running");

  const std::string other = submit_parent();
  const StartItem mine = claim();
  ASSERT_EQ(run(w1_->start(kPartition, "q", {mine})).at(0).state, Started::State::ok);
  set_field(other, "status", "failed");
  EXPECT_EQ(apply_one(spawn(mine)), Applied::discarded);
  EXPECT_EQ(value(child_run_id(keys_, other, "c"), "status"), "");
}

// A cancel that comes while the step is claimed: the step starts no child
// and the run ends cancelled. A cancel of a parent waiting for its child
// (Store::cancel) cancels the child too, whose end then wakes nobody.
TEST_F(ChildRuns, ACancelledParentStartsNoChildAndCancelsTheOneItWaitsFor) {
  const std::string parent = submit_parent();
  const StartItem it = claimed_step();
  EXPECT_EQ(run(w1_->cancel(parent, std::chrono::hours(1))), "cancelling");
  EXPECT_EQ(apply_one(spawn(it)), Applied::ok);
  EXPECT_EQ(value(parent, "status"), "cancelled");
  EXPECT_EQ(value(parent, "s.c.status"), "cancelled");
  EXPECT_EQ(value(child_run_id(keys_, parent, "c"), "status"), "");

  const std::string waiting = submit_parent();
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  const std::string child = child_run_id(keys_, waiting, "c");
  EXPECT_EQ(run(w1_->cancel(waiting, std::chrono::hours(1))), "cancelled");
  EXPECT_EQ(value(waiting, "s.c.status"), "cancelled");
  EXPECT_EQ(value(child, "status"), "cancelled");
  EXPECT_TRUE(entries("q2").empty()) << "the child's queued entry went";
  run(w1_->promote(kPartition, 100));
  EXPECT_TRUE(entries("q").empty()) << "the child's end queues nothing in a cancelled parent";
  EXPECT_EQ(problem_of(waiting), "");
  EXPECT_EQ(problem_of(child), "");
}

// The step claimed again (a replay) finds its child: it waits for it again
// if it runs, or is woken at once if it has ended.
TEST_F(ChildRuns, AStepClaimedAgainWaitsForTheChildItStartedInsteadOfAnother) {
  const std::string parent = submit_parent();
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  const std::string child = child_run_id(keys_, parent, "c");
  // The step queued again by hand, as a stale wake-up would: the child still runs.
  set_field(parent, "s.c.status", "retrying");
  cmd({"ZADD", keys_.timers(kPartition), "0", parent + "\tc\tretry"});
  run(w1_->promote(kPartition, 100));
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  EXPECT_EQ(value(parent, "s.c.status"), "waiting");
  EXPECT_EQ(entries("q2").size(), 1u) << "still the one child";
  EXPECT_FALSE(has_child_timer(parent));

  // The child ends; the step, claimed again before its wake-up was promoted,
  // finds it ended: the wake-up is set again at once.
  const StartItem only = claim("w1", "q2");
  ASSERT_EQ(run(w1_->start(kPartition, "q2", {only})).at(0).state, Started::State::ok);
  ASSERT_EQ(apply_one(transition(only, engine::Action::complete_run)), Applied::ok);
  cmd({"ZREM", keys_.timers(kPartition), parent + "\tc\tchild"});
  set_field(parent, "s.c.status", "retrying");
  cmd({"ZADD", keys_.timers(kPartition), "0", parent + "\tc\tretry"});
  run(w1_->promote(kPartition, 100));
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  EXPECT_TRUE(has_child_timer(parent));
  EXPECT_EQ(value(child, "status"), "completed");
}

// The doctor finds a step waiting for a child that ended without waking it
// (or whose hash is gone), and --repair wakes it; a running child, or one
// whose wake-up is due, is no offence.
TEST_F(ChildRuns, TheDoctorWakesAStepWhoseChildEndedWithoutWakingIt) {
  const std::string parent = submit_parent();
  ASSERT_EQ(apply_one(spawn(claimed_step())), Applied::ok);
  const std::string child = child_run_id(keys_, parent, "c");
  EXPECT_EQ(problem_of(parent), "") << "the child runs";
  set_field(child, "status", "completed");  // ended by hand: no wake-up
  EXPECT_EQ(problem_of(parent), "step c waits for child run " + child + ", which has ended (completed) without waking it");
  cmd({"ZADD", keys_.timers(kPartition), "0", parent + "\tc\tchild"});
  EXPECT_EQ(problem_of(parent), "") << "its wake-up is due";
  cmd({"ZREM", keys_.timers(kPartition), parent + "\tc\tchild"});
  cmd({"DEL", run_key(child)});
  EXPECT_EQ(problem_of(parent), "step c waits for child run " + child + ", which no longer exists without waking it");
  const DoctorReport fixed = run(examine(*w1_, true));
  bool repaired = false;
  for (const Offender& o : fixed.offenders) {
    if (o.run_id == parent && o.kind == Offender::Kind::child_wait) {
      EXPECT_EQ(o.entry, "c");
      EXPECT_EQ(o.stream, child);
      EXPECT_EQ(o.repaired, "woke step c (its claim takes the child's outcome)");
      repaired = true;
    }
  }
  EXPECT_TRUE(repaired);
  EXPECT_TRUE(has_child_timer(parent));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(value(parent, "s.c.status"), "queued") << "its claim will fail the step, naming the gone child";
  EXPECT_EQ(problem_of(parent), "");
}

}  // namespace
}  // namespace steadfast::store::testing
