// The claim side of fencing, script by script: start.lua (claim a fetched
// batch), renew.lua (leases), reclaim.lua (take over idle entries). Every
// stale token is refused with nothing written, byte for byte.
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

// start.lua's reply with each item's last element (Redis' time of the
// claim, checked against `now`, Redis' clock read after it) left out.
Reply without_now(const Reply& r, long long now) {
  std::vector<Reply> items;
  for (const Reply& item : r.elements()) {
    EXPECT_EQ(item.size(), 4u);
    if (item.size() != 4u) return r;
    EXPECT_LE(item[3].as_integer(), now);
    EXPECT_GT(item[3].as_integer(), now - 60000);
    items.push_back(A({item[0], item[1], item[2]}));
  }
  return A(std::move(items));
}

class StoreStart : public StoreTest {
 protected:
  Reply start_raw(const std::vector<StartItem>& items, const std::string& consumer = "w1") {
    std::vector<std::string> ks{stream()};
    std::vector<std::string> args{std::string(kGroup), consumer};
    for (const StartItem& it : items) {
      ks.push_back(run_key(it.run_id));
      args.insert(args.end(), {it.token.entry_id, it.step, std::to_string(it.token.deliveries), it.ticket});
    }
    Reply r = eval(scripts::start(), ks, args);
    return without_now(r, redis_now_ms());
  }
};

TEST_F(StoreStart, FreshTokenMarksTheStepRunningAndReturnsTheHashReadBefore) {
  const std::string id = submit();
  const StartItem it = claim();
  const Reply before = hgetall(id);

  EXPECT_EQ(start_raw({it}), A({A({S("ok"), I(1), before})}));

  const Fields h = hash(id);
  EXPECT_EQ(h.at("status"), "running");
  EXPECT_EQ(h.at("s.a.status"), "running");
  EXPECT_EQ(h.at("s.a.attempts"), "1");
  EXPECT_EQ(h.at("s.a.worker"), "w1");
  EXPECT_FALSE(h.at("s.a.started_at").empty());
  EXPECT_EQ(h.at("s.a.started_at"), h.at("updated_at"));
  EXPECT_EQ(pending(it), (std::pair<std::string, long long>{"w1", 1}))
      << "start leaves the lease as it is";
}

TEST_F(StoreStart, UnknownDeliveriesAreReadFromThePelAndCountTowardsTheAttempt) {
  const std::string id = submit();
  StartItem it = claim();
  redeliver(it);               // a reclaim by the same worker: count 2
  set_field(id, "base", "3");  // three attempts before this entry (a retry)
  it.token.deliveries = 0;

  const auto started = run(w1_->start(kPartition, "q", {it}));
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].state, Started::State::ok);
  EXPECT_EQ(started[0].deliveries, 2);
  EXPECT_EQ(started[0].run.at("status"), "queued") << "the hash as read before the claim";
  EXPECT_EQ(field(id, "s.a.attempts"), "5");
}

// Fencing at claim (issue 11, item 1): a fresh delivery's token is checked in the
// PEL too, so a worker that stalled between XREADGROUP's reply and start.lua
// past its lease writes nothing.
TEST_P(StaleTokenTest, StartOfAFreshDeliveryIsLostAndWritesNothing) {
  const std::string id = submit();
  const StartItem it = claim();
  make_stale(it, GetParam());
  const Snapshot before = snapshot({id});

  Reply r;
  {
    std::vector<std::string> ks{stream(), run_key(id)};
    r = eval(scripts::start(), ks, {std::string(kGroup), "w1", it.token.entry_id, it.step, "1"});
    r = without_now(r, redis_now_ms());
  }
  EXPECT_EQ(r, A({A({S("lost"), I(0), A()})}));
  expect_unchanged(before, "start of a stale fresh token");
}

