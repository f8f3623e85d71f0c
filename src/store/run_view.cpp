#include "store/run_view.h"

#include <charconv>
#include <ctime>

#include "redis/error.h"

namespace steadfast::store {

namespace {

std::int64_t to_int(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  if (it == f.end()) return 0;
  std::int64_t v = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return v;
}

std::string get(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  return it == f.end() ? std::string() : it->second;
}

Json parse_or_string(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json(text) : j;
}

}  // namespace

Fields to_fields(const redis::Reply& flat) {
  if (!flat.is_array() || flat.size() % 2 != 0) {
    throw redis::ProtocolError("expected a flat field/value array, got " + flat.debug_string());
  }
  Fields f;
  f.reserve(flat.size() / 2);
  for (std::size_t i = 0; i < flat.size(); i += 2) {
    f.emplace(std::string(flat[i].str()), std::string(flat[i + 1].str()));
  }
  return f;
}

std::string iso8601_ms(std::int64_t unix_ms) {
  if (unix_ms <= 0) return {};
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}

RunInfo to_run_info(std::string_view run_id, const Fields& f) {
  RunInfo run;
  run.id = std::string(run_id);
  run.workflow = get(f, "workflow");
  run.status = get(f, "status");
  run.created_at_ms = to_int(f, "created_at");
  run.updated_at_ms = to_int(f, "updated_at");
  run.input = parse_or_string(get(f, "input"));
  if (!is_terminal_status(run.status)) run.current_step = get(f, "step");
  Json names = Json::parse(get(f, "steps"), nullptr, false);
  if (!names.is_array()) names = Json::array({get(f, "step")});
  for (const auto& n : names) {
    if (!n.is_string()) continue;
    StepInfo s;
    s.name = n.get<std::string>();
    const std::string p = "s." + s.name + ".";
    if (auto st = get(f, p + "status"); !st.empty()) s.status = st;
    s.attempts = static_cast<int>(to_int(f, p + "attempts"));
    if (auto o = f.find(p + "output"); o != f.end()) s.output = parse_or_string(o->second);
    s.error = get(f, p + "error");
    if (auto e = f.find(p + "errors"); e != f.end()) s.errors = parse_or_string(e->second);
    if (auto pr = get(f, p + "progress"); !pr.empty()) {
      double v = 0;
      if (std::from_chars(pr.data(), pr.data() + pr.size(), v).ec == std::errc()) s.progress = v;
    }
    s.message = get(f, p + "message");
    run.steps.push_back(std::move(s));
  }
  return run;
}

}  // namespace steadfast::store

namespace steadfast {

bool is_terminal_status(std::string_view s) noexcept {
  return s == "completed" || s == "failed" || s == "cancelled";
}

Json to_json(const RunInfo& run) {
  Json steps = Json::array();
  for (const StepInfo& s : run.steps) {
    steps.push_back({{"name", s.name},
                     {"status", s.status},
                     {"attempts", s.attempts},
                     {"output", s.output},
                     {"error", s.error.empty() ? Json(nullptr) : Json(s.error)},
                     {"progress", s.progress ? Json(*s.progress) : Json(nullptr)},
                     {"message", s.message.empty() ? Json(nullptr) : Json(s.message)}});
  }
  return {{"id", run.id},
          {"workflow", run.workflow},
          {"status", run.status},
          {"created_at", store::iso8601_ms(run.created_at_ms)},
          {"updated_at", store::iso8601_ms(run.updated_at_ms)},
          {"steps", steps}};
}

Json to_json(const DeadLetter& e) {
  return {{"id", e.id},         {"run_id", e.run_id}, {"workflow", e.workflow},
          {"step", e.step},     {"attempts", e.attempts}, {"error", e.error},
          {"errors", e.errors}, {"at", store::iso8601_ms(e.at_ms)}};
}

}  // namespace steadfast
