// rerun.lua through Store::rerun (and raw): a new run from a step of an
// existing one keeps the earlier steps' fields byte for byte, queues the
// rerun step's token, enters every index like a submitted run, and leaves
// the source as it was; a missing source or an unfinished kept step writes
// nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/run_id.h"
#include "store/run_order.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

class Rerun : public StoreTest {
 protected:
  // A run of "wf" (a on q, then b on q2) that completed both steps.
  std::string completed_run(const engine::RunMetadata& metadata = {}) {
    const StartItem a = running_run(metadata);
    EXPECT_EQ(apply({transition(a, engine::Action::advance)}), std::vector<Applied>{Applied::ok});
    const StartItem b = claim("w1", "q2");
    EXPECT_EQ(run(w1_->start(kPartition, "q2", {b})).at(0).state, Started::State::ok);
    EXPECT_EQ(apply({transition(b, engine::Action::complete_run)}), std::vector<Applied>{Applied::ok});
    return a.run_id;
  }
  RerunResult rerun_from(const std::string& source_id, const std::string& step, const std::string& queue,
                         std::optional<Json> input = std::nullopt) {
    const auto source = run(w1_->rerun_source(source_id));
    if (!source) throw std::runtime_error("no source run " + source_id);
    return run(w1_->rerun(RerunRequest{*source, step, queue, std::move(input), std::nullopt}));
  }
  // The run's fields of one step ("s.<step>.*").
  Fields step_fields(const std::string& run_id, const std::string& step) {
    Fields out;
    for (const auto& [f, v] : hash(run_id)) {
      if (f.starts_with("s." + step + ".")) out[f] = v;
    }
    return out;
  }
  bool in(const std::string& index, const std::string& run_id) {
    return !cmd({"ZSCORE", index, run_id}).is_nil();
  }
  // Every key a rerun may write besides the new run's hash.
  std::vector<std::string> written_keys(const engine::RunMetadata& metadata = {}) const {
    std::vector<std::string> ks = run_index_keys(keys_, kPartition, "wf", metadata, "live");
    ks.push_back(keys_.stats(kPartition));
    ks.push_back(stream("q"));
    ks.push_back(stream("q2"));
    return ks;
  }
};

TEST_F(Rerun, KeepsTheOutputsBeforeTheStepAndQueuesTheStepWithTheEditedInput) {
  const engine::RunMetadata meta{{"customer", "acme"}};
  const std::string source = completed_run(meta);
  set_field(source, "s.a.output", std::string("{\"bytes\": \"\\u00e9 \\n kept as written\"}"));
  const Snapshot before = snapshot_of({run_key(source)});
  ASSERT_EQ(field(source, "status"), "completed");
  const long long submitted = std::stoll(std::string(cmd({"HGET", keys_.stats(kPartition), "submitted:wf"}).str()));

  const RerunResult r = rerun_from(source, "b", "q2", Json{{"n", 2}});
  ASSERT_EQ(r.outcome, RerunResult::Outcome::created);
  const std::string id = r.run_id;
  ASSERT_TRUE(is_valid_run_id(id));
  EXPECT_NE(id, source);
  expect_unchanged(before, "the source run");

  // Step a: every field copied byte for byte (output, attempts, times, worker).
  EXPECT_EQ(step_fields(id, "a"), step_fields(source, "a"));
  EXPECT_EQ(field(id, "s.a.output"), "{\"bytes\": \"\\u00e9 \\n kept as written\"}");
  // Step b runs again: queued, nothing else of the source's attempt.
  EXPECT_EQ(step_fields(id, "b"), (Fields{{"s.b.status", "queued"}}));
  EXPECT_EQ(field(id, "status"), "queued");
  EXPECT_EQ(field(id, "step"), "b");
  EXPECT_EQ(field(id, "queue"), "q2");
  EXPECT_EQ(Json::parse(field(id, "input")), (Json{{"n", 2}}));
  EXPECT_EQ(field(id, "workflow"), "wf");
  EXPECT_EQ(field(id, "steps"), field(source, "steps"));
  EXPECT_EQ(field(id, "metadata"), field(source, "metadata"));
  EXPECT_EQ(field(id, "rerun_of"), source);
  EXPECT_EQ(field(id, "rerun_from"), "b");

  // The token: b's entry on q2, attempts 0, the run's `entry`.
  const Fields e = entry(stream("q2"), field(id, "entry"));
  EXPECT_EQ(e, (Fields{{"r", id}, {"s", "b"}, {"a", "0"}}));
  const StartItem b = claim("w1", "q2");
  EXPECT_EQ(b.run_id, id);
  EXPECT_EQ(b.step, "b");

  // Every index a submitted run is in, and the submitted counter.
  for (const std::string& index : run_index_keys(keys_, kPartition, "wf", meta, "live")) {
    EXPECT_TRUE(in(index, id)) << index;
  }
  EXPECT_EQ(std::stoll(std::string(cmd({"HGET", keys_.stats(kPartition), "submitted:wf"}).str())), submitted + 1);
  const RunPage page = run(w1_->list_runs(engine::parse_run_filter({{"status", "queued"}}), 10));
  ASSERT_EQ(page.runs.size(), 1U);
  EXPECT_EQ(page.runs[0].id, id);
  EXPECT_EQ(page.runs[0].metadata, meta);
}

