// Bulk jobs at the store tier (store/bulk.h: bulk_create.lua, bulk_claim.lua,
// bulk_progress.lua and the page walk): what a job cancels or replays, what
// it skips, and that a holder that lost its lease changes nothing while the
// next one goes on from the recorded cursor. A lease "ends" by writing its
// score in the active set directly: no sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "store/bulk.h"
#include "store_test.h"

namespace steadfast::store::testing {
namespace {

class BulkJobs : public StoreTest {
 protected:
  BulkJob create(engine::BulkAction action, engine::RunFilter filter = {}) {
    return run(create_bulk_job(*w1_, engine::BulkRequest{action, std::move(filter)}, "tester"));
  }
  std::optional<BulkJob> claim_as(const std::string& owner) { return run(claim_bulk_job(*w1_, owner)); }
  BulkRunEnd walk(BulkJob& job, const std::string& owner, std::size_t page = 2, int stop_after_pages = -1) {
    BulkRunOptions o;
    o.owner = owner;
    o.page = page;
    auto pages = std::make_shared<int>(0);
    if (stop_after_pages >= 0) {
      o.on_page = [pages](const BulkJob&) { ++*pages; };
      o.stopping = [pages, stop_after_pages] { return *pages >= stop_after_pages; };
    }
    return run(run_bulk_job(*w1_, job, o));
  }
  BulkJob stored(const std::string& id) {
    std::optional<BulkJob> j = run(read_bulk_job(*w1_, id));
    if (!j) throw std::runtime_error("no job " + id);
    return *j;
  }
  // The holder's lease ends now (as if its time had passed).
  void end_lease(const std::string& id) { cmd({"ZADD", keys_.bulk_active(), "XX", "1", id}); }
  // Run ids order runs newest first (as a walk goes), also within a millisecond.
  static std::vector<std::string> newest_first(std::vector<std::string> ids) {
    std::sort(ids.rbegin(), ids.rend());
    return ids;
  }
  static engine::RunFilter customer(const std::string& who) {
    engine::RunFilter f;
    f.meta["customer"] = who;
    return f;
  }
};

TEST_F(BulkJobs, CancelActsOnEveryMatchingRunPageByPageAndSkipsRunsThatEnded) {
  std::vector<std::string> acme;
  for (int i = 0; i < 5; ++i) acme.push_back(submit({}, {{"customer", "acme"}}));
  const std::string beta = submit({}, {{"customer", "beta"}});
  EXPECT_EQ(run(w1_->cancel(acme[2], std::chrono::hours(1))), "cancelled");  // ended before the job

  BulkJob job = create(engine::BulkAction::cancel, customer("acme"));
  EXPECT_EQ(job.status, "queued");
  EXPECT_EQ(stored(job.id).status, "queued");
  std::optional<BulkJob> held = claim_as("A");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->id, job.id);
  EXPECT_EQ(held->status, "running");
  EXPECT_EQ(held->claims, 1);
  EXPECT_EQ(walk(*held, "A"), BulkRunEnd::done);  // pages of 2: 2, 2, 1

