#include "api/service.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <variant>

#include "api/dashboard.h"
#include "engine/bulk.h"
#include "engine/duration.h"
#include "engine/json_depth.h"
#include "engine/json_size.h"
#include "engine/rerun_plan.h"
#include "engine/rfc3339.h"
#include "engine/run_filter.h"
#include "engine/series.h"
#include "store/bulk.h"
#include "store/limiter.h"
#include "store/schedules.h"
#include "store/definition.h"
#include "store/signals.h"
#include "store/explorer_view.h"
#include "store/redis_settings.h"
#include "store/run_id.h"
#include "store/run_order.h"
#include "store/run_view.h"
#include "store/scripts.h"
#include "store/series.h"
#include "store/submit_many.h"
#include "steps/kind_registry.h"

namespace steadfast::api {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kDefaultListLimit = 100;
constexpr std::size_t kMaxListLimit = 1000;

// The scripts the API runs; /readyz checks (and loads) them.
std::vector<const redis::Script*> api_scripts() {
  return {&store::scripts::submit(), &store::scripts::cancel(), &store::scripts::replay(),
          &store::scripts::purge(), &store::scripts::rerun()};
}

Response unavailable(std::chrono::seconds retry_after, std::string detail) {
  Response r = problem(503, "unavailable", std::move(detail));
  r.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return r;
}

// A problem's body with one more member (RFC 9457 extensions: "run_id").
std::string with_member(const std::string& problem_body, const std::string& name, const Json& value) {
  Json p = Json::parse(problem_body);
  p[name] = value;
  return p.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// application/json or application/<anything>+json, parameters allowed.
bool is_json_media_type(std::string_view content_type) {
  std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  if (iequals(type, "application/json")) return true;
  const auto slash = type.find('/');
  return slash != std::string_view::npos && iequals(type.substr(0, slash), "application") &&
         type.size() > 5 && iequals(type.substr(type.size() - 5), "+json");
}

// A dead-letter stream entry id: <ms>-<seq>.
bool is_stream_id(std::string_view id) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size() || id.size() > 41) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i != dash && (id[i] < '0' || id[i] > '9')) return false;
  }
  return true;
}

std::optional<std::size_t> parse_limit(const std::map<std::string, std::string>& query) {
  auto it = query.find("limit");
  if (it == query.end() || it->second.empty()) return kDefaultListLimit;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || n < 1 || n > kMaxListLimit) {
    return std::nullopt;
  }
  return n;
}

// "30s", "250ms", or a bare number of seconds ("30").
std::optional<milliseconds> parse_wait(std::string_view text) {
  if (text.empty()) return milliseconds(0);
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 9) return std::nullopt;
    long long s = 0;
    std::from_chars(text.data(), text.data() + text.size(), s);
    return milliseconds(s * 1000);
  }
  try {
    return engine::parse_duration(text);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

std::string status_url(std::string_view run_id) { return "/v1/runs/" + std::string(run_id); }
// This machine's clock in minutes since the Unix epoch (series windows: a
// minute's samples are keyed by Redis' clock, which the window only rounds).
std::int64_t unix_minute_now() {
  using std::chrono::system_clock;
  return std::chrono::duration_cast<std::chrono::minutes>(system_clock::now().time_since_epoch()).count();
}

std::string bulk_url(std::string_view job_id) { return "/v1/bulk/" + std::string(job_id); }

// A small JSON body (an operator's request, not a run's input): its media
// type, nesting and syntax checked, with the API's answers; an empty body is
// an empty object. Not checked: its shape (the caller's).
std::variant<Json, Response> small_json_body(const Request& request, int max_depth) {
  if (request.body.empty()) return Json::object();
  const auto ct = request.header("Content-Type");
  if (!ct || !is_json_media_type(*ct)) return problem(415, "unsupported-media-type", "send the body as application/json");
  if (!engine::json_text_depth_within(request.body, max_depth)) {
    return problem(400, "malformed-json", "the body nests deeper than " + std::to_string(max_depth) + " levels");
  }
  try {
    return Json::parse(request.body);
  } catch (const Json::parse_error& e) {
    return problem(400, "malformed-json", std::string("the body is not valid JSON: ") + e.what());
  }
}

// A signal's (or callback's) body: at most store::kMaxSignalBytes of JSON;
// empty = null.
std::variant<Json, Response> signal_body(const Request& request, int max_depth) {
  if (request.body.size() > store::kMaxSignalBytes) {
    return problem(413, "payload-too-large",
                   "a signal's body may be at most " + std::to_string(store::kMaxSignalBytes >> 10) +
                       " KiB; this one is " + std::to_string(request.body.size()) + " bytes");
  }
  if (request.body.empty()) return Json();
  return small_json_body(request, max_depth);
}

// Who did an operator action, for the audit log: the token's name (or id), or
// "anonymous" when serve runs without tokens.
std::string actor(const std::optional<Principal>& who) {
  if (!who) return "anonymous";
  return who->name.empty() ? "token:" + who->id : who->name;
}

}  // namespace

std::vector<ServedWorkflow> serve_workflows(const config::WorkflowsFile& file) {
  // Building the workflows checks every step's kind and parameters, as a worker would.
  const std::vector<Workflow> built = config::build_workflows(file, steps::builtin_kinds());
  std::vector<ServedWorkflow> out;
  for (std::size_t i = 0; i < built.size(); ++i) {
    const Workflow& w = built[i];
    const config::WorkflowSpec& spec = file.workflows.at(i);
    ServedWorkflow s;
    s.name = w.name();
    s.definition = store::definition_of(w, file.max_backlog, file.queue_order);
    s.input_schema = spec.input_schema;
    if (!spec.input_schema.is_null()) {
      try {
        s.schema.emplace(spec.input_schema);
      } catch (const std::exception& e) {
        throw std::invalid_argument(file.path + ":" + std::to_string(spec.line) + ": workflow '" + s.name +
                                    "': input_schema: " + e.what());
      }
    }
    Json steps = Json::array();
    for (std::size_t k = 0; k < w.steps().size(); ++k) {
      const StepDefinition& step = w.steps()[k];
      s.steps.push_back(step.name);
      steps.push_back({{"name", step.name},
                       {"kind", spec.steps.at(k).kind},
                       {"queue", step.options.queue},
                       {"max_attempts", step.options.retry.max_attempts},
                       {"lease_ms", step.options.lease.count()},
                       {"timeout_ms", step.options.timeout.count()}});
      if (step.needs) steps.back()["needs"] = *step.needs;
    }
    s.first_queue = w.steps().front().options.queue;
    s.graph = store::run_graph_of(s.definition);
    s.max_input_bytes = w.max_input_bytes();
    if (s.definition.contains("max_backlog")) s.max_backlog = s.definition["max_backlog"].get<std::int64_t>();
    s.description = {{"name", s.name}, {"steps", steps}, {"input_schema", s.input_schema}};
    if (s.max_backlog > 0) s.description["max_backlog"] = s.max_backlog;
    s.description["max_input_bytes"] = s.max_input_bytes;
    out.push_back(std::move(s));
  }
  return out;
}

// What the router found for a request's path.
struct Service::Route {
  enum class Action {
    healthz, readyz, metrics, ui, ui_redirect, me, workflows, submit, runs, run, cancel, dlq, dlq_purge, dlq_replay,
    workers, limiters, limiter_overrides, limiter_override, audit, queues, queue_pause, queue_resume, stats_series, rerun, bulk_create, bulk_list, bulk_get,
    bulk_stop, submit_batch, schedules, schedule_pause, schedule_resume, schedule_trigger, signal, callback,
    map_items, worker_call
  };
  Action action{};
  std::string label;               // the route template, for metrics
  std::vector<std::string> methods;  // allowed
  Access access = Access::read;
  bool public_route = false;        // no token needed
  std::string param;                // {name} or {id}, undecoded
  std::string param2;               // a second one ({name} after {id}), undecoded
  std::string param3;               // a third one (a callback's {token}), undecoded
  std::map<std::string, std::string> query;
  std::optional<Principal> who;     // the token's, when tokens are on
};

Service::Service(redis::Client& redis, store::Store& store, std::vector<ServedWorkflow> workflows,
                 Tokens tokens, ServiceOptions options)
    : redis_(redis),
      store_(store),
      workflows_(std::move(workflows)),
      tokens_(std::move(tokens)),
      options_(options),
      quotas_(redis, store.keys()) {}