TEST_F(Rerun, WithoutAnInputTheSourcesInputIsKeptByteForByte) {
  const std::string source = completed_run();
  set_field(source, "input", "{ \"n\" : 1.50 }");
  const RerunResult r = rerun_from(source, "a", "q");
  ASSERT_EQ(r.outcome, RerunResult::Outcome::created);
  EXPECT_EQ(field(r.run_id, "input"), "{ \"n\" : 1.50 }");
  // From the first step nothing is kept.
  EXPECT_EQ(step_fields(r.run_id, "a"), (Fields{{"s.a.status", "queued"}}));
  EXPECT_EQ(step_fields(r.run_id, "b"), Fields{});
  EXPECT_EQ(claim("w1", "q").run_id, r.run_id);
}

// On an ordered queue (issue 16): a rerun with an edited input waits under
// its own input's fairness key, at the source's priority; without one it
// keeps the source's place, byte for byte.
TEST_F(Rerun, AnEditedInputTakesItsOwnFairnessKeyAndTheSourcesPriority) {
  const std::string source = completed_run();
  QueueOrder order;
  order.fairness_key = "{{input.tenant}}";
  const Json def = {{"order", {{"q2", queue_order_json(order)}}}};
  set_field(source, "sched", run_sched(def, Json{{"tenant", "acme"}}, 7));
  const auto src = run(w1_->rerun_source(source));
  ASSERT_TRUE(src);
  EXPECT_EQ(src->priority, 7);

  RerunRequest edited{*src, "b", "q2", Json{{"tenant", "globex"}}, std::nullopt};
  edited.sched = run_sched(def, *edited.input, src->priority);
  const RerunResult r = run(w1_->rerun(edited));
  ASSERT_EQ(r.outcome, RerunResult::Outcome::created);
  const Json sched = Json::parse(field(r.run_id, "sched"));
  EXPECT_EQ(sched["p"], 7);
  EXPECT_EQ(sched["q"]["q2"][2], "globex");
  EXPECT_TRUE(field(r.run_id, "entry").starts_with("b:")) << "in the backlog, not the stream";
  const std::string globex_key = sched["q"]["q2"][0].get<std::string>();
  EXPECT_NE(field(r.run_id, "entry").find("\t" + globex_key + "\t" + r.run_id), std::string::npos)
      << "under globex's key: " << field(r.run_id, "entry");
  EXPECT_EQ(cmd({"LLEN", stream("q2") + ":o:7:" + globex_key}).as_integer(), 1) << "at level 7";
  EXPECT_EQ(run(w1_->get_run(r.run_id))->priority, 7);

  const RerunResult kept = rerun_from(source, "b", "q2");
  ASSERT_EQ(kept.outcome, RerunResult::Outcome::created);
  EXPECT_EQ(field(kept.run_id, "sched"), field(source, "sched"));
}

