// The store tier's fixture: runs put in precise states without worker processes
// (Store::submit, then XREADGROUP, XCLAIM, XACK, DEL, HSET by hand), raw script
// calls for exact replies, and snapshots of every key a script may write,
// compared byte for byte (DUMP; a hash-table hash by its sorted fields; and
// PEXPIRETIME) after a call that must refuse.
//
// Runs against the test binary's redis-server, or a one-node Redis Cluster with
// STEADFAST_TEST_CLUSTER=1 (test::RedisTest): there a script whose keys hash to
// different slots fails with Redis' error. No sleeps: idle times are set with
// XCLAIM ... IDLE and due times written directly.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "redis/pipeline.h"
#include "store/keys.h"
#include "store/run_view.h"
#include "store/scripts.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast::store::testing {

using redis::Reply;

// Builders for exact expected replies (a Lua string is a bulk string).
inline Reply S(std::string s) { return Reply::make_string(std::move(s)); }
inline Reply I(long long v) { return Reply::make_integer(v); }
inline Reply A(std::vector<Reply> e = {}) { return Reply::make_array(std::move(e)); }

// Every key a run's transitions may write, frozen: its bytes (StoreTest::frozen;
// nullopt = no key) and PEXPIRETIME (absolute, so it does not drift as PTTL would).
struct Snapshot {
  std::map<std::string, std::optional<std::string>> dumps;
  std::map<std::string, long long> expire_at;
};

// The ways a claimed token goes stale under its holder (w1).
enum class Staleness {
  moved,        // the entry moved to another consumer, its delivery count kept
  redelivered,  // delivered again to the same consumer: count + 1
  acked,        // acknowledged: no longer pending
};

class StoreTest : public test::RedisTest {
 protected:
  static constexpr int kPartition = 0;  // one partition: every run's keys share {0}

  void SetUp() override {
    RedisTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    keys_ = KeySpace(std::string("t.") + info->test_suite_name() + "." + info->name(), 1);
    client_ = &make_client();
    w1_ = std::make_unique<Store>(*client_, keys_, "w1");
    w2_ = std::make_unique<Store>(*client_, keys_, "w2");
    run(w1_->ensure_group(kPartition, "q"));
    run(w1_->ensure_group(kPartition, "q2"));
  }

  [[nodiscard]] std::string stream(const std::string& queue = "q") const {
    return keys_.queue(kPartition, queue);
  }
  [[nodiscard]] std::string run_key(const std::string& run_id) const { return keys_.run(run_id); }

  // One command; an error reply is returned, not thrown.
  Reply cmd(const std::vector<std::string>& argv) {
    redis::Pipeline p;
    p.add_argv(std::span<const std::string>(argv));
    return run(client_->exec(std::move(p))).at(0);
  }
  // One script call with its exact reply; an error reply is returned, not thrown.
  Reply eval(const redis::Script& script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args) {
    redis::Pipeline p;
    p.add_eval(script, std::span<const std::string>(keys), std::span<const std::string>(args));
    return run(client_->exec(std::move(p))).at(0);
  }

  // A run of workflow "wf" (steps a on queue q, then b on q2), its first token queued.
  std::string submit(const std::string& idempotency_key = {}, const engine::RunMetadata& metadata = {}) {
    SubmitRequest r;
    r.metadata = metadata;
    r.workflow = "wf";
    r.input = Json{{"n", 1}};
    r.steps = {"a", "b"};
    r.first_queue = "q";
    r.idempotency_key = idempotency_key;
    return run(w1_->submit(r)).run_id;
  }

  // XREADGROUP ... > as `consumer`: the next undelivered entries of the stream,
  // as fresh tokens (deliveries 1), oldest first.
  std::vector<StartItem> claim_n(int n, const std::string& consumer = "w1",
                                 const std::string& queue = "q") {
    const Reply r = cmd({"XREADGROUP", "GROUP", std::string(kGroup), consumer, "COUNT",
                         std::to_string(n), "STREAMS", stream(queue), ">"});
    std::vector<StartItem> out;
    if (r.is_nil()) return out;
    for (const Reply& e : r[0][1].elements()) {
      StartItem it;
      it.token = Token{kPartition, queue, std::string(e[0].str()), 1};
      const Reply& f = e[1];
      for (std::size_t k = 0; k + 1 < f.size(); k += 2) {
        if (f[k].str() == "r") it.run_id = std::string(f[k + 1].str());
        if (f[k].str() == "s") it.step = std::string(f[k + 1].str());
        if (f[k].str() == "b") it.ticket = std::string(f[k + 1].str());
      }
      out.push_back(std::move(it));
    }
    return out;
  }
  StartItem claim(const std::string& consumer = "w1", const std::string& queue = "q") {
    auto items = claim_n(1, consumer, queue);
    if (items.size() != 1) throw std::runtime_error("nothing to claim in " + stream(queue));
    return items.front();
  }
  // A run submitted and its first step claimed by w1 (fresh token) and started.
  StartItem running_run(const engine::RunMetadata& metadata = {}) {
    submit({}, metadata);
    StartItem it = claim();
    const auto started = run(w1_->start(kPartition, "q", {it}));
    if (started.at(0).state != Started::State::ok)
      throw std::runtime_error("start refused a fresh token");
    return it;
  }

