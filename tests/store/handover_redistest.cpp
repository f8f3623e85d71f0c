// handover.lua: serve's task worker hands a claimed task step to an external
// worker's consumer ("remote:<id>"), owner-checked. After it, only the
// remote consumer's token passes the fencing checks (renew, complete), and a
// stale handover (the entry reclaimed, re-delivered or acknowledged
// meanwhile) writes nothing. No sleeps.
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

class StoreHandover : public StoreTest {
 protected:
  Reply handover(const StartItem& it, const std::string& from, const std::string& to,
                 long long deliveries) {
    return eval(scripts::handover(), {stream(it.token.queue), run_key(it.run_id)},
                {std::string(kGroup), from, to, it.token.entry_id, std::to_string(deliveries), it.step});
  }
  // An outcome of the run's step `a` written as `consumer` (complete.lua's advance).
  std::vector<Applied> complete_as(const std::string& consumer, const StartItem& it) {
    Store as(*client_, keys_, consumer);
    Transition t;
    t.token = it.token;
    t.run_id = it.run_id;
    t.step = it.step;
    t.action = engine::Action::advance;
    t.attempts = 1;
    t.output = "{\"from\":\"" + consumer + "\"}";
    t.next_step = "b";
    t.next_queue = "q2";
    t.workflow = "wf";
    return run(as.apply({t}, std::chrono::hours(1)));
  }
};

TEST_F(StoreHandover, MovesTheClaimToTheRemoteConsumerKeepingItsDeliveryCountAndResettingItsIdleTime) {
  const StartItem it = running_run();
  set_idle(it, "w1", 20000);

  EXPECT_EQ(handover(it, "w1", "remote:py-1", 1), A({S("ok")}));

  EXPECT_EQ(pending(it), (std::pair<std::string, long long>{"remote:py-1", 1}));
  EXPECT_LT(idle_ms(it), 20000) << "the external worker's lease starts at the handover";
  EXPECT_EQ(field(it.run_id, "s.a.worker"), "remote:py-1") << "the attempt is the external worker's";
}

TEST_F(StoreHandover, AStaleClaimIsReportedLostAndNothingIsWritten) {
  for (const Staleness how : {Staleness::moved, Staleness::redelivered, Staleness::acked}) {
    SCOPED_TRACE(static_cast<int>(how));
    const StartItem it = running_run();
    make_stale(it, how);
    const Snapshot before = snapshot({it.run_id});
    EXPECT_EQ(handover(it, "w1", "remote:py-1", 1), A({S("lost")}));
    expect_unchanged(before, "a stale handover");
  }
}

TEST_F(StoreHandover, ABatchAnswersPerItem) {
  submit();
  submit();
  std::vector<StartItem> items = claim_n(2);
  ASSERT_EQ(items.size(), 2u);
  redeliver(items[1]);  // the second is stale (count 2)
  const Reply r = eval(scripts::handover(), {stream(), run_key(items[0].run_id), stream(), run_key(items[1].run_id)},
                       {std::string(kGroup), "w1", "remote:py-1", items[0].token.entry_id, "1", "a",
                        items[1].token.entry_id, "1", "a"});
  EXPECT_EQ(r, A({S("ok"), S("lost")}));
  EXPECT_EQ(pending(items[0])->first, "remote:py-1");
  EXPECT_EQ(pending(items[1])->first, "w1");
}

TEST_F(StoreHandover, ARunDeletedMeanwhileIsNotWrittenAgain) {
  const StartItem it = running_run();
  delete_run(it.run_id);
  EXPECT_EQ(handover(it, "w1", "remote:py-1", 1), A({S("ok")})) << "the claim moves; its outcome will find no run";
  EXPECT_FALSE(exists(run_key(it.run_id)));
}

TEST_F(StoreHandover, AfterItOnlyTheRemoteConsumersTokenRenewsAndWrites) {
  const StartItem it = running_run();
  ASSERT_EQ(handover(it, "w1", "remote:py-1", 1), A({S("ok")}));

  // The task worker that handed it over is fenced out.
  EXPECT_EQ(run(w1_->renew({it})), std::vector<Store::Renewal>{Store::Renewal::lost});
  const Snapshot before = snapshot({it.run_id});
  EXPECT_EQ(complete_as("w1", it), std::vector<Applied>{Applied::stale});
  expect_unchanged(before, "the task worker's late write");

  // The external worker renews and writes.
  Store remote(*client_, keys_, "remote:py-1");
  EXPECT_EQ(run(remote.renew({it})), std::vector<Store::Renewal>{Store::Renewal::ok});
  EXPECT_EQ(complete_as("remote:py-1", it), std::vector<Applied>{Applied::ok});
  EXPECT_EQ(field(it.run_id, "s.a.output"), "{\"from\":\"remote:py-1\"}");
  EXPECT_EQ(field(it.run_id, "s.b.status"), "queued");
  EXPECT_FALSE(pending(it).has_value()) << "acknowledged with the outcome";
}

TEST_F(StoreHandover, AnExternalWorkerThatStopsCallingLosesTheStepToAReclaim) {
  const StartItem it = running_run();
  ASSERT_EQ(handover(it, "w1", "remote:py-1", 1), A({S("ok")}));
  set_idle(it, "remote:py-1", 60000);  // a lease with no heartbeat

  const Reclaimed r = run(w2_->reclaim(kPartition, "q", std::chrono::milliseconds(30000), "0-0", 10));
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].token.entry_id, it.token.entry_id);
  EXPECT_EQ(pending(it), (std::pair<std::string, long long>{"w2", 2}));

  // The late external worker is refused.
  Store remote(*client_, keys_, "remote:py-1");
  EXPECT_EQ(run(remote.renew({it})), std::vector<Store::Renewal>{Store::Renewal::lost});
  const Snapshot before = snapshot({it.run_id});
  EXPECT_EQ(complete_as("remote:py-1", it), std::vector<Applied>{Applied::stale});
  expect_unchanged(before, "the late external worker's write");
}

}  // namespace
}  // namespace steadfast::store::testing