  const BulkJob done = stored(job.id);
  EXPECT_EQ(done.status, "done");
  EXPECT_EQ(done.matched, 5);
  EXPECT_EQ(done.succeeded, 4);
  EXPECT_EQ(done.skipped, 1);
  EXPECT_GT(done.finished_at_ms, 0);
  EXPECT_EQ(done.who, "tester");
  EXPECT_EQ(done.request.filter, customer("acme"));
  for (const std::string& id : acme) EXPECT_EQ(field(id, "status"), "cancelled") << id;
  EXPECT_EQ(field(beta, "status"), "queued");
  // Off the active set; the hash is kept a week, then expires.
  EXPECT_EQ(cmd({"ZSCORE", keys_.bulk_active(), job.id}).is_nil(), true);
  const long long ttl = cmd({"PTTL", keys_.bulk_job(job.id)}).as_integer();
  EXPECT_GT(ttl, kBulkKeep.count() - 60'000);
  EXPECT_LE(ttl, kBulkKeep.count());
  EXPECT_FALSE(claim_as("B"));  // nothing left to claim
}

TEST_F(BulkJobs, ARunSubmittedAfterTheJobWasMadeIsNotTouched) {
  const std::string before = submit({}, {{"customer", "acme"}});
  BulkJob job = create(engine::BulkAction::cancel, customer("acme"));
  std::string after = submit({}, {{"customer", "acme"}});
  // Same Redis millisecond as the job: it would count as made before it.
  while (std::stoll(field(after, "created_at")) <= job.created_at_ms) after = submit({}, {{"customer", "acme"}});
  std::optional<BulkJob> held = claim_as("A");
  ASSERT_TRUE(held);
  EXPECT_EQ(walk(*held, "A"), BulkRunEnd::done);
  EXPECT_EQ(field(before, "status"), "cancelled");
  EXPECT_EQ(field(after, "status"), "queued");
}

TEST_F(BulkJobs, ReplayPutsEveryDeadLetteredRunBackAndLeavesTheOthers) {
  const std::vector<std::string> dead{dead_run(), dead_run(), dead_run()};
  const std::string live = submit();
  BulkJob job = create(engine::BulkAction::replay);
  std::optional<BulkJob> held = claim_as("A");
  ASSERT_TRUE(held);
  EXPECT_EQ(walk(*held, "A"), BulkRunEnd::done);
  const BulkJob done = stored(job.id);
  EXPECT_EQ(done.matched, 3);  // it walks failed runs only
  EXPECT_EQ(done.succeeded, 3);
  EXPECT_EQ(done.skipped, 0);
  for (const std::string& id : dead) EXPECT_EQ(field(id, "status"), "queued") << id;
  EXPECT_EQ(field(live, "status"), "queued");
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}).as_integer(), 0);
}

// What a holder that died mid-page leaves: some runs of the page acted on,
// the page not recorded. The next holder does the page again; the runs done
// already count as skipped, none is missed.
TEST_F(BulkJobs, APageDoneAgainAfterACrashSkipsWhatWasDoneAndMissesNothing) {
  std::vector<std::string> acme;
  for (int i = 0; i < 4; ++i) acme.push_back(submit({}, {{"customer", "acme"}}));
  const std::vector<std::string> newest = newest_first(acme);
  BulkJob job = create(engine::BulkAction::cancel, customer("acme"));
  ASSERT_TRUE(claim_as("A"));
  run(w1_->cancel(newest[0], std::chrono::hours(1)));  // A cancelled the newest two, then died
  run(w1_->cancel(newest[1], std::chrono::hours(1)));
  end_lease(job.id);
  std::optional<BulkJob> b = claim_as("B");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->claims, 2);
  EXPECT_EQ(b->owner, "B");
  EXPECT_EQ(walk(*b, "B"), BulkRunEnd::done);
  const BulkJob done = stored(job.id);
  EXPECT_EQ(done.matched, 4);
  EXPECT_EQ(done.succeeded, 2);
  EXPECT_EQ(done.skipped, 2);
  for (const std::string& id : acme) EXPECT_EQ(field(id, "status"), "cancelled") << id;
}