const ServedWorkflow* Service::find(std::string_view name) const {
  for (const ServedWorkflow& w : workflows_) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

asio::awaitable<Response> Service::handle(const Request& request) {
  auto resolved = resolve(request);
  if (auto* refusal = std::get_if<Response>(&resolved)) co_return std::move(*refusal);
  Route& route = std::get<Route>(resolved);
  Response response = co_await dispatch(request, route);
  response.route = route.label;
  co_return response;
}

std::optional<Response> Service::screen(const Request& request) const {
  auto resolved = resolve(request);
  if (auto* refusal = std::get_if<Response>(&resolved)) return std::move(*refusal);
  return std::nullopt;
}

std::variant<Service::Route, Response> Service::resolve(const Request& request) const {
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) {
    return problem(400, "bad-request", "the request target is not a valid origin-form URI");
  }
  // Path segments stay percent-encoded: no name or id contains '%', so an
  // encoded byte can never reach a key.
  std::vector<std::string_view> seg;
  {
    std::string_view path = url->encoded_path();
    if (path.empty() || path.front() != '/') {
      return problem(404, "not-found", "no such route");
    }
    path.remove_prefix(1);
    for (;;) {
      const auto slash = path.find('/');
      seg.push_back(path.substr(0, slash));
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash + 1);
    }
  }
  Route route;
  using A = Route::Action;
  const auto set = [&](A action, std::string label, std::string method, Access access,
                       std::string param = {}) {
    route.action = action;
    route.label = std::move(label);
    route.methods = {std::move(method)};
    route.access = access;
    route.param = std::move(param);
  };
  bool found = true;
  const std::size_t n = seg.size();
  if (n == 1 && seg[0] == "healthz") {
    set(A::healthz, "/healthz", "GET", Access::read);
    route.public_route = true;
  } else if (n == 1 && seg[0] == "readyz") {
    set(A::readyz, "/readyz", "GET", Access::read);
    route.public_route = true;
  } else if (n == 1 && seg[0] == "ui") {
    // The dashboard lives at /ui/ (its relative links need the slash). "/" stays a 404.
    set(A::ui_redirect, "/ui/", "GET", Access::read);
    route.public_route = true;
  } else if (n == 2 && seg[0] == "ui") {
    // The dashboard's files are public: the page asks for a token itself, and
    // every API call it makes is checked like any other.
    set(A::ui, "/ui/", "GET", Access::read, std::string(seg[1]));
    route.public_route = true;
  } else if (n == 1 && seg[0] == "metrics") {
    set(A::metrics, "/metrics", "GET", Access::read);
  } else if (n >= 2 && seg[0] == "v1") {
    const std::string_view s1 = seg[1];
    if (n == 2 && s1 == "me") {
      // Public, so a page can ask "who am I" without a 401 in its console:
      // it answers "nobody" for a missing or unknown token, and says nothing else.
      set(A::me, "/v1/me", "GET", Access::read);
      route.public_route = true;
    } else if (n == 2 && s1 == "workflows") {
      set(A::workflows, "/v1/workflows", "GET", Access::read);
    } else if (n == 4 && s1 == "workflows" && seg[3] == "runs" && !seg[2].empty()) {
      set(A::submit, "/v1/workflows/{name}/runs", "POST", Access::submit, std::string(seg[2]));
    } else if (n == 4 && s1 == "workflows" && seg[3] == "runs:batch" && !seg[2].empty()) {
      set(A::submit_batch, "/v1/workflows/{name}/runs:batch", "POST", Access::submit, std::string(seg[2]));
    } else if (n == 2 && s1 == "runs") {
      set(A::runs, "/v1/runs", "GET", Access::read);
    } else if (n == 3 && s1 == "runs" && !seg[2].empty()) {
      set(A::run, "/v1/runs/{id}", "GET", Access::read, std::string(seg[2]));
    } else if (n == 4 && s1 == "runs" && seg[3] == "cancel" && !seg[2].empty()) {
      set(A::cancel, "/v1/runs/{id}/cancel", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 5 && s1 == "callbacks" && !seg[2].empty() && !seg[3].empty() && !seg[4].empty()) {
      // Public: the URL's signature is its credential (a third party has no token).
      set(A::callback, "/v1/callbacks/{id}/{step}/{token}", "POST", Access::read, std::string(seg[2]));
      route.param2 = std::string(seg[3]);
      route.param3 = std::string(seg[4]);
      route.public_route = true;
    } else if (n == 5 && s1 == "runs" && seg[3] == "signals" && !seg[2].empty() && !seg[4].empty()) {
      set(A::signal, "/v1/runs/{id}/signals/{name}", "POST", Access::submit, std::string(seg[2]));
      route.param2 = std::string(seg[4]);
    } else if (n == 6 && s1 == "runs" && seg[3] == "steps" && seg[5] == "items" && !seg[2].empty() &&
               !seg[4].empty()) {
      set(A::map_items, "/v1/runs/{id}/steps/{step}/items", "GET", Access::read, std::string(seg[2]));
      route.param2 = std::string(seg[4]);
    } else if (n == 4 && s1 == "runs" && seg[3] == "rerun" && !seg[2].empty()) {
      set(A::rerun, "/v1/runs/{id}/rerun", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 2 && s1 == "runs:bulk") {
      set(A::bulk_create, "/v1/runs:bulk", "POST", Access::admin);
    } else if (n == 2 && s1 == "bulk") {
      set(A::bulk_list, "/v1/bulk", "GET", Access::read);
    } else if (n == 3 && s1 == "bulk" && !seg[2].empty()) {
      set(A::bulk_get, "/v1/bulk/{id}", "GET", Access::read, std::string(seg[2]));
    } else if (n == 4 && s1 == "bulk" && seg[3] == "stop" && !seg[2].empty()) {
      set(A::bulk_stop, "/v1/bulk/{id}/stop", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 2 && s1 == "queues") {
      set(A::queues, "/v1/queues", "GET", Access::read);
    } else if (n == 4 && s1 == "queues" && seg[3] == "pause" && !seg[2].empty()) {
      set(A::queue_pause, "/v1/queues/{name}/pause", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 4 && s1 == "queues" && seg[3] == "resume" && !seg[2].empty()) {
      set(A::queue_resume, "/v1/queues/{name}/resume", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 2 && s1 == "schedules") {
      set(A::schedules, "/v1/schedules", "GET", Access::read);
    } else if (n == 4 && s1 == "schedules" && seg[3] == "pause" && !seg[2].empty()) {
      set(A::schedule_pause, "/v1/schedules/{name}/pause", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 4 && s1 == "schedules" && seg[3] == "resume" && !seg[2].empty()) {
      set(A::schedule_resume, "/v1/schedules/{name}/resume", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 4 && s1 == "schedules" && seg[3] == "trigger" && !seg[2].empty()) {
      set(A::schedule_trigger, "/v1/schedules/{name}/trigger", "POST", Access::admin, std::string(seg[2]));
    } else if (n == 2 && s1 == "workers") {
      set(A::workers, "/v1/workers", "GET", Access::read);
    } else if (n == 3 && s1 == "worker" &&
               (seg[2] == "claim" || seg[2] == "heartbeat" || seg[2] == "complete" || seg[2] == "fail" ||
                seg[2] == "release")) {
      set(A::worker_call, "/v1/worker/" + std::string(seg[2]), "POST", Access::worker, std::string(seg[2]));
    } else if (n == 2 && s1 == "limiters") {
      set(A::limiters, "/v1/limiters", "GET", Access::read);
    } else if (n == 4 && s1 == "limiters" && seg[3] == "overrides" && !seg[2].empty()) {
      set(A::limiter_overrides, "/v1/limiters/{name}/overrides", "GET", Access::read, std::string(seg[2]));
    } else if (n == 5 && s1 == "limiters" && seg[3] == "overrides" && !seg[2].empty() && !seg[4].empty()) {
      set(A::limiter_override, "/v1/limiters/{name}/overrides/{key}", "PUT", Access::admin, std::string(seg[2]));
      route.methods.push_back("DELETE");
      route.param2 = std::string(seg[4]);
    } else if (n == 3 && s1 == "stats" && seg[2] == "series") {
      set(A::stats_series, "/v1/stats/series", "GET", Access::read);
    } else if (n == 2 && s1 == "audit") {
      set(A::audit, "/v1/audit", "GET", Access::admin);
    } else if (n == 2 && s1 == "dlq") {
      set(A::dlq, "/v1/dlq", "GET", Access::read);
    } else if (n == 3 && s1 == "dlq" && seg[2] == "purge") {
      set(A::dlq_purge, "/v1/dlq/purge", "POST", Access::admin);
    } else if (n == 4 && s1 == "dlq" && seg[3] == "replay" && !seg[2].empty()) {
      set(A::dlq_replay, "/v1/dlq/{id}/replay", "POST", Access::admin, std::string(seg[2]));
    } else {
      found = false;
    }
  } else {
    found = false;
  }
  if (!found) return problem(404, "not-found", "no such route");

  // RFC 9110 allows one Authorization field; with two, which one a proxy
  // and this server each read could differ.
  std::size_t authorizations = 0;
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "Authorization")) ++authorizations;
  }

  Response response;
  if (request.method == "OPTIONS") {
    // What the route accepts (RFC 9110 §9.3.7); no CORS: the API is not for browsers
    // of other origins. Public like a 405's Allow, which says the same.
    std::string allow;
    for (const auto& m : route.methods) allow += m + (m == "GET" ? ", HEAD, " : ", ");
    response.status = 204;
    response.headers.emplace_back("Allow", allow + "OPTIONS");
    response.route = route.label;
    return response;
  }
  if (std::find(route.methods.begin(), route.methods.end(), request.method) == route.methods.end()) {
    response = problem(405, "method-not-allowed",
                       "use " + route.methods.front() + " on " + route.label);
    std::string allow;
    for (const auto& m : route.methods) allow += (allow.empty() ? "" : ", ") + m;
    response.headers.emplace_back("Allow", allow);
  } else if (authorizations > 1) {
    response = problem(400, "bad-request",
                       "the request has " + std::to_string(authorizations) + " Authorization fields; send one");
  } else if (!route.public_route && tokens_.enabled()) {
    const auto who = tokens_.authenticate(request.header("Authorization"));
    if (!who) {
      response = problem(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer <token>)");
      response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"steadfast\"");
    } else if (!allows(who->role, route.access)) {
      response = problem(403, "forbidden",
                         "the token's role '" + std::string(to_string(who->role)) + "' may not use " +
                             route.label + " (needs " +
                             (route.access == Access::worker ? "worker or admin" : route.access == Access::admin ? "admin" : "submit or admin") + ")");
    }
    route.who = who;
  }
  if (!response.body.empty()) {
    response.route = route.label;
    return response;
  }
  for (auto p : url->params()) {
    route.query.emplace(p.key, p.has_value ? p.value : std::string());
  }
  return route;
}

asio::awaitable<Response> Service::dispatch(const Request& request, Route& route) {
  using A = Route::Action;
  try {
    switch (route.action) {
      case A::healthz: co_return json_response(200, {{"status", "ok"}});
      case A::readyz: co_return co_await ready();
      case A::metrics: co_return co_await metrics();
      case A::workflows: co_return list_workflows();
      case A::me: co_return whoami(request);
      case A::ui: co_return dashboard_file(request, route.param);
      case A::ui_redirect: {
        Response r;
        r.status = 308;
        r.content_type = "text/plain; charset=utf-8";
        r.headers.emplace_back("Location", "/ui/");
        r.body = "the dashboard is at /ui/\n";
        co_return r;
      }
      default: break;
    }
    // (On a cluster, one primary down — failing over — refuses only the
    // requests for its slots, when their commands time out.)
    if (!ready_ || !redis_.reachable()) {
      co_return unavailable(options_.retry_after, "Redis is unavailable; retry later");
    }
    switch (route.action) {
      case A::submit: co_return co_await submit(request, route.param, route.who);
      case A::submit_batch: co_return co_await submit_batch(request, route.param, route.who);
      case A::runs: co_return co_await list_runs(route.query);
      case A::run: co_return co_await get_run(route.param, route.query);
      case A::map_items: co_return co_await map_items(route.param, route.param2, route.query);
      case A::cancel: co_return co_await cancel(route.param, route.who);
      case A::rerun: co_return co_await rerun(request, route.param, route.who);
      case A::signal: co_return co_await signal(request, route.param, route.param2, route.who);
      case A::callback: co_return co_await callback(request, route.param, route.param2, route.param3);
      case A::dlq: co_return co_await dlq_list(route.query);
      case A::dlq_purge: co_return co_await dlq_purge(request, route.who);
      case A::dlq_replay: co_return co_await dlq_replay(route.param, route.who);
      case A::workers: co_return co_await list_workers();
      case A::queues: co_return co_await list_queues();
      case A::queue_pause: co_return co_await pause_queue(route.param, true, route.who);
      case A::queue_resume: co_return co_await pause_queue(route.param, false, route.who);
      case A::schedules: co_return co_await list_schedules();
      case A::schedule_pause: co_return co_await change_schedule(route.param, "pause", route.who);
      case A::schedule_resume: co_return co_await change_schedule(route.param, "resume", route.who);
      case A::schedule_trigger: co_return co_await change_schedule(route.param, "trigger", route.who);
      case A::limiters: co_return co_await list_limiters();
      case A::limiter_overrides: co_return co_await list_limiter_overrides(route.param);
      case A::limiter_override:
        co_return co_await change_limiter_override(request, route.param, route.param2, route.who);
      case A::audit: co_return co_await audit_log(route.query);
      case A::stats_series: co_return co_await stats_series(route.query);
      case A::bulk_create: co_return co_await create_bulk(request, route.who);
      case A::bulk_list: co_return co_await list_bulk(route.query);
      case A::bulk_get: co_return co_await get_bulk(route.param);
      case A::bulk_stop: co_return co_await stop_bulk(route.param, route.who);
      case A::worker_call: co_return co_await worker_call(request, route.param);
      default: break;
    }
    co_return problem(404, "not-found", "no such route");
  } catch (const redis::ServerError& e) {
    // Redis errors that mean "not now" rather than "broken": answered 503.
    if (e.transient()) co_return unavailable(options_.retry_after, std::string("Redis: ") + e.what());
    spdlog::error("api: {} {}: Redis error: {}", request.method, route.label, e.what());
    co_return problem(500, "internal", "internal error (Redis refused a command; see the server log)");
  } catch (const redis::IoError& e) {  // and TimeoutError
    co_return unavailable(options_.retry_after, std::string("Redis is unavailable: ") + e.what());
  } catch (const redis::ClosedError&) {
    co_return unavailable(options_.retry_after, "the server is shutting down");
  } catch (const std::exception& e) {
    spdlog::error("api: {} {}: {}", request.method, route.label, e.what());
    co_return problem(500, "internal", "internal error (see the server log)");
  }
}

namespace {

// A POST's body parsed within bounds (media type, nesting, parsed size, JSON);
// an empty body is an empty object.
std::variant<Json, Response> json_body(const Request& request, const ServiceOptions& options) {
  if (request.body.empty()) return Json::object();
  const auto ct = request.header("Content-Type");
  if (!ct || !is_json_media_type(*ct)) {
    return problem(415, "unsupported-media-type", "send the body as application/json");
  }
  if (!engine::json_text_depth_within(request.body, options.max_json_depth)) {
    return problem(400, "malformed-json",
                   "the body nests deeper than " + std::to_string(options.max_json_depth) + " levels");
  }
  if (const engine::ParsedSize size = engine::parsed_size_estimate(request.body); size.bytes > engine::kMaxParsedBytes) {
    return problem(413, "payload-too-large",
                   "the body would take about " + std::to_string(size.bytes >> 20) + " MiB once parsed (" +
                       std::to_string(size.values) + " JSON values), over the " +
                       std::to_string(engine::kMaxParsedBytes >> 20) +
                       " MiB a run's input may take: send fewer, larger values (one string rather than many "
                       "small objects)");
  }
  try {
    return Json::parse(request.body);
  } catch (const Json::parse_error& e) {
    return problem(400, "malformed-json", std::string("the body is not valid JSON: ") + e.what());
  }
}

// One run's request from its JSON object — a submit's body, or an item of a
// batch (which may also carry "idempotency_key"): its members, the input's
// size and input_schema, the metadata, the start time. Pointers in a refusal
// are relative to the object.
std::variant<store::SubmitRequest, Response> run_request(Json body, const ServedWorkflow& wf, bool batch_item) {
  Json input = Json::object();
  engine::RunMetadata metadata;
  engine::StartTime start;
  std::string idempotency_key;
  if (!body.is_object()) {
    return validation_problem("the body must be a JSON object {\"input\": ...}", {{"", "must be an object", "type"}});
  }
  std::vector<FieldError> unknown;
  for (const auto& [key, value] : body.items()) {
    const bool known = key == "input" || key == "metadata" || key == "delay" || key == "run_at" ||
                       key == "priority" || (batch_item && key == "idempotency_key");
    if (!known) unknown.push_back({"/" + escape_pointer_token(key), "unknown member", ""});
  }
  if (!unknown.empty()) {
    return validation_problem(std::string("the ") + (batch_item ? "item" : "body") +
                                  " may hold only \"input\", \"metadata\", \"priority\", one of \"delay\" and \"run_at\"" +
                                  (batch_item ? " and \"idempotency_key\"" : ""),
                              unknown);
  }
  try {
    start = engine::start_time_from_json(body);
  } catch (const engine::StartTimeError& e) {
    return validation_problem(e.what(), {{e.field, e.what(), e.field.substr(1)}});
  }
  int priority = kDefaultPriority;
  if (body.contains("priority")) {
    const Json& p = body["priority"];
    if (!p.is_number_integer() || p.get<std::int64_t>() < kMinPriority || p.get<std::int64_t>() > kMaxPriority) {
      const char* what = "priority must be a whole number from 0 (lowest) to 9 (highest)";
      return validation_problem(what, {{"/priority", what, "priority"}});
    }
    priority = p.get<int>();
  }
  if (body.contains("input")) input = std::move(body["input"]);
  if (body.contains("metadata")) {
    try {
      metadata = engine::run_metadata_from_json(body["metadata"]);
    } catch (const std::invalid_argument& e) {
      return validation_problem(e.what(), {{"/metadata", e.what(), "metadata"}});
    }
  }
  if (body.contains("idempotency_key")) {
    const Json& key = body["idempotency_key"];
    if (!key.is_string() || !store::is_valid_idempotency_key(key.get<std::string>())) {
      const char* what = "idempotency_key must be 1-256 printable ASCII characters without spaces";
      return validation_problem(what, {{"/idempotency_key", what, "idempotency_key"}});
    }
    idempotency_key = key.get<std::string>();
  }
  if (const std::size_t size = input.dump().size(); size > wf.max_input_bytes) {
    return problem(413, "payload-too-large",
                   "the input is " + std::to_string(size) + " bytes as compact JSON, over the " +
                       std::to_string(wf.max_input_bytes) + " bytes of workflow '" + wf.name + "' (max_input_bytes)");
  }
  if (wf.schema) {
    const auto errors = wf.schema->validate(input, "/input");
    if (!errors.empty()) {
      return validation_problem("the input does not match the input_schema of workflow '" + wf.name + "'",
                                errors);
    }
  }
  store::SubmitRequest req;
  req.workflow = wf.name;
  req.input = std::move(input);
  req.metadata = std::move(metadata);
  req.steps = wf.steps;
  req.first_queue = wf.first_queue;
  req.graph = wf.graph;
  req.max_backlog = wf.max_backlog;
  req.deadline = std::chrono::milliseconds(wf.definition.value("deadline_ms", std::int64_t{0}));
  req.start = start;
  req.idempotency_key = std::move(idempotency_key);
  req.priority = priority;
  req.sched = store::run_sched(wf.definition, req.input, priority);
  return req;
}

}  // namespace

std::variant<store::SubmitRequest, Response> submit_request(const Request& request, const ServedWorkflow& wf,
                                                           const ServiceOptions& options) {
  auto body = json_body(request, options);
  if (auto* refused = std::get_if<Response>(&body)) return std::move(*refused);
  auto checked = run_request(std::move(std::get<Json>(body)), wf, false);
  if (auto* refused = std::get_if<Response>(&checked)) return std::move(*refused);
  store::SubmitRequest req = std::move(std::get<store::SubmitRequest>(checked));
  if (auto key = request.header("Idempotency-Key")) {
    if (!store::is_valid_idempotency_key(*key)) {
      return problem(400, "bad-idempotency-key",
                     "Idempotency-Key must be 1-256 printable ASCII characters without spaces");
    }
    req.idempotency_key = std::string(*key);
  }
  return req;
}

asio::awaitable<Response> Service::submit(const Request& request, const std::string& name,
                                          const std::optional<Principal>& who) {
  // Names are checked before anything else: a bad one is simply not a workflow.
  const ServedWorkflow* wf = is_valid_name(name) ? find(name) : nullptr;
  if (wf == nullptr) {
    co_return problem(404, "unknown-workflow",
                      "no workflow '" + name.substr(0, 64) + "' is served here (GET /v1/workflows)");
  }
  auto checked = submit_request(request, *wf, options_);
  if (auto* refused = std::get_if<Response>(&checked)) co_return std::move(*refused);
  store::SubmitRequest req = std::move(std::get<store::SubmitRequest>(checked));
  // The token's quotas, after the request was found valid (a malformed one costs nothing).
  const bool quota = who && who->quota.any();
  if (quota) {
    if (auto refused = co_await quotas_.admit(*who)) {
      Response r = problem(429, refused->type, refused->detail);
      r.headers.emplace_back("Retry-After", std::to_string(refused->retry_after.count()));
      co_return r;
    }
  }
  store::SubmitResult result;
  std::optional<Response> not_replicated;
  try {
    result = co_await store_.submit(req);
  } catch (const store::NotReplicated& e) {
    const store::SubmitOutcome& o = e.outcomes().at(0);
    result = {o.run_id, o.state == store::SubmitOutcome::State::created, o.run_at_ms};
    Response r = problem(503, "not-replicated",
                         "run " + o.run_id + " may exist: it was written to the primary, but only " +
                             std::to_string(e.acked()) + " of " + std::to_string(e.wanted()) +
                             " replicas acknowledged it in time; retry with the same Idempotency-Key");
    r.body = with_member(r.body, "run_id", o.run_id);
    r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
    not_replicated = std::move(r);
  } catch (const store::BacklogFull& e) {
    Response r = problem(429, "backlog-full",
                         "queue '" + wf->first_queue + "' holds " + std::to_string(wf->max_backlog) +
                             " or more runs; retry later");
    r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
    co_return r;
  } catch (const store::RunAtOutOfRange& e) {
    co_return validation_problem(e.what(), {{"/run_at", e.what(), "run_at"}});
  } catch (const store::IdempotencyConflict& e) {
    co_return problem(409, "idempotency-conflict",
                      "this Idempotency-Key was used for run " + e.run_id() + " of workflow '" + wf->name +
                          "' with a different input (a key lives " + engine::format_duration(req.idempotency_ttl) + "); repeat the same body, or use another key",
                      "Idempotency key reused with a different body");
  }
  if (quota && result.created) co_await quotas_.record(*who, result.run_id);
  if (not_replicated) co_return std::move(*not_replicated);
  Json answer{{"run_id", result.run_id}, {"status_url", status_url(result.run_id)}};
  if (result.run_at_ms > 0) answer["run_at"] = store::iso8601_ms(result.run_at_ms);
  Response r = json_response(result.created ? 202 : 200, answer);
  r.headers.emplace_back("Location", status_url(result.run_id));
  co_return r;
}

namespace {

// One refused item of a batch: its status and problem, pointers made absolute
// ("/runs/<i>/input/x").
Json item_problem(const Response& refused, std::size_t index) {
  Json p = Json::parse(refused.body, nullptr, false);
  if (!p.is_object()) p = Json::object();
  p["status"] = refused.status;
  if (p.contains("errors")) {
    for (Json& e : p["errors"]) e["pointer"] = "/runs/" + std::to_string(index) + e.value("pointer", "");
  }
  return Json{{"error", std::move(p)}};
}

Json item_problem(int status, std::string_view slug, std::string detail, std::size_t index) {
  return item_problem(problem(status, slug, std::move(detail)), index);
}

}  // namespace

// POST /v1/workflows/{name}/runs:batch {"runs": [{"input", "metadata", "delay"
// | "run_at", "idempotency_key"}, ...]}: up to kMaxBatchRuns runs, each
// checked and answered on its own (store::submit_many) — {"run_id",
// "status_url", "created"[, "run_at"]} or {"error": <problem with "status">}.
asio::awaitable<Response> Service::submit_batch(const Request& request, const std::string& name,
                                                const std::optional<Principal>& who) {
  const ServedWorkflow* wf = is_valid_name(name) ? find(name) : nullptr;
  if (wf == nullptr) {
    co_return problem(404, "unknown-workflow",
                      "no workflow '" + name.substr(0, 64) + "' is served here (GET /v1/workflows)");
  }
  auto parsed = json_body(request, options_);
  if (auto* refused = std::get_if<Response>(&parsed)) co_return std::move(*refused);
  Json body = std::move(std::get<Json>(parsed));
  const std::string shape = "the body must be {\"runs\": [...]}: 1 to " + std::to_string(kMaxBatchRuns) +
                            " objects, each as a submit's body plus an optional \"idempotency_key\"";
  if (!body.is_object() || !body.contains("runs") || !body["runs"].is_array()) {
    co_return validation_problem(shape, {{"/runs", "is required: an array", "required"}});
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "runs") co_return validation_problem(shape, {{"/" + escape_pointer_token(key), "unknown member", ""}});
  }
  Json& items = body["runs"];
  if (items.empty() || items.size() > kMaxBatchRuns) {
    co_return validation_problem(shape, {{"/runs", "holds " + std::to_string(items.size()) + " runs", "maxItems"}});
  }
  Json results = Json::array();
  std::vector<store::SubmitRequest> requests;
  std::vector<std::size_t> sent;  // the item of each request
  const bool quota = who && who->quota.any();
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto checked = run_request(std::move(items[i]), *wf, true);
    if (auto* refused = std::get_if<Response>(&checked)) {
      results.push_back(item_problem(*refused, i));
      continue;
    }
    if (quota) {  // a quota'd token spends one submit per valid item, as for single submits
      auto refusal = co_await quotas_.admit(*who);
      if (refusal) {
        results.push_back(item_problem(429, refusal->type, refusal->detail, i));
        continue;
      }
    }
    results.push_back(nullptr);
    requests.push_back(std::move(std::get<store::SubmitRequest>(checked)));
    sent.push_back(i);
  }
  std::vector<store::SubmitOutcome> outcomes;
  std::optional<Response> not_replicated;
  try {
    outcomes = co_await store::submit_many(store_, requests);
  } catch (const store::NotReplicated& e) {
    outcomes = e.outcomes();
    not_replicated = problem(503, "not-replicated",
                             "the batch's runs may exist: they were written to the primary, but only " +
                                 std::to_string(e.acked()) + " of " + std::to_string(e.wanted()) +
                                 " replicas acknowledged them in time; \"runs\" has each item's answer: "
                                 "retry with the same idempotency keys");
  }
  std::size_t created = 0;
  for (std::size_t j = 0; j < outcomes.size(); ++j) {
    const store::SubmitOutcome& o = outcomes[j];
    const std::size_t i = sent[j];
    using State = store::SubmitOutcome::State;
    switch (o.state) {
      case State::created:
      case State::repeated: {
        Json r{{"run_id", o.run_id}, {"status_url", status_url(o.run_id)}, {"created", o.state == State::created}};
        if (o.run_at_ms > 0) r["run_at"] = store::iso8601_ms(o.run_at_ms);
        results[i] = std::move(r);
        if (o.state == State::created) {
          ++created;
          if (quota) co_await quotas_.record(*who, o.run_id);
        }
        break;
      }
      case State::conflict:
        results[i] = item_problem(409, "idempotency-conflict",
                                  "this idempotency_key was used for run " + o.run_id + " of workflow '" + wf->name +
                                      "' with a different request; repeat the same item, or use another key",
                                  i);
        break;
      case State::backlog_full:
        results[i] = item_problem(429, "backlog-full", "queue '" + wf->first_queue + "': " + o.detail, i);
        break;
      case State::run_at_out_of_range:
        results[i] = item_problem(validation_problem(o.detail, {{"/run_at", o.detail, "run_at"}}), i);
        break;
    }
  }
  const auto refused = std::count_if(results.begin(), results.end(), [](const Json& r) { return r.contains("error"); });
  if (not_replicated) {
    Response r = std::move(*not_replicated);
    r.body = with_member(r.body, "runs", results);
    r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
    co_return r;
  }
  Json answer{{"created", created}, {"refused", refused}};
  answer["runs"] = std::move(results);
  co_return json_response(200, answer);
}

