// The run indexes (store/run_index.h) at the store tier: which scripts write
// them, the retention that removes a run with its entries (expire.lua through
// Store::promote), and the run list that pages through them — newest first,
// filtered, across partitions, stable while runs are submitted, bounded per
// request.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "engine/run_filter.h"
#include "store/run_id.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

class RunIndex : public StoreTest {
 protected:
  bool in(const std::string& index, const std::string& run_id) {
    return !cmd({"ZSCORE", index, run_id}).is_nil();
  }
  // The index keys a run of "wf" with `metadata` is in, besides its status group.
  std::vector<std::string> static_indexes(const engine::RunMetadata& metadata) const {
    std::vector<std::string> out{keys_.index_all(kPartition), keys_.index_workflow(kPartition, "wf")};
    for (const auto& [k, v] : metadata) out.push_back(keys_.index_meta(kPartition, k, v));
    return out;
  }
  std::string group_of(const std::string& run_id) {
    std::string found;
    for (const char* g : {"live", "failed", "cancelled"}) {
      if (in(keys_.index_status(kPartition, g), run_id)) found += (found.empty() ? "" : "+") + std::string(g);
    }
    return found;
  }
  std::string expire_member(const std::string& run_id) { return run_id + "\t\texpire"; }
  // The run's retention ends now: its expire timer made due, then a promoter pass.
  void expire_now(const std::string& run_id) {
    ASSERT_EQ(cmd({"ZADD", keys_.retention(kPartition), "XX", "CH", "1", expire_member(run_id)}).as_integer(), 1);
    run(w1_->promote(kPartition, 100));
  }
  StartItem finished(engine::Action action, const engine::RunMetadata& metadata = {}) {
    const StartItem it = running_run(metadata);
    Transition t = transition(it, action);
    EXPECT_EQ(apply({t}), std::vector<Applied>{Applied::ok});
    return it;
  }
  RunPage page(const engine::RunFilter& filter, std::size_t limit, const std::string& cursor = {}) {
    return run(w1_->list_runs(filter, limit, cursor));
  }
  static std::vector<std::string> ids(const RunPage& p) {
    std::vector<std::string> out;
    for (const RunSummary& r : p.runs) out.push_back(r.id);
    return out;
  }
};

TEST_F(RunIndex, SubmitAddsTheRunToEveryIndexAndStoresItsMetadata) {
  const engine::RunMetadata meta{{"customer", "acme"}, {"doc.kind", "pdf"}};
  const std::string id = submit({}, meta);
  for (const std::string& index : static_indexes(meta)) EXPECT_TRUE(in(index, id)) << index;
  EXPECT_EQ(group_of(id), "live");
  EXPECT_EQ(Json::parse(field(id, "metadata")), Json(meta));
  EXPECT_EQ(run(w1_->get_run(id))->metadata, meta);
}

TEST_F(RunIndex, EndingARunMovesItToItsStatusGroupAndStartsItsRetention) {
  // complete_run: the last step of "wf" is b on q2.
  const StartItem a = running_run();
  ASSERT_EQ(apply({transition(a, engine::Action::advance)}), std::vector<Applied>{Applied::ok});
  EXPECT_EQ(group_of(a.run_id), "live") << "a step's end is not a run-level change";
  const StartItem b = claim("w1", "q2");
  ASSERT_EQ(run(w1_->start(kPartition, "q2", {b})).at(0).state, Started::State::ok);
  Transition last = transition(b, engine::Action::complete_run);
  ASSERT_EQ(apply({last}), std::vector<Applied>{Applied::ok});
  EXPECT_EQ(group_of(a.run_id), "") << "completed runs are in no status index";
  EXPECT_TRUE(in(keys_.index_all(kPartition), a.run_id));
  EXPECT_EQ(ids(page(engine::parse_run_filter({{"status", "completed"}}), 10)), std::vector<std::string>{a.run_id});
  EXPECT_FALSE(cmd({"ZSCORE", keys_.retention(kPartition), expire_member(a.run_id)}).is_nil());

  const StartItem dead = finished(engine::Action::dead_letter);
  EXPECT_EQ(group_of(dead.run_id), "failed");
  EXPECT_TRUE(cmd({"ZSCORE", keys_.retention(kPartition), expire_member(dead.run_id)}).is_nil())
      << "a failed run is kept until replayed or purged";
  run(w1_->dlq_replay(dead.run_id));
  EXPECT_EQ(group_of(dead.run_id), "live");

  const StartItem cancelled = finished(engine::Action::cancel_run);
  EXPECT_EQ(group_of(cancelled.run_id), "cancelled");
  const std::string queued = submit();
  EXPECT_EQ(run(w1_->cancel(queued, std::chrono::hours(1))), "cancelled");
  EXPECT_EQ(group_of(queued), "cancelled");
  EXPECT_FALSE(cmd({"ZSCORE", keys_.retention(kPartition), expire_member(queued)}).is_nil());
}