TEST_F(BulkJobs, AHolderWhoseLeaseWasTakenOverChangesNothingAndTheNextGoesOnFromTheCursor) {
  std::vector<std::string> acme;
  for (int i = 0; i < 5; ++i) acme.push_back(submit({}, {{"customer", "acme"}}));
  BulkJob job = create(engine::BulkAction::cancel, customer("acme"));
  std::optional<BulkJob> a = claim_as("A");
  ASSERT_TRUE(a);
  EXPECT_EQ(walk(*a, "A", 2, 1), BulkRunEnd::stopped);  // one page recorded, then A stalls
  EXPECT_EQ(stored(job.id).matched, 2);
  EXPECT_EQ(stored(job.id).cursor, newest_first(acme)[1]);  // the walk goes on below the page's last run

  EXPECT_FALSE(claim_as("B"));  // A's lease runs
  end_lease(job.id);
  std::optional<BulkJob> b = claim_as("B");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->cursor, newest_first(acme)[1]);

  // A wakes up: its next page is refused whole (the runs it acts on are
  // cancelled, which B would do anyway), and the job's record is B's.
  const Snapshot before = snapshot_of({keys_.bulk_job(job.id), keys_.bulk_active()});
  EXPECT_EQ(walk(*a, "A"), BulkRunEnd::lost);
  expect_unchanged(before, "a page recorded by a holder that lost the job");

  EXPECT_EQ(walk(*b, "B"), BulkRunEnd::done);
  const BulkJob done = stored(job.id);
  EXPECT_EQ(done.matched, 5);
  EXPECT_EQ(done.succeeded + done.skipped, 5);
  EXPECT_EQ(done.claims, 2);
  for (const std::string& id : acme) EXPECT_EQ(field(id, "status"), "cancelled") << id;
}

TEST_F(BulkJobs, TheProgressScriptRefusesAStrangerAndADoneJob) {
  BulkJob job = create(engine::BulkAction::replay);
  const std::vector<std::string> ks{keys_.bulk_job(job.id), keys_.bulk_active()};
  const auto progress = [&](const std::string& owner, const std::string& done) {
    return eval(scripts::bulk_progress(), ks, {job.id, owner, "", "1", "1", "0", "30000", done, "60000", ""});
  };
  Snapshot before = snapshot_of(ks);
  EXPECT_EQ(progress("A", "0"), S("lost"));  // never claimed
  expect_unchanged(before, "progress of an unclaimed job");
  ASSERT_TRUE(claim_as("A"));
  before = snapshot_of(ks);
  EXPECT_EQ(progress("B", "0"), S("lost"));
  expect_unchanged(before, "progress by a stranger");
  EXPECT_EQ(progress("A", "1"), S("ok"));
  EXPECT_EQ(stored(job.id).status, "done");
  before = snapshot_of(ks);
  EXPECT_EQ(progress("A", "0"), S("lost"));
  expect_unchanged(before, "progress after done");
}

TEST_F(BulkJobs, ClaimsOfMissingJobsAnswerNoneAndForgetThem) {
  EXPECT_FALSE(run(claim_bulk_job_by_id(*w1_, "01JZZZZZZZZZZZZZZZZZZZZZZZ", "A")));
  BulkJob job = create(engine::BulkAction::replay);
  expect_ok(cmd({"DEL", keys_.bulk_job(job.id)}));  // its hash lost (say, by hand)
  EXPECT_FALSE(claim_as("A"));
  EXPECT_TRUE(cmd({"ZSCORE", keys_.bulk_active(), job.id}).is_nil());
  EXPECT_FALSE(run(read_bulk_job(*w1_, job.id)));
}

TEST_F(BulkJobs, AHolderClaimsItsOwnJobAgainWhileItsLeaseRuns) {
  BulkJob job = create(engine::BulkAction::replay);
  ASSERT_TRUE(claim_as("A"));
  EXPECT_FALSE(claim_as("B"));
  std::optional<BulkJob> again = claim_as("A");  // after an error in its page, say
  ASSERT_TRUE(again);
  EXPECT_EQ(again->claims, 2);
}