asio::awaitable<Response> Service::get_run(const std::string& raw_id,
                                           const std::map<std::string, std::string>& query) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-run", "no run '" + id.substr(0, 64) + "'");
  milliseconds wait{0};
  if (auto it = query.find("wait"); it != query.end()) {
    auto w = parse_wait(it->second);
    if (!w) co_return problem(400, "bad-parameter", "wait must be a duration such as 30s or 500ms");
    wait = std::min(*w, options_.max_wait);
  }
  if (wait.count() > 0) {
    // Poll the status only (one HGET) with backoff; the whole run is read once at the end.
    const auto deadline = std::chrono::steady_clock::now() + wait;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    milliseconds backoff{10};
    for (;;) {
      redis::Reply status = co_await redis_.command("HGET", store_.keys().run(id), "status");
      if (status.is_nil()) break;  // answered 404 below
      if (is_terminal_status(status.str()) || shutting_down_) break;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(backoff, deadline - now));
      co_await timer.async_wait(asio::use_awaitable);
      backoff = std::min(backoff * 2, milliseconds(200));
    }
  }
  auto run = co_await store_.get_run(id);
  if (!run) co_return problem(404, "unknown-run", "no run '" + id + "' (never submitted, or expired)");
  co_return json_response(200, to_json(*run));
}

