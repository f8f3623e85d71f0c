// claim.lua through Store::read_and_start: a read and its claims in one
// call, for a queue with work waiting. Each entry is claimed as start.lua
// claims a fresh delivery (claim_redistest.cpp), in the same atomic step as
// its delivery, so there is no stale token to refuse.
#include "store/store_test.h"

namespace steadfast::store::testing {
namespace {

class StoreReadClaim : public StoreTest {
 protected:
  std::vector<ReadClaim> read(int count, Store* by = nullptr) {
    return run((by ? *by : *w1_).read_and_start(kPartition, "q", count));
  }
};

TEST_F(StoreReadClaim, AFreshEntryIsDeliveredAndMarkedRunningInOneCall) {
  const std::string id = submit();
  const Fields before = hash(id);
  const long long now = redis_now_ms();

  const std::vector<ReadClaim> got = read(10);
  ASSERT_EQ(got.size(), 1u);
  const ReadClaim& c = got[0];
  EXPECT_EQ(c.item.run_id, id);
  EXPECT_EQ(c.item.step, "a");
  EXPECT_EQ(c.item.ticket, "");
  EXPECT_EQ(c.item.token.queue, "q");
  EXPECT_EQ(c.item.token.deliveries, 1);
  EXPECT_EQ(entries(), std::vector<std::string>{c.item.token.entry_id});
  EXPECT_EQ(c.started.state, Started::State::ok);
  EXPECT_EQ(c.started.deliveries, 1);
  EXPECT_EQ(c.started.run, before) << "the hash as read before the claim's write";
  EXPECT_GE(c.started.now_ms, now);
  EXPECT_LE(c.started.now_ms, redis_now_ms());

  const Fields h = hash(id);
  EXPECT_EQ(h.at("status"), "running");
  EXPECT_EQ(h.at("s.a.status"), "running");
  EXPECT_EQ(h.at("s.a.attempts"), "1");
  EXPECT_EQ(h.at("s.a.worker"), "w1");
  EXPECT_EQ(h.at("s.a.started_at"), std::to_string(c.started.now_ms));
  EXPECT_EQ(pending(c.item), (std::pair<std::string, long long>{"w1", 1}));
}

TEST_F(StoreReadClaim, ReadsAtMostCountOldestFirstAndNothingOnceEmpty) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(submit());
  std::vector<std::string> seen;
  for (const std::size_t expected : {3u, 2u, 0u}) {
    const std::vector<ReadClaim> got = read(3);
    EXPECT_EQ(got.size(), expected);
    for (const ReadClaim& c : got) {
      EXPECT_EQ(c.started.state, Started::State::ok);
      seen.push_back(c.item.run_id);
    }
  }
  EXPECT_EQ(seen, ids);
  EXPECT_TRUE(read(3, w2_.get()).empty()) << "another worker finds nothing new either";
}

// A run deleted under its queued token: the entry is dropped, the hash not recreated.
TEST_F(StoreReadClaim, ADeletedRunDropsItsEntry) {
  const std::string id = submit();
  delete_run(id);
  const std::vector<ReadClaim> got = read(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].started.state, Started::State::missing);
  EXPECT_FALSE(exists(run_key(id)));
  EXPECT_TRUE(entries().empty()) << "the entry is deleted";
  EXPECT_EQ(pending(got[0].item), std::nullopt) << "and acknowledged";
}

// A run that ended, or is being cancelled, is answered as read and not
// written: the worker's step machine discards or cancels it.
TEST_F(StoreReadClaim, ATerminalOrCancellingRunIsAnsweredAndNotWritten) {
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"status", "completed"}, {"status", "failed"}, {"status", "cancelled"}, {"cancel", "1"}}) {
    SCOPED_TRACE(field + "=" + value);
    const std::string id = submit();
    set_field(id, field, value);
    const Fields before = hash(id);
    const Snapshot run_only = snapshot({id}, /*partition_keys=*/false);
    const std::vector<ReadClaim> got = read(10);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].started.state, Started::State::ok);
    EXPECT_EQ(got[0].started.run, before);
    expect_unchanged(run_only, "the claim of a run with " + field + "=" + value);
    ack(got[0].item);
  }
}

// An entry that is not a step token (no run id or step): dropped, answered
// missing, nothing else touched.
TEST_F(StoreReadClaim, AnEntryWithoutRunOrStepIsDropped) {
  expect_ok(cmd({"XADD", stream(), "*", "x", "1"}));
  const std::vector<ReadClaim> got = read(10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].started.state, Started::State::missing);
  EXPECT_TRUE(entries().empty());
}

TEST_F(StoreReadClaim, AKeyThatIsNoQueueStreamIsRefusedByName) {
  const Reply r = eval(scripts::claim(), {keys_.dlq(kPartition)}, {std::string(kGroup), "w1", "10"});
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(std::string(r.str()).find(keys_.dlq(kPartition) + " is not a queue stream"), std::string::npos)
      << r.str();
}

}  // namespace
}  // namespace steadfast::store::testing
