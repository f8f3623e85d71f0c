#include "steadfast/step.h"

#include <spdlog/spdlog.h>

namespace steadfast {

bool StepContext::wait_cancelled_for(std::chrono::milliseconds d) const {
  std::unique_lock lock(cancel_mu_);
  return cancel_cv_.wait_for(lock, d, [this] { return cancelled(); });
}

void StepContext::request_cancel() noexcept {
  {
    // Under the lock, so a waiter between its check and its wait cannot miss it.
    std::lock_guard lock(cancel_mu_);
    cancelled_.store(true, std::memory_order_relaxed);
  }
  cancel_cv_.notify_all();
}

void StepContext::heartbeat(Json progress) {
  if (heartbeat_sink_) heartbeat_sink_(std::move(progress));
}

void StepContext::log(std::string_view message) const {
  spdlog::info("run={} workflow={} step={} attempt={}: {}", run_id_, workflow_, step_, attempt_,
               message);
}

}  // namespace steadfast