asio::awaitable<Response> Service::list_runs(const std::map<std::string, std::string>& query) {
  const auto limit = parse_limit(query);
  if (!limit) co_return problem(400, "bad-parameter", "limit must be a number in 1.." + std::to_string(kMaxListLimit));
  std::string cursor;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& [name, value] : query) {
    if (name == "limit") continue;
    if (name == "cursor") {
      cursor = store::canonical_run_id(value);
      if (!store::is_valid_run_id(cursor)) {
        co_return problem(400, "bad-parameter", "cursor must be a run id (the next_cursor of an earlier page)");
      }
      continue;
    }
    pairs.emplace_back(name, value);
  }
  engine::RunFilter filter;
  try {
    filter = engine::parse_run_filter(pairs);
  } catch (const std::invalid_argument& e) {
    co_return problem(400, "bad-parameter", e.what());
  }
  const store::RunPage page = co_await store_.list_runs(filter, *limit, cursor);
  Json list = Json::array();
  for (const auto& r : page.runs) {
    list.push_back({{"id", r.id},
                    {"workflow", r.workflow},
                    {"status", r.status},
                    {"created_at", store::iso8601_ms(r.created_at_ms)},
                    {"updated_at", store::iso8601_ms(r.updated_at_ms)},
                    {"metadata", r.metadata},
                    {"run_at", r.run_at_ms > 0 ? Json(store::iso8601_ms(r.run_at_ms)) : Json(nullptr)},
                    {"status_url", status_url(r.id)}});
  }
  co_return json_response(200, {{"runs", std::move(list)},
                                {"next_cursor", page.next_cursor.empty() ? Json(nullptr) : Json(page.next_cursor)}});
}

asio::awaitable<Response> Service::cancel(const std::string& raw_id, const std::optional<Principal>& who) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-run", "no run '" + id.substr(0, 64) + "'");
  const std::string result = co_await store_.cancel(id, options_.retention);
  if (result == "missing") co_return problem(404, "unknown-run", "no run '" + id + "' (never submitted, or expired)");
  if (result.starts_with("terminal:")) {
    co_return problem(409, "run-finished", "run " + id + " already ended: " + result.substr(9));
  }
  co_await store_.audit(actor(who), "cancel", id, store::audit_detail("result", result));
  co_return json_response(200, {{"run_id", id}, {"result", result}, {"status_url", status_url(id)}});
}