TEST_F(BulkJobs, TheListShowsTheNewestJobsFirst) {
  const BulkJob first = create(engine::BulkAction::replay);
  const BulkJob second = create(engine::BulkAction::cancel, customer("acme"));
  const std::vector<BulkJob> jobs = run(recent_bulk_jobs(*w1_, 10));
  ASSERT_EQ(jobs.size(), 2u);
  std::set<std::string> ids{jobs[0].id, jobs[1].id};
  EXPECT_EQ(ids, (std::set<std::string>{first.id, second.id}));
  EXPECT_GE(jobs[0].created_at_ms, jobs[1].created_at_ms);
  EXPECT_EQ(run(recent_bulk_jobs(*w1_, 1)).size(), 1u);
  const Json j = to_json(jobs[0].id == second.id ? jobs[0] : jobs[1]);
  EXPECT_EQ(j["action"], "cancel");
  EXPECT_EQ(j["filter"], Json::parse(R"({"meta": {"customer": "acme"}})"));
  EXPECT_EQ(j["status"], "queued");
  EXPECT_TRUE(j["finished_at"].is_null());
  EXPECT_TRUE(j["holder"].is_null());
}

// An operator stops a job mid-walk: no one claims it again, and its holder's
// next page is refused whole (the runs of that page it acted on stay acted
// on; the job's record is the one at the stop).
TEST_F(BulkJobs, AStoppedJobIsNeitherClaimedAgainNorRecordedFurther) {
  std::vector<std::string> acme;
  for (int i = 0; i < 6; ++i) acme.push_back(submit({}, {{"customer", "acme"}}));
  BulkJob job = create(engine::BulkAction::cancel, customer("acme"));
  std::optional<BulkJob> a = claim_as("A");
  ASSERT_TRUE(a);
  EXPECT_EQ(walk(*a, "A", 2, 1), BulkRunEnd::stopped);  // one page, then A pauses
  EXPECT_EQ(run(stop_bulk_job(*w1_, job.id, "ops")), BulkStop::stopped);
  const BulkJob stopped = stored(job.id);
  EXPECT_EQ(stopped.status, "stopped");
  EXPECT_EQ(stopped.stopped_by, "ops");
  EXPECT_EQ(stopped.matched, 2);
  EXPECT_GT(stopped.finished_at_ms, 0);
  EXPECT_TRUE(cmd({"ZSCORE", keys_.bulk_active(), job.id}).is_nil());
  EXPECT_GT(cmd({"PTTL", keys_.bulk_job(job.id)}).as_integer(), 0);

  end_lease(job.id);  // no effect: it is not active any more
  EXPECT_FALSE(claim_as("B"));
  // Even put back in the active set (by hand, or a race with an old holder), it is not claimed.
  expect_ok(cmd({"ZADD", keys_.bulk_active(), "1", job.id}));
  EXPECT_FALSE(claim_as("B"));
  EXPECT_TRUE(cmd({"ZSCORE", keys_.bulk_active(), job.id}).is_nil());
  const Snapshot before = snapshot_of({keys_.bulk_job(job.id), keys_.bulk_active()});
  EXPECT_EQ(walk(*a, "A"), BulkRunEnd::operator_stopped);
  expect_unchanged(before, "a page recorded after the stop");
  int still_queued = 0;
  for (const std::string& id : acme) still_queued += field(id, "status") == "queued" ? 1 : 0;
  EXPECT_EQ(still_queued, 2) << "A's page in progress (2) was acted on, the last 2 never";

  EXPECT_EQ(run(stop_bulk_job(*w1_, job.id, "ops")), BulkStop::ended);
  EXPECT_EQ(run(stop_bulk_job(*w1_, "01JZZZZZZZZZZZZZZZZZZZZZZZ", "ops")), BulkStop::missing);
  BulkJob finished = create(engine::BulkAction::replay);
  std::optional<BulkJob> c = claim_as("C");
  ASSERT_TRUE(c);
  EXPECT_EQ(walk(*c, "C"), BulkRunEnd::done);
  EXPECT_EQ(run(stop_bulk_job(*w1_, finished.id, "ops")), BulkStop::ended);
  EXPECT_EQ(stored(finished.id).status, "done");
}

}  // namespace
}  // namespace steadfast::store::testing
