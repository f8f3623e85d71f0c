#include "engine/series.h"

#include <algorithm>
#include <set>

namespace steadfast::engine {

namespace {

bool is_counter(std::string_view name) {
  return std::find(std::begin(kSeriesCounters), std::end(kSeriesCounters), name) != std::end(kSeriesCounters);
}

// "completed:wf" → {"completed", "wf"}; "depth:q" → {"depth", "q"}; else nullopt.
std::optional<std::pair<std::string, std::string>> split_field(const std::string& field) {
  const auto colon = field.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::pair{field.substr(0, colon), field.substr(colon + 1)};
}

const std::map<std::string, std::int64_t>* sampled_at(const MinuteSamples& p, std::int64_t minute) {
  const auto it = p.find(minute);
  if (it == p.end() || !it->second.contains("@")) return nullptr;
  return &it->second;
}

std::int64_t value_or_zero(const std::map<std::string, std::int64_t>& fields, const std::string& name) {
  const auto it = fields.find(name);
  return it == fields.end() ? 0 : it->second;
}

}  // namespace

Series build_series(const std::vector<MinuteSamples>& partitions, std::int64_t from_minute,
                    std::int64_t to_minute, std::string_view workflow) {
  Series s;
  s.from_minute = from_minute;
  s.to_minute = to_minute;
  const std::size_t width = static_cast<std::size_t>(to_minute - from_minute + 1);

  // Every counter field and queue seen in the window (and the minute after it).
  std::set<std::string> counter_fields;
  std::set<std::string> queues;
  for (const MinuteSamples& p : partitions) {
    for (auto it = p.lower_bound(from_minute); it != p.end() && it->first <= to_minute + 1; ++it) {
      for (const auto& [field, value] : it->second) {
        const auto parts = split_field(field);
        if (!parts) continue;
        if (parts->first == "depth" || parts->first == "read") {
          if (it->first <= to_minute) queues.insert(parts->second);
        } else if (is_counter(parts->first) && (workflow.empty() || parts->second == workflow)) {
          counter_fields.insert(field);
        }
      }
    }
  }

  for (const std::string& field : counter_fields) {
    const auto [counter, name] = *split_field(field);
    PerMinute& out = s.counts[counter][name];
    out.assign(width, std::nullopt);
    for (std::size_t i = 0; i < width; ++i) {
      const std::int64_t m = from_minute + static_cast<std::int64_t>(i);
      std::int64_t total = 0;
      bool known = true;
      for (const MinuteSamples& p : partitions) {
        const auto* at = sampled_at(p, m);
        const auto* next = sampled_at(p, m + 1);
        if (at == nullptr || next == nullptr) {
          known = false;
          break;
        }
        const std::int64_t d = value_or_zero(*next, field) - value_or_zero(*at, field);
        if (d < 0) {
          known = false;
          break;
        }
        total += d;
      }
      if (known) out[i] = total;
    }
  }

  for (const std::string& q : queues) {
    PerMinute& out = s.queue_depth[q];
    out.assign(width, std::nullopt);
    const std::string field = "depth:" + q;
    for (std::size_t i = 0; i < width; ++i) {
      const std::int64_t m = from_minute + static_cast<std::int64_t>(i);
      for (const MinuteSamples& p : partitions) {
        const auto it = p.find(m);
        if (it == p.end()) continue;
        const auto v = it->second.find(field);
        if (v != it->second.end()) out[i] = out[i].value_or(0) + v->second;
      }
    }
    PerMinute& rate = s.queue_throughput[q];
    rate.assign(width, std::nullopt);
    const std::string read = "read:" + q;
    for (std::size_t i = 0; i < width; ++i) {
      const std::int64_t m = from_minute + static_cast<std::int64_t>(i);
      bool went_down = false;
      for (const MinuteSamples& p : partitions) {
        const auto at = p.find(m);
        const auto next = p.find(m + 1);
        if (at == p.end() || next == p.end()) continue;
        const auto a = at->second.find(read);
        const auto b = next->second.find(read);
        if (a == at->second.end() || b == next->second.end()) continue;
        if (b->second < a->second) went_down = true;
        rate[i] = rate[i].value_or(0) + (b->second - a->second);
      }
      if (went_down) rate[i] = std::nullopt;
    }
  }
  return s;
}

std::optional<std::int64_t> latest(const PerMinute& values) {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (*it) return *it;
  }
  return std::nullopt;
}

}  // namespace steadfast::engine
