// `dlq purge` at the store tier (purge.lua through Store::dlq_purge): it
// re-checks every entry inside the script, so a run replayed between the
// purge's read and its delete stays live; it works in batches; and it takes
// the shared run filter.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "engine/run_filter.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

class DlqPurge : public StoreTest {
 protected:
  // The dead-letter entries: {entry id, run id}, oldest first.
  std::vector<std::pair<std::string, std::string>> dead_letters() {
    std::vector<std::pair<std::string, std::string>> out;
    const Reply all = cmd({"XRANGE", keys_.dlq(kPartition), "-", "+"});
    for (const Reply& e : all.elements()) {
      out.emplace_back(std::string(e[0].str()), to_fields(e[1])["run"]);
    }
    return out;
  }
  std::size_t purge(const engine::RunFilter& filter = {}, std::size_t batch = kPurgeBatch) {
    return run(w1_->dlq_purge(filter, batch));
  }
};

TEST_F(DlqPurge, PurgesEveryDeadLetterAndItsRunOverSeveralBatches) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(dead_run());
  const std::string live = submit();  // not dead-lettered: never touched
  EXPECT_EQ(purge({}, 2), 5u);        // batches of 2, 2 and 1
  EXPECT_TRUE(dead_letters().empty());
  for (const std::string& id : ids) EXPECT_FALSE(exists(run_key(id))) << id;
  EXPECT_EQ(field(live, "status"), "queued");
  EXPECT_EQ(purge({}, 2), 0u);
}

// The race of issue 12: purge read the DLQ, then the run was replayed (it is
// live again), then purge deletes. The script sees the entry gone and keeps
// the run; the other entry of the same batch is purged.
TEST_F(DlqPurge, APurgeAfterAReplayOfTheSameRunLeavesTheReplayedRunIntact) {
  const std::string replayed = dead_run();
  const std::string dead = dead_run();
  const auto seen = dead_letters();  // what the purge read
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(run(w2_->dlq_replay(replayed)), replayed);
  // The live run and its token; the DLQ changes (the other entry goes).
  const Snapshot before = snapshot_of({run_key(replayed), stream("q"), keys_.timers(kPartition)});

  std::vector<std::string> keys{keys_.dlq(kPartition)};
  std::vector<std::string> args{"", "", "", ""};  // no filter
  for (const auto& [entry, run_id] : seen) {
    keys.push_back(run_key(run_id));
    args.insert(args.end(), {entry, run_id, "0"});  // no index keys
  }
  EXPECT_EQ(eval(scripts::purge(), keys, args), I(1));
  expect_unchanged(before, "purge after replay");
  EXPECT_EQ(field(replayed, "status"), "queued");
  EXPECT_FALSE(exists(run_key(dead)));
  EXPECT_TRUE(dead_letters().empty());
}

// Replayed and dead-lettered again: the old entry is gone; the new one is purged.
TEST_F(DlqPurge, ARunDeadLetteredAgainIsPurgedByItsNewEntryOnly) {
  const std::string id = dead_run();
  const std::string old_entry = dead_letters().at(0).first;
  run(w1_->dlq_replay(id));
  const StartItem again = claim();
  ASSERT_EQ(run(w1_->start(kPartition, "q", {again})).at(0).state, Started::State::ok);
  Transition t = transition(again, engine::Action::dead_letter);
  t.attempts = 2;
  ASSERT_EQ(apply({t}), std::vector<Applied>{Applied::ok});
  // A stale read naming the old entry deletes nothing.
  EXPECT_EQ(eval(scripts::purge(), {keys_.dlq(kPartition), run_key(id)}, {"", "", "", "", old_entry, id, "0"}), I(0));
  EXPECT_EQ(field(id, "status"), "failed");
  EXPECT_EQ(purge(), 1u);
  EXPECT_FALSE(exists(run_key(id)));
}

TEST_F(DlqPurge, TheFilterSelectsByWorkflowAndCreationTime) {
  const std::string old_wf = dead_run();
  const std::string new_wf = dead_run();
  const std::string other = dead_run();
  set_field(old_wf, "created_at", "1000");
  set_field(new_wf, "created_at", "3000");
  set_field(other, "created_at", "1000");
  set_field(other, "workflow", "other");

  engine::RunFilter f = engine::parse_run_filter({{"workflow", "wf"}, {"created_before", "1970-01-01T00:00:02Z"}});
  EXPECT_EQ(purge(f), 1u);
  EXPECT_FALSE(exists(run_key(old_wf)));
  EXPECT_TRUE(exists(run_key(new_wf)));
  EXPECT_TRUE(exists(run_key(other)));

  f = engine::parse_run_filter({{"created_after", "1970-01-01T00:00:02Z"}});
  EXPECT_EQ(purge(f), 1u);
  EXPECT_FALSE(exists(run_key(new_wf)));
  EXPECT_EQ(purge(engine::parse_run_filter({{"workflow", "wf"}})), 0u);
  EXPECT_EQ(dead_letters().size(), 1u);  // `other`'s
  EXPECT_EQ(field(other, "status"), "failed");
}

TEST_F(DlqPurge, RefusesAStatusOtherThanFailed) {
  const std::string id = dead_run();
  EXPECT_THROW(purge(engine::parse_run_filter({{"status", "completed"}})), std::invalid_argument);
  EXPECT_TRUE(exists(run_key(id)));
  EXPECT_EQ(purge(engine::parse_run_filter({{"status", "failed"}})), 1u);
}

// Only the runs carrying every pair go, and they leave every index they were in.
TEST_F(DlqPurge, AMetadataFilterPurgesOnlyTheMatchingRunsAndTheirIndexEntries) {
  const std::string acme = dead_run({{"customer", "acme"}, {"tier", "gold"}});
  const std::string other = dead_run({{"customer", "globex"}});
  const std::string none = dead_run();
  EXPECT_EQ(purge(engine::parse_run_filter({{"meta.customer", "acme"}, {"meta.tier", "silver"}})), 0u);
  EXPECT_EQ(purge(engine::parse_run_filter({{"meta.customer", "acme"}})), 1u);
  EXPECT_FALSE(exists(run_key(acme)));
  EXPECT_TRUE(exists(run_key(other)));
  EXPECT_TRUE(exists(run_key(none)));
  for (const std::string& index : {keys_.index_all(kPartition), keys_.index_workflow(kPartition, "wf"),
                                   keys_.index_status(kPartition, "failed"),
                                   keys_.index_meta(kPartition, "customer", "acme"),
                                   keys_.index_meta(kPartition, "tier", "gold")}) {
    EXPECT_TRUE(cmd({"ZSCORE", index, acme}).is_nil()) << index;
  }
  EXPECT_FALSE(cmd({"ZSCORE", keys_.index_meta(kPartition, "customer", "globex"), other}).is_nil());
  EXPECT_FALSE(cmd({"ZSCORE", keys_.index_status(kPartition, "failed"), none}).is_nil());
}

}  // namespace
}  // namespace steadfast::store::testing
