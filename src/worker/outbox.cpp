// The outbox: transitions decided in the same event-loop turn go to Redis in
// one pipeline (Store::apply) per lane (a cluster's partition), retried
// while Redis refuses them; the step duration histogram, added every
// kCounterFlush.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "worker/worker_impl.h"

namespace steadfast {

using worker_detail::sleep_for;

void Worker::Impl::queue_transition(const std::string& key, store::Transition t) {
  const int lane = reads_per_partition() ? t.token.partition : 0;
  OutboxLane& l = outbox_[lane];
  l.pending.emplace_back(key, std::move(t));
  if (l.flushing) return;
  l.flushing = true;
  asio::co_spawn(*io_, flush(lane), asio::detached);
}

bool Worker::Impl::outbox_busy() const {
  return std::any_of(outbox_.begin(), outbox_.end(),
                     [](const auto& kv) { return kv.second.flushing || !kv.second.pending.empty(); });
}

asio::awaitable<void> Worker::Impl::flush(int lane) {
  milliseconds backoff{50};
  // (outbox_ is a map: the lane's reference stays valid while others are added)
  OutboxLane& l = outbox_[lane];
  while (!l.pending.empty()) {
    auto batch = std::move(l.pending);
    l.pending.clear();
    // Only a step waiting for its outcome's write has one queued; the check
    // keeps a forgotten step's outcome out should that ever change.
    std::erase_if(batch, [this](const auto& kv) {
      auto it = inflight_.find(kv.first);
      return it == inflight_.end() || !it->second.machine.writable();
    });
    if (batch.empty()) break;
    std::vector<store::Transition> ts;
    ts.reserve(batch.size());
    for (auto& kv : batch) ts.push_back(kv.second);
    std::vector<store::Applied> results;
    bool written = true;
    try {
      results = co_await store_->apply(ts, options_.retention);
      outage("writing outcomes").succeeded();
    } catch (const std::exception& e) {
      // Not written (Redis away, or refusing writes while demoted): keep the
      // outcomes and try again while we hold the leases.
      outage("writing outcomes").failed(e.what());
      for (auto& kv : batch) l.pending.push_back(std::move(kv));
      written = false;
    }
    if (!written) {
      co_await sleep_for(backoff);
      backoff = std::min(backoff * 2, milliseconds(1000));
      continue;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const store::Transition& t = batch[i].second;
      if (results[i] == store::Applied::ok) {
        count_applied(t);
        log_outcome(batch[i].first, t);
        // (the key built only where it is used: a cluster's partitioned reads)
        if (t.action == engine::Action::advance && reads_per_partition()) {
          note_work_waits(keys_.queue(t.token.partition, t.next_queue));
        }
      }
      const bool stale = results[i] == store::Applied::stale;
      if (stale) {
        spdlog::warn("worker {}: outcome of run {} step {} refused: stale lease", options_.id,
                     t.run_id, t.step);
      }
      feed(batch[i].first, engine::step_event::Applied{stale});
    }
  }
  l.flushing = false;
}

// Step durations are counted here and added to Redis by counters_loop()
// in one pipeline every kCounterFlush: a histogram for /metrics, not
// state, so it stays out of the per-step script (a SIGKILLed worker loses
// at most kCounterFlush of it; run states and run counters are exact).
void Worker::Impl::count_applied(const store::Transition& t) {
  if (t.action != engine::Action::advance && t.action != engine::Action::complete_run) return;
  auto& c = counters_[t.token.partition];
  const std::string label = t.workflow + ":" + t.step;
  ++c["step_ms:" + label + ":" + store::duration_bucket(t.duration)];
  c["step_ms_sum:" + label] += t.duration.count();
}

asio::awaitable<void> Worker::Impl::flush_counters() {
  auto pending = std::move(counters_);
  counters_.clear();
  for (auto& [partition, deltas] : pending) {
    try {
      co_await store_->add_counters(partition, deltas);
      outage("adding counters").succeeded();
    } catch (const redis::Error& e) {
      outage("adding counters").failed(e.what());
      for (const auto& [field, n] : deltas) counters_[partition][field] += n;
    }
  }
}

asio::awaitable<void> Worker::Impl::counters_loop() {
  while (!stopping_) {
    co_await sleep_for(kCounterFlush);
    if (!counters_.empty()) co_await flush_counters();
  }
}

}  // namespace steadfast