// POST /v1/runs/{id}/signals/{name} with a JSON body (empty = null), at most
// store::kMaxSignalBytes: 202 when a waiting step takes it or it is kept for
// the first wait on its name, 200 for a repeated Idempotency-Key.
asio::awaitable<Response> Service::signal(const Request& request, const std::string& raw_id,
                                          const std::string& name, const std::optional<Principal>& who) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-run", "no run '" + id.substr(0, 64) + "'");
  if (!is_valid_name(name)) {
    co_return problem(404, "unknown-signal",
                      "signal name '" + name.substr(0, 64) + "' is invalid: it must match ^[A-Za-z0-9_-]{1,64}$");
  }
  auto body = signal_body(request, options_.max_json_depth);
  if (auto* refused = std::get_if<Response>(&body)) co_return std::move(*refused);
  store::SignalRequest req;
  req.run_id = id;
  req.name = name;
  req.body = std::move(std::get<Json>(body));
  if (auto key = request.header("Idempotency-Key")) {
    if (!store::is_valid_idempotency_key(*key)) {
      co_return problem(400, "bad-idempotency-key",
                        "Idempotency-Key must be 1-256 printable ASCII characters without spaces");
    }
    req.idempotency_key = std::string(*key);
  }
  const store::SignalResult result = co_await store::send_signal(store_, req);
  using O = store::SignalResult::Outcome;
  switch (result.outcome) {
    case O::missing: co_return problem(404, "unknown-run", "no run '" + id + "' (never submitted, or expired)");
    case O::unknown_signal: co_return problem(404, "unknown-signal", result.detail);
    case O::ended:
      co_return problem(409, "run-finished", "run " + id + " already ended: " + result.detail);
    case O::full: co_return problem(409, "too-many-signals", result.detail);
    case O::repeat:
      co_return json_response(200, {{"run_id", id}, {"signal", name}, {"result", "repeat"},
                                    {"status_url", status_url(id)}});
    case O::delivered:
    case O::kept: break;
  }
  const std::string what = result.outcome == O::delivered ? "delivered" : "kept";
  Json detail = Json::object();
  detail["signal"] = name;
  detail["result"] = what;
  co_await store_.audit(actor(who), "signal", id, std::move(detail));
  co_return json_response(202, {{"run_id", id}, {"signal", name}, {"result", what}, {"status_url", status_url(id)}});
}

// POST /v1/callbacks/{id}/{step}/{token}: the callback URL of a signal wait
// ({{steps.<wait>.callback_url}}), no bearer token: 403 unless the token
// signs (id, step) with a key of --signing-key-file; the body (as a signal's)
// is sent as the wait's signal with the idempotency key "callback.<step>",
// so a replayed callback changes nothing (200); 410 once the run ended.
asio::awaitable<Response> Service::callback(const Request& request, const std::string& raw_id,
                                            const std::string& step, const std::string& token) {
  if (!options_.callbacks) {
    co_return problem(404, "not-found", "this server takes no callbacks (serve --signing-key-file)");
  }
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id) || !is_valid_name(step) || !options_.callbacks->verify(id, step, token)) {
    co_return problem(403, "bad-signature",
                      "this callback URL is not signed by this server's keys: use the URL exactly as the run gave it");
  }
  auto body = signal_body(request, options_.max_json_depth);
  if (auto* refused = std::get_if<Response>(&body)) co_return std::move(*refused);
  store::SignalRequest req;
  req.run_id = id;
  req.idempotency_key = "callback." + step;
  req.body = std::move(std::get<Json>(body));
  const std::optional<std::string> name = co_await store::signal_of_step(store_, id, step);
  if (!name) co_return problem(410, "run-ended", "run " + id + " is gone (expired after it ended)");
  if (name->empty()) {
    co_return problem(404, "unknown-signal", "step '" + step + "' of run " + id + " is no signal wait");
  }
  req.name = *name;
  const store::SignalResult result = co_await store::send_signal(store_, req);
  using O = store::SignalResult::Outcome;
  switch (result.outcome) {
    case O::missing: co_return problem(410, "run-ended", "run " + id + " is gone (expired after it ended)");
    case O::ended: co_return problem(410, "run-ended", "run " + id + " already ended: " + result.detail);
    case O::unknown_signal: co_return problem(404, "unknown-signal", result.detail);
    case O::full: co_return problem(409, "too-many-signals", result.detail);
    case O::repeat:
      co_return json_response(200, {{"run_id", id}, {"step", step}, {"result", "repeat"}});
    case O::delivered:
    case O::kept: break;
  }
  const std::string what = result.outcome == O::delivered ? "delivered" : "kept";
  Json detail = Json::object();
  detail["signal"] = *name;
  detail["step"] = step;
  detail["result"] = what;
  co_await store_.audit("callback", "signal", id, std::move(detail));
  co_return json_response(202, {{"run_id", id}, {"step", step}, {"result", what}});
}

// POST /v1/runs/{id}/rerun {"from_step": S, "input": ...}: a new run keeping
// the outputs of the steps before S (store::Store::rerun). The input, when
// given, is checked as a submit's; without it the source's is kept.
asio::awaitable<Response> Service::rerun(const Request& request, const std::string& raw_id,
                                         const std::optional<Principal>& who) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-run", "no run '" + id.substr(0, 64) + "'");
  const char* shape = "the body must be a JSON object {\"from_step\": \"<step>\", \"input\": ...} (input optional)";
  if (request.body.empty()) co_return validation_problem(shape, {{"/from_step", "is required", "required"}});
  const auto ct = request.header("Content-Type");
  if (!ct || !is_json_media_type(*ct)) co_return problem(415, "unsupported-media-type", "send the body as application/json");
  if (!engine::json_text_depth_within(request.body, options_.max_json_depth)) {
    co_return problem(400, "malformed-json",
                      "the body nests deeper than " + std::to_string(options_.max_json_depth) + " levels");
  }
  if (engine::parsed_size_estimate(request.body).bytes > engine::kMaxParsedBytes) {
    co_return problem(413, "payload-too-large",
                      "the body would take over the " + std::to_string(engine::kMaxParsedBytes >> 20) +
                          " MiB a run's input may take once parsed");
  }
  Json body;
  try {
    body = Json::parse(request.body);
  } catch (const Json::parse_error& e) {
    co_return problem(400, "malformed-json", std::string("the body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) co_return validation_problem(shape, {{"", "must be an object", "type"}});
  std::vector<FieldError> unknown;
  for (const auto& [key, value] : body.items()) {
    if (key != "from_step" && key != "input") unknown.push_back({"/" + escape_pointer_token(key), "unknown member", ""});
  }
  if (!unknown.empty()) co_return validation_problem("the body may hold only \"from_step\" and \"input\"", unknown);
  if (!body.contains("from_step") || !body["from_step"].is_string()) {
    co_return validation_problem(shape, {{"/from_step", body.contains("from_step") ? "must be a string" : "is required",
                                          body.contains("from_step") ? "type" : "required"}});
  }
  const std::string from_step = body["from_step"].get<std::string>();
  const auto source = co_await store_.rerun_source(id);
  if (!source) co_return problem(404, "unknown-run", "no run '" + id + "' (never submitted, or expired)");
  try {
    (void)engine::plan_rerun(source->steps, from_step);
  } catch (const std::invalid_argument& e) {
    co_return validation_problem(e.what(), {{"/from_step", e.what(), "enum"}});
  }
  const ServedWorkflow* wf = find(source->workflow);
  if (wf == nullptr) {
    co_return problem(404, "unknown-workflow", "run " + id + " is of workflow '" + source->workflow +
                                                   "', which is not served here (GET /v1/workflows)");
  }
  store::RerunRequest req{*source, from_step, {}, std::nullopt, std::nullopt};
  for (const Json& step : wf->definition.at("steps")) {
    if (step.at("name") == from_step) req.from_queue = step.at("queue").get<std::string>();
  }
  if (req.from_queue.empty()) {
    co_return validation_problem("step '" + from_step + "' of run " + id + " is no longer in workflow '" + wf->name +
                                     "' as served here",
                                 {{"/from_step", "not in the served workflow", "enum"}});
  }
  if (body.contains("input")) {
    // The input meets submit's checks (size, max_input_bytes, input_schema), with submit's answers.
    Request as_submit;
    as_submit.headers.emplace_back("Content-Type", "application/json");
    as_submit.body = Json{{"input", body["input"]}}.dump();
    auto checked = submit_request(as_submit, *wf, options_);
    if (auto* refused = std::get_if<Response>(&checked)) co_return std::move(*refused);
    req.input = std::move(std::get<store::SubmitRequest>(checked).input);
    req.sched = store::run_sched(wf->definition, *req.input, source->priority);  // its own tenant's place
  }
  const store::RerunResult result = co_await store_.rerun(req);
  if (result.outcome == store::RerunResult::Outcome::missing) {
    co_return problem(404, "unknown-run", "no run '" + id + "' (never submitted, or expired)");
  }
  if (result.outcome == store::RerunResult::Outcome::unfinished) {
    co_return problem(409, "step-not-finished",
                      "step '" + result.step + "' of run " + id + " is " + result.step_status +
                          ", not completed: a rerun from '" + from_step +
                          "' would keep its output (rerun from an earlier step, or when it has finished)");
  }
  Json detail = store::audit_detail("run_id", result.run_id);
  detail["from_step"] = from_step;
  co_await store_.audit(actor(who), "rerun", id, std::move(detail));
  Response r = json_response(201, {{"run_id", result.run_id},
                                   {"rerun_of", id},
                                   {"from_step", from_step},
                                   {"status_url", status_url(result.run_id)}});
  r.headers.emplace_back("Location", status_url(result.run_id));
  co_return r;
}

// GET /v1/runs/{id}/steps/{step}/items?offset=&limit=: a page of a map
// step's items (offset default 0; limit default 100, at most 1,000).
asio::awaitable<Response> Service::map_items(const std::string& raw_id, const std::string& step,
                                             const std::map<std::string, std::string>& query) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-run", "no run '" + id.substr(0, 64) + "'");
  if (!is_valid_name(step)) co_return problem(404, "unknown-step", "no step '" + step.substr(0, 64) + "'");
  const auto limit = parse_limit(query);
  if (!limit) co_return problem(400, "bad-parameter", "limit must be a number in 1.." + std::to_string(kMaxListLimit));
  std::int64_t offset = 0;
  if (auto it = query.find("offset"); it != query.end() && !it->second.empty()) {
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), offset);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || offset < 0 || offset > kMaxMapItems) {
      co_return problem(400, "bad-parameter", "offset must be a number in 0.." + std::to_string(kMaxMapItems));
    }
  }
  std::optional<MapItemsPage> page;
  try {
    page = co_await store_.map_items(id, step, offset, static_cast<std::int64_t>(*limit));
  } catch (const std::invalid_argument& e) {
    co_return problem(404, "unknown-step", e.what());
  }
  if (!page) co_return problem(404, "unknown-run", "no run '" + id + "' (never submitted, or expired)");
  co_return json_response(200, to_json(*page));
}

