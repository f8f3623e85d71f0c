// The routes of the HTTP API, on plain Request/Response values (no Beast): the
// server (server.cpp) parses, limits and writes; the Service decides.
//
// Thread-safety: a Service lives on the server's I/O thread (the thread that
// owns the redis::Client); call handle() from that thread only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "api/problem.h"
#include "api/quotas.h"
#include "api/task_protocol.h"
#include "engine/callback_signing.h"
#include "engine/json_schema.h"
#include "api/tokens.h"
#include "config/workflows_file.h"
#include "redis/client.h"
#include "steadfast/json.h"
#include "store/store.h"

namespace steadfast::api {

// A workflow the API accepts runs of.
struct ServedWorkflow {
  std::string name;
  Json definition;  // as registered in Redis (store::definition_of)
  Json input_schema;  // null = any input
  std::optional<engine::JsonSchema> schema;  // compiled input_schema
  Json description;  // GET /v1/workflows entry
  std::vector<std::string> steps;
  std::string first_queue;
  std::string graph;  // store::run_graph_of: '' for a chain
  std::int64_t max_backlog = 0;  // 0 = no bound
  std::size_t max_input_bytes = kMaxInputBytes;  // longer inputs (compact JSON) are refused with 413
};

// The served workflows, compiled once. Throws std::invalid_argument naming the
// workflow for an input_schema RapidJSON cannot compile, or config::ConfigError
// for an unknown step kind or bad step parameters.
[[nodiscard]] std::vector<ServedWorkflow> serve_workflows(const config::WorkflowsFile& file);

struct ServiceOptions {
  // Longest ?wait= of GET /v1/runs/{id}; longer requests are cut to it.
  std::chrono::milliseconds max_wait{std::chrono::seconds(60)};
  // Cancelled runs expire this long after they end (as the workers' retention).
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  std::size_t max_body = std::size_t{1} << 20;  // bytes; bodies over it are refused with 413
  // Nesting of the request's JSON body; deeper is refused with 400.
  int max_json_depth = 64;
  // Retry-After of 429 and 503 answers.
  std::chrono::seconds retry_after{1};
  // Verifies callback URLs (POST /v1/callbacks/...); null = no callbacks (404).
  std::shared_ptr<const engine::CallbackSigner> callbacks;
  // The worker protocol (POST /v1/worker/...; api/task_protocol.h); null =
  // no task steps served (404).
  std::shared_ptr<TaskProtocol> tasks;
};

// Runs one POST /v1/workflows/{name}/runs:batch may submit.
inline constexpr std::size_t kMaxBatchRuns = 1000;

// The run a POST /v1/workflows/{name}/runs asks for, checked without Redis:
// the body's media type, nesting, JSON and shape ({"input": ...} only), the
// input's size and the workflow's input_schema, the Idempotency-Key. Returns
// the request for store::Store::submit, or the problem to answer.
[[nodiscard]] std::variant<store::SubmitRequest, Response> submit_request(const Request& request,
                                                                        const ServedWorkflow& workflow,
                                                                        const ServiceOptions& options);

class Service {
 public:
  Service(redis::Client& redis, store::Store& store, std::vector<ServedWorkflow> workflows,
          Tokens tokens, ServiceOptions options);

  // Answers one request; never throws (unexpected errors become 500).
  boost::asio::awaitable<Response> handle(const Request& request);

  // What the request line and header alone decide, before any of the body
  // is read: an unknown route (404), a wrong method (405), two
  // Authorization fields (400), a missing or bad token (401) or a role
  // that may not use the route (403). nullopt = read the body and handle().
  // handle() makes the same checks.
  [[nodiscard]] std::optional<Response> screen(const Request& request) const;

  // Redis is set up (workflows registered, groups made): until then /readyz
  // and every route that needs Redis answer 503.
  void mark_ready() noexcept { ready_ = true; }

  // Long polls return their current state at once from now on.
  void begin_shutdown() {
    shutting_down_ = true;
    if (options_.tasks) options_.tasks->begin_shutdown();
  }

  // Counts an answered request (the server calls this for every response it
  // writes, including its own 400/413/431).
  void observe(std::string_view route, std::string_view method, int status, double seconds) {
    http_metrics_.observe(route, method, status, seconds);
  }