TEST_P(StaleTokenTest, StartWithUnknownDeliveriesOfAnEntryNoLongerOursIsLost) {
  const std::string id = submit();
  StartItem it = claim();
  make_stale(it, GetParam());
  const Snapshot before = snapshot({id});
  it.token.deliveries = 0;

  const auto started = run(w1_->start(kPartition, "q", {it}));
  ASSERT_EQ(started.size(), 1u);
  if (GetParam() == Staleness::redelivered) {
    // Redelivered to w1 itself (a restart with the same id): still ours, count 2.
    EXPECT_EQ(started[0].state, Started::State::ok);
    EXPECT_EQ(started[0].deliveries, 2);
  } else {
    EXPECT_EQ(started[0].state, Started::State::lost);
    expect_unchanged(before, "start of an entry no longer ours");
  }
}

TEST_F(StoreStart, DeletedRunDropsTheEntry) {
  const std::string id = submit();
  const StartItem it = claim();
  delete_run(id);

  EXPECT_EQ(start_raw({it}), A({A({S("missing"), I(1), A()})}));
  EXPECT_FALSE(exists(run_key(id))) << "the run hash is not recreated";
  EXPECT_TRUE(entries().empty()) << "the entry is deleted";
  EXPECT_EQ(pending(it), std::nullopt) << "and acknowledged";
}

TEST_F(StoreStart, DeletedRunUnderAStaleTokenIsLostAndItsEntryStays) {
  const std::string id = submit();
  const StartItem it = claim();
  move_to(it, "w2");
  delete_run(id);
  const Snapshot before = snapshot({id});

  EXPECT_EQ(start_raw({it}), A({A({S("lost"), I(0), A()})}));
  expect_unchanged(before, "start of a stale token of a deleted run");
}

TEST_F(StoreStart, TerminalRunIsReturnedAndNotWritten) {
  for (const std::string status : {"completed", "failed", "cancelled"}) {
    SCOPED_TRACE(status);
    const std::string id = submit();
    const StartItem it = claim();
    set_field(id, "status", status);
    const Reply before_hash = hgetall(id);
    const Snapshot before = snapshot({id});

    EXPECT_EQ(start_raw({it}), A({A({S("ok"), I(1), before_hash})}));
    expect_unchanged(before, "start of a " + status + " run");
    ack(it);
  }
}

TEST_F(StoreStart, CancellingRunIsReturnedAndNotWritten) {
  const std::string id = submit();
  const StartItem it = claim();
  set_field(id, "cancel", "1");
  const Reply before_hash = hgetall(id);
  const Snapshot before = snapshot({id});

  EXPECT_EQ(start_raw({it}), A({A({S("ok"), I(1), before_hash})}));
  expect_unchanged(before, "start of a run being cancelled");
}

TEST_F(StoreStart, MixedBatchWritesOnlyTheItemsItOwnsOfLiveRuns) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(submit());
  const std::vector<StartItem> items = claim_n(7);
  ASSERT_EQ(items.size(), 7u);
  move_to(items[1], "w2");
  redeliver(items[2]);
  ack(items[3]);
  delete_run(ids[4]);
  set_field(ids[5], "status", "completed");
  set_field(ids[6], "cancel", "1");
  const Reply h0 = hgetall(ids[0]);
  const Reply h5 = hgetall(ids[5]);
  const Reply h6 = hgetall(ids[6]);
  const Snapshot untouched = snapshot({ids[1], ids[2], ids[3], ids[4], ids[5], ids[6]}, false);

  EXPECT_EQ(start_raw(items),
            A({A({S("ok"), I(1), h0}), A({S("lost"), I(0), A()}), A({S("lost"), I(0), A()}),
               A({S("lost"), I(0), A()}), A({S("missing"), I(1), A()}), A({S("ok"), I(1), h5}),
               A({S("ok"), I(1), h6})}));

  EXPECT_EQ(field(ids[0], "status"), "running");
  EXPECT_EQ(field(ids[0], "s.a.worker"), "w1");
  expect_unchanged(untouched, "the refused items' runs");
  // Only the deleted run's entry went; the stale ones stay with their owners.
  EXPECT_EQ(entries(),
            (std::vector<std::string>{items[0].token.entry_id, items[1].token.entry_id,
                                      items[2].token.entry_id, items[3].token.entry_id,
                                      items[5].token.entry_id, items[6].token.entry_id}));
  EXPECT_EQ(pending(items[1]), (std::pair<std::string, long long>{"w2", 1}));
  EXPECT_EQ(pending(items[2]), (std::pair<std::string, long long>{"w1", 2}));
  EXPECT_EQ(pending(items[3]), std::nullopt);
}