  // --- ways a token goes stale, and runs change under it ---
  // The entry moves to `consumer` with its delivery count kept (XCLAIM ... JUSTID).
  void move_to(const StartItem& it, const std::string& consumer) {
    expect_ok(cmd({"XCLAIM", stream(it.token.queue), std::string(kGroup), consumer, "0",
                   it.token.entry_id, "JUSTID"}));
  }
  // The entry is delivered again to `consumer` (XCLAIM without JUSTID: count + 1).
  void redeliver(const StartItem& it, const std::string& consumer = "w1") {
    expect_ok(cmd(
        {"XCLAIM", stream(it.token.queue), std::string(kGroup), consumer, "0", it.token.entry_id}));
  }
  void ack(const StartItem& it) {
    expect_ok(cmd({"XACK", stream(it.token.queue), std::string(kGroup), it.token.entry_id}));
  }
  // The entry's idle time becomes `idle_ms`, owner and count kept.
  void set_idle(const StartItem& it, const std::string& owner, long long idle_ms) {
    expect_ok(cmd({"XCLAIM", stream(it.token.queue), std::string(kGroup), owner, "0",
                   it.token.entry_id, "IDLE", std::to_string(idle_ms), "JUSTID"}));
  }
  void set_field(const std::string& run_id, const std::string& field, const std::string& value) {
    expect_ok(cmd({"HSET", run_key(run_id), field, value}));
  }
  void delete_run(const std::string& run_id) { expect_ok(cmd({"DEL", run_key(run_id)})); }

  // --- reading state ---
  Fields hash(const std::string& run_id) { return to_fields(cmd({"HGETALL", run_key(run_id)})); }
  Reply hgetall(const std::string& run_id) { return cmd({"HGETALL", run_key(run_id)}); }
  std::string field(const std::string& run_id, const std::string& f) {
    const Reply r = cmd({"HGET", run_key(run_id), f});
    return r.is_nil() ? "<nil>" : std::string(r.str());
  }
  bool exists(const std::string& key) { return cmd({"EXISTS", key}).as_integer() == 1; }
  // XPENDING of one entry: {consumer, deliveries}, or nullopt when not pending.
  std::optional<std::pair<std::string, long long>> pending(const StartItem& it) {
    const Reply r = cmd({"XPENDING", stream(it.token.queue), std::string(kGroup), it.token.entry_id,
                         it.token.entry_id, "1"});
    if (r.size() == 0) return std::nullopt;
    return std::pair{std::string(r[0][1].str()), r[0][3].as_integer()};
  }
  long long idle_ms(const StartItem& it) {
    const Reply r = cmd({"XPENDING", stream(it.token.queue), std::string(kGroup), it.token.entry_id,
                         it.token.entry_id, "1"});
    return r.size() == 0 ? -1 : r[0][2].as_integer();
  }
  // The entry ids in a stream (XRANGE - +), oldest first.
  std::vector<std::string> entries(const std::string& queue = "q") {
    std::vector<std::string> out;
    const Reply r = cmd({"XRANGE", stream(queue), "-", "+"});
    for (const Reply& e : r.elements()) out.emplace_back(e[0].str());
    return out;
  }
  // The fields of one stream entry of a stream key ({} if absent).
  Fields entry(const std::string& stream_key, const std::string& id) {
    const Reply r = cmd({"XRANGE", stream_key, id, id});
    if (r.size() == 0) return {};
    return to_fields(r[0][1]);
  }
  long long redis_now_ms() {
    const Reply t = cmd({"TIME"});
    return std::stoll(std::string(t[0].str())) * 1000 + std::stoll(std::string(t[1].str())) / 1000;
  }