asio::awaitable<Response> Service::dlq_list(const std::map<std::string, std::string>& query) {
  const auto limit = parse_limit(query);
  if (!limit) co_return problem(400, "bad-parameter", "limit must be a number in 1.." + std::to_string(kMaxListLimit));
  Json list = Json::array();
  for (const DeadLetter& d : co_await store_.dlq_list(*limit)) list.push_back(to_json(d));
  co_return json_response(200, {{"dead_letters", std::move(list)}});
}

asio::awaitable<Response> Service::dlq_replay(const std::string& id, const std::optional<Principal>& who) {
  if (!store::is_valid_run_id(id) && !is_stream_id(id)) {
    co_return problem(404, "unknown-dead-letter", "no dead-letter entry '" + id.substr(0, 64) + "'");
  }
  std::string run_id;
  try {
    run_id = co_await store_.dlq_replay(id);
  } catch (const std::invalid_argument& e) {
    co_return problem(404, "unknown-dead-letter", e.what());
  }
  co_await store_.audit(actor(who), "dlq_replay", id, store::audit_detail("run_id", run_id));
  co_return json_response(200, {{"run_id", run_id}, {"status_url", status_url(run_id)}});
}

// The body: the shared run filter (CONTRACTS.md §3; status is implicitly
// failed) and/or "confirm": true — a purge of everything must be asked for.
asio::awaitable<Response> Service::dlq_purge(const Request& request, const std::optional<Principal>& who) {
  auto parsed = small_json_body(request, options_.max_json_depth);
  if (auto* refused = std::get_if<Response>(&parsed)) co_return std::move(*refused);
  const Json body = std::move(std::get<Json>(parsed));
  if (!body.is_object()) {
    co_return validation_problem("the body must be a JSON object {\"workflow\": ..., \"confirm\": true}",
                                 {{"", "must be an object", "type"}});
  }
  std::vector<FieldError> unknown;
  for (const auto& [key, value] : body.items()) {
    if (key != "workflow" && key != "status" && key != "meta" && key != "created_after" &&
        key != "created_before" && key != "confirm") {
      unknown.push_back({"/" + escape_pointer_token(key), "unknown member", ""});
    }
  }
  if (!unknown.empty()) {
    co_return validation_problem(
        "the body may hold only the run filter (workflow, created_after, created_before) and confirm", unknown);
  }
  if (body.contains("confirm") && !body["confirm"].is_boolean()) {
    co_return validation_problem("confirm must be true or false", {{"/confirm", "must be a boolean", "type"}});
  }
  engine::RunFilter filter;
  try {
    filter = engine::run_filter_from_json(body);
  } catch (const std::invalid_argument& e) {
    co_return validation_problem(e.what(), {{"", e.what(), ""}});
  }
  if (filter.empty() && !body.value("confirm", false)) {
    co_return validation_problem("a purge of the whole dead-letter queue needs \"confirm\": true (or give a filter)",
                                 {{"/confirm", "required without a filter", "required"}});
  }
  std::size_t purged = 0;
  try {
    purged = co_await store_.dlq_purge(filter);
  } catch (const std::invalid_argument& e) {
    co_return validation_problem(e.what(), {{"", e.what(), ""}});
  }
  // The filter as the run filter reads it back (times normalized), as the CLI's purge and bulk jobs log it.
  co_await store_.audit(actor(who), "dlq_purge", engine::run_filter_to_json(filter).dump(),
                        store::audit_detail("purged", purged));
  co_return json_response(200, {{"purged", purged}});
}

// POST /v1/runs:bulk {"action": "cancel"|"replay", "filter": {...}}: a job
// (store/bulk.h) that a `serve` walks in the background; 202 with its state.
asio::awaitable<Response> Service::create_bulk(const Request& request, const std::optional<Principal>& who) {
  auto parsed = small_json_body(request, options_.max_json_depth);
  if (auto* refused = std::get_if<Response>(&parsed)) co_return std::move(*refused);
  engine::BulkRequest bulk;
  try {
    bulk = engine::parse_bulk_request(std::get<Json>(parsed));
  } catch (const std::invalid_argument& e) {
    co_return validation_problem(e.what(), {{"", e.what(), ""}});
  }
  const store::BulkJob job = co_await store::create_bulk_job(store_, bulk, actor(who));
  Json detail = store::audit_detail("action", std::string(engine::to_string(bulk.action)));
  detail["filter"] = engine::run_filter_to_json(bulk.filter);
  co_await store_.audit(actor(who), "bulk", job.id, std::move(detail));
  Json body = store::to_json(job);
  body["status_url"] = bulk_url(job.id);
  Response r = json_response(202, body);
  r.headers.emplace_back("Location", bulk_url(job.id));
  co_return r;
}

asio::awaitable<Response> Service::get_bulk(const std::string& raw_id) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-bulk-job", "no bulk job '" + id.substr(0, 64) + "'");
  const std::optional<store::BulkJob> job = co_await store::read_bulk_job(store_, id);
  if (!job) co_return problem(404, "unknown-bulk-job", "no bulk job '" + id + "' (never made, or expired a week after it ended)");
  co_return json_response(200, store::to_json(*job));
}

// POST /v1/bulk/{id}/stop: no run is acted on after the holder's page in progress.
asio::awaitable<Response> Service::stop_bulk(const std::string& raw_id, const std::optional<Principal>& who) {
  const std::string id = store::canonical_run_id(raw_id);
  if (!store::is_valid_run_id(id)) co_return problem(404, "unknown-bulk-job", "no bulk job '" + id.substr(0, 64) + "'");
  const store::BulkStop result = co_await store::stop_bulk_job(store_, id, actor(who));
  if (result == store::BulkStop::missing) {
    co_return problem(404, "unknown-bulk-job", "no bulk job '" + id + "' (never made, or expired a week after it ended)");
  }
  if (result == store::BulkStop::ended) co_return problem(409, "bulk-job-ended", "bulk job " + id + " already ended");
  co_await store_.audit(actor(who), "bulk_stop", id, Json::object());
  const std::optional<store::BulkJob> job = co_await store::read_bulk_job(store_, id);
  co_return json_response(200, job ? store::to_json(*job) : Json{{"id", id}, {"status", "stopped"}});
}

asio::awaitable<Response> Service::list_bulk(const std::map<std::string, std::string>& query) {
  for (const auto& [name, value] : query) {
    if (name != "limit") co_return problem(400, "bad-parameter", "unknown parameter '" + name.substr(0, 64) + "' (known: limit)");
  }
  const auto limit = parse_limit(query);
  if (!limit) co_return problem(400, "bad-parameter", "limit must be a number in 1.." + std::to_string(kMaxListLimit));
  Json list = Json::array();
  for (const store::BulkJob& job : co_await store::recent_bulk_jobs(store_, *limit)) list.push_back(store::to_json(job));
  co_return json_response(200, {{"jobs", std::move(list)}});
}

asio::awaitable<Response> Service::worker_call(const Request& request, const std::string& call) {
  if (!options_.tasks) {
    co_return problem(404, "not-found", "this server's workflows have no task steps (kind: task): no worker protocol");
  }
  auto parsed = small_json_body(request, options_.max_json_depth);
  if (auto* refusal = std::get_if<Response>(&parsed)) co_return std::move(*refusal);
  const Json& body = std::get<Json>(parsed);
  if (call == "claim") co_return co_await options_.tasks->claim(body, request.client);
  if (call == "heartbeat") co_return co_await options_.tasks->heartbeat(body);
  if (call == "complete") co_return co_await options_.tasks->complete(body);
  if (call == "fail") co_return co_await options_.tasks->fail(body);
  co_return co_await options_.tasks->release(body);
}

asio::awaitable<Response> Service::list_workers() {
  Json list = Json::array();
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::vector<Json> remote;
  std::set<std::string> remote_queues;
  for (const Json& w : co_await store_.workers()) {
    // An external worker has no lock: it is listed while it claimed within a
    // minute (a long poll is at most --max-wait), and forgotten after an hour.
    if (w.value("kind", "") == "remote") {
      const std::int64_t age = now_ms - w.value("beat_at_ms", std::int64_t{0});
      if (age > 3600 * 1000) co_await redis_.command("HDEL", store_.keys().workers(), w.value("id", ""));
      if (age > std::max<std::int64_t>(60 * 1000, 2 * options_.max_wait.count())) continue;
      for (const Json& q : w.value("queues", Json::array())) {
        if (q.is_string()) remote_queues.insert(q.get<std::string>());
      }
      remote.push_back(w);
      continue;
    }
    list.push_back(store::worker_record(w));
  }
  if (!remote.empty()) {
    // An external worker's steps in hand: its consumer's entries pending in
    // its queues (XPENDING's summary per consumer), every partition.
    redis::Pipeline p;
    for (const std::string& q : remote_queues) {
      for (int part = 0; part < store_.keys().partitions(); ++part) {
        p.add("XPENDING", store_.keys().queue(part, q), std::string(store::kGroup));
      }
    }
    const std::vector<redis::Reply> summaries = co_await redis_.exec(std::move(p));
    std::map<std::string, std::int64_t> held;  // consumer -> entries
    for (const redis::Reply& r : summaries) {
      if (!r.is_array() || r.size() < 4 || !r[3].is_array()) continue;  // no group yet, or nothing pending
      for (const redis::Reply& c : r[3].elements()) {
        held[std::string(c[0].str())] += std::atoll(std::string(c[1].str()).c_str());
      }
    }
    for (const Json& w : remote) {
      Json record = store::worker_record(w);
      const auto it = held.find(w.value("id", ""));
      record["in_flight"] = it == held.end() ? 0 : it->second;
      list.push_back(std::move(record));
    }
  }
  co_return json_response(200, {{"workers", std::move(list)}});
}

asio::awaitable<Response> Service::list_queues() {
  const auto depths = co_await store_.queue_depths();
  const auto paused = co_await store_.paused_queues();
  const auto workers = co_await store_.workers();
  const auto throughput = co_await store::recent_queue_throughput(redis_, store_.keys(), unix_minute_now());
  co_return json_response(200, {{"queues", store::queue_records(depths, paused, workers, throughput)}});
}

