#include "engine/status.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "engine/rfc3339.h"

namespace steadfast::engine {
namespace {

constexpr std::array<std::pair<StepStatus, std::string_view>, 9> kStepStatusNames{{
    {StepStatus::pending, "pending"},
    {StepStatus::queued, "queued"},
    {StepStatus::running, "running"},
    {StepStatus::waiting, "waiting"},
    {StepStatus::retrying, "retrying"},
    {StepStatus::completed, "completed"},
    {StepStatus::skipped, "skipped"},
    {StepStatus::failed, "failed"},
    {StepStatus::cancelled, "cancelled"},
}};

bool any_is(std::span<const StepStatus> nodes, StepStatus status) {
  return std::find(nodes.begin(), nodes.end(), status) != nodes.end();
}

}  // namespace

std::string_view to_string(StepStatus status) noexcept {
  for (const auto& [value, name] : kStepStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<StepStatus> parse_step_status(std::string_view text) noexcept {
  for (const auto& [value, name] : kStepStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

bool is_finished(StepStatus status) noexcept {
  return status == StepStatus::completed || status == StepStatus::skipped ||
         status == StepStatus::failed || status == StepStatus::cancelled;
}

RunStatus derive_run_status(std::span<const StepStatus> nodes, RunEnd end, bool scheduled) noexcept {
  switch (end) {
    case RunEnd::completed: return RunStatus::completed;
    case RunEnd::failed: return RunStatus::failed;
    case RunEnd::cancelled: return RunStatus::cancelled;
    case RunEnd::not_ended: break;
  }
  if (scheduled) return RunStatus::scheduled;
  if (any_is(nodes, StepStatus::running)) return RunStatus::running;
  if (any_is(nodes, StepStatus::queued)) return RunStatus::queued;
  if (any_is(nodes, StepStatus::retrying)) return RunStatus::retrying;
  return RunStatus::waiting;
}

std::vector<std::string> current_steps(std::span<const NodeStatus> nodes) {
  std::vector<std::string> out;
  for (const NodeStatus& n : nodes) {
    if (n.status != StepStatus::pending && !is_finished(n.status)) out.push_back(n.name);
  }
  return out;
}

std::string_view to_string(AttemptOutcome outcome) noexcept {
  switch (outcome) {
    case AttemptOutcome::completed: return "completed";
    case AttemptOutcome::skipped: return "skipped";
    case AttemptOutcome::retrying: return "retrying";
    case AttemptOutcome::released: return "released";
    case AttemptOutcome::failed: return "failed";
    case AttemptOutcome::cancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<AttemptOutcome> outcome_of(Action action) noexcept {
  switch (action) {
    case Action::advance:
    case Action::complete_run: return AttemptOutcome::completed;
    case Action::retry_later: return AttemptOutcome::retrying;
    case Action::release: return AttemptOutcome::released;
    case Action::dead_letter: return AttemptOutcome::failed;
    case Action::cancel_run: return AttemptOutcome::cancelled;
    case Action::execute:
    case Action::discard:
    case Action::abandon:
    case Action::sleep: return std::nullopt;
  }
  return std::nullopt;
}

Json to_json(const AttemptRecord& r) {
  Json j = Json::object();
  j["attempt"] = r.attempt;
  j["worker"] = r.worker;
  j["started_at"] = rfc3339_ms(r.started_at);
  j["finished_at"] = rfc3339_ms(r.finished_at);
  j["outcome"] = std::string(to_string(r.outcome));
  if (r.outcome != AttemptOutcome::completed && r.outcome != AttemptOutcome::skipped) {
    j["error"] = r.error;
  }
  return j;
}

Json append_attempt(Json history, const AttemptRecord& record) {
  if (history.is_null()) history = Json::array();
  if (!history.is_array()) {
    throw std::invalid_argument(std::string("attempt_history must be a JSON array, not ") +
                                history.type_name());
  }
  history.push_back(to_json(record));
  if (history.size() > kMaxAttemptHistory) {
    history.erase(history.begin(),
                  history.begin() + static_cast<std::ptrdiff_t>(history.size() - kMaxAttemptHistory));
  }
  return history;
}

}  // namespace steadfast::engine
