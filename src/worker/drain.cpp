// Stopping (SIGTERM, SIGINT, Worker::stop): stop fetching, let running
// handlers finish for the drain timeout, hand back what is left (a new entry
// at once, so another worker takes it), write the last outcomes and
// counters, and drop the registration.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "worker/worker_impl.h"

namespace steadfast {

void Worker::Impl::begin_drain() {
  if (draining_) return;
  draining_ = true;
  blocking_.close();  // ends the blocked XREADGROUP at once
  for (auto& r : partition_readers_) r->client->close();  // and those of each partition (a cluster)
  slot_signal_.cancel();
  std::vector<std::string> keys;
  for (const auto& [key, s] : inflight_) keys.push_back(key);
  // Steps waiting for admission are handed back now; running ones get the drain timeout.
  for (const std::string& key : keys) feed(key, engine::step_event::DrainStarted{});
  // Task steps offered to external workers and not taken yet ran nothing:
  // handed back now, spending no attempt (one taken meanwhile reports through
  // on_offer_resolved).
  for (const std::string& key : keys) {
    auto it = inflight_.find(key);
    if (it == inflight_.end() || !it->second.offered || !options_.tasks) continue;
    if (it->second.machine.state() == engine::StepState::running && options_.tasks->withdraw(key)) {
      feed(key, engine::step_event::NotTaken{milliseconds(1)});
    }
  }
  asio::co_spawn(*io_, drain(), asio::detached);
}

asio::awaitable<void> Worker::Impl::drain() {
  if (!inflight_.empty()) {
    drained_signal_ = std::make_unique<asio::steady_timer>(*io_, options_.drain_timeout);
    co_await drained_signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // Hand back what is still running so another worker takes it at once.
  std::vector<std::string> keys;
  for (const auto& [key, s] : inflight_) keys.push_back(key);
  std::size_t handed_back = 0;
  for (const std::string& key : keys) {
    auto it = inflight_.find(key);
    if (it == inflight_.end()) continue;
    const bool was_running = it->second.machine.state() == engine::StepState::running;
    feed(key, engine::step_event::DrainExpired{});
    if (was_running) ++handed_back;
  }
  if (handed_back > 0) {
    spdlog::info("worker {}: handed back {} running step(s)", options_.id, handed_back);
  }
  for (int i = 0; i < 100 && outbox_busy(); ++i) {
    co_await worker_detail::sleep_for(milliseconds(20));
  }
  co_await flush_counters();
  co_await give_up_promoter_duties();
  stopping_ = true;
  if (registration_) {
    try {
      co_await registration_->release();
    } catch (const std::exception& e) {
      spdlog::warn("worker {}: deregistration failed: {}", options_.id, e.what());
    }
  }
  drained_ = true;
  if (drain_waiter_) drain_waiter_->cancel();
}

asio::awaitable<void> Worker::Impl::drain_done() {
  drain_waiter_ = std::make_unique<asio::steady_timer>(*io_, Clock::time_point::max());
  // Until drain() is done, deregistration included — not just until it set
  // stopping_: main_loop's end stops the event loop, and a signal at start-up
  // can reach drain() before main_loop gets here, so returning on stopping_
  // left the registration in the workers hash for good.
  while (!drained_) co_await drain_waiter_->async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace steadfast