TEST_F(RunIndex, TheRetentionDeletesTheRunWithEveryIndexEntry) {
  const engine::RunMetadata meta{{"customer", "acme"}};
  const StartItem done = finished(engine::Action::cancel_run, meta);
  const std::string kept = submit({}, meta);
  expire_now(done.run_id);
  EXPECT_FALSE(exists(run_key(done.run_id)));
  for (const std::string& index : static_indexes(meta)) EXPECT_FALSE(in(index, done.run_id)) << index;
  EXPECT_EQ(group_of(done.run_id), "");
  EXPECT_TRUE(cmd({"ZSCORE", keys_.retention(kPartition), expire_member(done.run_id)}).is_nil());
  EXPECT_TRUE(in(keys_.index_meta(kPartition, "customer", "acme"), kept));
  EXPECT_EQ(field(kept, "status"), "queued");
}

TEST_F(RunIndex, AnExpireMemberInTheTimerSetFromBeforeTheRetentionSetStillEndsTheRun) {
  const StartItem done = finished(engine::Action::cancel_run);
  // Schema 3 as first released kept retention ends in the timer set.
  cmd({"ZREM", keys_.retention(kPartition), expire_member(done.run_id)});
  cmd({"ZADD", keys_.timers(kPartition), "1", expire_member(done.run_id)});
  run(w1_->promote(kPartition, 100));
  EXPECT_FALSE(exists(run_key(done.run_id)));
  EXPECT_EQ(group_of(done.run_id), "");
  EXPECT_EQ(cmd({"ZCARD", keys_.timers(kPartition)}).as_integer(), 0);
}

TEST_F(RunIndex, AnExpireTimerNotDueYetLeavesTheRunAlone) {
  const StartItem done = finished(engine::Action::cancel_run);
  run(w1_->promote(kPartition, 100));
  EXPECT_TRUE(exists(run_key(done.run_id)));
  EXPECT_EQ(group_of(done.run_id), "cancelled");
}

TEST_F(RunIndex, ARunWhoseHashWentFirstStillLeavesTheIndexesItsIdIsSureToBeIn) {
  const StartItem done = finished(engine::Action::cancel_run);
  cmd({"DEL", run_key(done.run_id)});  // its TTL fired while no worker ran
  expire_now(done.run_id);
  EXPECT_FALSE(in(keys_.index_all(kPartition), done.run_id));
  EXPECT_EQ(group_of(done.run_id), "");
  EXPECT_TRUE(cmd({"ZSCORE", keys_.retention(kPartition), expire_member(done.run_id)}).is_nil());
  // The workflow index keeps it until a list walks past it.
  EXPECT_TRUE(in(keys_.index_workflow(kPartition, "wf"), done.run_id));
  EXPECT_TRUE(page(engine::parse_run_filter({{"workflow", "wf"}}), 10).runs.empty());
  EXPECT_FALSE(in(keys_.index_workflow(kPartition, "wf"), done.run_id));
}

TEST_F(RunIndex, PagesGoNewestFirstAndARunSubmittedMeanwhileShiftsNoPage) {
  std::vector<std::string> all;
  for (int i = 0; i < 7; ++i) all.push_back(submit());
  std::sort(all.rbegin(), all.rend());
  const RunPage first = page({}, 3);
  EXPECT_EQ(ids(first), std::vector<std::string>(all.begin(), all.begin() + 3));
  ASSERT_EQ(first.next_cursor, all[2]);
  submit();  // newer than every page
  const RunPage second = page({}, 3, first.next_cursor);
  EXPECT_EQ(ids(second), std::vector<std::string>(all.begin() + 3, all.begin() + 6));
  const RunPage third = page({}, 3, second.next_cursor);
  EXPECT_EQ(ids(third), std::vector<std::string>{all[6]});
  EXPECT_EQ(third.next_cursor, "") << "no run left";
  const RunPage exact = page({}, 1, all[5]);
  EXPECT_EQ(ids(exact), std::vector<std::string>{all[6]});
  EXPECT_EQ(exact.next_cursor, "") << "a full last page says no more";
}

