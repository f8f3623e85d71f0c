#include "engine/waiting_for.h"

#include <array>
#include <stdexcept>
#include <utility>

#include "engine/rfc3339.h"

namespace steadfast::engine {
namespace {

constexpr std::array<std::pair<WaitKind, std::string_view>, 11> kWaitKindNames{{
    {WaitKind::retry, "retry"},
    {WaitKind::sleep, "sleep"},
    {WaitKind::signal, "signal"},
    {WaitKind::child, "child"},
    {WaitKind::limiter, "limiter"},
    {WaitKind::fairness, "fairness"},
    {WaitKind::max_parallel, "max_parallel"},
    {WaitKind::queue_paused, "queue_paused"},
    {WaitKind::no_worker, "no_worker"},
    {WaitKind::scheduled, "scheduled"},
    {WaitKind::needs, "needs"},
}};

enum class Use { none, required, optional };

// Which fields each kind carries.
struct Shape {
  Use until = Use::optional;
  Use signal = Use::none;
  Use limiter = Use::none;
  Use key = Use::none;
  Use run_id = Use::none;
  Use queue = Use::none;
};

Shape shape_of(WaitKind kind) {
  Shape s;
  switch (kind) {
    case WaitKind::retry:
    case WaitKind::sleep:
    case WaitKind::scheduled: s.until = Use::required; break;
    case WaitKind::signal: s.signal = Use::required; break;
    case WaitKind::child: s.run_id = Use::required; break;
    case WaitKind::limiter:
      s.limiter = Use::required;
      s.key = Use::optional;
      break;
    case WaitKind::fairness:
      s.key = Use::optional;  // none on a queue with priorities only, or for the shared key ""
      s.queue = Use::required;
      break;
    case WaitKind::queue_paused:
    case WaitKind::no_worker: s.queue = Use::required; break;
    case WaitKind::max_parallel:
    case WaitKind::needs: break;
  }
  return s;
}

void put(Json& j, WaitKind kind, const char* field, Use use, const std::string& value) {
  if (use == Use::none) {
    if (!value.empty()) {
      throw std::invalid_argument("waiting_for of kind " + std::string(to_string(kind)) +
                                  " has no field '" + field + "'");
    }
    return;
  }
  if (value.empty()) {
    if (use == Use::required) {
      throw std::invalid_argument("waiting_for of kind " + std::string(to_string(kind)) +
                                  " needs a non-empty '" + field + "'");
    }
    return;
  }
  j[field] = value;
}

}  // namespace

std::string_view to_string(WaitKind kind) noexcept {
  for (const auto& [value, name] : kWaitKindNames) {
    if (value == kind) return name;
  }
  return "unknown";
}

std::optional<WaitKind> parse_wait_kind(std::string_view text) noexcept {
  for (const auto& [value, name] : kWaitKindNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

Json waiting_for_json(const std::optional<WaitingFor>& wait) {
  if (!wait) return nullptr;
  const WaitingFor& w = *wait;
  const Shape s = shape_of(w.kind);
  Json j = Json::object();
  j["kind"] = std::string(to_string(w.kind));
  if (!w.until && s.until == Use::required) {
    throw std::invalid_argument("waiting_for of kind " + std::string(to_string(w.kind)) +
                                " needs an 'until'");
  }
  j["until"] = w.until ? Json(rfc3339_ms(*w.until)) : Json(nullptr);
  put(j, w.kind, "signal", s.signal, w.signal);
  put(j, w.kind, "limiter", s.limiter, w.limiter);
  put(j, w.kind, "key", s.key, w.key);
  put(j, w.kind, "run_id", s.run_id, w.run_id);
  put(j, w.kind, "queue", s.queue, w.queue);
  return j;
}

std::optional<WaitingFor> soonest(std::span<const std::optional<WaitingFor>> nodes) {
  const WaitingFor* best = nullptr;
  for (const auto& n : nodes) {
    if (!n) continue;
    if (best == nullptr) {
      best = &*n;
    } else if (n->until && (!best->until || *n->until < *best->until)) {
      best = &*n;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace steadfast::engine
