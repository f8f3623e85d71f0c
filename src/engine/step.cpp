#include "steadfast/step.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <utility>

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

void StepContext::heartbeat(std::optional<double> progress, std::string message) {
  if (progress) {
    progress = std::isnan(*progress) ? std::nullopt : std::optional(std::clamp(*progress, 0.0, 1.0));
  }
  if (message.size() > kMaxProgressMessageBytes) {
    std::size_t cut = kMaxProgressMessageBytes;
    // Back over UTF-8 continuation bytes so a character is never split.
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message.resize(cut);
  }
  std::lock_guard lock(progress_mu_);
  progress_ = StepProgress{progress, std::move(message)};
}

std::optional<StepProgress> StepContext::take_progress() {
  std::lock_guard lock(progress_mu_);
  return std::exchange(progress_, std::nullopt);
}

void StepContext::log(std::string_view message) const {
  spdlog::info("run={} workflow={} step={} attempt={}: {}", run_id_, workflow_, step_, attempt_,
               message);
}

std::optional<std::string> StepContext::callback_url(std::string_view wait_step) const {
  if (!callback_maker_) return std::nullopt;
  return callback_maker_(run_id_, wait_step);
}

}  // namespace steadfast
