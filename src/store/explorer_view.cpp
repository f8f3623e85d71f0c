#include "store/explorer_view.h"

#include <algorithm>

#include "store/run_view.h"

namespace steadfast::store {

Json worker_record(const Json& w) {
  if (w.value("kind", "") == "remote") {
    // An external worker (docs/worker-protocol.md): its last claim's record.
    return {{"id", w.value("id", "")},
            {"kind", "remote"},
            {"host", w.value("host", "")},
            {"pid", nullptr},
            {"queues", w.value("queues", Json::array())},
            {"tasks", w.value("tasks", Json::array())},
            {"concurrency", w.value("concurrency", 0)},
            {"in_flight", nullptr},
            {"started_at", nullptr},
            {"beat_at", iso8601_ms(w.value("beat_at_ms", std::int64_t{0}))},
            {"version", nullptr}};
  }
  Json tasks = Json::array();
  if (w.contains("workflows") && w["workflows"].is_object()) {
    for (const auto& [wf, steps] : w["workflows"].items()) {
      if (!steps.is_array()) continue;
      for (const Json& s : steps) {
        if (s.is_string()) tasks.push_back(wf + "." + s.get<std::string>());
      }
    }
  }
  return {{"id", w.value("id", "")},
          {"kind", "native"},
          {"host", w.value("host", "")},
          {"pid", w.contains("pid") ? w["pid"] : Json(nullptr)},
          {"queues", w.value("queues", Json::array())},
          {"tasks", std::move(tasks)},
          {"concurrency", w.value("concurrency", 0)},
          {"in_flight", w.value("in_flight", 0)},
          {"started_at", iso8601_ms(w.value("started_at_ms", std::int64_t{0}))},
          {"beat_at", iso8601_ms(w.value("beat_at_ms", std::int64_t{0}))},
          {"version", w.contains("version") ? w["version"] : Json(nullptr)}};
}

Json queue_record(const Store::QueueDepth& d, bool paused, const std::vector<Json>& workers,
                  std::optional<std::int64_t> throughput_per_minute) {
  int serving = 0;
  for (const Json& w : workers) {
    const Json queues = w.value("queues", Json::array());
    if (std::find(queues.begin(), queues.end(), Json(d.queue)) != queues.end()) ++serving;
  }
  Json by_priority = Json::object();
  for (const auto& [level, n] : d.backlog_by_priority) by_priority[std::to_string(level)] = n;
  return {{"name", d.queue},         {"paused", paused},
          {"entries", d.entries},     {"in_flight", d.pending},
          {"waiting", d.entries - d.pending + d.backlog}, {"workers", serving},
          {"backlog", d.backlog},     {"backlog_by_priority", by_priority},
          {"active_keys", d.active_keys},
          {"throughput_per_minute", throughput_per_minute ? Json(*throughput_per_minute) : Json(nullptr)}};
}

std::vector<Json> queue_records(const std::vector<Store::QueueDepth>& depths, const std::set<std::string>& paused,
                                const std::vector<Json>& workers, const std::map<std::string, std::int64_t>& throughput) {
  std::vector<Json> out;
  for (const Store::QueueDepth& d : depths) {
    const auto t = throughput.find(d.queue);
    out.push_back(queue_record(d, paused.contains(d.queue), workers,
                               t == throughput.end() ? std::nullopt : std::optional(t->second)));
  }
  return out;
}

RecentLimiterCounts recent_limiter_counts(const Store::LimiterState::Minutes& counted, std::int64_t now_ms) {
  const std::int64_t now_minute = now_ms / 60000;
  RecentLimiterCounts r;
  if (counted.minute == now_minute) {
    r = {counted.admitted, counted.waits, counted.previous_admitted, counted.previous_waits};
    // (previous_* is 0 unless the minute before was counted: the script rolls it so.)
  } else if (counted.minute == now_minute - 1) {
    r.admitted_last_minute = counted.admitted;
    r.waits_last_minute = counted.waits;
  }
  return r;
}

Json to_json(const Store::LimiterState& l) {
  const bool paused = l.paused_until_ms > l.now_ms;
  const bool token_rate = l.bounds.is_object() && l.bounds.value("tokens_per_minute", 0) > 0;
  return {{"name", l.name},
          {"bounds", l.bounds},
          {"tokens", token_rate ? Json(l.tokens) : Json(nullptr)},
          {"holders", l.holders},
          {"paused_until", paused ? Json(iso8601_ms(l.paused_until_ms)) : Json(nullptr)},
          {"waits", l.waits},
          {"admitted", l.admitted},
          {"recent", [&] {
             const RecentLimiterCounts r = recent_limiter_counts(l.minutes, l.now_ms);
             return Json{{"admitted_this_minute", r.admitted_this_minute},
                         {"waits_this_minute", r.waits_this_minute},
                         {"admitted_last_minute", r.admitted_last_minute},
                         {"waits_last_minute", r.waits_last_minute}};
           }()},
          {"busiest_keys", [&] {
             Json keys = Json::array();
             for (const Store::LimiterState::BusyKey& b : l.busiest_keys) {
               keys.push_back({{"key", b.key},
                               {"admitted_this_minute", b.admitted_this_minute},
                               {"waits_this_minute", b.waits_this_minute},
                               {"admitted_last_minute", b.admitted_last_minute},
                               {"waits_last_minute", b.waits_last_minute},
                               {"tokens", b.tokens ? Json(*b.tokens) : Json(nullptr)}});
             }
             return keys;
           }()}};
}

Json to_json(const Store::AuditEntry& e) {
  return {{"id", e.id},
          {"at", iso8601_ms(e.at_ms)},
          {"who", e.who},
          {"action", e.action},
          {"target", e.target},
          {"detail", e.detail}};
}

}  // namespace steadfast::store