asio::awaitable<Response> Service::pause_queue(const std::string& queue, bool pause,
                                               const std::optional<Principal>& who) {
  if (!is_valid_name(queue)) co_return problem(404, "unknown-queue", "no queue '" + queue.substr(0, 64) + "'");
  bool known = false;
  if (pause) {
    known = co_await store_.pause_queue(queue);
  } else {
    known = co_await store_.resume_queue(queue);
  }
  if (!known) co_return problem(404, "unknown-queue", "no queue '" + queue + "' (GET /v1/queues)");
  co_await store_.audit(actor(who), pause ? "queue_pause" : "queue_resume", queue, Json::object());
  co_return json_response(200, {{"queue", queue}, {"paused", pause}});
}

asio::awaitable<Response> Service::list_schedules() {
  const std::vector<store::Schedule> schedules = co_await store::list_schedules(store_);
  const std::int64_t now = co_await store::redis_now_ms(store_);
  Json list = Json::array();
  for (const store::Schedule& s : schedules) list.push_back(store::to_json(s, now));
  co_return json_response(200, {{"schedules", std::move(list)}});
}

asio::awaitable<Response> Service::change_schedule(const std::string& name, std::string_view action,
                                                   const std::optional<Principal>& who) {
  const Response unknown = problem(404, "unknown-schedule",
                                   "no schedule '" + name.substr(0, 64) + "' (GET /v1/schedules)");
  if (!is_valid_name(name)) co_return unknown;
  const std::string audit_action = "schedule_" + std::string(action);
  if (action == "trigger") {
    const std::optional<store::TickResult> r = co_await store::trigger_schedule(store_, name, options_.retention);
    if (!r) co_return unknown;
    if (r->outcome == store::TickResult::Outcome::no_workflow) {
      co_return problem(409, "workflow-not-registered",
                        "the schedule's workflow is not registered: no worker or server has started with it");
    }
    if (r->outcome != store::TickResult::Outcome::fired || r->run_ids.empty()) {
      co_return problem(409, "schedule-overlap",
                        "the schedule's previous run is still live and its overlap is skip: nothing started");
    }
    Json detail = Json::object();
    detail["run_id"] = r->run_ids.front();
    co_await store_.audit(actor(who), audit_action, name, std::move(detail));
    co_return json_response(202, {{"schedule", name}, {"run_id", r->run_ids.front()}});
  }
  const bool pause = action == "pause";
  store::ScheduleChange change = store::ScheduleChange::missing;
  if (pause) {
    change = co_await store::pause_schedule(store_, name);
  } else {
    change = co_await store::resume_schedule(store_, name);
  }
  if (change == store::ScheduleChange::missing) co_return unknown;
  Json detail = Json::object();
  detail["changed"] = change == store::ScheduleChange::changed;
  co_await store_.audit(actor(who), audit_action, name, std::move(detail));
  co_return json_response(200, {{"schedule", name}, {"paused", pause}});
}

namespace {

// A path segment with its %XX escapes decoded; nullopt for a bad escape.
std::optional<std::string> percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

}  // namespace

// A limiter named by a route, if it is registered (by a worker or a server).
asio::awaitable<bool> Service::limiter_known(const std::string& name) {
  if (!is_valid_name(name)) co_return false;
  const redis::Reply r = co_await redis_.command("HGET", store_.keys().limiters(), name);
  co_return !r.is_nil();
}

asio::awaitable<Response> Service::list_limiter_overrides(const std::string& name) {
  const bool known = co_await limiter_known(name);
  if (!known) {
    co_return problem(404, "unknown-limiter", "no limiter '" + name.substr(0, 64) + "' (GET /v1/limiters)");
  }
  Json list = Json::array();
  for (const auto& [key, o] : co_await store::limit_overrides(redis_, store_.keys(), name)) {
    list.push_back({{"key", key}, {"bounds", store::to_json(o)}});
  }
  co_return json_response(200, {{"limiter", name}, {"overrides", std::move(list)}});
}

// PUT /v1/limiters/{name}/overrides/{key} {"tokens_per_minute": 50000, ...}:
// the key's instance gets these bounds (the others as declared) from its
// next admission on; DELETE goes back to the declared ones (or the file's
// override). Audited.
asio::awaitable<Response> Service::change_limiter_override(const Request& request, const std::string& name,
                                                           const std::string& raw_key,
                                                           const std::optional<Principal>& who) {
  const bool known = co_await limiter_known(name);
  if (!known) {
    co_return problem(404, "unknown-limiter", "no limiter '" + name.substr(0, 64) + "' (GET /v1/limiters)");
  }
  const std::optional<std::string> key = percent_decoded(raw_key);
  if (!key || key->empty() || key->size() > 256) {
    co_return problem(400, "bad-key", "the key is 1 to 256 bytes, percent-encoded in the path");
  }
  if (request.method == "DELETE") {
    const bool removed = co_await store::remove_limit_override(redis_, store_.keys(), name, *key);
    Json detail = Json::object();
    detail["key"] = *key;
    detail["removed"] = removed;
    co_await store_.audit(actor(who), "limiter_override_removed", name, std::move(detail));
    co_return json_response(200, {{"limiter", name}, {"key", *key}, {"removed", removed}});
  }
  auto body = json_body(request, options_);
  if (auto* refused = std::get_if<Response>(&body)) co_return std::move(*refused);
  LimitOverride o;
  try {
    o = store::limit_override_from_json(std::get<Json>(body));
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    const std::string pointer = what.starts_with("/") ? what.substr(0, what.find(':')) : std::string();
    co_return validation_problem(what, {{pointer, what, ""}});
  }
  co_await store::set_limit_override(redis_, store_.keys(), name, *key, o);
  const Json bounds = store::to_json(o);
  Json detail = Json::object();
  detail["key"] = *key;
  detail["bounds"] = bounds;
  co_await store_.audit(actor(who), "limiter_override", name, std::move(detail));
  co_return json_response(200, {{"limiter", name}, {"key", *key}, {"bounds", bounds}});
}

asio::awaitable<Response> Service::list_limiters() {
  Json list = Json::array();
  for (const store::Store::LimiterState& l : co_await store_.limiters()) list.push_back(store::to_json(l));
  co_return json_response(200, {{"limiters", std::move(list)}});
}

asio::awaitable<Response> Service::audit_log(const std::map<std::string, std::string>& query) {
  const auto limit = parse_limit(query);
  if (!limit) co_return problem(400, "bad-parameter", "limit must be a number in 1.." + std::to_string(kMaxListLimit));
  std::string before;
  if (auto it = query.find("before"); it != query.end()) {
    if (!is_stream_id(it->second)) co_return problem(400, "bad-parameter", "before must be an audit entry id");
    before = it->second;
  }
  Json list = Json::array();
  for (const auto& e : co_await store_.audit_log(*limit, before)) list.push_back(store::to_json(e));
  co_return json_response(200, {{"entries", std::move(list)}});
}

