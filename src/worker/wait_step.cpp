// A durable wait (the `wait` kind) at its claim. No handler runs: the step
// completes at once when due (output {"until"}), or is parked until then —
// sleep.lua puts it in the timer set and frees its entry, so it holds no
// slot; the promoter queues it again when due, and that claim completes it.
// A signal wait completes with a kept signal of its name (the run hash's
// sig.<name>, which the completion deletes), fails or continues once its
// timeout has passed, and is parked on its name otherwise: signal.lua queues
// it again when the signal comes.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

#include "engine/duration.h"
#include "engine/rfc3339.h"
#include "engine/wait_due.h"
#include "worker/worker_impl.h"

namespace steadfast {

namespace {

// The due time an earlier claim parked the step with (s.<step>.wake_at).
std::optional<std::int64_t> stored_due(const store::Fields& run, const std::string& step) {
  auto it = run.find("s." + step + ".wake_at");
  if (it == run.end() || it->second.empty()) return std::nullopt;
  std::int64_t ms = 0;
  const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), ms);
  if (ec != std::errc() || ms <= 0) return std::nullopt;
  return ms;
}

}  // namespace

void Worker::Impl::finish_wait(const std::string& key, Inflight& slot, const StepDefinition& step, const Json& input,
                               const std::map<std::string, Json>& outputs) {
  const std::optional<std::int64_t> stored = stored_due(slot.run, step.name);
  if (!step.wait->signal.empty()) {
    finish_signal_wait(key, slot, step, stored);
    return;
  }
  slot.run.clear();
  slot.started_at = Clock::now();
  std::int64_t due = 0;
  try {
    due = engine::wait_due_ms(*step.wait, input, outputs, stored, slot.claimed_at_ms);
  } catch (const engine::WaitDueError& e) {
    bump(&WorkerStats::started);
    asio::post(*io_, [this, key, error = std::string(e.what())] { on_finished(key, StepError::fatal(error)); });
    return;
  }
  if (due <= slot.claimed_at_ms) {
    bump(&WorkerStats::started);  // an attempt that ends at once; a parked wait is none
    asio::post(*io_, [this, key, due] { on_finished(key, StepResult(Json{{"until", engine::rfc3339_ms(due)}})); });
    return;
  }
  spdlog::info("worker {}: run {} step {} waits until {}", options_.id, slot.item.run_id, step.name,
               engine::rfc3339_ms(due));
  park(key, due);
}

void Worker::Impl::finish_signal_wait(const std::string& key, Inflight& slot, const StepDefinition& step,
                                      std::optional<std::int64_t> stored) {
  const WaitSpec& wait = *step.wait;
  auto kept = slot.run.find("sig." + wait.signal);
  const bool has_signal = kept != slot.run.end();
  std::string payload = has_signal ? std::move(kept->second) : std::string();
  slot.run.clear();
  slot.started_at = Clock::now();
  if (has_signal) {
    bump(&WorkerStats::started);
    slot.signal = wait.signal;  // complete.lua deletes the kept signal with this completion
    Json body = Json::parse(payload, nullptr, false);
    if (body.is_discarded()) body = Json(payload);  // written by signal.lua as JSON: never expected
    spdlog::info("worker {}: run {} step {} took signal {}", options_.id, slot.item.run_id, step.name, wait.signal);
    asio::post(*io_, [this, key, body = std::move(body)] { on_finished(key, StepResult(body)); });
    return;
  }
  // The timeout counts from the first claim: a later claim keeps its due time.
  const std::int64_t due =
      stored ? *stored : (wait.timeout.count() > 0 ? slot.claimed_at_ms + wait.timeout.count() : std::int64_t{0});
  if (due > 0 && due <= slot.claimed_at_ms) {
    bump(&WorkerStats::started);
    spdlog::info("worker {}: run {} step {}: no signal {} before its timeout", options_.id, slot.item.run_id,
                 step.name, wait.signal);
    if (wait.on_timeout == OnTimeout::continue_) {
      asio::post(*io_, [this, key] { on_finished(key, StepResult(Json(nullptr))); });
    } else {
      const std::string error = "timed out: no signal '" + wait.signal + "' came within " +
                                engine::format_duration(wait.timeout);
      asio::post(*io_, [this, key, error] { on_finished(key, StepError::fatal(error)); });
    }
    return;
  }
  slot.signal = wait.signal;
  spdlog::info("worker {}: run {} step {} waits for signal {}{}", options_.id, slot.item.run_id, step.name,
               wait.signal, due > 0 ? " until " + engine::rfc3339_ms(due) : std::string());
  park(key, due);
}

void Worker::Impl::park(const std::string& key, std::int64_t due) {
  asio::post(*io_, [this, key, due] {
    engine::HandlerResult parked;
    parked.kind = engine::HandlerResult::Kind::parked;
    parked.wake_at_ms = due;
    feed(key, engine::step_event::HandlerReturned{std::move(parked), 0.0});
  });
}

}  // namespace steadfast
