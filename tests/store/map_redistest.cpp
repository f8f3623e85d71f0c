// Map steps in the store (issue 14, lib.lua's "Map steps"): a map node's own
// token expands into items, each a token of its own ("m[k]"), at most
// max_parallel at once; the node's output is the items' outputs in order,
// written once when the last finishes, and its dependents start then. Every
// test drives the transition scripts by hand: submit, claim, start, the
// expansion and the items' completions, retries, dead letter, cancel,
// deadline, replay, doctor.
//
// The graph of every test: split ──> m (a map step) ──> merge.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "store/definition.h"
#include "store/doctor.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

const std::vector<std::string> kSteps{"split", "m", "merge"};

Json map_definition() {
  Json steps = Json::array();
  steps.push_back({{"name", "split"}, {"queue", "q"}});
  steps.push_back({{"name", "m"}, {"queue", "q"}, {"map", {{"max_parallel", 2}, {"max_items", 100}}}});
  steps.push_back({{"name", "merge"}, {"queue", "q"}});
  return {{"name", "g"}, {"steps", steps}};
}

class MapSteps : public StoreTest {
 protected:
  // `deadline`: the run's (0 = none).
  std::string submit_map(std::chrono::milliseconds deadline = std::chrono::milliseconds(0)) {
    SubmitRequest r;
    r.workflow = "g";
    r.input = Json::object();
    r.steps = kSteps;
    r.first_queue = "q";
    r.graph = run_graph_of(map_definition());
    r.deadline = deadline;
    return run(w1_->submit(r)).run_id;
  }
  // Claims every undelivered entry of q as w1 and starts them, by step.
  std::map<std::string, StartItem> claim_all() {
    std::map<std::string, StartItem> out;
    std::vector<StartItem> items = claim_n(100);
    if (items.empty()) return out;
    const auto started = run(w1_->start(kPartition, "q", items));
    for (std::size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(started.at(i).state, Started::State::ok) << items[i].step;
      out[items[i].step] = items[i];
    }
    return out;
  }
  // A completion as the worker writes it in a graph run.
  Transition done(const StartItem& it, const std::string& output) {
    Transition t = transition(it, engine::Action::advance);
    t.next_step = "*";
    t.next_queue = "q";
    t.workflow = "g";
    t.output = output;
    return t;
  }
  // The map node's own token, expanded into `items` (compact JSON, one per line).
  Transition expand(const StartItem& it, const std::string& items, int max_parallel = 2,
                    std::int64_t max_output_bytes = std::int64_t{64} << 20) {
    Transition t = done(it, items);
    t.expand_max_parallel = max_parallel;
    t.expand_max_output_bytes = max_output_bytes;
    return t;
  }
  Applied apply_one(const Transition& t) { return apply({t}).at(0); }
  std::string value(const std::string& run_id, const std::string& f) {
    const std::string v = field(run_id, f);
    return v == "<nil>" ? std::string() : v;
  }
  // The steps holding a stream entry of q (claimed or not), in stream order.
  std::vector<std::string> queued(const std::string& run_id) {
    std::vector<std::string> out;
    for (const std::string& id : entries()) {
      Fields f = entry(stream(), id);
      if (f["r"] == run_id) out.push_back(f["s"]);
    }
    return out;
  }
  std::string problem_of(const std::string& run_id) {
    for (const Offender& o : run(examine(*w1_, false)).offenders) {
      if (o.run_id == run_id) return o.problem;
    }
    return "";
  }
  // A run whose split is done and whose map node is claimed, not expanded yet.
  std::pair<std::string, StartItem> at_the_map() {
    const std::string id = submit_map();
    auto first = claim_all();
    EXPECT_EQ(apply_one(done(first.at("split"), R"({"chunks":["a","b","c"]})")), Applied::ok);
    auto node = claim_all();
    return {id, node.at("m")};
  }
};