TEST_F(StoreStart, StoreReportsEachItemOfAMixedBatch) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(submit());
  const std::vector<StartItem> items = claim_n(3);
  ASSERT_EQ(items.size(), 3u);
  move_to(items[1], "w2");
  delete_run(ids[2]);

  const auto started = run(w1_->start(kPartition, "q", items));
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started[0].state, Started::State::ok);
  EXPECT_EQ(started[0].deliveries, 1);
  EXPECT_EQ(started[0].run.at("workflow"), "wf");
  EXPECT_EQ(started[0].run.at("input"), R"({"n":1})");
  EXPECT_EQ(started[1].state, Started::State::lost);
  EXPECT_TRUE(started[1].run.empty());
  EXPECT_EQ(started[2].state, Started::State::missing);
}

// --- renew.lua ---

class StoreRenew : public StoreTest {
 protected:
  Reply renew_raw(const std::vector<StartItem>& items, const std::string& consumer = "w1") {
    std::vector<std::string> ks;
    std::vector<std::string> args{std::string(kGroup), consumer};
    for (const StartItem& it : items) {
      ks.push_back(stream(it.token.queue));
      ks.push_back(run_key(it.run_id));
      args.insert(args.end(), {it.token.entry_id, std::to_string(it.token.deliveries), it.step, "", "", ""});
    }
    return eval(scripts::renew(), ks, args);
  }
};

TEST_F(StoreRenew, OwnedEntryGetsItsIdleTimeResetAndItsCountKept) {
  const StartItem it = running_run();
  set_idle(it, "w1", 100000);
  const Reply run_before = cmd({"DUMP", run_key(it.run_id)});

  EXPECT_EQ(renew_raw({it}), A({S("ok")}));
  EXPECT_LT(idle_ms(it), 100000);
  EXPECT_EQ(pending(it), (std::pair<std::string, long long>{"w1", 1}));
  EXPECT_EQ(cmd({"DUMP", run_key(it.run_id)}), run_before) << "a renewal writes nothing to the run";
}

TEST_F(StoreRenew, RunBeingCancelledAnswersCancelAndStillRenews) {
  const StartItem it = running_run();
  set_idle(it, "w1", 100000);
  set_field(it.run_id, "cancel", "1");

  const auto r = run(w1_->renew({it}));
  EXPECT_EQ(r, std::vector<Store::Renewal>{Store::Renewal::cancel});
  EXPECT_LT(idle_ms(it), 100000);
}

TEST_P(StaleTokenTest, RenewOfAStaleTokenIsLostAndClaimsNothingBack) {
  const StartItem it = running_run();
  make_stale(it, GetParam());
  const Snapshot before = snapshot({it.run_id});

  std::vector<std::string> ks{stream(), run_key(it.run_id)};
  EXPECT_EQ(eval(scripts::renew(), ks, {std::string(kGroup), "w1", it.token.entry_id, "1", it.step, "1", "0.5", "half"}),
            A({S("lost")}));
  expect_unchanged(before, "renewal of a stale token (its progress report included)");
}

TEST_F(StoreRenew, AProgressReportIsWrittenWithTheLeaseAndShownByTheRunView) {
  StartItem it = running_run();
  it.progress = StepProgress{0.25, "chunk 3 of 12"};
  EXPECT_EQ(run(w1_->renew({it})), std::vector<Store::Renewal>{Store::Renewal::ok});
  const Fields h = hash(it.run_id);
  EXPECT_EQ(h.at("s." + it.step + ".progress"), "0.25");
  EXPECT_EQ(h.at("s." + it.step + ".message"), "chunk 3 of 12");
  const auto info = run(w1_->get_run(it.run_id));
  ASSERT_TRUE(info.has_value());
  const Json j = to_json(*info);
  EXPECT_EQ(j["steps"][0]["progress"], 0.25);
  EXPECT_EQ(j["steps"][0]["message"], "chunk 3 of 12");

  it.progress.reset();  // no new report: the last one stays
  EXPECT_EQ(run(w1_->renew({it})), std::vector<Store::Renewal>{Store::Renewal::ok});
  EXPECT_EQ(hash(it.run_id).at("s." + it.step + ".message"), "chunk 3 of 12");
}

