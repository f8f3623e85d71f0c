#include "engine/start_time.h"

#include "engine/duration.h"
#include "engine/quote.h"
#include "engine/run_filter.h"

namespace steadfast::engine {

std::string StartTime::fingerprint() const {
  if (run_at_ms > 0) return "run_at:" + std::to_string(run_at_ms);
  if (delay.count() > 0) return "delay:" + std::to_string(delay.count());
  return {};
}

void check_delay(std::chrono::milliseconds delay) {
  if (delay.count() < 0) throw StartTimeError("/delay", "delay must not be negative");
  if (delay > kMaxScheduleAhead) {
    throw StartTimeError("/delay", "delay " + format_duration(delay) + " is longer than " +
                                       format_duration(kMaxScheduleAhead) + " (365 days)");
  }
}

StartTime parse_start_time(const std::string& delay, const std::string& run_at) {
  if (!delay.empty() && !run_at.empty()) throw StartTimeError("/run_at", "give delay or run_at, not both");
  StartTime t;
  if (!delay.empty()) {
    try {
      t.delay = parse_duration(delay);
    } catch (const std::invalid_argument& e) {
      throw StartTimeError("/delay", std::string("delay: ") + e.what());
    }
    check_delay(t.delay);
  }
  if (!run_at.empty()) {
    const auto ms = parse_rfc3339_ms(run_at);
    if (!ms) {
      throw StartTimeError("/run_at", "run_at must be an RFC 3339 timestamp such as 2026-12-24T08:00:00Z, not " +
                                          quote(run_at, 64));
    }
    if (*ms <= 0) throw StartTimeError("/run_at", "run_at must be after 1970-01-01T00:00:00Z");
    t.run_at_ms = *ms;
  }
  return t;
}

StartTime start_time_from_json(const Json& body) {
  std::string texts[2];
  const char* names[2] = {"delay", "run_at"};
  for (int i = 0; i < 2; ++i) {
    const auto it = body.find(names[i]);
    if (it == body.end()) continue;
    if (!it->is_string()) {
      throw StartTimeError(std::string("/") + names[i],
                           std::string(names[i]) + (i == 0 ? " must be a duration string such as \"10m\""
                                                           : " must be an RFC 3339 timestamp string"));
    }
    texts[i] = it->get<std::string>();
    if (texts[i].empty()) throw StartTimeError(std::string("/") + names[i], std::string(names[i]) + " is empty");
  }
  return parse_start_time(texts[0], texts[1]);
}

}  // namespace steadfast::engine