TEST_F(MapSteps, TheMapExpandsIntoItemsAtMostMaxParallelAtOnceAndItsOutputKeepsTheirOrder) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "\"a\"\n\"b\"\n{\"x\":[1,2]}")), Applied::ok);
  EXPECT_EQ(value(id, "s.m.status"), "running");
  EXPECT_EQ(value(id, "s.m.n"), "3");
  EXPECT_EQ(value(id, "s.m[2].item"), R"({"x":[1,2]})");
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[0]", "m[1]"})) << "max_parallel 2; the node's entry went";
  EXPECT_EQ(value(id, "live"), "2");
  EXPECT_EQ(problem_of(id), "");

  // Items finish out of order; each completion starts the next item.
  auto items = claim_all();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(value(id, "s.m[1].status"), "running");
  EXPECT_EQ(apply_one(done(items.at("m[1]"), R"("B")")), Applied::ok);
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[0]", "m[2]"}));
  EXPECT_EQ(value(id, "live"), "2");
  EXPECT_EQ(value(id, "s.m.status"), "running");
  auto third = claim_all();
  EXPECT_EQ(apply_one(done(third.at("m[2]"), R"("C")")), Applied::ok);
  EXPECT_EQ(value(id, "live"), "1") << "nothing left to start";
  EXPECT_EQ(value(id, "s.merge.status"), "") << "merge waits for every item";
  EXPECT_EQ(apply_one(done(items.at("m[0]"), R"("A")")), Applied::ok);

  EXPECT_EQ(value(id, "s.m.status"), "completed");
  EXPECT_EQ(value(id, "s.m.output"), R"(["A","B","C"])") << "in input order";
  EXPECT_EQ(value(id, "s.m[0].output"), "") << "the items' outputs moved into the node's";
  EXPECT_EQ(value(id, "s.merge.status"), "queued");
  EXPECT_EQ(value(id, "live"), "1");
  EXPECT_EQ(problem_of(id), "");

  const RunInfo info = run(w1_->get_run(id)).value();
  const StepInfo& m = info.steps.at(1);
  EXPECT_EQ(m.output, Json::parse(R"(["A","B","C"])"));
  EXPECT_EQ(m.items["total"], 3);
  EXPECT_EQ(m.items["completed"], 3);
  EXPECT_EQ(m.items["running"], 0);

  auto last = claim_all();
  EXPECT_EQ(apply_one(done(last.at("merge"), "{}")), Applied::ok);
  EXPECT_EQ(value(id, "status"), "completed");
}

TEST_F(MapSteps, AnItemsClaimReadsItsItemAndItsAncestorsOutputsNotTheOtherItems) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "\"a\"\n\"b\"\n\"c\"")), Applied::ok);
  std::vector<StartItem> items = claim_n(1);
  const auto started = run(w1_->start(kPartition, "q", items));
  ASSERT_EQ(started.at(0).state, Started::State::ok);
  const Fields& f = started.at(0).run;
  EXPECT_EQ(f.at("s.m[0].item"), R"("a")");
  EXPECT_EQ(f.at("s.split.output"), R"({"chunks":["a","b","c"]})");
  EXPECT_EQ(f.at("workflow"), "g");
  EXPECT_EQ(f.count("s.m[1].item"), 0u) << "another item's value is not read";
  EXPECT_EQ(f.count("s.m.n"), 0u);
  EXPECT_EQ(value(id, "s.m[0].attempts"), "1");
}

TEST_F(MapSteps, AnEmptyListCompletesTheMapAtOnceWithAnEmptyArray) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "")), Applied::ok);
  EXPECT_EQ(value(id, "s.m.status"), "completed");
  EXPECT_EQ(value(id, "s.m.output"), "[]");
  EXPECT_EQ(queued(id), (std::vector<std::string>{"merge"}));
  EXPECT_EQ(value(id, "live"), "1");
}

TEST_F(MapSteps, AnItemRetriesAloneAndThePromoterQueuesItWithItsAttempts) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "1\n2\n3")), Applied::ok);
  auto items = claim_all();
  Transition t = transition(items.at("m[0]"), engine::Action::retry_later);
  t.attempts = 1;
  EXPECT_EQ(apply_one(t), Applied::ok);
  EXPECT_EQ(value(id, "s.m[0].status"), "retrying");
  EXPECT_EQ(value(id, "s.m.next"), "2") << "a retrying item holds its place among the max_parallel";
  EXPECT_FALSE(cmd({"ZSCORE", keys_.timers(kPartition), id + "\tm[0]\tretry"}).is_nil());
  EXPECT_EQ(problem_of(id), "");
  expect_ok(cmd({"ZADD", keys_.timers(kPartition), "XX", "1", id + "\tm[0]\tretry"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(value(id, "s.m[0].status"), "queued");
  auto again = claim_all();
  EXPECT_EQ(value(id, "s.m[0].attempts"), "2");
  EXPECT_EQ(apply_one(done(again.at("m[0]"), "10")), Applied::ok);
  EXPECT_EQ(value(id, "s.m[0].status"), "completed");
}

TEST_F(MapSteps, AContinuedItemFailureIsNullInTheOutputAndListedAsFailed) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "1\n2", 5)), Applied::ok);
  auto items = claim_all();
  Transition failed = done(items.at("m[0]"), "null");
  failed.failed = true;
  failed.error = "429 for good";
  EXPECT_EQ(apply_one(failed), Applied::ok);
  EXPECT_EQ(apply_one(done(items.at("m[1]"), "2")), Applied::ok);
  EXPECT_EQ(value(id, "s.m.status"), "completed");
  EXPECT_EQ(value(id, "s.m.output"), "[null,2]");
  EXPECT_EQ(Json::parse(value(id, "s.m.failed")), Json::parse(R"([{"index":0,"error":"429 for good"}])"));
  EXPECT_EQ(value(id, "s.merge.status"), "queued");
}