TEST_F(StoreRenew, MixedBatchAcrossQueuesAnswersPerItem) {
  std::vector<StartItem> items;
  for (int i = 0; i < 5; ++i) items.push_back(running_run());
  // One more on q2, to renew entries of two streams in one call.
  submit();
  StartItem other = claim();
  run(w1_->apply({transition(other, engine::Action::advance)}, std::chrono::hours(1)));
  const StartItem on_q2 = claim("w1", "q2");
  set_field(items[1].run_id, "cancel", "1");
  move_to(items[2], "w2");
  redeliver(items[3]);
  ack(items[4]);
  items.push_back(on_q2);
  for (const StartItem& it : {items[0], items[1], on_q2}) set_idle(it, "w1", 100000);
  const Snapshot untouched = snapshot({items[2].run_id, items[3].run_id, items[4].run_id}, false);

  EXPECT_EQ(renew_raw(items), A({S("ok"), S("cancel"), S("lost"), S("lost"), S("lost"), S("ok")}));
  EXPECT_LT(idle_ms(items[0]), 100000);
  EXPECT_LT(idle_ms(items[1]), 100000);
  EXPECT_LT(idle_ms(on_q2), 100000);
  EXPECT_EQ(pending(items[2]), (std::pair<std::string, long long>{"w2", 1})) << "not stolen back";
  EXPECT_EQ(pending(items[3]), (std::pair<std::string, long long>{"w1", 2}));
  EXPECT_EQ(pending(items[4]), std::nullopt) << "not claimed again";
  expect_unchanged(untouched, "the refused items' runs");
}

// --- reclaim.lua ---

class StoreReclaim : public StoreTest {
 protected:
  Reply reclaim_raw(const std::string& consumer, long long min_idle_ms, int count = 10) {
    return eval(
        scripts::reclaim(), {stream(), keys_.dlq(kPartition), keys_.stats(kPartition)},
        {std::string(kGroup), consumer, std::to_string(min_idle_ms), "0-0", std::to_string(count)});
  }
};

TEST_F(StoreReclaim, IdleEntryIsTakenOverWithItsCountBumped) {
  const StartItem it = running_run();
  set_idle(it, "w1", 120000);

  EXPECT_EQ(reclaim_raw("w2", 60000),
            A({S("0-0"), A({A({S(it.token.entry_id), S(it.run_id), S("a"), I(2), S("")})}), I(0)}));
  EXPECT_EQ(pending(it), (std::pair<std::string, long long>{"w2", 2}));
  EXPECT_EQ(run(w1_->counters()).at("reclaims"), 1);
}

TEST_F(StoreReclaim, EntryIdleLessThanTheLeaseStaysWithItsOwner) {
  const StartItem it = running_run();
  set_idle(it, "w1", 30000);
  const Snapshot before = snapshot({it.run_id});

  const Reclaimed r =
      run(w2_->reclaim(kPartition, "q", std::chrono::milliseconds(60000), "0-0", 10));
  EXPECT_EQ(r.cursor, "0-0");
  EXPECT_TRUE(r.items.empty());
  EXPECT_EQ(r.payload_lost, 0);
  expect_unchanged(before, "a reclaim pass with nothing idle");
}

TEST_F(StoreReclaim, ClaimsAtMostCountEntries) {
  for (int i = 0; i < 3; ++i) set_idle(running_run(), "w1", 120000);
  const Reclaimed r =
      run(w2_->reclaim(kPartition, "q", std::chrono::milliseconds(60000), "0-0", 2));
  EXPECT_EQ(r.items.size(), 2u);
  EXPECT_NE(r.cursor, "0-0") << "the pass resumes from where it stopped";
}