TEST_F(Rerun, AMissingSourceRunWritesNothing) {
  const std::string source = new_run_id();
  const std::string id = new_run_id();
  std::vector<std::string> ks = written_keys();
  ks.push_back(run_key(id));
  const Snapshot before = snapshot_of(ks);
  std::vector<std::string> keys{run_key(source), run_key(id), stream("q2"), keys_.stats(kPartition)};
  const auto indexes = run_index_keys(keys_, kPartition, "wf", {}, "live");
  keys.insert(keys.end(), indexes.begin(), indexes.end());
  const Reply r = eval(scripts::rerun(), keys,
                       {source, id, "b", "q2", "", "[\"a\"]", std::to_string(indexes.size())});
  EXPECT_EQ(r, A({I(0), S("missing")}));
  expect_unchanged(before, "a rerun of a missing run");
}

TEST_F(Rerun, AStepThatHasNotFinishedInTheSourceIsNotKeptAndNothingIsWritten) {
  // A live source: a is running. Rerunning from b would keep a, which has no output.
  const StartItem a = running_run();
  std::vector<std::string> ks = written_keys();
  ks.push_back(run_key(a.run_id));
  const Snapshot before = snapshot_of(ks);
  const long long runs = cmd({"ZCARD", keys_.index_all(kPartition)}).as_integer();
  const RerunResult r = rerun_from(a.run_id, "b", "q2");
  EXPECT_EQ(r.outcome, RerunResult::Outcome::unfinished);
  EXPECT_EQ(r.step, "a");
  EXPECT_EQ(r.step_status, "running");
  expect_unchanged(before, "a refused rerun");
  EXPECT_EQ(cmd({"ZCARD", keys_.index_all(kPartition)}).as_integer(), runs);

  // From a, the live source is rerun (nothing to keep) and stays as it was.
  const Snapshot source_before = snapshot_of({run_key(a.run_id)});
  const RerunResult again = rerun_from(a.run_id, "a", "q");
  EXPECT_EQ(again.outcome, RerunResult::Outcome::created);
  expect_unchanged(source_before, "the live source run");
  EXPECT_EQ(pending(a)->first, "w1") << "the source's token is still its worker's";
}

TEST_F(Rerun, AnUnknownStepIsRefusedNamingTheSteps) {
  const std::string source = completed_run();
  try {
    (void)rerun_from(source, "c", "q");
    ADD_FAILURE() << "rerun from an unknown step was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "from_step 'c' is not a step of this run (its steps: a, b)");
  }
  EXPECT_FALSE(run(w1_->rerun_source(new_run_id())).has_value());
}

TEST_F(Rerun, TheNewRunIsInTheSourcesPartition) {
  const KeySpace keys4(keys_.prefix() + ".p4", 4);
  Store st(*client_, keys4, "w1");
  for (int i = 0; i < 8; ++i) {
    SubmitRequest s;
    s.workflow = "wf";
    s.input = Json::object();
    s.steps = {"a", "b"};
    s.first_queue = "q";
    const std::string source = run(st.submit(s)).run_id;
    const auto src = run(st.rerun_source(source));
    ASSERT_TRUE(src.has_value());
    const RerunResult r = run(st.rerun(RerunRequest{*src, "a", "q", std::nullopt, std::nullopt}));
    ASSERT_EQ(r.outcome, RerunResult::Outcome::created);
    EXPECT_EQ(keys4.partition_of(r.run_id), keys4.partition_of(source));
  }
}

}  // namespace
}  // namespace steadfast::store::testing
