// Leases: renew.lua every renew interval for every step that may still write
// an outcome (ownership check; brings the runs' cancel flags and carries the
// handlers' latest heartbeats), the limiter slots of admitted steps, and
// self-fencing when renewals keep failing.
#include <spdlog/spdlog.h>

#include "worker/worker_impl.h"

namespace steadfast {

namespace {

// A step's heartbeat goes to Redis at most this often (CONTRACTS.md §4).
constexpr std::chrono::milliseconds kProgressInterval{1000};

}  // namespace

asio::awaitable<void> Worker::Impl::renew_loop() {
  while (!stopping_) {
    co_await worker_detail::sleep_for(renew_interval_);
    std::vector<store::StartItem> items;
    std::vector<std::string> keys;
    // Holders per limiter instance (by its state key).
    std::map<std::string, std::pair<store::LimitRequest, std::vector<std::string>>> holders;
    const auto taken_at = Clock::now();
    for (auto& [key, s] : inflight_) {
      if (!s.machine.renews() || s.item.token.deliveries == 0) continue;
      store::StartItem item = s.item;
      if (s.ctx && taken_at - s.progress_sent_at >= kProgressInterval) {
        item.progress = s.ctx->take_progress();
        if (item.progress) s.progress_sent_at = taken_at;
      }
      items.push_back(std::move(item));
      keys.push_back(key);
      for (const store::LimitRequest& held : s.held_limits) {
        auto& [at, ids] = holders[held.instance.state];
        at = held;
        ids.push_back(s.limit_holder);
      }
    }
    if (items.empty()) continue;
    for (auto& [state_key, held] : holders) {
      try {
        co_await held.first.limiter->renew(held.first.instance, held.second, limiter_hold_);
      } catch (const redis::Error& e) {
        outage("renewing limiter slots").failed(e.what());
      }
    }
    std::vector<store::Store::Renewal> results;
    std::string error;
    try {
      results = co_await store_->renew(items);
    } catch (const redis::Error& e) {
      error = e.what();
    }
    const auto now = Clock::now();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto it = inflight_.find(keys[i]);
      if (it == inflight_.end()) continue;
      if (!error.empty()) {
        // Self-fencing (decided by the step machine): past a full lease
        // without a successful renewal, stop writing for the step — another
        // worker may own it now.
        const engine::StepState before = it->second.machine.state();
        const std::string run_id = it->second.item.run_id;
        const std::string step = it->second.item.step;
        feed(keys[i], engine::step_event::RenewalFailed{
                          std::chrono::duration_cast<milliseconds>(now - it->second.renewed_at),
                          lease_of(it->second)});
        it = inflight_.find(keys[i]);
        if (it == inflight_.end() || it->second.machine.state() != before) {
          spdlog::warn("worker {}: lost the lease of run {} step {} (renewal failing: {})",
                       options_.id, run_id, step, error);
        }
        continue;
      }
      switch (results[i]) {
        case store::Store::Renewal::ok: it->second.renewed_at = now; break;
        case store::Store::Renewal::cancel:
          it->second.renewed_at = now;
          feed(keys[i], engine::step_event::CancelRequested{});
          break;
        case store::Store::Renewal::lost: feed(keys[i], engine::step_event::LeaseLost{}); break;
      }
    }
    if (error.empty()) {
      outage("lease renewal").succeeded();
    } else {
      outage("lease renewal").failed(error);
    }
  }
}

Worker::Impl::milliseconds Worker::Impl::lease_of(const Inflight& s) const {
  if (s.workflow == nullptr) return milliseconds(30000);
  return s.options().lease;
}

}  // namespace steadfast
