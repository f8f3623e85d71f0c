#include "store/submit_many.h"

#include <map>
#include <stdexcept>
#include <tuple>

#include "redis/checked.h"
#include "redis/error.h"
#include "redis/pipeline.h"
#include "redis/script.h"
#include "store/run_id.h"
#include "store/run_index.h"
#include "store/scripts.h"

namespace steadfast::store {

namespace asio = boost::asio;

namespace {

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

using redis::checked;

// What an idempotent repeat must match: the request (input, metadata, start
// time). Runs submitted before metadata and start times existed keep their
// fingerprint's form.
std::string fingerprint(const std::string& input, const SubmitRequest& req) {
  std::string text = req.metadata.empty() ? input : input + '\n' + Json(req.metadata).dump();
  if (req.start.deferred()) text += '\n' + req.start.fingerprint();
  if (req.priority != kDefaultPriority) text += "\npriority " + std::to_string(req.priority);
  return redis::sha1_hex(text);
}

// A run id in the request's partition: the idempotency key's when it has one
// (the key and the run share a slot: one script), else wherever it falls —
// but on a cluster, not on a primary known to be down (failing over): a
// few more draws find a partition of a live one, so submits without an
// idempotency key go on being accepted during a failover. (A key's
// partition is fixed: its submit waits for the promotion, or times out.)
std::pair<std::string, int> place(const redis::Client& redis, const KeySpace& keys, const SubmitRequest& req) {
  std::string run_id = new_run_id();
  if (req.idempotency_key.empty()) {
    int partition = keys.partition_of(run_id);
    for (int draw = 0; draw < 4 * keys.partitions() && redis.key_unreachable(keys.partition_base(partition));
         ++draw) {
      run_id = new_run_id();
      partition = keys.partition_of(run_id);
    }
    return {run_id, partition};
  }
  const int partition = keys.idempotency_partition(req.workflow, req.idempotency_key);
  while (keys.partition_of(run_id) != partition) run_id = new_run_id();
  return {run_id, partition};
}

// The requests one script call may take together: same partition and the
// same shared arguments (workflow, first step and queue, backlog bound, steps,
// idempotency lifetime).
using CallKey = std::tuple<int, std::string, std::string, std::int64_t, std::int64_t, std::int64_t>;

struct Call {
  std::vector<std::string> keys;
  std::vector<std::string> args;
  std::vector<std::size_t> requests;  // indexes into the batch, in script order
};

// A queue's max_backlog is the bound of the whole queue; with P partitions
// each of its streams (and ordered backlogs) holds its share, rounded up, so
// the queue as a whole is refused at about max_backlog entries, not P times
// that (a submit cannot count another partition's stream atomically: it may
// live on another node). 0 = no bound.
std::int64_t partition_bound(std::int64_t max_backlog, int partitions) {
  if (max_backlog <= 0 || partitions <= 1) return max_backlog;
  return (max_backlog + partitions - 1) / partitions;
}

// The detail of a refusal for a full backlog, by the queue's bound.
std::string backlog_detail(const SubmitRequest& req, int partitions) {
  if (partitions <= 1) {
    return "queue " + req.first_queue + " holds " + std::to_string(req.max_backlog) +
           " or more entries; try again later";
  }
  return "queue " + req.first_queue + " is full (max_backlog " + std::to_string(req.max_backlog) + " over " +
         std::to_string(partitions) + " partitions: this run's holds " +
         std::to_string(partition_bound(req.max_backlog, partitions)) + " or more entries); try again later";
}

Call start_call(const KeySpace& keys, int partition, const SubmitRequest& req) {
  Call c;
  c.keys = {keys.queue(partition, req.first_queue), keys.stats(partition), keys.timers(partition),
            keys.index_all(partition), keys.index_workflow(partition, req.workflow),
            keys.index_status(partition, "live"), keys.deadlines(partition)};
  c.args = {req.workflow,
            req.steps.front(),
            req.first_queue,
            ms(req.idempotency_ttl),
            std::to_string(partition_bound(req.max_backlog, keys.partitions())),
            Json(req.steps).dump(),
            ms(engine::kMaxScheduleAhead),
            ms(engine::kRunAtPastGrace),
            ms(req.deadline),
            req.graph};
  return c;
}

void add_run(const KeySpace& keys, int partition, const std::string& run_id, const SubmitRequest& req,
             Call& c) {
  const std::string input = req.input.dump();
  c.keys.push_back(keys.run(run_id));
  c.keys.push_back(req.idempotency_key.empty() ? keys.run(run_id)
                                               : keys.idempotency(req.workflow, req.idempotency_key));
  for (const auto& [k, v] : req.metadata) c.keys.push_back(keys.index_meta(partition, k, v));
  c.args.insert(c.args.end(), {run_id, input, fingerprint(input, req),
                               req.metadata.empty() ? std::string() : Json(req.metadata).dump(),
                               req.idempotency_key.empty() ? "0" : "1", std::to_string(req.metadata.size()),
                               ms(req.start.delay), std::to_string(req.start.run_at_ms), req.sched});
}

SubmitOutcome outcome_of(const redis::Reply& r, const std::string& run_id) {
  SubmitOutcome o;
  switch (r[0].as_integer()) {
    case 1:
      o.state = SubmitOutcome::State::created;
      o.run_id = std::string(r[1].str());
      o.run_at_ms = r[2].as_integer();
      return o;
    case 0: o.state = SubmitOutcome::State::repeated; break;
    case 2: o.state = SubmitOutcome::State::conflict; break;
    case 3: o.state = SubmitOutcome::State::backlog_full; break;
    case 4: o.state = SubmitOutcome::State::run_at_out_of_range; break;
    default:  // 5: a fresh ULID already taken: never in practice; say so rather than retry blindly
      throw std::runtime_error("run " + run_id + " already exists");
  }
  if (o.state == SubmitOutcome::State::repeated || o.state == SubmitOutcome::State::conflict) {
    o.run_id = std::string(r[1].str());
  } else {
    const std::string_view text = r[1].str();
    o.detail = std::string(text.substr(text.find(' ') + 1));  // past "BACKLOG " / "RUN_AT "
  }
  return o;
}

}  // namespace

asio::awaitable<std::vector<SubmitOutcome>> submit_many(Store& store, std::span<const SubmitRequest> requests) {
  const KeySpace& keys = store.keys();
  std::vector<std::string> run_ids(requests.size());
  std::map<CallKey, std::vector<Call>> calls;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const SubmitRequest& req = requests[i];
    if (req.steps.empty()) throw std::invalid_argument("workflow '" + req.workflow + "' has no steps");
    auto [run_id, partition] = place(store.client(), keys, req);
    std::vector<Call>& chunks = calls[CallKey{partition, req.workflow, req.first_queue, req.max_backlog,
                                              req.idempotency_ttl.count(), req.deadline.count()}];
    if (chunks.empty() || chunks.back().requests.size() >= kSubmitChunk) {
      chunks.push_back(start_call(keys, partition, req));
    }
    add_run(keys, partition, run_id, req, chunks.back());
    chunks.back().requests.push_back(i);
    run_ids[i] = std::move(run_id);
  }
  redis::Pipeline p;
  std::vector<const Call*> order;
  for (const auto& [key, chunks] : calls) {
    for (const Call& c : chunks) {
      p.add_eval(scripts::submit(), c.keys, c.args);
      order.push_back(&c);
    }
  }
  std::vector<SubmitOutcome> out(requests.size());
  if (order.empty()) co_return out;
  const ReplicaWait& wait = store.replica_wait();
  redis::CommandOptions options;
  if (wait.replicas > 0) {
    // Redis 7.0 takes WAIT's offset from the connection's latest command,
    // written or not: a batch of repeats (the scripts wrote nothing) waits
    // for the runs another connection wrote too (ReplicaWait.* checks it).
    p.add("WAIT", wait.replicas, wait.timeout.count());
    // WAIT holds its reply up to its timeout: the command timeout must not cut it short.
    options.timeout = wait.timeout + std::chrono::seconds(5);
  }
  const std::vector<redis::Reply> replies = co_await store.client().exec(std::move(p), options);
  for (std::size_t c = 0; c < order.size(); ++c) {
    const redis::Reply& r = checked(replies.at(c));
    for (std::size_t j = 0; j < order[c]->requests.size(); ++j) {
      const std::size_t i = order[c]->requests[j];
      out[i] = outcome_of(r[j], run_ids[i]);
      if (out[i].state == SubmitOutcome::State::backlog_full) out[i].detail = backlog_detail(requests[i], keys.partitions());
    }
  }
  if (wait.replicas > 0) {
    const long long acked = checked(replies.at(order.size())).as_integer();
    if (acked < wait.replicas) throw NotReplicated(std::move(out), static_cast<int>(acked), wait.replicas);
  }
  co_return out;
}

}  // namespace steadfast::store
