// submit_many (store/submit_many.h): a batch of submits goes out as one
// submit.lua call per partition and chunk; every request gets its own answer
// in request order, a refused one writes nothing and never stops the others,
// and the shared writes (the index ZADDs, the submitted counter) count
// exactly the runs created.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "store/keys.h"
#include "store/store.h"
#include "store/submit_many.h"
#include "support/redis_test.h"

namespace steadfast::store {
namespace {

using test::RedisTest;
using namespace std::chrono_literals;
using State = SubmitOutcome::State;

class SubmitMany : public RedisTest {
 protected:
  redis::Client& c = make_client();

  SubmitRequest request(int n, const std::string& idempotency_key = {}) const {
    SubmitRequest req;
    req.workflow = "wf";
    req.input = Json{{"n", n}};
    req.steps = {"a", "b"};
    req.first_queue = "q";
    req.idempotency_key = idempotency_key;
    return req;
  }
  std::vector<SubmitOutcome> submit(Store& st, const std::vector<SubmitRequest>& batch) {
    return run(submit_many(st, batch));
  }
  std::string hget(const KeySpace& keys, const std::string& id, const std::string& field) {
    const redis::Reply r = server().call({"HGET", keys.run(id), field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  long long zcard(const std::string& key) { return server().call({"ZCARD", key}).as_integer(); }
  long long xlen(const std::string& key) { return server().call({"XLEN", key}).as_integer(); }
};

TEST_F(SubmitMany, EachRequestIsAnsweredOnItsOwnInOrder) {
  KeySpace keys{"sf", 1};
  Store st{c, keys, "api"};
  const std::string first = run(st.submit(request(0, "k-repeat"))).run_id;
  (void)run(st.submit(request(0, "k-conflict")));

  std::vector<SubmitRequest> batch;
  batch.push_back(request(1));
  batch.push_back(request(0, "k-repeat"));    // the same request again
  batch.push_back(request(99, "k-conflict"));  // another input under a used key
  SubmitRequest late = request(3);
  late.start.run_at_ms = 1000;  // 1970: far in the past
  batch.push_back(late);
  SubmitRequest delayed = request(4);
  delayed.start.delay = 10min;
  batch.push_back(delayed);
  batch.push_back(request(5, "k-new"));
  batch.push_back(request(5, "k-new"));  // the same key twice in one batch: the second is a repeat
  const std::vector<SubmitOutcome> out = submit(st, batch);

  ASSERT_EQ(out.size(), batch.size());
  EXPECT_EQ(out[0].state, State::created);
  EXPECT_EQ(out[1].state, State::repeated);
  EXPECT_EQ(out[1].run_id, first);
  EXPECT_EQ(out[2].state, State::conflict);
  EXPECT_EQ(out[3].state, State::run_at_out_of_range);
  EXPECT_NE(out[3].detail.find("before the current Redis time"), std::string::npos) << out[3].detail;
  EXPECT_EQ(out[4].state, State::created);
  EXPECT_GT(out[4].run_at_ms, 0);
  EXPECT_EQ(out[5].state, State::created);
  EXPECT_EQ(out[6].state, State::repeated);
  EXPECT_EQ(out[6].run_id, out[5].run_id);

  EXPECT_EQ(hget(keys, out[0].run_id, "input"), R"({"n":1})");
  EXPECT_EQ(hget(keys, out[0].run_id, "status"), "queued");
  EXPECT_EQ(hget(keys, out[4].run_id, "status"), "scheduled");
  // Exactly the created runs (2 earlier + 3 now) are indexed and counted.
  EXPECT_EQ(zcard(keys.index_all(0)), 5);
  EXPECT_EQ(zcard(keys.index_workflow(0, "wf")), 5);
  EXPECT_EQ(zcard(keys.index_status(0, "live")), 5);
  EXPECT_EQ(xlen(keys.queue(0, "q")), 4) << "the scheduled run holds no entry";
  EXPECT_EQ(run(st.counters()).at("submitted:wf"), 5);
}

TEST_F(SubmitMany, TheBacklogBoundRefusesOnlyTheRunsPastIt) {
  KeySpace keys{"sf", 1};
  Store st{c, keys, "api"};
  std::vector<SubmitRequest> batch;
  for (int i = 0; i < 5; ++i) {
    batch.push_back(request(i));
    batch.back().max_backlog = 3;
  }
  const std::vector<SubmitOutcome> out = submit(st, batch);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i].state, i < 3 ? State::created : State::backlog_full) << i;
  EXPECT_EQ(out[4].detail, "queue q holds 3 or more entries; try again later");
  EXPECT_EQ(xlen(keys.queue(0, "q")), 3);
  EXPECT_EQ(zcard(keys.index_all(0)), 3);
}

// max_backlog bounds the whole queue: over 4 partitions each stream holds
// its share, 10 / 4 rounded up = 3, so 100 submits leave at most 12
// entries in all (not 4 × 10), and every partition is refused once it
// holds its 3; the refusal names the queue's bound.
TEST_F(SubmitMany, TheBacklogBoundHoldsForTheQueueOverItsPartitions) {
  KeySpace keys{"sf", 4};
  Store st{c, keys, "api"};
  std::vector<SubmitRequest> batch;
  for (int i = 0; i < 100; ++i) {
    batch.push_back(request(i));
    batch.back().max_backlog = 10;
  }
  const std::vector<SubmitOutcome> out = submit(st, batch);
  long long created = 0;
  std::string detail;
  for (const SubmitOutcome& o : out) {
    if (o.state == State::created) ++created;
    else if (o.state == State::backlog_full) detail = o.detail;
    else ADD_FAILURE() << "neither created nor refused for a full backlog";
  }
  long long queued = 0;
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(xlen(keys.queue(p, "q")), 3) << "partition " << p << " holds its share, 3 of 10";
    queued += xlen(keys.queue(p, "q"));
  }
  EXPECT_EQ(created, 12);
  EXPECT_EQ(queued, 12);
  EXPECT_EQ(detail, "queue q is full (max_backlog 10 over 4 partitions: this run's holds 3 or more entries); "
                    "try again later");
}

TEST_F(SubmitMany, ABatchOverSeveralPartitionsAndChunksCreatesEveryRun) {
  KeySpace keys{"sf", 4};
  Store st{c, keys, "api"};
  std::vector<SubmitRequest> batch;
  for (int i = 0; i < 2 * static_cast<int>(kSubmitChunk) + 50; ++i) {
    batch.push_back(request(i, i % 3 == 0 ? "key-" + std::to_string(i) : std::string()));
    if (i % 5 == 0) batch.back().metadata = {{"customer", "acme"}};
  }
  const std::vector<SubmitOutcome> out = submit(st, batch);
  std::set<std::string> ids;
  std::set<int> partitions;
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].state, State::created) << i;
    ids.insert(out[i].run_id);
    partitions.insert(keys.partition_of(out[i].run_id));
    EXPECT_EQ(hget(keys, out[i].run_id, "input"), (Json{{"n", i}}.dump())) << "answers in request order";
  }
  EXPECT_EQ(ids.size(), batch.size());
  EXPECT_EQ(partitions.size(), 4u);
  long long indexed = 0, queued = 0, meta = 0;
  for (int p = 0; p < 4; ++p) {
    indexed += zcard(keys.index_all(p));
    queued += xlen(keys.queue(p, "q"));
    meta += zcard(keys.index_meta(p, "customer", "acme"));
  }
  EXPECT_EQ(indexed, static_cast<long long>(batch.size()));
  EXPECT_EQ(queued, static_cast<long long>(batch.size()));
  EXPECT_EQ(meta, (static_cast<long long>(batch.size()) + 4) / 5);
  EXPECT_EQ(run(st.counters()).at("submitted:wf"), static_cast<long long>(batch.size()));
}

TEST_F(SubmitMany, AnEmptyBatchSendsNothing) {
  KeySpace keys{"sf", 1};
  Store st{c, keys, "api"};
  EXPECT_TRUE(submit(st, {}).empty());
  EXPECT_EQ(zcard(keys.index_all(0)), 0);
}

}  // namespace
}  // namespace steadfast::store