TEST_F(MapSteps, ADeadItemFailsTheRunAtTheMapAndReplayRunsOnlyTheItemsThatDidNotFinish) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "1\n2\n3\n4", 3)), Applied::ok);
  auto items = claim_all();  // m[0], m[1], m[2]
  EXPECT_EQ(apply_one(done(items.at("m[0]"), "\"one\"")), Applied::ok);  // m[3] starts
  EXPECT_EQ(apply_one(transition(items.at("m[1]"), engine::Action::dead_letter)), Applied::ok);
  EXPECT_EQ(value(id, "status"), "failed");
  EXPECT_EQ(value(id, "step"), "m") << "the node the run failed at";
  EXPECT_EQ(value(id, "s.m.status"), "failed");
  EXPECT_EQ(value(id, "s.m[1].status"), "failed");
  EXPECT_EQ(value(id, "s.m[3].status"), "cancelled") << "its queued token went with the failure";
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[2]"})) << "m[2] is still being run";
  const Reply dlq = cmd({"XRANGE", keys_.dlq(kPartition), "-", "+"});
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(entry(keys_.dlq(kPartition), std::string(dlq[0][0].str()))["step"], "m[1]") << "it names the item";
  // m[2] finishes while the run is failed: its output is kept.
  EXPECT_EQ(apply_one(done(items.at("m[2]"), "\"three\"")), Applied::ok);
  EXPECT_EQ(value(id, "s.m[2].status"), "completed");

  run(w1_->dlq_replay(value(id, "dlq_entry")));
  EXPECT_EQ(value(id, "status"), "queued");
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[1]", "m[3]"})) << "exactly the items that did not finish";
  EXPECT_EQ(value(id, "live"), "2");
  EXPECT_EQ(problem_of(id), "");
  auto again = claim_all();
  EXPECT_EQ(apply_one(done(again.at("m[1]"), "\"two\"")), Applied::ok);
  EXPECT_EQ(apply_one(done(again.at("m[3]"), "\"four\"")), Applied::ok);
  EXPECT_EQ(value(id, "s.m.output"), R"(["one","two","three","four"])");
  EXPECT_EQ(value(id, "s.merge.status"), "queued");
}

// max_output_bytes bounds the items' outputs together: exactly at it is
// fine; one byte past it fails the item for good — the run at the map under
// fail_run, a null output and a listed failure under continue.
TEST_F(MapSteps, AnOutputPastMaxOutputBytesFailsTheItemForGood) {
  {
    auto [id, node] = at_the_map();
    ASSERT_EQ(apply_one(expand(node, "1\n2\n3", 3, 10)), Applied::ok);
    auto items = claim_all();
    EXPECT_EQ(apply_one(done(items.at("m[0]"), R"("1234")")), Applied::ok);  // 6 bytes
    EXPECT_EQ(apply_one(done(items.at("m[1]"), R"("12")")), Applied::ok);    // 10: at the bound
    EXPECT_EQ(value(id, "s.m.bytes"), "10");
    EXPECT_EQ(value(id, "status"), "running");
    EXPECT_EQ(apply_one(done(items.at("m[2]"), "1")), Applied::ok);  // 11: past it
    EXPECT_EQ(value(id, "status"), "failed");
    EXPECT_EQ(value(id, "step"), "m");
    EXPECT_EQ(value(id, "s.m.status"), "failed");
    EXPECT_EQ(value(id, "s.m[2].status"), "failed");
    EXPECT_NE(value(id, "s.m[2].error").find("over its max_output_bytes of 10"), std::string::npos)
        << value(id, "s.m[2].error");
    EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}).as_integer(), 1);
    EXPECT_EQ(problem_of(id), "");
  }
  {
    auto [id, node] = at_the_map();
    ASSERT_EQ(apply_one(expand(node, "1\n2", 3, 4)), Applied::ok);
    auto items = claim_all();
    Transition big = done(items.at("m[0]"), R"("12345")");
    big.item_continues = true;
    EXPECT_EQ(apply_one(big), Applied::ok);
    Transition small = done(items.at("m[1]"), "2");
    small.item_continues = true;
    EXPECT_EQ(apply_one(small), Applied::ok);
    EXPECT_EQ(value(id, "s.m.status"), "completed");
    EXPECT_EQ(value(id, "s.m.output"), "[null,2]");
    EXPECT_NE(value(id, "s.m.failed").find("max_output_bytes"), std::string::npos);
    EXPECT_EQ(value(id, "s.merge.status"), "queued");
  }
}