TEST_F(StoreReclaim, AfterATakeOverOnlyTheNewOwnerWrites) {
  const StartItem old = running_run();
  set_idle(old, "w1", 120000);
  const Reclaimed r =
      run(w2_->reclaim(kPartition, "q", std::chrono::milliseconds(60000), "0-0", 10));
  ASSERT_EQ(r.items.size(), 1u);
  const StartItem taken = r.items[0];
  EXPECT_EQ(taken.token.deliveries, 2);
  const auto started = run(w2_->start(kPartition, "q", {taken}));
  ASSERT_EQ(started[0].state, Started::State::ok);
  EXPECT_EQ(field(old.run_id, "s.a.worker"), "w2");
  EXPECT_EQ(field(old.run_id, "s.a.attempts"), "2");
  const Snapshot before = snapshot({old.run_id});

  // The former owner wakes up: every write it tries is refused.
  EXPECT_EQ(run(w1_->renew({old})), std::vector<Store::Renewal>{Store::Renewal::lost});
  EXPECT_EQ(apply({transition(old, engine::Action::advance)}),
            std::vector<Applied>{Applied::stale});
  EXPECT_EQ(apply({transition(old, engine::Action::retry_later)}),
            std::vector<Applied>{Applied::stale});
  EXPECT_EQ(apply({transition(old, engine::Action::dead_letter)}),
            std::vector<Applied>{Applied::stale});
  EXPECT_EQ(apply({transition(old, engine::Action::cancel_run)}),
            std::vector<Applied>{Applied::stale});
  StartItem again = old;
  again.token.deliveries = 0;
  EXPECT_EQ(run(w1_->start(kPartition, "q", {again}))[0].state, Started::State::lost);
  expect_unchanged(before, "the former owner's writes");

  Transition done = transition(taken, engine::Action::complete_run);
  EXPECT_EQ(apply({done}, w2_.get()), std::vector<Applied>{Applied::ok});
  EXPECT_EQ(field(old.run_id, "status"), "completed");
}

TEST_F(StoreReclaim, DeletedPendingEntryGoesToTheDeadLetterStream) {
  const StartItem it = running_run();
  set_idle(it, "w1", 120000);
  expect_ok(cmd({"XDEL", stream(), it.token.entry_id}));

  EXPECT_EQ(reclaim_raw("w2", 60000), A({S("0-0"), A(), I(1)}));
  const Reply dlq = cmd({"XRANGE", keys_.dlq(kPartition), "-", "+"});
  ASSERT_EQ(dlq.size(), 1u);
  const Fields f = to_fields(dlq[0][1]);
  EXPECT_EQ(f.at("run"), "");
  EXPECT_EQ(f.at("error"), "payload lost: stream entry " + it.token.entry_id + " of " + stream() +
                               " was deleted while pending");
  EXPECT_EQ(pending(it), std::nullopt);
}

TEST_F(StoreReclaim, OnePassTakesTheIdleLeavesTheBusyAndDeadLettersTheDeleted) {
  const StartItem idle = running_run();
  const StartItem busy = running_run();
  const StartItem deleted = running_run();
  set_idle(idle, "w1", 120000);
  set_idle(deleted, "w1", 120000);
  expect_ok(cmd({"XDEL", stream(), deleted.token.entry_id}));
  const Snapshot busy_run = snapshot({busy.run_id}, false);

  EXPECT_EQ(reclaim_raw("w2", 60000),
            A({S("0-0"), A({A({S(idle.token.entry_id), S(idle.run_id), S("a"), I(2), S("")})}), I(1)}));
  EXPECT_EQ(pending(idle), (std::pair<std::string, long long>{"w2", 2}));
  EXPECT_EQ(pending(busy), (std::pair<std::string, long long>{"w1", 1}));
  EXPECT_EQ(pending(deleted), std::nullopt);
  EXPECT_EQ(cmd({"XLEN", keys_.dlq(kPartition)}), I(1));
  EXPECT_EQ(run(w1_->counters()).at("reclaims"), 1);
  expect_unchanged(busy_run, "the busy entry's run");
}

INSTANTIATE_TEST_SUITE_P(StoreStale, StaleTokenTest, STEADFAST_STALENESS_VALUES, staleness_name);

}  // namespace
}  // namespace steadfast::store::testing