// A window of whole minutes, [from, to): both RFC 3339, floored to the
// minute; by default the hour before the current minute.
asio::awaitable<Response> Service::stats_series(const std::map<std::string, std::string>& query) {
  std::int64_t to_minute = unix_minute_now();
  std::optional<std::int64_t> from_minute;
  std::string workflow;
  for (const auto& [name, value] : query) {
    if (name == "from" || name == "to") {
      const auto ms = engine::parse_rfc3339_ms(value);
      if (!ms || *ms < 0) {
        co_return problem(400, "bad-parameter", name + " must be an RFC 3339 time, like 2026-12-02T10:00:00Z");
      }
      if (name == "from") from_minute = *ms / 60'000;
      if (name == "to") to_minute = *ms / 60'000;
    } else if (name == "workflow") {
      workflow = value;
    } else {
      co_return problem(400, "bad-parameter", "unknown parameter '" + name + "' (known: from, to, workflow)");
    }
  }
  if (!from_minute) from_minute = to_minute - 60;
  if (*from_minute >= to_minute) co_return problem(400, "bad-parameter", "from must be at least a minute before to");
  if (to_minute - *from_minute > store::kSeriesMaxMinutes) {
    co_return problem(400, "bad-parameter",
                      "the window is at most " + std::to_string(store::kSeriesMaxMinutes / 60) + " h (" +
                          std::to_string(store::kSeriesMaxMinutes) + " minutes); the samples are kept 50 h");
  }
  const std::int64_t last = to_minute - 1;
  const auto samples = co_await store::read_series(redis_, store_.keys(), *from_minute, last);
  const engine::Series s = engine::build_series(samples, *from_minute, last, workflow);
  const auto values = [](const engine::PerMinute& v) {
    Json a = Json::array();
    for (const auto& x : v) a.push_back(x ? Json(*x) : Json(nullptr));
    return a;
  };
  Json minutes = Json::array();
  for (std::int64_t m = *from_minute; m <= last; ++m) minutes.push_back(engine::rfc3339_ms(m * 60'000));
  Json counts = Json::object();
  for (std::string_view c : engine::kSeriesCounters) {
    Json per = Json::object();
    if (const auto it = s.counts.find(std::string(c)); it != s.counts.end()) {
      for (const auto& [wf, v] : it->second) per[wf] = values(v);
    }
    counts[std::string(c)] = std::move(per);
  }
  Json depth = Json::object();
  for (const auto& [q, v] : s.queue_depth) depth[q] = values(v);
  Json throughput = Json::object();
  for (const auto& [q, v] : s.queue_throughput) throughput[q] = values(v);
  Json body = Json::object();
  body["interval_seconds"] = 60;
  body["from"] = engine::rfc3339_ms(*from_minute * 60'000);
  body["to"] = engine::rfc3339_ms(to_minute * 60'000);
  body["minutes"] = std::move(minutes);
  body["counts"] = std::move(counts);
  body["queue_depth"] = std::move(depth);
  body["queue_throughput"] = std::move(throughput);
  co_return json_response(200, body);
}

Response Service::whoami(const Request& request) const {
  if (!tokens_.enabled()) {
    return json_response(200, {{"role", "admin"}, {"name", "anonymous"}, {"tokens", false}});
  }
  const auto who = tokens_.authenticate(request.header("Authorization"));
  if (!who) return json_response(200, {{"role", nullptr}, {"name", nullptr}, {"tokens", true}});
  return json_response(200, {{"role", std::string(to_string(who->role))}, {"name", who->name}, {"tokens", true}});
}

Response Service::list_workflows() const {
  Json list = Json::array();
  for (const ServedWorkflow& w : workflows_) list.push_back(w.description);
  return json_response(200, {{"workflows", std::move(list)}});
}

asio::awaitable<Response> Service::ready() {
  if (!ready_) co_return unavailable(options_.retry_after, "starting: waiting for Redis");
  if (!redis_.reachable()) co_return unavailable(options_.retry_after, "Redis is not connected");
  try {
    const auto scripts = api_scripts();
    redis::Pipeline p;
    p.add("PING");
    std::vector<std::string> exists{"SCRIPT", "EXISTS"};
    for (const auto* s : scripts) exists.push_back(s->sha1());
    p.add_argv(exists);
    auto replies = co_await redis_.exec(std::move(p));
    if (replies.at(0).is_error()) co_return unavailable(options_.retry_after, "Redis: " + std::string(replies[0].str()));
    const redis::Reply& found = replies.at(1);
    if (!found.is_array() || found.size() != scripts.size()) {
      co_return unavailable(options_.retry_after, "Redis: SCRIPT EXISTS failed");
    }
    // Scripts missing after a Redis restart are loaded now (the client would
    // load them on first use anyway); a refused load means not ready.
    redis::Pipeline load;
    for (std::size_t i = 0; i < scripts.size(); ++i) {
      if (found[i].as_integer() != 1) load.add("SCRIPT", "LOAD", scripts[i]->source());
    }
    if (!load.empty()) {
      for (const redis::Reply& r : co_await redis_.exec(std::move(load))) {
        if (r.is_error()) co_return unavailable(options_.retry_after, "Redis: SCRIPT LOAD: " + std::string(r.str()));
      }
    }
  } catch (const redis::Error& e) {
    co_return unavailable(options_.retry_after, std::string("Redis: ") + e.what());
  }
  co_return json_response(200, {{"status", "ready"}});
}

asio::awaitable<Response> Service::metrics() {
  Exposition out;
  bool up = redis_.connected();
  std::map<std::string, std::int64_t> counters;
  std::vector<store::Store::QueueDepth> depths;
  std::int64_t delayed = 0;
  std::int64_t dead = 0;
  std::vector<store::Store::LimiterState> limiters;
  if (up) {
    try {
      counters = co_await store_.counters();
      limiters = co_await store_.limiters();
      depths = co_await store_.queue_depths();
      delayed = co_await store_.delayed_count();
      dead = co_await store_.dlq_count();
    } catch (const redis::Error& e) {
      spdlog::warn("api: /metrics: Redis: {}", e.what());
      up = false;
    }
  }
  out.family("steadfast_redis_up", "gauge", "1 when the API reached Redis for this scrape");
  out.sample("steadfast_redis_up", up ? 1 : 0);
  if (up) {
    // Per-workflow counters: every served workflow, zero until it counts.
    std::map<std::string, std::map<std::string, std::int64_t>> by_kind;  // kind -> workflow -> n
    for (const char* kind : {"submitted", "completed", "failed"}) {
      for (const ServedWorkflow& w : workflows_) by_kind[kind][w.name] = 0;
    }
    std::int64_t retries = 0;
    std::int64_t reclaims = 0;
    // Step durations: step_ms:<workflow>:<step>:<bound|inf> and step_ms_sum:<workflow>:<step>
    // (names cannot hold ':'), per bucket, made cumulative below.
    struct Histogram {
      std::map<std::string, std::int64_t> buckets;
      std::int64_t sum_ms = 0;
    };
    std::map<std::pair<std::string, std::string>, Histogram> durations;
    for (const auto& [key, value] : counters) {
      const auto colon = key.find(':');
      if (key.starts_with("step_ms:") || key.starts_with("step_ms_sum:")) {
        std::vector<std::string> parts;
        for (std::size_t from = 0;;) {
          const auto next = key.find(':', from);
          parts.push_back(key.substr(from, next == std::string::npos ? std::string::npos : next - from));
          if (next == std::string::npos) break;
          from = next + 1;
        }
        if (parts[0] == "step_ms" && parts.size() == 4) durations[{parts[1], parts[2]}].buckets[parts[3]] += value;
        if (parts[0] == "step_ms_sum" && parts.size() == 3) durations[{parts[1], parts[2]}].sum_ms += value;
      } else if (colon != std::string::npos) {
        const std::string kind = key.substr(0, colon);
        if (by_kind.contains(kind)) by_kind[kind][key.substr(colon + 1)] = value;
      } else if (key == "retries") {
        retries = value;
      } else if (key == "reclaims") {
        reclaims = value;
      }
    }
    const std::pair<const char*, const char*> families[] = {
        {"submitted", "Runs submitted, by workflow"},
        {"completed", "Runs completed, by workflow"},
        {"failed", "Runs that ended in the dead-letter queue, by workflow"}};
    for (const auto& [kind, help] : families) {
      const std::string name = std::string("steadfast_runs_") + kind + "_total";
      out.family(name, "counter", help);
      for (const auto& [workflow, value] : by_kind[kind]) {
        out.sample(name, {{"workflow", workflow}}, static_cast<double>(value));
      }
    }
    out.family("steadfast_step_retries_total", "counter", "Step attempts that failed and were scheduled again");
    out.sample("steadfast_step_retries_total", static_cast<double>(retries));
    out.family("steadfast_lease_reclaims_total", "counter",
               "Steps taken over from a worker whose lease expired");
    out.sample("steadfast_lease_reclaims_total", static_cast<double>(reclaims));
    out.family("steadfast_step_duration_seconds", "histogram",
               "Wall time of step attempts that completed, by workflow and step");
    for (const auto& [label, h] : durations) {
      std::int64_t cumulative = 0;
      for (std::int64_t bound : store::kStepDurationBucketsMs) {
        auto it = h.buckets.find(std::to_string(bound));
        if (it != h.buckets.end()) cumulative += it->second;
        char le[32];
        std::snprintf(le, sizeof le, "%g", static_cast<double>(bound) / 1000.0);
        out.sample("steadfast_step_duration_seconds_bucket",
                   {{"workflow", label.first}, {"step", label.second}, {"le", le}},
                   static_cast<double>(cumulative));
      }
      auto inf = h.buckets.find("inf");
      if (inf != h.buckets.end()) cumulative += inf->second;
      out.sample("steadfast_step_duration_seconds_bucket",
                 {{"workflow", label.first}, {"step", label.second}, {"le", "+Inf"}},
                 static_cast<double>(cumulative));
      out.sample("steadfast_step_duration_seconds_sum", {{"workflow", label.first}, {"step", label.second}},
                 static_cast<double>(h.sum_ms) / 1000.0);
      out.sample("steadfast_step_duration_seconds_count",
                 {{"workflow", label.first}, {"step", label.second}}, static_cast<double>(cumulative));
    }
    out.family("steadfast_limiter_waits_total", "counter",
               "Admissions a limiter refused (the step waited, keeping its lease), by limiter");
    for (const auto& l : limiters) {
      out.sample("steadfast_limiter_waits_total", {{"limiter", l.name}}, static_cast<double>(l.waits));
    }
    out.family("steadfast_limiter_admitted_total", "counter", "Admissions a limiter granted, by limiter");
    for (const auto& l : limiters) {
      out.sample("steadfast_limiter_admitted_total", {{"limiter", l.name}}, static_cast<double>(l.admitted));
    }
    out.family("steadfast_limiter_tokens", "gauge",
               "Tokens in a limiter's bucket now (below zero: in debt), for limiters with a token rate");
    for (const auto& l : limiters) {
      if (l.bounds.is_object() && l.bounds.value("tokens_per_minute", 0) > 0) {
        out.sample("steadfast_limiter_tokens", {{"limiter", l.name}}, static_cast<double>(l.tokens));
      }
    }
    // A keyed limiter's busiest keys (at most ten each: bounded label values),
    // this minute and the last.
    const auto per_key = [&](const char* name, const char* help, auto value) {
      out.family(name, "gauge", help);
      for (const auto& l : limiters) {
        for (const auto& b : l.busiest_keys) {
          if (const std::optional<std::int64_t> v = value(b)) {
            out.sample(name, {{"limiter", l.name}, {"key", b.key}}, static_cast<double>(*v));
          }
        }
      }
    };
    using BusyKey = store::Store::LimiterState::BusyKey;
    per_key("steadfast_limiter_key_admitted", "Admissions this minute and the last, for a keyed limiter's busiest keys",
            [](const BusyKey& b) { return std::optional(b.admitted_this_minute + b.admitted_last_minute); });
    per_key("steadfast_limiter_key_waits",
            "Admissions refused this minute and the last, for a keyed limiter's busiest keys",
            [](const BusyKey& b) { return std::optional(b.waits_this_minute + b.waits_last_minute); });
    per_key("steadfast_limiter_key_tokens", "Tokens in a busiest key's bucket now, for keyed limiters with a token rate",
            [](const BusyKey& b) { return b.tokens; });
    out.family("steadfast_queue_entries", "gauge", "Entries in a queue stream (waiting and claimed)");
    for (const auto& d : depths) out.sample("steadfast_queue_entries", {{"queue", d.queue}}, static_cast<double>(d.entries));
    out.family("steadfast_queue_pending", "gauge", "Entries of a queue claimed by a worker");
    for (const auto& d : depths) out.sample("steadfast_queue_pending", {{"queue", d.queue}}, static_cast<double>(d.pending));
    out.family("steadfast_queue_backlog", "gauge",
               "Steps in an ordered queue's backlog (not in its stream yet), by the priority they count at");
    for (const auto& d : depths) {
      for (const auto& [level, n] : d.backlog_by_priority) {
        out.sample("steadfast_queue_backlog", {{"queue", d.queue}, {"priority", std::to_string(level)}},
                   static_cast<double>(n));
      }
    }
    out.family("steadfast_queue_active_keys", "gauge",
               "Fairness keys with steps waiting in an ordered queue's backlog (per priority level, summed)");
    for (const auto& d : depths) {
      if (d.backlog > 0 || d.active_keys > 0) {
        out.sample("steadfast_queue_active_keys", {{"queue", d.queue}}, static_cast<double>(d.active_keys));
      }
    }
    out.family("steadfast_delayed_runs", "gauge", "Runs waiting for a timer: a retry, or a delayed start");
    out.sample("steadfast_delayed_runs", static_cast<double>(delayed));
    out.family("steadfast_dead_letter_runs", "gauge", "Entries in the dead-letter queue");
    out.sample("steadfast_dead_letter_runs", static_cast<double>(dead));
  }
  http_metrics_.render(out);
  Response r;
  r.content_type = std::string(kPrometheusContentType);
  r.body = out.take();
  co_return r;
}

}  // namespace steadfast::api
