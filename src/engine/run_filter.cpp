#include "engine/run_filter.h"

#include <array>
#include <stdexcept>
#include <string_view>

#include "engine/rfc3339.h"
#include "engine/run_metadata.h"

namespace steadfast::engine {

namespace {

constexpr std::array<std::string_view, 8> kStatuses = {"scheduled", "queued",    "running", "retrying",
                                                       "waiting",   "completed", "failed",  "cancelled"};

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// ^[A-Za-z0-9_-]{1,64}$, as workflow names are.
bool valid_workflow(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!name_char(c)) return false;
  }
  return true;
}

// `n` decimal digits of `s` at `at`, or -1.
int digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

std::int64_t timestamp(const std::string& field, const std::string& value) {
  const auto ms = parse_rfc3339_ms(value);
  if (!ms) {
    throw std::invalid_argument(field + " must be an RFC 3339 timestamp such as 2026-12-02T10:00:00Z, not '" +
                                value.substr(0, 64) + "'");
  }
  return *ms;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_ms(const std::string& text) {
  const std::string_view s = text;
  const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (s.size() < 20 || y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      sec < 0 || sec > 59 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':' || d > days_in_month(y, mo)) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::int64_t frac_ms = 0;
  if (s[at] == '.') {
    ++at;
    int n = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (n < 3) frac_ms = frac_ms * 10 + (s[at] - '0');
      ++n;
      ++at;
    }
    if (n == 0) return std::nullopt;
    for (int i = n; i < 3; ++i) frac_ms *= 10;
  }
  std::int64_t offset_min = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int oh = digits(s, at + 1, 2), om = digits(s, at + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || s.size() < at + 6 || s[at + 3] != ':') return std::nullopt;
    offset_min = (s[at] == '+' ? 1 : -1) * (oh * 60 + om);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  const std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + frac_ms;
}

bool status_matches(std::string_view wanted, std::string_view run_status) noexcept {
  if (wanted.empty()) return true;
  if (wanted == "live") return run_status != "completed" && run_status != "failed" && run_status != "cancelled";
  return wanted == run_status;
}

RunFilter parse_run_filter(const std::vector<std::pair<std::string, std::string>>& pairs) {
  RunFilter f;
  std::map<std::string, bool> seen;
  for (const auto& [name, value] : pairs) {
    if (seen[name]) throw std::invalid_argument("filter: " + name + " given twice");
    seen[name] = true;
    if (value.empty()) throw std::invalid_argument("filter: " + name + " must not be empty");
    if (name == "workflow") {
      if (!valid_workflow(value)) {
        throw std::invalid_argument("filter: workflow must match ^[A-Za-z0-9_-]{1,64}$, not '" +
                                    value.substr(0, 64) + "'");
      }
      f.workflow = value;
    } else if (name == "status") {
      bool known = value == "live";
      for (std::string_view s : kStatuses) known = known || s == value;
      if (!known) {
        throw std::invalid_argument("filter: status must be one of scheduled, queued, running, retrying, "
                                    "waiting, completed, failed, cancelled, or live (any not ended), not '" +
                                    value.substr(0, 64) + "'");
      }
      f.status = value;
    } else if (name.starts_with("meta.")) {
      const std::string key = name.substr(5);
      if (!is_valid_metadata_key(key)) {
        throw std::invalid_argument("filter: metadata key '" + key.substr(0, 64) +
                                    "' must match ^[A-Za-z0-9_.-]{1,64}$");
      }
      if (value.size() > 256) throw std::invalid_argument("filter: metadata value of " + key + " exceeds 256 bytes");
      if (f.meta.size() == 16) throw std::invalid_argument("filter: at most 16 metadata pairs");
      f.meta[key] = value;
    } else if (name == "created_after") {
      f.created_after_ms = timestamp(name, value);
    } else if (name == "created_before") {
      f.created_before_ms = timestamp(name, value);
    } else {
      throw std::invalid_argument("filter: unknown field '" + name.substr(0, 64) +
                                  "' (known: workflow, status, meta.KEY, created_after, created_before)");
    }
  }
  if (f.created_after_ms && f.created_before_ms && *f.created_after_ms >= *f.created_before_ms) {
    throw std::invalid_argument("filter: created_after must be earlier than created_before");
  }
  return f;
}

RunFilter run_filter_from_json(const Json& object) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const char* name : {"workflow", "status", "created_after", "created_before"}) {
    if (!object.contains(name)) continue;
    if (!object[name].is_string()) throw std::invalid_argument(std::string("filter: ") + name + " must be a string");
    pairs.emplace_back(name, object[name].get<std::string>());
  }
  if (object.contains("meta")) {
    const Json& meta = object["meta"];
    if (!meta.is_object()) throw std::invalid_argument("filter: meta must be an object of strings");
    for (const auto& [k, v] : meta.items()) {
      if (!v.is_string()) throw std::invalid_argument("filter: meta." + k.substr(0, 64) + " must be a string");
      pairs.emplace_back("meta." + k, v.get<std::string>());
    }
  }
  return parse_run_filter(pairs);
}

Json run_filter_to_json(const RunFilter& filter) {
  Json out = Json::object();
  if (!filter.workflow.empty()) out["workflow"] = filter.workflow;
  if (!filter.status.empty()) out["status"] = filter.status;
  if (!filter.meta.empty()) out["meta"] = filter.meta;
  if (filter.created_after_ms) out["created_after"] = rfc3339_ms(*filter.created_after_ms);
  if (filter.created_before_ms) out["created_before"] = rfc3339_ms(*filter.created_before_ms);
  return out;
}

}  // namespace steadfast::engine