  [[nodiscard]] const std::vector<ServedWorkflow>& workflows() const noexcept { return workflows_; }

 private:
  struct Route;
  // The route and its query, or the answer refusing the request (see screen()).
  std::variant<Route, Response> resolve(const Request& request) const;
  boost::asio::awaitable<Response> dispatch(const Request& request, Route& route);
  boost::asio::awaitable<Response> submit(const Request& request, const std::string& workflow,
                                          const std::optional<Principal>& who);
  boost::asio::awaitable<Response> submit_batch(const Request& request, const std::string& workflow,
                                                const std::optional<Principal>& who);
  boost::asio::awaitable<Response> get_run(const std::string& id, const std::map<std::string, std::string>& query);
  boost::asio::awaitable<Response> map_items(const std::string& id, const std::string& step,
                                             const std::map<std::string, std::string>& query);
  boost::asio::awaitable<Response> list_runs(const std::map<std::string, std::string>& query);
  boost::asio::awaitable<Response> cancel(const std::string& id, const std::optional<Principal>& who);
  boost::asio::awaitable<Response> rerun(const Request& request, const std::string& id,
                                         const std::optional<Principal>& who);
  boost::asio::awaitable<Response> signal(const Request& request, const std::string& id, const std::string& name,
                                          const std::optional<Principal>& who);
  boost::asio::awaitable<Response> callback(const Request& request, const std::string& id, const std::string& step,
                                            const std::string& token);
  boost::asio::awaitable<Response> dlq_list(const std::map<std::string, std::string>& query);
  boost::asio::awaitable<Response> dlq_replay(const std::string& id, const std::optional<Principal>& who);
  boost::asio::awaitable<Response> dlq_purge(const Request& request, const std::optional<Principal>& who);
  boost::asio::awaitable<Response> create_bulk(const Request& request, const std::optional<Principal>& who);
  boost::asio::awaitable<Response> get_bulk(const std::string& id);
  boost::asio::awaitable<Response> stop_bulk(const std::string& id, const std::optional<Principal>& who);
  boost::asio::awaitable<Response> list_bulk(const std::map<std::string, std::string>& query);
  boost::asio::awaitable<Response> list_workers();
  // POST /v1/worker/{claim|heartbeat|complete|fail|release}.
  boost::asio::awaitable<Response> worker_call(const Request& request, const std::string& call);
  boost::asio::awaitable<Response> list_queues();
  boost::asio::awaitable<Response> pause_queue(const std::string& queue, bool pause,
                                               const std::optional<Principal>& who);
  // GET /v1/schedules; POST /v1/schedules/{name}/pause|resume|trigger.
  boost::asio::awaitable<Response> list_schedules();
  boost::asio::awaitable<Response> change_schedule(const std::string& name, std::string_view action,
                                                   const std::optional<Principal>& who);
  boost::asio::awaitable<Response> list_limiters();
  boost::asio::awaitable<bool> limiter_known(const std::string& name);
  boost::asio::awaitable<Response> list_limiter_overrides(const std::string& name);
  boost::asio::awaitable<Response> change_limiter_override(const Request& request, const std::string& name,
                                                           const std::string& raw_key,
                                                           const std::optional<Principal>& who);
  boost::asio::awaitable<Response> audit_log(const std::map<std::string, std::string>& query);
  // GET /v1/stats/series?from&to&workflow: per-minute counts and queue depths.
  boost::asio::awaitable<Response> stats_series(const std::map<std::string, std::string>& query);
  boost::asio::awaitable<Response> metrics();
  boost::asio::awaitable<Response> ready();
  Response list_workflows() const;
  // GET /v1/me: {"role","name","tokens"}: what the caller's token may do, so
  // the dashboard shows only the actions it allows (the API checks them
  // anyway). Role and name are null for a missing or unknown token; without
  // --tokens everyone is an anonymous admin.
  Response whoami(const Request& request) const;
  const ServedWorkflow* find(std::string_view name) const;

  redis::Client& redis_;
  store::Store& store_;
  std::vector<ServedWorkflow> workflows_;
  Tokens tokens_;
  ServiceOptions options_;
  HttpMetrics http_metrics_;
  Quotas quotas_;
  bool shutting_down_ = false;
  bool ready_ = false;
};

}  // namespace steadfast::api