  // --- snapshots ---
  // The runs' hashes plus every partition key a transition writes: both queue
  // streams (entries, groups, PEL with delivery counts and times), the delayed
  // set, the dead-letter stream and the stats hash.
  // partition_keys false: the run hashes only (a batch's other items write the rest).
  Snapshot snapshot(const std::vector<std::string>& run_ids, bool partition_keys = true) {
    std::vector<std::string> ks;
    if (partition_keys) {
      ks = {stream("q"), stream("q2"), keys_.timers(kPartition), keys_.dlq(kPartition),
            keys_.stats(kPartition)};
    }
    for (const std::string& id : run_ids) ks.push_back(run_key(id));
    return snapshot_of(ks);
  }
  Snapshot snapshot_of(const std::vector<std::string>& ks) {
    Snapshot s;
    for (const std::string& k : ks) {
      s.dumps[k] = frozen(k);
      s.expire_at[k] = cmd({"PEXPIRETIME", k}).as_integer();
    }
    return s;
  }
  // The key's value, byte for byte: DUMP, except for a hash in a hash table
  // (fields over 64 bytes), whose DUMP follows the table's order, which an
  // incremental rehash changes on a mere read: its fields sorted, then.
  std::optional<std::string> frozen(const std::string& k) {
    const Reply d = cmd({"DUMP", k});
    if (d.is_nil()) return std::nullopt;
    if (cmd({"OBJECT", "ENCODING", k}).str() != "hashtable") return std::string(d.str());
    const Reply all = cmd({"HGETALL", k});
    std::map<std::string, std::string> sorted;
    for (std::size_t i = 0; i + 1 < all.size(); i += 2)
      sorted[std::string(all[i].str())] = all[i + 1].str();
    std::string out = "hashtable:";
    for (const auto& [f, v] : sorted) {
      out += std::to_string(f.size()) + ":" + f + "=" + std::to_string(v.size()) + ":" + v + ";";
    }
    return out;
  }
  // Fails the test naming every key whose bytes or expiry differ from `before`.
  void expect_unchanged(const Snapshot& before, const std::string& what) {
    Snapshot now;
    for (const auto& [k, d] : before.dumps) {
      now.dumps[k] = frozen(k);
      now.expire_at[k] = cmd({"PEXPIRETIME", k}).as_integer();
      EXPECT_EQ(now.dumps[k].has_value(), d.has_value())
          << what << ": key " << k << (d ? " was deleted" : " was created");
      if (d && now.dumps[k]) {
        EXPECT_TRUE(*d == *now.dumps[k]) << what << ": key " << k << " was written";
      }
      EXPECT_EQ(now.expire_at[k], before.expire_at.at(k))
          << what << ": the expiry of " << k << " changed";
    }
  }

  void make_stale(const StartItem& it, Staleness how) {
    switch (how) {
      case Staleness::moved:
        move_to(it, "w2");
        break;
      case Staleness::redelivered:
        redeliver(it, "w1");
        break;
      case Staleness::acked:
        ack(it);
        break;
    }
  }

  static void expect_ok(const Reply& r) {
    if (r.is_error()) ADD_FAILURE() << "setup command failed: " << r.str();
  }