TEST_F(RunIndex, TheFilterSelectsByStatusWorkflowMetadataAndCreationTime) {
  // (running_run claims the oldest entry of q: the queued runs come after.)
  const StartItem failed = finished(engine::Action::dead_letter, {{"customer", "acme"}});
  const StartItem running = running_run();
  const std::string acme = submit({}, {{"customer", "acme"}});
  const std::string globex = submit({}, {{"customer", "globex"}});
  const auto select = [&](std::vector<std::pair<std::string, std::string>> pairs) {
    std::set<std::string> out;
    for (const std::string& id : ids(page(engine::parse_run_filter(pairs), 100))) out.insert(id);
    return out;
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(select({{"meta.customer", "acme"}}), (Set{acme, failed.run_id}));
  EXPECT_EQ(select({{"meta.customer", "acme"}, {"status", "queued"}}), (Set{acme}));
  EXPECT_EQ(select({{"status", "failed"}}), (Set{failed.run_id}));
  EXPECT_EQ(select({{"status", "running"}}), (Set{running.run_id}));
  EXPECT_EQ(select({{"status", "queued"}}), (Set{acme, globex}));
  EXPECT_EQ(select({{"status", "live"}}), (Set{running.run_id, acme, globex})) << "every run not ended";
  EXPECT_EQ(select({{"status", "live"}, {"meta.customer", "acme"}}), (Set{acme}));
  EXPECT_EQ(select({{"workflow", "other"}}), Set{});
  EXPECT_EQ(select({{"workflow", "wf"}, {"meta.customer", "globex"}}), (Set{globex}));
  const std::int64_t created = std::stoll(field(globex, "created_at"));
  EXPECT_EQ(select({{"created_after", iso8601_ms(created - 1)}, {"meta.customer", "globex"}}), (Set{globex}));
  EXPECT_EQ(select({{"created_after", iso8601_ms(created)}, {"meta.customer", "globex"}}), Set{})
      << "created_after is exclusive";
  EXPECT_EQ(select({{"created_before", iso8601_ms(created + 1)}, {"meta.customer", "globex"}}), (Set{globex}));
  EXPECT_EQ(select({{"created_before", iso8601_ms(created)}, {"meta.customer", "globex"}}), Set{});
  const RunPage rows = page(engine::parse_run_filter({{"meta.customer", "globex"}}), 10);
  ASSERT_EQ(rows.runs.size(), 1u);
  EXPECT_EQ(rows.runs[0].workflow, "wf");
  EXPECT_EQ(rows.runs[0].status, "queued");
  EXPECT_EQ(rows.runs[0].metadata, (engine::RunMetadata{{"customer", "globex"}}));
  EXPECT_EQ(rows.runs[0].created_at_ms, created);
}

// A request examines at most kListExamineBudget index entries: past that it
// answers with what it found and a cursor that goes on where it stopped.
TEST_F(RunIndex, APageStopsAfterItsBudgetWithACursorThatGoesOn) {
  const std::string match = submit({}, {{"customer", "acme"}});
  // Newer entries that are not runs (their hashes gone): each one examined.
  std::vector<std::string> argv{"ZADD", keys_.index_status(kPartition, "live")};
  for (std::size_t i = 0; i < kListExamineBudget + 500; ++i) {
    std::string id = run_id_time_prefix(4'000'000'000'000) + "0000000000000000";
    const std::string n = std::to_string(i);
    id.replace(id.size() - n.size(), n.size(), n);
    argv.insert(argv.end(), {"0", id});
  }
  ASSERT_EQ(cmd(argv).as_integer(), static_cast<long long>(kListExamineBudget + 500));
  const engine::RunFilter filter = engine::parse_run_filter({{"status", "queued"}});
  const RunPage first = page(filter, 10);
  EXPECT_TRUE(first.runs.empty());
  ASSERT_FALSE(first.next_cursor.empty());
  const RunPage second = page(filter, 10, first.next_cursor);
  EXPECT_EQ(ids(second), std::vector<std::string>{match});
  EXPECT_EQ(cmd({"ZCARD", keys_.index_status(kPartition, "live")}).as_integer(), 1)
      << "the entries without a run were dropped on the way";
}

// Several partitions: one page merges them in id order.
TEST_F(RunIndex, PagesMergeEveryPartitionInIdOrder) {
  const KeySpace four(keys_.prefix() + ".p4", 4);
  Store store(*client_, four, "w1");
  for (int p = 0; p < 4; ++p) run(store.ensure_group(p, "q"));
  std::vector<std::string> all;
  std::set<int> partitions;
  for (int i = 0; i < 24; ++i) {
    SubmitRequest r;
    r.workflow = "wf";
    r.input = Json::object();
    r.steps = {"a"};
    r.first_queue = "q";
    if (i % 2 == 0) r.metadata = {{"even", "yes"}};
    all.push_back(run(store.submit(r)).run_id);
    partitions.insert(four.partition_of(all.back()));
  }
  ASSERT_GT(partitions.size(), 1u);
  std::vector<std::string> evens;
  for (std::size_t i = 0; i < all.size(); i += 2) evens.push_back(all[i]);
  std::sort(all.rbegin(), all.rend());
  std::sort(evens.rbegin(), evens.rend());
  std::vector<std::string> seen;
  std::string cursor;
  do {
    const RunPage p = run(store.list_runs({}, 5, cursor));
    EXPECT_LE(p.runs.size(), 5u);
    for (const RunSummary& r : p.runs) seen.push_back(r.id);
    cursor = p.next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(seen, all);
  const RunPage even = run(store.list_runs(engine::parse_run_filter({{"meta.even", "yes"}}), 100, {}));
  EXPECT_EQ(ids(even), evens);
}

}  // namespace
}  // namespace steadfast::store::testing