// After a replay the items that never started start too, from `next`, up to
// max_parallel in flight with the ones given a token again.
TEST_F(MapSteps, AReplayAlsoStartsTheItemsThatHadNotStarted) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "1\n2\n3\n4", 2)), Applied::ok);
  auto items = claim_all();  // m[0], m[1]
  EXPECT_EQ(apply_one(transition(items.at("m[0]"), engine::Action::dead_letter)), Applied::ok);
  EXPECT_EQ(apply_one(done(items.at("m[1]"), "\"b\"")), Applied::ok);  // the run has failed: starts nothing
  EXPECT_EQ(value(id, "s.m.next"), "2");
  EXPECT_EQ(queued(id), std::vector<std::string>{});
  run(w1_->dlq_replay(value(id, "dlq_entry")));
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[0]", "m[2]"}));
  EXPECT_EQ(value(id, "s.m[2].status"), "queued");
  EXPECT_EQ(value(id, "s.m.next"), "3");
  EXPECT_EQ(value(id, "live"), "2");
  EXPECT_EQ(problem_of(id), "");
  auto again = claim_all();
  EXPECT_EQ(apply_one(done(again.at("m[0]"), "\"a\"")), Applied::ok);  // m[3] starts
  EXPECT_EQ(apply_one(done(again.at("m[2]"), "\"c\"")), Applied::ok);
  auto last = claim_all();
  EXPECT_EQ(apply_one(done(last.at("m[3]"), "\"d\"")), Applied::ok);
  EXPECT_EQ(value(id, "s.m.output"), R"(["a","b","c","d"])");
}

TEST_F(MapSteps, CancelDropsTheQueuedItemsAndTheLastRunningOneEndsTheRun) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "1\n2\n3")), Applied::ok);
  std::vector<StartItem> one = claim_n(1);
  run(w1_->start(kPartition, "q", one));  // m[0] runs, m[1] is queued
  EXPECT_EQ(run(w1_->cancel(id, std::chrono::hours(1))), "cancelling");
  EXPECT_EQ(value(id, "s.m[1].status"), "cancelled");
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[0]"}));
  EXPECT_EQ(value(id, "live"), "1");
  EXPECT_EQ(apply_one(done(one.at(0), "1")), Applied::ok);
  EXPECT_EQ(value(id, "status"), "cancelled");
  EXPECT_EQ(value(id, "s.m.next"), "2") << "no new item started after the cancel";
}

TEST_F(MapSteps, TheDeadlineTakesEveryItemsTokenAndFailsTheRunAtTheMap) {
  const std::string id = submit_map(std::chrono::hours(2));
  auto first = claim_all();
  ASSERT_EQ(apply_one(done(first.at("split"), "{}")), Applied::ok);
  auto node = claim_all();
  ASSERT_EQ(apply_one(expand(node.at("m"), "1\n2")), Applied::ok);
  auto items = claim_all();
  expect_ok(cmd({"ZADD", keys_.deadlines(kPartition), "XX", "1", id + "\t\tdeadline"}));
  run(w1_->promote(kPartition, 100));
  EXPECT_EQ(value(id, "status"), "failed");
  EXPECT_EQ(value(id, "step"), "m");
  EXPECT_EQ(queued(id), std::vector<std::string>{}) << "claimed items' entries went too";
  EXPECT_EQ(apply_one(done(items.at("m[0]"), "1")), Applied::stale);
}

TEST_F(MapSteps, DoctorFindsALostItemTokenAndRepairGivesItBack) {
  auto [id, node] = at_the_map();
  ASSERT_EQ(apply_one(expand(node, "1\n2\n3")), Applied::ok);
  const std::string lost = value(id, "s.m[1].entry");
  expect_ok(cmd({"XDEL", stream(), lost}));
  EXPECT_NE(problem_of(id), "");
  const DoctorReport report = run(examine(*w1_, true));
  bool repaired = false;
  for (const Offender& o : report.offenders) {
    if (o.run_id == id && !o.repaired.empty()) repaired = true;
  }
  EXPECT_TRUE(repaired);
  EXPECT_EQ(queued(id), (std::vector<std::string>{"m[0]", "m[1]"}));
  EXPECT_EQ(problem_of(id), "");
}

}  // namespace
}  // namespace steadfast::store::testing