  // A transition of `it` (w1's token) with the fields its script needs.
  Transition transition(const StartItem& it, engine::Action action) {
    Transition t;
    t.token = it.token;
    t.run_id = it.run_id;
    t.step = it.step;
    t.action = action;
    t.attempts = 1;
    t.workflow = "wf";
    if (action == engine::Action::advance) {
      t.output = R"({"out":1})";
      t.next_step = "b";
      t.next_queue = "q2";
    } else if (action == engine::Action::complete_run) {
      t.output = R"({"out":2})";
    } else if (action == engine::Action::retry_later) {
      t.delay = std::chrono::milliseconds(60000);
      t.error = "boom";
    } else if (action == engine::Action::dead_letter) {
      t.error = "fatal";
    }
    return t;
  }
  // One transition through its script, raw, as `consumer`, with the arguments
  // of the script's header comment (retention 1 h): the exact reply.
  Reply apply_raw(const Transition& t, const std::string& consumer = "w1") {
    const std::string s = stream(t.token.queue);
    const std::string g(kGroup);
    const std::string d = std::to_string(t.token.deliveries);
    const std::string attempts = std::to_string(t.attempts);
    switch (t.action) {
      case engine::Action::advance:
      case engine::Action::complete_run: {
        const bool last = t.action == engine::Action::complete_run;
        return eval(
            scripts::complete(),
            {s, keys_.stats(kPartition), keys_.retention(kPartition), keys_.index_status(kPartition, "live"),
             keys_.index_status(kPartition, "cancelled"), keys_.dlq(kPartition),
             keys_.index_status(kPartition, "failed"), keys_.timers(kPartition), run_key(t.run_id),
             last ? s : stream(t.next_queue)},
            {g, consumer, "3600000", t.token.entry_id, d, t.run_id, t.step, t.output, attempts,
             last ? "" : t.next_step, last ? "" : t.next_queue, t.workflow, t.signal,
             t.skipped ? "skipped" : t.failed ? "failed" : "", t.failed ? t.error : ""});
      }
      case engine::Action::retry_later:
      case engine::Action::release: {
        const bool release = t.action == engine::Action::release;
        return eval(scripts::retry(),
                    {s, keys_.timers(kPartition), keys_.stats(kPartition), run_key(t.run_id)},
                    {g, consumer, t.token.entry_id, d, t.run_id, t.step, attempts,
                     std::to_string(t.delay.count()), release ? "" : t.error,
                     std::to_string(t.rate_limited), std::to_string(t.waited.count()),
                     t.unhandled ? "1" : "0", t.no_worker_queue,
                     t.parked_limiter.empty() ? "" : t.parked_limiter + "\t" + t.parked_key});
      }
      case engine::Action::dead_letter:
        return eval(scripts::dead_letter(),
                    {s, keys_.dlq(kPartition), keys_.stats(kPartition), keys_.index_status(kPartition, "live"),
                     keys_.index_status(kPartition, "failed"), keys_.timers(kPartition), run_key(t.run_id)},
                    {g, consumer, t.token.entry_id, d, t.run_id, t.step, attempts, t.error});
      case engine::Action::cancel_run:
      case engine::Action::discard:
        return eval(scripts::drop(),
                    {s, keys_.retention(kPartition), keys_.index_status(kPartition, "live"),
                     keys_.index_status(kPartition, "cancelled"), keys_.timers(kPartition), run_key(t.run_id)},
                    {g, consumer, "3600000", t.token.entry_id, d, t.step,
                     t.action == engine::Action::cancel_run ? "cancel" : "discard", t.run_id});
      case engine::Action::sleep:
        return eval(scripts::sleep(),
                    {s, keys_.timers(kPartition), keys_.index_status(kPartition, "live"),
                     keys_.index_status(kPartition, "cancelled"), keys_.retention(kPartition), run_key(t.run_id)},
                    {g, consumer, "3600000", t.token.entry_id, d, t.run_id, t.step, attempts,
                     std::to_string(t.wake_at_ms), t.signal});
      case engine::Action::execute:
      case engine::Action::abandon:
        break;
    }
    throw std::invalid_argument("no script applies " + std::string(engine::to_string(t.action)));
  }

  std::vector<Applied> apply(const std::vector<Transition>& batch, Store* by = nullptr,
                             std::chrono::milliseconds retention = std::chrono::hours(1)) {
    return run((by ? *by : *w1_).apply(batch, retention));
  }
  // A run of "wf" whose first step failed for good: in the dead-letter queue.
  std::string dead_run(const engine::RunMetadata& metadata = {}) {
    const StartItem it = running_run(metadata);
    EXPECT_EQ(apply({transition(it, engine::Action::dead_letter)}), std::vector<Applied>{Applied::ok});
    return it.run_id;
  }

  KeySpace keys_;
  redis::Client* client_ = nullptr;
  std::unique_ptr<Store> w1_;  // the store of worker "w1"
  std::unique_ptr<Store> w2_;  // the store of worker "w2"
};

inline void PrintTo(Staleness s, std::ostream* os) {
  *os << (s == Staleness::moved ? "moved" : s == Staleness::redelivered ? "redelivered" : "acked");
}

// A StoreTest run once per way a token goes stale.
class StaleTokenTest : public StoreTest, public ::testing::WithParamInterface<Staleness> {};

inline std::string staleness_name(const ::testing::TestParamInfo<Staleness>& info) {
  switch (info.param) {
    case Staleness::moved:
      return "MovedToAnotherConsumer";
    case Staleness::redelivered:
      return "DeliveredAgain";
    case Staleness::acked:
      return "Acked";
  }
  return "unknown";
}

#define STEADFAST_STALENESS_VALUES \
  ::testing::Values(Staleness::moved, Staleness::redelivered, Staleness::acked)

}  // namespace steadfast::store::testing

namespace steadfast::store {
// Readable failures of EXPECT_EQ on the Store's replies.
inline std::ostream& operator<<(std::ostream& os, Applied a) {
  return os << (a == Applied::ok ? "ok" : a == Applied::stale ? "stale" : "discarded");
}
inline std::ostream& operator<<(std::ostream& os, Started::State s) {
  return os << (s == Started::State::ok ? "ok" : s == Started::State::lost ? "lost" : "missing");
}
inline std::ostream& operator<<(std::ostream& os, Store::Renewal r) {
  return os << (r == Store::Renewal::ok ? "ok" : r == Store::Renewal::cancel ? "cancel" : "lost");
}
}  // namespace steadfast::store
