// A durable wait (the `wait` kind) at its claim. No handler runs: the step
// completes at once when due (output {"until"}), or is parked until then —
// sleep.lua puts it in the timer set and frees its entry, so it holds no
// slot; the promoter queues it again when due, and that claim completes it.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

#include "engine/rfc3339.h"
#include "engine/wait_due.h"
#include "worker/worker_impl.h"

namespace steadfast {

void Worker::Impl::finish_wait(const std::string& key, Inflight& slot, const StepDefinition& step, const Json& input,
                               const std::map<std::string, Json>& outputs) {
  std::optional<std::int64_t> stored;
  if (auto it = slot.run.find("s." + step.name + ".wake_at"); it != slot.run.end() && !it->second.empty()) {
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), ms);
    if (ec == std::errc()) stored = ms;
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
  asio::post(*io_, [this, key, due] {
    engine::HandlerResult parked;
    parked.kind = engine::HandlerResult::Kind::parked;
    parked.wake_at_ms = due;
    feed(key, engine::step_event::HandlerReturned{std::move(parked), 0.0});
  });
}

}  // namespace steadfast
