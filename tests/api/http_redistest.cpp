// The HTTP API end to end: an api::Server on its own thread against the test
// binary's redis-server, driven over real sockets by a small blocking client
// (http_client.h). Every status code the API promises, at and past its limits.
#include <atomic>
#include <cmath>
#include <optional>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "api/http_client.h"
#include "api/server.h"
#include "config/workflows_file.h"
#include "engine/bulk.h"
#include "engine/rfc3339.h"
#include "store/bulk.h"
#include "store/keys.h"
#include "store/store.h"
#include "steadfast/worker.h"
#include "steps/kind_registry.h"
#include "engine/callback_signing.h"
#include "support/redis_test.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::HttpConnection;
using test::http;
using test::post_json;

constexpr const char* kWorkflows = R"(
workflows:
  analyze:
    input_schema:
      type: object
      required: [document_url]
      properties:
        document_url: {type: string, minLength: 4}
        pages: {type: integer, minimum: 1}
    steps:
      - {name: fetch, kind: noop}
      - {name: summarize, kind: sleep, with: {ms: 400}}
  anything:
    steps:
      - {name: only, kind: noop}
  doomed:
    steps:
      - {name: boom, kind: fail, with: {times: 100}, retry: {max_attempts: 1}}
)";

constexpr const char* kBoundedQueue = R"(
queues:
  default: {max_backlog: 2}
workflows:
  anything:
    steps:
      - {name: only, kind: noop}
)";

// An api::Server on its own thread; stopped and joined on destruction.
class ServerThread {
 public:
  ServerThread(api::ServerOptions options, const std::string& yaml)
      : server_(std::move(options), config::parse_workflows(yaml, "test.yaml")) {
    thread_ = std::thread([this] {
      try {
        server_.run();
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
    port_ = server_.wait_listening(15s);
  }
  ~ServerThread() { stop(); }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  void stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  api::Server server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::string error_;
};

class ApiTest : public test::RedisTest {
 protected:
  void TearDown() override {
    worker_thread_stop();
    api_.reset();
    test::RedisTest::TearDown();
  }

  api::ServerOptions options() const {
    api::ServerOptions o;
    o.port = 0;
    o.redis_url = server().url();
    o.handle_signals = false;
    o.redis_timeout = 1s;
    return o;
  }

  std::uint16_t start(api::ServerOptions o, const std::string& yaml = kWorkflows) {
    api_ = std::make_unique<ServerThread>(std::move(o), yaml);
    EXPECT_NE(api_->port(), 0) << "the server did not start: " << api_->error();
    return api_->port();
  }
  std::uint16_t start() { return start(options()); }

  // public_url and signing_key_file: callback URLs (both or neither).
  void start_worker(const std::string& yaml = kWorkflows, const std::string& public_url = {},
                    const std::string& signing_key_file = {}) {
    const auto file = config::parse_workflows(yaml, "test.yaml");
    WorkerOptions o;
    o.public_url = public_url;
    o.signing_key_file = signing_key_file;
    o.redis_url = server().url();
    o.handle_signals = false;
    o.concurrency = 4;
    o.drain_timeout = 1s;
    o.limits = file.limiters;
    worker_ = std::make_unique<Worker>(o, config::build_workflows(file, steps::builtin_kinds()));
    worker_thread_ = std::thread([this] {
      try {
        worker_->run();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "worker: " << e.what();
      }
    });
  }
  void worker_thread_stop() {
    if (worker_thread_.joinable()) {
      worker_->stop();
      worker_thread_.join();
    }
  }

  // Every key in the server.
  std::set<std::string> all_keys() const {
    std::set<std::string> out;
    const redis::Reply r = server().call({"KEYS", "*"});
    for (const auto& k : r.elements()) out.emplace(k.str());
    return out;
  }

  // GET /v1/runs/{id} until the run's status is `status` (at most 10 s): the last answer.
  static Json run_reaching(std::uint16_t port, const std::string& id, const std::string& status) {
    Json run;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      run = test::http(port, "GET", "/v1/runs/" + id).json();
      if (run["status"] == status) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return run;
  }

  static void expect_problem(const test::HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
    const Json p = r.json();
    ASSERT_TRUE(p.is_object()) << r.body;
    EXPECT_TRUE(p.contains("type") && p["type"].is_string()) << r.body;
    EXPECT_TRUE(p.contains("title") && p["title"].is_string()) << r.body;
    EXPECT_EQ(p.value("status", 0), status) << r.body;
    EXPECT_TRUE(p.contains("detail") && p["detail"].is_string()) << r.body;
  }

  std::unique_ptr<ServerThread> api_;
  std::unique_ptr<Worker> worker_;
  std::thread worker_thread_;
};

const Json kGoodInput = {{"input", {{"document_url", "https://example.test/a.pdf"}}}};

TEST_F(ApiTest, SubmitAnswers202ThenStatus) {
  const auto port = start();
  const auto r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  ASSERT_EQ(r.status, 202) << r.body;
  const Json body = r.json();
  const std::string id = body.at("run_id").get<std::string>();
  EXPECT_EQ(body.at("status_url"), "/v1/runs/" + id);
  EXPECT_EQ(r.header("location"), "/v1/runs/" + id);

  const auto s = http(port, "GET", "/v1/runs/" + id);
  ASSERT_EQ(s.status, 200) << s.body;
  const Json run = s.json();
  EXPECT_EQ(run.at("id"), id);
  EXPECT_EQ(run.at("workflow"), "analyze");
  EXPECT_EQ(run.at("status"), "queued");
  EXPECT_EQ(run.at("steps").size(), 2u);

  // An empty body is an empty input (no schema on "anything").
  const auto e = http(port, "POST", "/v1/workflows/anything/runs");
  EXPECT_EQ(e.status, 202) << e.body;
}

// A map step's items through the API: the run's step shows their counts,
// and /v1/runs/{id}/steps/{step}/items pages through them; a step that is no
// map step, a bad offset or limit are problems naming what is wrong.
TEST_F(ApiTest, AMapStepsItemsArePagedThrough) {
  const std::string yaml = R"(
workflows:
  each:
    steps:
      - {name: split, kind: noop}
      - {name: m, kind: noop, map: {over: "{{input.xs}}", max_parallel: 3}}
)";
  const auto port = start(options(), yaml);
  start_worker(yaml);
  const auto r = post_json(port, "/v1/workflows/each/runs", {{"input", {{"xs", {10, 20, 30, 40, 50}}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json().at("run_id").get<std::string>();
  const Json run = run_reaching(port, id, "completed");
  ASSERT_EQ(run["status"], "completed") << run.dump();
  EXPECT_EQ(run["steps"][1]["items"]["total"], 5);
  EXPECT_EQ(run["steps"][1]["items"]["completed"], 5);
  EXPECT_EQ(run["steps"][1]["output"].size(), 5u);
  EXPECT_EQ(run["steps"][0]["items"], nullptr);

  const auto page = http(port, "GET", "/v1/runs/" + id + "/steps/m/items?offset=1&limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  const Json p = page.json();
  EXPECT_EQ(p["total"], 5);
  EXPECT_EQ(p["offset"], 1);
  ASSERT_EQ(p["items"].size(), 2u);
  EXPECT_EQ(p["items"][0]["index"], 1);
  EXPECT_EQ(p["items"][0]["status"], "completed");
  EXPECT_EQ(p["items"][0]["attempts"], 1);
  EXPECT_EQ(p["items"][0]["output"], Json::object()) << "noop's output";
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id + "/steps/m/items?offset=5").json()["items"].size(), 0u);

  expect_problem(http(port, "GET", "/v1/runs/" + id + "/steps/split/items"), 404);
  expect_problem(http(port, "GET", "/v1/runs/" + id + "/steps/m/items?offset=-1"), 400);
  expect_problem(http(port, "GET", "/v1/runs/" + id + "/steps/m/items?limit=1001"), 400);
  expect_problem(http(port, "GET", "/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/steps/m/items"), 404);
}

// Delayed runs (issue 15): "delay" or "run_at" in the body; scheduled until
// then, cancellable; every bad value a 422 naming its member.
TEST_F(ApiTest, SubmitWithADelayIsScheduledAndCanBeCancelled) {
  const auto port = start();
  const auto r = post_json(port, "/v1/workflows/anything/runs", {{"input", 1}, {"delay", "10m"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json().at("run_id").get<std::string>();
  const Json run = http(port, "GET", "/v1/runs/" + id).json();
  EXPECT_EQ(run.at("status"), "scheduled");
  EXPECT_EQ(run.at("run_at"), r.json().at("run_at"));
  EXPECT_EQ(run.at("waiting_for").at("kind"), "scheduled");
  EXPECT_EQ(run.at("waiting_for").at("until"), run.at("run_at"));
  const auto listed = http(port, "GET", "/v1/runs?status=scheduled").json();
  ASSERT_EQ(listed.at("runs").size(), 1u) << listed.dump();
  EXPECT_EQ(listed["runs"][0]["id"], id);
  EXPECT_EQ(listed["runs"][0]["run_at"], run.at("run_at"));  // the dashboard's runs page shows it
  ASSERT_EQ(http(port, "POST", "/v1/runs/" + id + "/cancel").status, 200);
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id).json().at("status"), "cancelled");

  // A run_at: answered with the time it starts, normalized to UTC.
  const auto in_an_hour = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count() / 1000 * 1000 + 3'600'000;
  const std::string utc = engine::rfc3339_ms(in_an_hour);  // "...T..:..:..000Z"
  const std::string berlin = engine::rfc3339_ms(in_an_hour + 3'600'000).substr(0, 19) + "+01:00";
  const auto at = post_json(port, "/v1/workflows/anything/runs", {{"run_at", berlin}});
  ASSERT_EQ(at.status, 202) << at.body;
  EXPECT_EQ(at.json().at("run_at"), utc);
}

TEST_F(ApiTest, APriorityIsKeptAndShownAtAndInsideItsBounds) {
  const auto port = start();
  for (const int p : {0, 9}) {
    const auto r = post_json(port, "/v1/workflows/anything/runs", {{"priority", p}});
    ASSERT_EQ(r.status, 202) << r.body;
    const std::string id = r.json().at("run_id");
    EXPECT_EQ(http(port, "GET", "/v1/runs/" + id).json().at("priority"), p);
  }
  const auto plain = post_json(port, "/v1/workflows/anything/runs", Json::object());
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + plain.json().at("run_id").get<std::string>()).json().at("priority"), 5)
      << "the default";
  // The same idempotency key with another priority is another request.
  ASSERT_EQ(post_json(port, "/v1/workflows/anything/runs", {{"priority", 2}}, {{"Idempotency-Key", "p"}}).status, 202);
  EXPECT_EQ(post_json(port, "/v1/workflows/anything/runs", {{"priority", 2}}, {{"Idempotency-Key", "p"}}).status, 200);
  expect_problem(post_json(port, "/v1/workflows/anything/runs", {{"priority", 3}}, {{"Idempotency-Key", "p"}}), 409);
}

TEST_F(ApiTest, SubmitRefusesABadDelayOrRunAtNamingTheMember) {
  const auto port = start();
  const struct {
    Json body;
    const char* pointer;
  } cases[] = {
      {{{"delay", "-5m"}}, "/delay"},
      {{{"delay", "8761h"}}, "/delay"},
      {{{"delay", "soon"}}, "/delay"},
      {{{"delay", 600}}, "/delay"},
      {{{"run_at", "tomorrow"}}, "/run_at"},
      {{{"run_at", "2020-01-01T00:00:00Z"}}, "/run_at"},  // in the past
      {{{"delay", "1m"}, {"run_at", "2099-01-01T00:00:00Z"}}, "/run_at"},
      {{{"priority", 10}}, "/priority"},
      {{{"priority", -1}}, "/priority"},
      {{{"priority", 5.5}}, "/priority"},
      {{{"priority", "high"}}, "/priority"},
  };
  for (const auto& c : cases) {
    const auto r = post_json(port, "/v1/workflows/anything/runs", c.body);
    expect_problem(r, 422);
    EXPECT_EQ(r.json()["errors"][0]["pointer"], c.pointer) << c.body.dump() << " -> " << r.body;
  }
  EXPECT_EQ(http(port, "GET", "/v1/runs").json().at("runs").size(), 0u) << "a refused submit made a run";
}

TEST_F(ApiTest, IdempotencyKeyReturnsTheSameRunWith200) {
  const auto port = start();
  const auto first = post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Idempotency-Key", "order-42"}});
  ASSERT_EQ(first.status, 202) << first.body;
  const auto again = post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Idempotency-Key", "order-42"}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json().at("run_id"), first.json().at("run_id"));
  const auto other = post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Idempotency-Key", "order-43"}});
  ASSERT_EQ(other.status, 202) << other.body;
  EXPECT_NE(other.json().at("run_id"), first.json().at("run_id"));
  expect_problem(post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Idempotency-Key", std::string(300, 'k')}}),
                 400);
  // The same key with another input: 409, naming the first run; nothing written.
  Json changed = kGoodInput;
  changed["input"]["document_url"] = "https://example.com/other.pdf";
  const auto conflict = post_json(port, "/v1/workflows/analyze/runs", changed, {{"Idempotency-Key", "order-42"}});
  expect_problem(conflict, 409);
  EXPECT_EQ(conflict.json().value("type", ""), "tag:steadfast,2025:idempotency-conflict") << conflict.body;
  EXPECT_NE(conflict.json().value("detail", "").find(first.json().at("run_id").get<std::string>()), std::string::npos)
      << conflict.body;
  // A key that looks like a key name is just a key.
  const auto odd = post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Idempotency-Key", "x}:run:01HZZZZZZZZZZZZZZZZZZZZZZZ"}});
  EXPECT_EQ(odd.status, 202) << odd.body;
}

TEST_F(ApiTest, MalformedAndTooDeepJsonAre400) {
  const auto port = start();
  const test::Headers json_type{{"Content-Type", "application/json"}};
  expect_problem(http(port, "POST", "/v1/workflows/anything/runs", "{\"input\": ", json_type), 400);
  expect_problem(http(port, "POST", "/v1/workflows/anything/runs", "{\"input\": \"\xff\xfe\"}", json_type), 400);
  // 10,000 levels: refused by the depth scan before any parser sees it.
  const std::string deep = "{\"input\": " + std::string(10000, '[') + std::string(10000, ']') + "}";
  const auto r = http(port, "POST", "/v1/workflows/anything/runs", deep, json_type);
  expect_problem(r, 400);
  EXPECT_NE(r.json().value("detail", "").find("deeper than 64"), std::string::npos) << r.body;
  // 64 levels in all (the body object included) is fine.
  const std::string ok = "{\"input\": " + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_EQ(http(port, "POST", "/v1/workflows/anything/runs", ok, json_type).status, 202);
  // A body that is JSON but not {"input": ...}: 422 naming the member.
  const auto extra = post_json(port, "/v1/workflows/anything/runs", {{"inputs", 1}});
  expect_problem(extra, 422);
  EXPECT_EQ(extra.json()["errors"][0]["pointer"], "/inputs");
}

TEST_F(ApiTest, UnknownWorkflowRunAndRouteAre404) {
  const auto port = start();
  expect_problem(post_json(port, "/v1/workflows/nope/runs", kGoodInput), 404);
  expect_problem(http(port, "GET", "/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ"), 404);
  expect_problem(http(port, "GET", "/v1/runs/not-a-run-id"), 404);
  expect_problem(http(port, "GET", "/v2/anything"), 404);
  expect_problem(http(port, "GET", "/"), 404);
  expect_problem(http(port, "GET", "/v1/runs/"), 404);
  expect_problem(http(port, "POST", "/v1/dlq/1-1/replay"), 404);
}

TEST_F(ApiTest, WrongMethodIs405WithAllow) {
  const auto port = start();
  auto r = http(port, "GET", "/v1/workflows/analyze/runs");
  expect_problem(r, 405);
  EXPECT_EQ(r.header("allow"), "POST");
  r = http(port, "DELETE", "/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ");
  expect_problem(r, 405);
  EXPECT_EQ(r.header("allow"), "GET");
  // OPTIONS says what a route accepts.
  r = http(port, "OPTIONS", "/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.header("allow"), "GET, HEAD, OPTIONS");
  EXPECT_TRUE(r.body.empty());
  r = http(port, "OPTIONS", "/v1/workflows/analyze/runs");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("allow"), "POST, OPTIONS");
  expect_problem(http(port, "OPTIONS", "/v2/nothing"), 404);
  // HEAD is GET without the body.
  r = http(port, "HEAD", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), std::to_string(http(port, "GET", "/healthz").body.size()));
  EXPECT_TRUE(r.body.empty());
}

TEST_F(ApiTest, NonJsonContentTypeIs415) {
  const auto port = start();
  expect_problem(http(port, "POST", "/v1/workflows/anything/runs", "input=1",
                      {{"Content-Type", "application/x-www-form-urlencoded"}}),
                 415);
  expect_problem(http(port, "POST", "/v1/workflows/anything/runs", "{\"input\": 1}"), 415);  // no type
  EXPECT_EQ(http(port, "POST", "/v1/workflows/anything/runs", "{\"input\": 1}",
                 {{"Content-Type", "application/json; charset=utf-8"}})
                .status,
            202);
}

TEST_F(ApiTest, SchemaViolationIs422WithTheFieldPath) {
  const auto port = start();
  auto r = post_json(port, "/v1/workflows/analyze/runs", {{"input", Json::object()}});
  expect_problem(r, 422);
  Json p = r.json();
  ASSERT_EQ(p["errors"].size(), 1u) << r.body;
  EXPECT_EQ(p["errors"][0]["pointer"], "/input/document_url");
  EXPECT_EQ(p["errors"][0]["keyword"], "required");

  r = post_json(port, "/v1/workflows/analyze/runs", {{"input", {{"document_url", "https://x.test"}, {"pages", 0}}}});
  expect_problem(r, 422);
  p = r.json();
  EXPECT_EQ(p["errors"][0]["pointer"], "/input/pages");
  EXPECT_EQ(p["errors"][0]["keyword"], "minimum");

  r = post_json(port, "/v1/workflows/analyze/runs", {{"input", {{"document_url", 7}}}});
  expect_problem(r, 422);
  EXPECT_EQ(r.json()["errors"][0]["pointer"], "/input/document_url");
  // Nothing was written for refused submits.
  EXPECT_EQ(http(port, "GET", "/v1/runs").json()["runs"].size(), 0u);
}

TEST_F(ApiTest, BodyOverTheLimitIs413FromContentLength) {
  auto o = options();
  o.max_body = 1024;
  const auto port = start(o);
  HttpConnection c(port);
  // Only the header: the answer must come without the body ever being sent.
  ASSERT_TRUE(c.send("POST /v1/workflows/anything/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 2000000\r\n\r\n"));
  const auto r = c.read_response(5s);
  expect_problem(r, 413);
  EXPECT_EQ(r.header("connection"), "close");
  // At the limit exactly is fine.
  const std::string body = "{\"input\": \"" + std::string(1024 - 13, 'x') + "\"}";
  ASSERT_EQ(body.size(), 1024u);
  EXPECT_EQ(http(port, "POST", "/v1/workflows/anything/runs", body, {{"Content-Type", "application/json"}}).status, 202);
  const std::string over = "{\"input\": \"" + std::string(1024 - 12, 'x') + "\"}";
  expect_problem(http(port, "POST", "/v1/workflows/anything/runs", over, {{"Content-Type", "application/json"}}), 413);
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

TEST_F(ApiTest, NeverEndingChunkedBodyIs413AndNotBuffered) {
  const auto port = start();  // 1 MiB limit
  HttpConnection c(port);
  ASSERT_TRUE(c.send("POST /v1/workflows/anything/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"));
  const long rss_before = rss_kib();
  std::atomic<std::size_t> sent{0};
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";  // 64 KiB chunks, forever
    while (!stop && c.send(chunk)) sent += 0x10000;
  });
  test::HttpResponse r;
  try {
    r = c.read_response(10s);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  const bool closed = c.wait_closed(5s);
  stop = true;
  c.shutdown();  // unblocks the sender if the server never closed
  sender.join();
  expect_problem(r, 413);
  EXPECT_TRUE(closed) << "the server kept the connection open";
  EXPECT_GT(sent.load(), std::size_t{1} << 20);
  // The server (in this process) read at most the limit plus what it drops
  // while closing; it never held the stream.
  EXPECT_LT(rss_kib() - rss_before, 32 * 1024) << "RSS grew by " << (rss_kib() - rss_before) << " KiB";
  EXPECT_EQ(http(port, "GET", "/healthz").status, 200);
}

TEST_F(ApiTest, HeaderOverTheLimitIs431) {
  auto o = options();
  o.max_header_bytes = 4096;
  const auto port = start(o);
  const auto r = http(port, "GET", "/healthz", {}, {{"X-Padding", std::string(8000, 'p')}});
  expect_problem(r, 431);
}

TEST_F(ApiTest, BacklogFullIs429WithRetryAfter) {
  const auto port = start(options(), kBoundedQueue);
  EXPECT_EQ(post_json(port, "/v1/workflows/anything/runs", {{"input", 1}}).status, 202);
  EXPECT_EQ(post_json(port, "/v1/workflows/anything/runs", {{"input", 2}}).status, 202);
  const auto r = post_json(port, "/v1/workflows/anything/runs", {{"input", 3}});
  expect_problem(r, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
}

// POST /v1/workflows/{name}/runs:batch: each item answered on its own, in
// order; a refused one (bad input, a used key with another request, a full
// backlog) writes nothing and stops nothing.
TEST_F(ApiTest, BatchSubmitAnswersEachRunOnItsOwn) {
  const auto port = start();
  const auto first = post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Idempotency-Key", "doc-1"}});
  ASSERT_EQ(first.status, 202) << first.body;
  const Json batch = {{"runs",
                       {{{"input", {{"document_url", "https://example.test/b.pdf"}}}, {"metadata", {{"customer", "acme"}}}},
                        {{"input", {{"document_url", 7}}}},                             // fails the input_schema
                        kGoodInput,                                                    // the same request again, no key: new
                        {{"input", kGoodInput["input"]}, {"idempotency_key", "doc-1"}},  // a repeat of the first
                        {{"input", {{"document_url", "https://example.test/c.pdf"}}}, {"idempotency_key", "doc-1"}},
                        {{"input", {{"document_url", "https://example.test/d.pdf"}}}, {"delay", "1h"}},
                        {{"input", {{"document_url", "https://example.test/e.pdf"}}}, {"colour", "red"}}}}};
  const auto r = post_json(port, "/v1/workflows/analyze/runs:batch", batch);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json out = r.json();
  ASSERT_EQ(out["runs"].size(), 7u) << r.body;
  EXPECT_EQ(out["created"], 3);
  EXPECT_EQ(out["refused"], 3);
  const Json& runs = out["runs"];
  EXPECT_EQ(runs[0]["created"], true);
  EXPECT_EQ(runs[1]["error"]["status"], 422);
  EXPECT_EQ(runs[1]["error"]["errors"][0]["pointer"], "/runs/1/input/document_url");
  EXPECT_EQ(runs[2]["created"], true);
  EXPECT_EQ(runs[3]["run_id"], first.json()["run_id"]);
  EXPECT_EQ(runs[3]["created"], false);
  EXPECT_EQ(runs[4]["error"]["status"], 409);
  EXPECT_TRUE(runs[5].contains("run_at")) << runs[5].dump();
  EXPECT_EQ(runs[6]["error"]["errors"][0]["pointer"], "/runs/6/colour");
  const Json made = http(port, "GET", "/v1/runs/" + runs[0]["run_id"].get<std::string>()).json();
  EXPECT_EQ(made["input"]["document_url"], "https://example.test/b.pdf");
  EXPECT_EQ(made["metadata"]["customer"], "acme");
  EXPECT_EQ(http(port, "GET", "/v1/runs?workflow=analyze").json()["runs"].size(), 4u) << "1 + 3 created, no more";

  // The shape: {"runs": [1..1000 objects]}.
  expect_problem(post_json(port, "/v1/workflows/analyze/runs:batch", {{"runs", Json::array()}}), 422);
  expect_problem(post_json(port, "/v1/workflows/analyze/runs:batch", {{"items", Json::array({kGoodInput})}}), 422);
  expect_problem(post_json(port, "/v1/workflows/nope/runs:batch", {{"runs", Json::array({kGoodInput})}}), 404);
  Json too_many = {{"runs", Json::array()}};
  for (int i = 0; i < 1001; ++i) too_many["runs"].push_back(Json::object());
  expect_problem(post_json(port, "/v1/workflows/anything/runs:batch", too_many), 422);
  Json at_the_bound = {{"runs", Json::array()}};
  for (int i = 0; i < 1000; ++i) at_the_bound["runs"].push_back({{"input", i}});
  const auto full = post_json(port, "/v1/workflows/anything/runs:batch", at_the_bound);
  ASSERT_EQ(full.status, 200) << full.body.substr(0, 300);
  EXPECT_EQ(full.json()["created"], 1000);
}

TEST_F(ApiTest, BatchSubmitStopsAtTheBacklogBoundPerRun) {
  const auto port = start(options(), kBoundedQueue);
  const auto r = post_json(port, "/v1/workflows/anything/runs:batch",
                           {{"runs", {{{"input", 1}}, {{"input", 2}}, {{"input", 3}}, {{"input", 4}, {"delay", "1m"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json out = r.json();
  const Json& runs = out["runs"];
  EXPECT_EQ(runs[0]["created"], true);
  EXPECT_EQ(runs[1]["created"], true);
  EXPECT_EQ(runs[2]["error"]["status"], 429);
  EXPECT_EQ(runs[3]["created"], true) << "a delayed run holds no entry: not counted against the bound";
}

TEST_F(ApiTest, RedisDownIs503ThenRecovers) {
  const auto port = start();
  EXPECT_EQ(http(port, "GET", "/readyz").status, 200);
  server().kill();
  // Until the client notices the lost connection a request may wait for it;
  // every answer is a 503 with Retry-After, never a hang or a 500.
  const auto deadline = Clock::now() + 5s;
  test::HttpResponse r;
  do {
    r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  } while (r.status != 503 && Clock::now() < deadline);
  expect_problem(r, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  expect_problem(http(port, "GET", "/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ"), 503);
  const auto ready = http(port, "GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(http(port, "GET", "/healthz").status, 200);  // the process is alive
  const auto metrics = http(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("steadfast_redis_up 0\n"), std::string::npos) << metrics.body;

  server().start();  // same port; the scripts are gone with the old process
  int status = 0;
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    status = http(port, "GET", "/readyz").status;
    if (status == 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(post_json(port, "/v1/workflows/analyze/runs", kGoodInput).status, 202);
}

TEST_F(ApiTest, BearerTokensAndRoles) {
  const std::string dir = test::make_temp_dir("steadfast-api-");
  const std::string tokens = dir + "/tokens";
  {
    std::ofstream f(tokens);
    // printf %s s3cret | sha256sum ; printf %s adm1n | sha256sum
    f << "# test tokens\n"
         "sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 submit ci\n"
         "sha256:8f8145e0f8d63c646e48f5a0377007c2193fce8c87399b5d9a59dec43b4cb45b admin ops\n";
  }
  auto o = options();
  o.tokens_file = tokens;
  const auto port = start(o);
  std::filesystem::remove_all(dir);
  const test::Headers submit{{"Authorization", "Bearer s3cret"}};
  const test::Headers admin{{"Authorization", "Bearer adm1n"}};

  auto r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  expect_problem(r, 401);
  EXPECT_NE(r.header("www-authenticate").find("Bearer"), std::string::npos);
  expect_problem(post_json(port, "/v1/workflows/analyze/runs", kGoodInput, {{"Authorization", "Bearer wrong"}}), 401);
  expect_problem(http(port, "GET", "/v1/runs"), 401);
  expect_problem(http(port, "GET", "/metrics"), 401);
  EXPECT_EQ(http(port, "GET", "/healthz").status, 200);  // probes need no token
  EXPECT_EQ(http(port, "GET", "/readyz").status, 200);

  r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput, submit);
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json()["run_id"];
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id, {}, submit).status, 200);
  EXPECT_EQ(http(port, "GET", "/v1/dlq", {}, submit).status, 200);
  EXPECT_EQ(http(port, "GET", "/metrics", {}, submit).status, 200);
  expect_problem(http(port, "POST", "/v1/runs/" + id + "/cancel", {}, submit), 403);
  expect_problem(http(port, "POST", "/v1/runs/" + id + "/signals/approved", {}), 401);
  // a submit token may signal: refused only because analyze has no signal wait
  expect_problem(http(port, "POST", "/v1/runs/" + id + "/signals/approved", {}, submit), 404);
  expect_problem(http(port, "POST", "/v1/dlq/purge", {}, submit), 403);
  expect_problem(http(port, "POST", "/v1/dlq/" + id + "/replay", {}, submit), 403);

  r = http(port, "POST", "/v1/runs/" + id + "/cancel", {}, admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["result"], "cancelled");
  expect_problem(http(port, "POST", "/v1/runs/" + id + "/cancel", {}, admin), 409);  // already ended
  EXPECT_EQ(post_json(port, "/v1/dlq/purge", Json{{"confirm", true}}, admin).status, 200);
  EXPECT_EQ(post_json(port, "/v1/workflows/analyze/runs", kGoodInput, admin).status, 202);
}

// The dashboard's files come from the binary with a strict CSP, their
// content types and an ETag (304 on a repeat); /v1/me tells the page what its
// token may do.
TEST_F(ApiTest, DashboardFilesAndWhoAmI) {
  const auto port = start();
  auto r = http(port, "GET", "/ui/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("content-security-policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
  EXPECT_NE(r.body.find("<script defer src=\"app.js\">"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("http"), std::string::npos) << "nothing from another origin: " << r.body;

  r = http(port, "GET", "/ui/app.js");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/javascript; charset=utf-8");
  const std::string etag = r.header("etag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // "<16 hex digits>"
  EXPECT_EQ(http(port, "GET", "/ui/app.css").header("content-type"), "text/css; charset=utf-8");
  r = http(port, "GET", "/ui/app.js", {}, {{"If-None-Match", etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.header("etag"), etag);
  EXPECT_EQ(http(port, "GET", "/ui/app.js", {}, {{"If-None-Match", "\"other\""}}).status, 200);

  r = http(port, "GET", "/ui");
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.header("location"), "/ui/");
  expect_problem(http(port, "GET", "/ui/missing.js"), 404);
  expect_problem(http(port, "GET", "/ui/a/b"), 404);
  expect_problem(http(port, "POST", "/ui/"), 405);

  r = http(port, "GET", "/v1/me");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (Json{{"role", "admin"}, {"name", "anonymous"}, {"tokens", false}}));
}

TEST_F(ApiTest, WhoAmINamesTheTokensRoleAndTheDashboardNeedsNoToken) {
  const std::string dir = test::make_temp_dir("steadfast-api-");
  const std::string tokens = dir + "/tokens";
  {
    std::ofstream f(tokens);
    // printf %s s3cret | sha256sum ; printf %s adm1n | sha256sum
    f << "sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 submit ci\n"
         "sha256:8f8145e0f8d63c646e48f5a0377007c2193fce8c87399b5d9a59dec43b4cb45b admin ops\n";
  }
  auto o = options();
  o.tokens_file = tokens;
  const auto port = start(o);
  std::filesystem::remove_all(dir);

  EXPECT_EQ(http(port, "GET", "/ui/").status, 200);  // the page asks for the token itself
  EXPECT_EQ(http(port, "GET", "/ui/app.js").status, 200);
  // Public, and "nobody" without a known token: a sign-in page asks without a 401.
  const Json nobody = {{"role", nullptr}, {"name", nullptr}, {"tokens", true}};
  auto r = http(port, "GET", "/v1/me");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), nobody);
  EXPECT_EQ(http(port, "GET", "/v1/me", {}, {{"Authorization", "Bearer wrong"}}).json(), nobody);
  r = http(port, "GET", "/v1/me", {}, {{"Authorization", "Bearer s3cret"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (Json{{"role", "submit"}, {"name", "ci"}, {"tokens", true}}));
  r = http(port, "GET", "/v1/me", {}, {{"Authorization", "Bearer adm1n"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (Json{{"role", "admin"}, {"name", "ops"}, {"tokens", true}}));
}

TEST_F(ApiTest, LongPollAnswersWhenTheWorkerFinishes) {
  const auto port = start();
  start_worker();
  const auto r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  ASSERT_EQ(r.status, 202);
  const std::string id = r.json()["run_id"];
  const auto t0 = Clock::now();
  const auto done = http(port, "GET", "/v1/runs/" + id + "?wait=15s", {}, {}, 20s);
  const auto took = Clock::now() - t0;
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json()["status"], "completed") << done.body;
  EXPECT_GE(took, 300ms);  // it did wait for the 400 ms step...
  EXPECT_LT(took, 3s);     // ...and answered soon after it ended, not at the 15 s mark

  // The completed steps are in the step duration histogram of /metrics.
  const std::string metrics = http(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("# TYPE steadfast_step_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(metrics.find("steadfast_step_duration_seconds_count{workflow=\"analyze\""), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("# TYPE steadfast_limiter_waits_total counter"), std::string::npos);

  // A run that cannot end (no worker serves the queue... here: the wait is
  // shorter than the work) answers at the end of the wait, still running.
  const auto r2 = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  const std::string id2 = r2.json()["run_id"];
  const auto t1 = Clock::now();
  const auto early = http(port, "GET", "/v1/runs/" + id2 + "?wait=100ms");
  EXPECT_EQ(early.status, 200);
  EXPECT_GE(Clock::now() - t1, 100ms);
  EXPECT_NE(early.json()["status"], "completed");
  expect_problem(http(port, "GET", "/v1/runs/" + id2 + "?wait=soon"), 400);
}

TEST_F(ApiTest, ListsWorkflowsRunsAndDeadLetters) {
  const auto port = start();
  auto r = http(port, "GET", "/v1/workflows");
  ASSERT_EQ(r.status, 200);
  Json wfs = r.json()["workflows"];
  ASSERT_EQ(wfs.size(), 3u);
  EXPECT_EQ(wfs[0]["name"], "analyze");
  EXPECT_EQ(wfs[0]["input_schema"]["required"][0], "document_url");
  EXPECT_EQ(wfs[0]["steps"][1]["kind"], "sleep");
  EXPECT_FALSE(wfs[0]["steps"][1].contains("with"));  // parameters may hold secrets
  EXPECT_TRUE(wfs[1]["input_schema"].is_null());

  for (int i = 0; i < 3; ++i) post_json(port, "/v1/workflows/anything/runs", {{"input", i}});
  post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  r = http(port, "GET", "/v1/runs?workflow=anything&limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["runs"].size(), 2u);
  r = http(port, "GET", "/v1/runs?status=queued");
  EXPECT_EQ(r.json()["runs"].size(), 4u);
  EXPECT_EQ(http(port, "GET", "/v1/runs?status=completed").json()["runs"].size(), 0u);
  expect_problem(http(port, "GET", "/v1/runs?limit=0"), 400);
  expect_problem(http(port, "GET", "/v1/runs?limit=1001"), 400);
  expect_problem(http(port, "GET", "/v1/runs?status=sleeping"), 400);
  expect_problem(http(port, "GET", "/v1/runs?workflow=a%2Ab"), 400);

  // A run that fails for good lands in the dead-letter queue; replay and purge it.
  start_worker();
  r = post_json(port, "/v1/workflows/doomed/runs", {{"input", 1}});
  const std::string id = r.json()["run_id"];
  const auto failed = http(port, "GET", "/v1/runs/" + id + "?wait=10s", {}, {}, 15s);
  ASSERT_EQ(failed.json()["status"], "failed") << failed.body;
  r = http(port, "GET", "/v1/dlq");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.json()["dead_letters"].size(), 1u) << r.body;
  EXPECT_EQ(r.json()["dead_letters"][0]["run_id"], id);
  const std::string entry = r.json()["dead_letters"][0]["id"];
  r = http(port, "POST", "/v1/dlq/" + entry + "/replay");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["run_id"], id);
  http(port, "GET", "/v1/runs/" + id + "?wait=10s", {}, {}, 15s);  // fails again
  // A purge needs a filter or "confirm": true; the filter is the shared one.
  expect_problem(http(port, "POST", "/v1/dlq/purge"), 422);
  expect_problem(post_json(port, "/v1/dlq/purge", Json{{"confirm", false}}), 422);
  expect_problem(post_json(port, "/v1/dlq/purge", Json{{"created_after", "yesterday"}}), 422);
  expect_problem(post_json(port, "/v1/dlq/purge", Json{{"confirm", true}, {"colour", "red"}}), 422);
  expect_problem(http(port, "POST", "/v1/dlq/purge", "{", {{"Content-Type", "application/json"}}), 400);
  r = post_json(port, "/v1/dlq/purge", Json{{"workflow", "another"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["purged"], 0);
  r = post_json(port, "/v1/dlq/purge", Json{{"meta", {{"customer", "acme"}}}});  // the run has none
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["purged"], 0);
  r = post_json(port, "/v1/dlq/purge", Json{{"confirm", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["purged"], 1);
  expect_problem(http(port, "POST", "/v1/dlq/" + entry + "/replay"), 404);
}

// The run list as an operator pages it: metadata given at submit and shown,
// filters, newest first, a cursor that continues; bad filters are 400; and
// neither the list, the run, the DLQ, /metrics, the explorer's other reads nor a
// bulk job makes Redis scan its keys.
TEST_F(ApiTest, RunListPagesThroughIndexesWithoutScanning) {
  const auto port = start();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const Json meta = i % 2 == 0 ? Json{{"customer", "acme"}, {"doc", std::to_string(i)}} : Json{{"customer", "globex"}};
    auto r = post_json(port, "/v1/workflows/anything/runs", {{"input", i}, {"metadata", meta}});
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(r.json()["run_id"]);
  }
  server().call({"CONFIG", "RESETSTAT"});

  auto r = http(port, "GET", "/v1/runs?meta.customer=acme&limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  Json page = r.json();
  ASSERT_EQ(page["runs"].size(), 2u) << r.body;
  EXPECT_EQ(page["runs"][0]["id"], ids[4]);
  EXPECT_EQ(page["runs"][1]["id"], ids[2]);
  EXPECT_EQ(page["runs"][0]["metadata"], (Json{{"customer", "acme"}, {"doc", "4"}}));
  ASSERT_EQ(page["next_cursor"], ids[2]);
  // Any case: ids are Crockford base32.
  std::string lower = ids[2];
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r = http(port, "GET", "/v1/runs?meta.customer=acme&limit=2&cursor=" + lower);
  ASSERT_EQ(r.status, 200) << r.body;
  page = r.json();
  ASSERT_EQ(page["runs"].size(), 1u) << r.body;
  EXPECT_EQ(page["runs"][0]["id"], ids[0]);
  EXPECT_TRUE(page["next_cursor"].is_null());
  r = http(port, "GET", "/v1/runs?workflow=anything&status=queued&meta.customer=globex&meta.doc=1");
  EXPECT_EQ(r.json()["runs"].size(), 0u) << r.body;
  r = http(port, "GET", "/v1/runs?created_after=2020-01-01T00:00:00Z&meta.customer=globex");
  EXPECT_EQ(r.json()["runs"].size(), 2u) << r.body;
  r = http(port, "GET", "/v1/runs/" + ids[1]);
  EXPECT_EQ(r.json()["metadata"], (Json{{"customer", "globex"}})) << r.body;
  EXPECT_EQ(r.json()["input"], 1) << r.body;
  http(port, "GET", "/v1/dlq");
  EXPECT_EQ(http(port, "GET", "/v1/stats/series").status, 200);
  EXPECT_EQ(http(port, "GET", "/metrics").status, 200);
  for (const char* path : {"/v1/queues", "/v1/workers", "/v1/limiters", "/v1/audit", "/v1/bulk"}) {
    EXPECT_EQ(http(port, "GET", path).status, 200) << path;
  }
  // A bulk job, walked by the server: its page reads the index, never a scan.
  r = post_json(port, "/v1/runs:bulk", {{"action", "cancel"}, {"filter", {{"meta", {{"customer", "globex"}}}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string job = r.json()["id"];
  for (int i = 0; i < 300 && http(port, "GET", "/v1/bulk/" + job).json()["status"] != "done"; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(http(port, "GET", "/v1/bulk/" + job).json()["succeeded"], 2);

  const std::string stats(server().call({"INFO", "commandstats"}).str());
  EXPECT_EQ(stats.find("cmdstat_scan:"), std::string::npos) << stats;
  EXPECT_EQ(stats.find("cmdstat_keys:"), std::string::npos) << stats;
  EXPECT_NE(stats.find("cmdstat_zrange:"), std::string::npos) << "the list reads an index";

  expect_problem(http(port, "GET", "/v1/runs?cursor=not-a-run"), 400);
  expect_problem(http(port, "GET", "/v1/runs?meta.bad%20key=x"), 400);
  expect_problem(http(port, "GET", "/v1/runs?colour=red"), 400);
  expect_problem(http(port, "GET", "/v1/runs?created_after=yesterday"), 400);
  // Metadata out of its bounds is refused at submit, naming it; nothing is written.
  const auto before = all_keys();
  expect_problem(post_json(port, "/v1/workflows/anything/runs", {{"metadata", {{"k", 1}}}}), 422);
  expect_problem(post_json(port, "/v1/workflows/anything/runs", {{"metadata", {{"bad key", "v"}}}}), 422);
  expect_problem(post_json(port, "/v1/workflows/anything/runs",
                           {{"metadata", {{"k", std::string(257, 'x')}}}}), 422);
  Json seventeen = Json::object();
  for (int i = 0; i < 17; ++i) seventeen["k" + std::to_string(i)] = "v";
  expect_problem(post_json(port, "/v1/workflows/anything/runs", {{"metadata", seventeen}}), 422);
  Json sixteen = Json::object();
  for (int i = 0; i < 16; ++i) sixteen["k" + std::to_string(i)] = std::string(256, 'v');
  EXPECT_EQ(all_keys(), before);
  EXPECT_EQ(post_json(port, "/v1/workflows/anything/runs", {{"metadata", sixteen}}).status, 202) << "at the edge";
}

// The explorer's other reads: the workers as they registered (CONTRACTS.md
// §4), the limiters with bounds and state, and the audit log of operator
// actions, newest first.
// The per-minute series: a worker samples each minute; the API answers the
// counts of a window from the samples (seeded here for minutes past, so the
// test needs no minute to pass) and refuses bad windows by name.
TEST_F(ApiTest, StatsSeriesAnswersPerMinuteCountsAndQueueDepths) {
  const auto port = start();
  start_worker();
  const store::KeySpace keys("sf", 1);
  const auto now_minute = [&] {
    const redis::Reply t = server().call({"TIME"});
    return std::stoll(std::string(t[0].str())) / 60;
  };
  // The worker's first pass samples the current minute.
  bool sampled = false;
  for (int i = 0; i < 200 && !sampled; ++i) {
    const long long m = now_minute();
    sampled = server().call({"HEXISTS", keys.series(0, m / 60), std::to_string(m) + "|@"}).as_integer() == 1;
    if (!sampled) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(sampled) << "no worker sample of the current minute within 4 s";

  const long long m = now_minute() - 10;  // minutes m, m+1 (and m+2, the end's sample)
  const auto seed = [&](long long minute, std::vector<std::string> fields) {
    std::vector<std::string> argv{"HSET", keys.series(0, minute / 60), std::to_string(minute) + "|@", "1"};
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      argv.push_back(std::to_string(minute) + "|" + fields[i]);
      argv.push_back(fields[i + 1]);
    }
    server().call(argv);
  };
  seed(m, {"submitted:anything", "1", "completed:anything", "1", "read:default", "10"});
  seed(m + 1, {"submitted:anything", "5", "completed:anything", "3", "depth:default", "4", "read:default", "17"});
  seed(m + 2, {"submitted:anything", "6", "completed:anything", "3", "read:default", "20"});
  const std::string from = engine::rfc3339_ms(m * 60'000), to = engine::rfc3339_ms((m + 2) * 60'000);
  auto r = http(port, "GET", "/v1/stats/series?from=" + from + "&to=" + to);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json s = r.json();
  EXPECT_EQ(s["interval_seconds"], 60);
  EXPECT_EQ(s["minutes"], (Json::array({from, engine::rfc3339_ms((m + 1) * 60'000)})));
  EXPECT_EQ(s["counts"]["submitted"]["anything"], (Json::array({4, 1})));
  EXPECT_EQ(s["counts"]["completed"]["anything"], (Json::array({2, 0})));
  EXPECT_EQ(s["counts"]["failed"], Json::object());
  EXPECT_EQ(s["queue_depth"]["default"], (Json::array({nullptr, 4})));
  EXPECT_EQ(s["queue_throughput"]["default"], (Json::array({7, 3})));
  r = http(port, "GET", "/v1/stats/series?from=" + from + "&to=" + to + "&workflow=other");
  EXPECT_EQ(r.json()["counts"]["submitted"], Json::object()) << r.body;
  // By default the hour before the current minute, one value per minute.
  r = http(port, "GET", "/v1/stats/series");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["minutes"].size(), 60u);
  EXPECT_EQ(r.json()["counts"]["submitted"]["anything"].size(), 60u) << r.body;

  // GET /v1/queues: the newest minute with both ends sampled. The worker's own
  // sample of this minute counts less than the seeded ones (a group made
  // again, as it were): that minute is unknown, the one before it answers.
  const long long now = now_minute();
  seed(now - 3, {"read:default", "1000"});
  seed(now - 2, {"read:default", "1005"});
  seed(now - 1, {"read:default", "1014"});
  const Json queues = http(port, "GET", "/v1/queues").json()["queues"];
  if (now_minute() == now) {
    ASSERT_EQ(queues.size(), 1u) << queues;
    EXPECT_EQ(queues[0]["throughput_per_minute"], 9) << queues;
  }

  expect_problem(http(port, "GET", "/v1/stats/series?from=yesterday"), 400);
  expect_problem(http(port, "GET", "/v1/stats/series?from=" + to + "&to=" + from), 400);
  expect_problem(http(port, "GET", "/v1/stats/series?from=2026-01-01T00:00:00Z&to=2026-01-03T00:01:00Z"), 400);
  expect_problem(http(port, "GET", "/v1/stats/series?step=5"), 400);
  EXPECT_EQ(http(port, "GET", "/v1/stats/series?from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z").status, 200)
      << "48 h is the longest window";
}

TEST_F(ApiTest, WorkersLimitersAndTheAuditLog) {
  constexpr const char* kLimited = R"(
limits:
  llm: {requests_per_minute: 600, burst: 10, tokens_per_minute: 60000, concurrency: 8}
workflows:
  anything:
    steps:
      - {name: only, kind: noop, limit: {name: llm, tokens: 100}}
  slow:
    steps:
      - {name: nap, kind: sleep, with: {ms: 60000}}
)";
  const auto port = start(options(), kLimited);
  EXPECT_EQ(http(port, "GET", "/v1/workers").json()["workers"].size(), 0u);
  start_worker(kLimited);
  Json workers;
  for (int i = 0; i < 200 && workers.empty(); ++i) {
    workers = http(port, "GET", "/v1/workers").json()["workers"];
    if (workers.empty()) std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(workers.size(), 1u);
  const Json w = workers[0];
  EXPECT_EQ(w["kind"], "native");
  EXPECT_EQ(w["pid"], static_cast<int>(getpid()));
  EXPECT_EQ(w["concurrency"], 4);
  EXPECT_EQ(w["queues"], Json::array({"default"}));
  EXPECT_EQ(w["tasks"], (Json::array({"anything.only", "slow.nap"})));
  EXPECT_EQ(w["version"], "0.1.0");
  EXPECT_TRUE(w["beat_at"].is_string() && w["started_at"].is_string()) << w;

  auto r = post_json(port, "/v1/workflows/anything/runs", {{"input", 1}});
  const std::string done = r.json()["run_id"];
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + done + "?wait=10s", {}, {}, 15s).json()["status"], "completed");
  const Json limiters = http(port, "GET", "/v1/limiters").json()["limiters"];
  ASSERT_EQ(limiters.size(), 1u) << limiters;
  EXPECT_EQ(limiters[0]["name"], "llm");
  EXPECT_EQ(limiters[0]["bounds"]["requests_per_minute"], 600);
  EXPECT_EQ(limiters[0]["bounds"]["concurrency"], 8);
  EXPECT_EQ(limiters[0]["holders"], 0) << "the step released its slot";
  EXPECT_GE(limiters[0]["tokens"].get<int>(), 5900) << "a tenth of a minute's tokens, less about 100";
  EXPECT_TRUE(limiters[0]["paused_until"].is_null());
  EXPECT_EQ(limiters[0]["admitted"], 1) << limiters[0];
  EXPECT_EQ(limiters[0]["waits"], 0) << limiters[0];
  const Json recent = limiters[0]["recent"];  // this minute, or the last if it just turned
  EXPECT_EQ(recent["admitted_this_minute"].get<int>() + recent["admitted_last_minute"].get<int>(), 1) << recent;

  r = post_json(port, "/v1/workflows/slow/runs", {{"input", 1}});
  const std::string slow = r.json()["run_id"];
  ASSERT_EQ(http(port, "POST", "/v1/runs/" + slow + "/cancel").status, 200);
  expect_problem(http(port, "POST", "/v1/runs/" + done + "/cancel"), 409);  // not an action: not logged
  const Json entries = http(port, "GET", "/v1/audit").json()["entries"];
  ASSERT_EQ(entries.size(), 1u) << entries;
  EXPECT_EQ(entries[0]["who"], "anonymous");
  EXPECT_EQ(entries[0]["action"], "cancel");
  EXPECT_EQ(entries[0]["target"], slow);
  EXPECT_TRUE(entries[0]["detail"]["result"] == "cancelled" || entries[0]["detail"]["result"] == "cancelling")
      << entries[0];
  expect_problem(http(port, "GET", "/v1/audit?before=yesterday"), 400);
  EXPECT_EQ(http(port, "GET", "/v1/audit?before=" + entries[0]["id"].get<std::string>()).json()["entries"].size(), 0u);
}

// A keyed limiter's per-key override at run time (issue 16): set by an
// admin with PUT, listed, refused with the field named when malformed,
// removed with DELETE, each action in the audit log; an unknown limiter is
// 404. (That the scripts apply it: StoreLimiter.*Override*.)
TEST_F(ApiTest, ALimiterKeysOverrideIsSetListedRemovedAndAudited) {
  constexpr const char* kKeyed = R"(
limits:
  llm: {concurrency: 8}
workflows:
  anything:
    steps:
      - {name: only, kind: noop, limit: {name: llm, key: "{{input.tenant}}"}}
)";
  const auto port = start(options(), kKeyed);
  start_worker(kKeyed);
  bool registered = false;  // the worker registers its limiter once it has started
  for (int i = 0; i < 500 && !registered; ++i) {
    registered = http(port, "GET", "/v1/limiters").json()["limiters"].size() == 1;
    if (!registered) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(registered);
  const test::Headers json_type{{"Content-Type", "application/json"}};
  auto r = http(port, "PUT", "/v1/limiters/llm/overrides/acme%20corp", R"({"tokens_per_minute": 50000, "concurrency": 2})",
                json_type);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["key"], "acme corp");
  EXPECT_EQ(r.json()["bounds"], (Json{{"tokens_per_minute", 50000}, {"concurrency", 2}}));
  const store::KeySpace keys("sf", 1);
  EXPECT_EQ(Json::parse(server().call({"HGET", keys.limit_overrides("llm"), "acme corp"}).str()),
            (Json{{"tokens_per_minute", 50000}, {"concurrency", 2}}));
  const Json listed = http(port, "GET", "/v1/limiters/llm/overrides").json();
  ASSERT_EQ(listed["overrides"].size(), 1u) << listed;
  EXPECT_EQ(listed["overrides"][0]["key"], "acme corp");

  r = http(port, "PUT", "/v1/limiters/llm/overrides/acme", R"({"tokens_per_minute": 0})", json_type);
  expect_problem(r, 422);
  EXPECT_EQ(r.json()["errors"][0]["pointer"], "/tokens_per_minute") << r.body;
  expect_problem(http(port, "PUT", "/v1/limiters/llm/overrides/acme", R"({"colour": 1})", json_type), 422);
  expect_problem(http(port, "PUT", "/v1/limiters/llm/overrides/acme", "{}", json_type), 422);
  expect_problem(http(port, "PUT", "/v1/limiters/llm/overrides/bad%zz", R"({"burst": 2})", json_type), 400);
  expect_problem(http(port, "PUT", "/v1/limiters/nope/overrides/acme", R"({"burst": 2})", json_type), 404);
  expect_problem(http(port, "GET", "/v1/limiters/nope/overrides"), 404);
  expect_problem(http(port, "POST", "/v1/limiters/llm/overrides/acme", R"({"burst": 2})", json_type), 405);
  EXPECT_EQ(server().call({"HLEN", keys.limit_overrides("llm")}).as_integer(), 1) << "refusals wrote nothing";

  r = http(port, "DELETE", "/v1/limiters/llm/overrides/acme%20corp");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["removed"], true);
  EXPECT_EQ(http(port, "DELETE", "/v1/limiters/llm/overrides/acme%20corp").json()["removed"], false);
  EXPECT_EQ(http(port, "GET", "/v1/limiters/llm/overrides").json()["overrides"].size(), 0u);
  const Json entries = http(port, "GET", "/v1/audit").json()["entries"];
  std::vector<std::string> actions;
  for (const Json& e : entries) actions.push_back(e["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"limiter_override_removed", "limiter_override_removed", "limiter_override"}))
      << entries;
  EXPECT_EQ(entries.back()["detail"]["key"], "acme corp");

  // The busiest keys (issue 16 item 4): in GET /v1/limiters and /metrics.
  std::vector<std::string> runs;
  for (const char* tenant : {"acme corp", "globex", "acme corp"}) {
    runs.push_back(post_json(port, "/v1/workflows/anything/runs", {{"input", {{"tenant", tenant}}}}).json()["run_id"]);
  }
  for (const std::string& id : runs) {
    EXPECT_EQ(http(port, "GET", "/v1/runs/" + id + "?wait=10s", {}, {}, 15s).json()["status"], "completed");
  }
  const Json busiest = http(port, "GET", "/v1/limiters").json()["limiters"][0]["busiest_keys"];
  ASSERT_EQ(busiest.size(), 2u) << busiest;
  EXPECT_EQ(busiest[0]["key"], "acme corp");
  EXPECT_EQ(busiest[0]["admitted_this_minute"].get<int>() + busiest[0]["admitted_last_minute"].get<int>(), 2) << busiest;
  EXPECT_EQ(busiest[1]["key"], "globex");
  EXPECT_TRUE(busiest[0]["tokens"].is_null()) << "no token rate";
  const std::string metrics = http(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("steadfast_limiter_key_admitted{limiter=\"llm\",key=\"acme corp\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("steadfast_limiter_admitted_total{limiter=\"llm\"} 3"), std::string::npos) << metrics;
}

// A paused queue: submits still go in; a worker takes nothing from it once
// the pause is a second old (its promise); the run says why it waits; resumed,
// the run completes. Unknown queues are 404; both actions are audited.
TEST_F(ApiTest, APausedQueueKeepsItsRunsUntilResumed) {
  const auto port = start();
  start_worker();
  auto r = post_json(port, "/v1/workflows/anything/runs", {{"input", 0}});
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + r.json()["run_id"].get<std::string>() + "?wait=10s", {}, {}, 15s)
                .json()["status"],
            "completed");
  r = http(port, "POST", "/v1/queues/default/pause");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["paused"], true);
  std::this_thread::sleep_for(1300ms);  // the documented bound: within 1.25 s
  r = post_json(port, "/v1/workflows/anything/runs", {{"input", 1}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json()["run_id"];
  const Json waiting = http(port, "GET", "/v1/runs/" + id + "?wait=1s", {}, {}, 5s).json();
  EXPECT_EQ(waiting["status"], "queued") << waiting;
  EXPECT_EQ(waiting["waiting_for"], (Json{{"kind", "queue_paused"}, {"until", nullptr}, {"queue", "default"}}));
  EXPECT_EQ(waiting["steps"][0]["waiting_for"]["kind"], "queue_paused");
  const Json queues = http(port, "GET", "/v1/queues").json()["queues"];
  ASSERT_EQ(queues.size(), 1u) << queues;
  EXPECT_EQ(queues[0]["name"], "default");
  EXPECT_EQ(queues[0]["paused"], true);
  EXPECT_EQ(queues[0]["waiting"], 1);
  EXPECT_EQ(queues[0]["in_flight"], 0);
  EXPECT_EQ(queues[0]["workers"], 1);

  ASSERT_EQ(http(port, "POST", "/v1/queues/default/resume").status, 200);
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id + "?wait=10s", {}, {}, 15s).json()["status"], "completed");
  EXPECT_EQ(http(port, "GET", "/v1/queues").json()["queues"][0]["paused"], false);
  expect_problem(http(port, "POST", "/v1/queues/nope/pause"), 404);
  expect_problem(http(port, "POST", "/v1/queues/a%2Ab/pause"), 404);
  expect_problem(http(port, "GET", "/v1/queues/default/pause"), 405);
  const Json entries = http(port, "GET", "/v1/audit").json()["entries"];
  ASSERT_EQ(entries.size(), 2u) << entries;
  EXPECT_EQ(entries[0]["action"], "queue_resume");
  EXPECT_EQ(entries[1]["action"], "queue_pause");
  EXPECT_EQ(entries[1]["target"], "default");
}

// Signals over HTTP: 202 when kept (before the wait) or delivered (while it
// waits), 200 for a repeated Idempotency-Key, 404 for an unknown run or a
// name no wait step uses, 409 once the run ended, 413 over 64 KiB, 415/400
// for a body that is not JSON; the waiting step's output is the body.
TEST_F(ApiTest, SignalsAreKeptDeliveredRepeatedAndRefused) {
  const std::string yaml = R"(
workflows:
  approval:
    steps:
      - {name: approve, kind: wait, with: {signal: approved, timeout: 1h}}
      - {name: done, kind: noop}
)";
  const auto port = start(options(), yaml);
  const std::string early = post_json(port, "/v1/workflows/approval/runs", Json{{"input", {}}}).json()["run_id"];
  auto r = post_json(port, "/v1/runs/" + early + "/signals/approved", Json{{"ok", true}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json()["result"], "kept") << "no worker yet: nobody waits";
  EXPECT_EQ(r.json()["signal"], "approved");

  start_worker(yaml);
  const std::string id = post_json(port, "/v1/workflows/approval/runs", Json{{"input", {}}}).json()["run_id"];
  Json run = run_reaching(port, id, "waiting");
  ASSERT_EQ(run["status"], "waiting") << run;
  EXPECT_EQ(run["waiting_for"]["kind"], "signal");
  EXPECT_EQ(run["waiting_for"]["signal"], "approved");
  EXPECT_TRUE(run["waiting_for"]["until"].is_string()) << "its timeout";

  expect_problem(post_json(port, "/v1/runs/" + id + "/signals/rejected", Json(1)), 404);
  expect_problem(post_json(port, "/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/signals/approved", Json(1)), 404);
  expect_problem(post_json(port, "/v1/runs/" + id + "/signals/a%2Ab", Json(1)), 404);
  expect_problem(post_json(port, "/v1/runs/" + id + "/signals/approved", Json(std::string(65536, 'x'))), 413);
  expect_problem(http(port, "POST", "/v1/runs/" + id + "/signals/approved", "{", {{"Content-Type", "application/json"}}),
                 400);
  expect_problem(http(port, "POST", "/v1/runs/" + id + "/signals/approved", "yes", {{"Content-Type", "text/plain"}}),
                 415);
  expect_problem(post_json(port, "/v1/runs/" + id + "/signals/approved", Json(1), {{"Idempotency-Key", "a b"}}), 400);
  expect_problem(http(port, "GET", "/v1/runs/" + id + "/signals/approved"), 405);
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id).json()["status"], "waiting") << "refusals changed nothing";

  r = post_json(port, "/v1/runs/" + id + "/signals/approved", Json{{"by", "ann"}}, {{"Idempotency-Key", "click-7"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json()["result"], "delivered");
  r = post_json(port, "/v1/runs/" + id + "/signals/approved", Json{{"by", "eve"}}, {{"Idempotency-Key", "click-7"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["result"], "repeat");
  for (const std::string& each : {early, id}) {
    run = run_reaching(port, each, "completed");
    ASSERT_EQ(run["status"], "completed") << run;
    const Json expected = each == id ? Json{{"by", "ann"}} : Json{{"ok", true}};
    EXPECT_EQ(run["steps"][0]["output"], expected);
  }
  r = http(port, "POST", "/v1/runs/" + id + "/signals/approved");
  expect_problem(r, 409);
  EXPECT_NE(r.json()["detail"].get<std::string>().find("already ended: completed"), std::string::npos) << r.body;
  const Json entries = http(port, "GET", "/v1/audit").json()["entries"];
  ASSERT_GE(entries.size(), 2u) << entries;
  EXPECT_EQ(entries[0]["action"], "signal");
  EXPECT_EQ(entries[0]["target"], id);
  EXPECT_EQ(entries[0]["detail"], (Json{{"signal", "approved"}, {"result", "delivered"}}));
}

// Callback URLs: a step gives a third party {{steps.<wait>.callback_url}};
// a POST to it (no token) completes the wait with its body; a replay changes
// nothing (200, even after the run ended); a wrong signature, run or step is
// 403; a first call after the run ended 410; a serve without
// --signing-key-file answers 404.
TEST_F(ApiTest, ACallbackUrlCompletesItsWaitOnceAndIsRefusedOtherwise) {
  const std::string dir = test::make_temp_dir("steadfast-callback-");
  const std::string key_file = dir + "/signing.key";
  {
    std::ofstream f(key_file);
    f << "k1 " << std::string(40, 's') << "\n";
  }
  const std::string yaml = R"yaml(
workflows:
  batch:
    steps:
      - name: hand_out
        kind: exec
        with: {command: [python3, -c, "import json,sys; print(json.dumps({'url': sys.argv[1]}))", "{{steps.done.callback_url}}"]}
      - {name: done, kind: wait, with: {signal: batch_done, timeout: 1h}}
      - {name: after, kind: sleep, with: {ms: 1500}}
)yaml";
  auto o = options();
  o.signing_key_file = key_file;
  const auto port = start(o, yaml);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  start_worker(yaml, base, key_file);
  const std::string id = post_json(port, "/v1/workflows/batch/runs", Json{{"input", {}}}).json()["run_id"];
  Json run = run_reaching(port, id, "waiting");
  ASSERT_EQ(run["status"], "waiting") << run;
  const std::string url = run["steps"][0]["output"]["url"];
  ASSERT_TRUE(url.starts_with(base + "/v1/callbacks/" + id + "/done/k1.")) << url;
  const std::string path = url.substr(base.size());

  std::string forged = path;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  expect_problem(post_json(port, forged, Json{{"rows", 1}}), 403);
  const std::string other_step = "/v1/callbacks/" + id + "/hand_out/" + path.substr(path.rfind('/') + 1);
  expect_problem(post_json(port, other_step, Json{{"rows", 1}}), 403);
  expect_problem(post_json(port, "/v1/callbacks/01ARZ3NDEKTSV4RRFFQ69G5FAV/done/" + path.substr(path.rfind('/') + 1),
                           Json{{"rows", 1}}),
                 403);
  // Signed right (as StepContext::callback_url would for any name) but for a step that is no signal wait.
  const engine::CallbackSigner signer(base, engine::load_signing_keys(key_file));
  expect_problem(post_json(port, signer.url(id, "hand_out").substr(base.size()), Json{{"rows", 1}}), 404);
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id).json()["status"], "waiting") << "refusals changed nothing";

  auto r = post_json(port, path, Json{{"rows", 42}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json()["result"], "delivered");
  r = post_json(port, path, Json{{"rows", 0}});  // the run lives on (step `after`)
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["result"], "repeat");
  r = http(port, "GET", "/v1/runs/" + id + "?wait=10s");
  ASSERT_EQ(r.json()["status"], "completed") << r.body;
  EXPECT_EQ(r.json()["steps"][1]["output"], (Json{{"rows", 42}})) << "the replay changed nothing";
  r = post_json(port, path, Json{{"rows", 7}});
  EXPECT_EQ(r.status, 200) << "a replay after the end is still a no-op: " << r.body;
  EXPECT_EQ(http(port, "GET", "/v1/audit").json()["entries"][0]["who"], "callback");

  // A callback that never came before its run ended: 410.
  const std::string cancelled = post_json(port, "/v1/workflows/batch/runs", Json{{"input", {}}}).json()["run_id"];
  run = run_reaching(port, cancelled, "waiting");
  ASSERT_EQ(run["status"], "waiting") << run;
  const std::string late_url = run["steps"][0]["output"]["url"];
  ASSERT_EQ(http(port, "POST", "/v1/runs/" + cancelled + "/cancel").status, 200);
  expect_problem(post_json(port, late_url.substr(base.size()), Json{{"rows", 1}}), 410);

  api_.reset();
  const auto plain = start(options(), yaml);
  expect_problem(post_json(plain, path, Json{{"rows", 1}}), 404);
  std::filesystem::remove_all(dir);
}

// Cron schedules: the file's schedules are listed with their next ticks
// (Europe/Berlin's 03:00 is 02:00 UTC in winter), paused and resumed (kept
// in Redis), triggered (a run with the schedule's input and metadata; overlap
// skip refuses a second while the first is live); unknown names are 404;
// each action is audited.
TEST_F(ApiTest, SchedulesAreListedPausedResumedAndTriggered) {
  const auto port = start(options(), R"(
workflows:
  digest:
    steps:
      - {name: a, kind: noop}
schedules:
  nightly: {workflow: digest, cron: "0 3 * * *", timezone: Europe/Berlin, input: {scope: all}, catch_up: one, overlap: skip}
)");
  auto r = http(port, "GET", "/v1/schedules");
  ASSERT_EQ(r.status, 200) << r.body;
  Json list = r.json()["schedules"];
  ASSERT_EQ(list.size(), 1u) << list;
  const Json& s = list[0];
  EXPECT_EQ(s["name"], "nightly");
  EXPECT_EQ(s["workflow"], "digest");
  EXPECT_EQ(s["cron"], "0 3 * * *");
  EXPECT_EQ(s["timezone"], "Europe/Berlin");
  EXPECT_EQ(s["input"], (Json{{"scope", "all"}}));
  EXPECT_EQ(s["catch_up"], "one");
  EXPECT_EQ(s["overlap"], "skip");
  EXPECT_EQ(s["paused"], false);
  EXPECT_EQ(s["last_run"], nullptr);
  EXPECT_EQ(s["runs_started"], 0);
  ASSERT_EQ(s["next_ticks"].size(), 5u) << s;
  for (const Json& t : s["next_ticks"]) {
    const std::string text = t.get<std::string>();
    const bool winter = text.substr(5, 2) >= "11" || text.substr(5, 2) <= "02";
    if (winter) {
      EXPECT_EQ(text.substr(10), "T02:00:00.000Z") << text;
    }
  }

  r = http(port, "POST", "/v1/schedules/nightly/pause");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (Json{{"schedule", "nightly"}, {"paused", true}}));
  EXPECT_EQ(http(port, "GET", "/v1/schedules").json()["schedules"][0]["paused"], true);

  r = http(port, "POST", "/v1/schedules/nightly/trigger");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json()["run_id"];
  const Json run = http(port, "GET", "/v1/runs/" + id).json();
  EXPECT_EQ(run["workflow"], "digest");
  EXPECT_EQ(run["input"], (Json{{"scope", "all"}}));
  EXPECT_EQ(run["metadata"]["schedule"], "nightly");
  EXPECT_TRUE(run["metadata"].contains("trigger")) << run["metadata"];
  const Json listed = http(port, "GET", "/v1/runs?meta.schedule=nightly").json()["runs"];
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["id"], id);
  expect_problem(http(port, "POST", "/v1/schedules/nightly/trigger"), 409);  // the first is queued: live

  r = http(port, "POST", "/v1/schedules/nightly/resume");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["paused"], false);
  list = http(port, "GET", "/v1/schedules").json()["schedules"];
  EXPECT_EQ(list[0]["paused"], false);
  EXPECT_EQ(list[0]["last_run"], id);
  EXPECT_EQ(list[0]["triggered"], 1);

  expect_problem(http(port, "POST", "/v1/schedules/nope/pause"), 404);
  expect_problem(http(port, "POST", "/v1/schedules/nope/trigger"), 404);
  expect_problem(http(port, "POST", "/v1/schedules/a%2Ab/resume"), 404);
  expect_problem(http(port, "GET", "/v1/schedules/nightly/pause"), 405);
  const Json entries = http(port, "GET", "/v1/audit").json()["entries"];
  ASSERT_EQ(entries.size(), 3u) << entries;
  EXPECT_EQ(entries[0]["action"], "schedule_resume");
  EXPECT_EQ(entries[1]["action"], "schedule_trigger");
  EXPECT_EQ(entries[1]["detail"]["run_id"], id);
  EXPECT_EQ(entries[2]["action"], "schedule_pause");
  EXPECT_EQ(entries[2]["target"], "nightly");
}

// A metric name at line[at...] ([a-zA-Z_:][a-zA-Z0-9_:]*); advances at. Empty if none.
std::string metric_name(const std::string& line, std::size_t& at) {
  const std::size_t start = at;
  while (at < line.size()) {
    const char c = line[at];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(at > start && c >= '0' && c <= '9')) break;
    ++at;
  }
  return line.substr(start, at - start);
}

// A sample line, name{label="value",...} value: its name and value, or nullopt.
std::optional<std::pair<std::string, double>> parse_sample(const std::string& line) {
  std::size_t at = 0;
  const std::string name = metric_name(line, at);
  if (name.empty()) return std::nullopt;
  if (at < line.size() && line[at] == '{') {
    ++at;
    for (;;) {
      const std::string label = metric_name(line, at);
      if (label.empty() || label.find(':') != std::string::npos) return std::nullopt;
      if (line.compare(at, 2, "=\"") != 0) return std::nullopt;
      at += 2;
      while (at < line.size() && line[at] != '"') {
        if (line[at] == '\\') {
          if (at + 1 >= line.size() || std::string_view("\\\"n").find(line[at + 1]) == std::string_view::npos) {
            return std::nullopt;
          }
          ++at;
        }
        ++at;
      }
      if (at >= line.size()) return std::nullopt;
      ++at;  // the closing quote
      if (at < line.size() && line[at] == ',') {
        ++at;
        continue;
      }
      if (at < line.size() && line[at] == '}') {
        ++at;
        break;
      }
      return std::nullopt;
    }
  }
  if (at >= line.size() || line[at] != ' ') return std::nullopt;
  const std::string value = line.substr(at + 1);
  if (value == "+Inf") return std::pair{name, HUGE_VAL};
  if (value == "-Inf") return std::pair{name, -HUGE_VAL};
  if (value == "NaN") return std::pair{name, NAN};
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size()) return std::nullopt;
  return std::pair{name, v};
}

// Prometheus text format 0.0.4, line by line.
TEST_F(ApiTest, MetricsAreValidPrometheusText) {
  const auto port = start();
  post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  post_json(port, "/v1/workflows/analyze/runs", {{"input", Json::object()}});  // a 422
  http(port, "GET", "/v1/runs/nope");
  const auto r = http(port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  ASSERT_FALSE(r.body.empty());
  ASSERT_EQ(r.body.back(), '\n');

  std::map<std::string, std::string> types;
  std::map<std::string, double> values;  // "name{labels}" -> value
  std::istringstream lines(r.body);
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ")) {
      std::size_t at = 7;
      EXPECT_FALSE(metric_name(line, at).empty()) << line;
      EXPECT_EQ(line[at], ' ') << line;
    } else if (line.starts_with("# TYPE ")) {
      std::size_t at = 7;
      const std::string name = metric_name(line, at);
      ASSERT_FALSE(name.empty()) << line;
      ASSERT_EQ(line[at], ' ') << line;
      const std::string type = line.substr(at + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_FALSE(types.contains(name)) << "TYPE twice: " << line;
      types[name] = type;
    } else {
      const auto parsed = parse_sample(line);
      ASSERT_TRUE(parsed) << "not a sample line: '" << line << "'";
      std::string family = parsed->first;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!types.contains(family) && family.ends_with(suffix)) family.resize(family.size() - std::strlen(suffix));
      }
      EXPECT_TRUE(types.contains(family)) << "no TYPE before " << line;
      values[line.substr(0, line.rfind(' '))] = parsed->second;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  EXPECT_EQ(types["steadfast_runs_submitted_total"], "counter");
  EXPECT_EQ(values["steadfast_runs_submitted_total{workflow=\"analyze\"}"], 1);
  EXPECT_EQ(values["steadfast_runs_completed_total{workflow=\"analyze\"}"], 0);
  EXPECT_TRUE(values.contains("steadfast_runs_failed_total{workflow=\"doomed\"}"));
  EXPECT_TRUE(values.contains("steadfast_step_retries_total"));
  EXPECT_TRUE(values.contains("steadfast_lease_reclaims_total"));
  EXPECT_EQ(values["steadfast_queue_entries{queue=\"default\"}"], 1);
  EXPECT_EQ(values["steadfast_queue_pending{queue=\"default\"}"], 0);
  EXPECT_TRUE(values.contains("steadfast_delayed_runs"));
  EXPECT_TRUE(values.contains("steadfast_dead_letter_runs"));
  EXPECT_EQ(types["steadfast_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(values["steadfast_http_requests_total{route=\"/v1/workflows/{name}/runs\",method=\"POST\",code=\"202\"}"], 1);
  EXPECT_EQ(values["steadfast_http_requests_total{route=\"/v1/workflows/{name}/runs\",method=\"POST\",code=\"422\"}"], 1);
  EXPECT_EQ(values["steadfast_http_requests_total{route=\"/v1/runs/{id}\",method=\"GET\",code=\"404\"}"], 1);
  const std::string route = "route=\"/v1/workflows/{name}/runs\"";
  EXPECT_EQ(values["steadfast_http_request_duration_seconds_bucket{" + route + ",le=\"+Inf\"}"], 2);
  EXPECT_EQ(values["steadfast_http_request_duration_seconds_count{" + route + "}"], 2);
}

TEST_F(ApiTest, SlowClientHeaderTimeoutClosesTheConnection) {
  auto o = options();
  o.header_timeout = 500ms;
  const auto port = start(o);
  HttpConnection c(port);
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // never finished
  const auto t0 = Clock::now();
  EXPECT_TRUE(c.wait_closed(5s));
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 3s);
  // An idle keep-alive connection is closed after the same time.
  HttpConnection idle(port);
  EXPECT_EQ(idle.request("GET", "/healthz").status, 200);
  EXPECT_TRUE(idle.wait_closed(5s));
}

TEST_F(ApiTest, SlowBodyTimeoutClosesTheConnection) {
  auto o = options();
  o.body_timeout = 500ms;
  const auto port = start(o);
  HttpConnection c(port);
  ASSERT_TRUE(c.send("POST /v1/workflows/anything/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100\r\n\r\n{\"input\""));
  EXPECT_TRUE(c.wait_closed(5s));
}

TEST_F(ApiTest, ConnectionsOverTheCapGet503) {
  auto o = options();
  o.max_connections = 2;
  const auto port = start(o);
  auto a = std::make_unique<HttpConnection>(port);
  HttpConnection b(port);
  EXPECT_EQ(a->request("GET", "/healthz").status, 200);  // both held open (keep-alive)
  EXPECT_EQ(b.request("GET", "/healthz").status, 200);
  HttpConnection c(port);
  const auto r = c.read_response(5s);  // answered without asking
  expect_problem(r, 503);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(c.wait_closed(5s));
  // A freed slot serves again.
  a.reset();
  const auto until = Clock::now() + 5s;
  int status = 0;
  while (Clock::now() < until && status != 200) {
    try {
      status = http(port, "GET", "/healthz").status;
    } catch (const std::exception&) {
    }
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

TEST_F(ApiTest, KeepAliveServesManyRequestsOnOneConnection) {
  const auto port = start();
  HttpConnection c(port);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.request("GET", "/healthz").status, 200);
  const auto r = c.request("POST", "/v1/workflows/anything/runs", "{\"input\":1}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 202);
}

TEST_F(ApiTest, HostileNamesAreRefusedAndMakeNoKey) {
  const auto port = start();
  const std::set<std::string> before = all_keys();
  const std::vector<std::string> names = {"*", ":", "%7Bx%7D", "{x}", "%0a", "a%0aFLUSHALL", "a%2F..%2Fb",
                                          "..", std::string(10 * 1024, 'a'), "run*", "sf:%7B0%7D:run:x"};
  for (const std::string& n : names) {
    for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"POST", "/v1/workflows/" + n + "/runs"},
             {"GET", "/v1/runs/" + n},
             {"GET", "/v1/runs/" + n + "?wait=1s"},
             {"POST", "/v1/runs/" + n + "/cancel"},
             {"POST", "/v1/dlq/" + n + "/replay"}}) {
      const auto r = method == "POST" ? post_json(port, target, kGoodInput) : http(port, method, target);
      EXPECT_TRUE(r.status == 404 || r.status == 400) << method << " " << target.substr(0, 80) << ": " << r.status;
    }
  }
  EXPECT_EQ(all_keys(), before);
  for (const std::string& k : all_keys()) {
    EXPECT_EQ(k.find('*'), std::string::npos) << k;
    EXPECT_EQ(k.find('\n'), std::string::npos) << k;
  }
}

TEST_F(ApiTest, StopFinishesInFlightRequests) {
  auto o = options();
  const auto port = start(o);
  const auto r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);  // no worker: stays queued
  const std::string id = r.json()["run_id"];
  HttpConnection idle(port);  // idle keep-alive connection: closed at once on stop
  EXPECT_EQ(idle.request("GET", "/healthz").status, 200);
  std::atomic<int> status{0};
  std::thread poll([&] {
    try {
      status = http(port, "GET", "/v1/runs/" + id + "?wait=30s", {}, {}, 20s).status;
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  });
  std::this_thread::sleep_for(300ms);
  const auto t0 = Clock::now();
  api_->stop();  // returns when every connection is done
  poll.join();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(status, 200);  // the long poll was answered, not cut
  EXPECT_TRUE(idle.wait_closed(1s));
  EXPECT_THROW(HttpConnection{port}, std::runtime_error);  // no longer listening
}

// POST /v1/runs/{id}/rerun: 201 with the new run, which keeps the steps
// before from_step and runs the rest with the edited input; every bad request
// gets a problem naming what is wrong, and the action is audited.
TEST_F(ApiTest, RerunFromAStepAnswers201AndRefusesBadRequestsClearly) {
  const auto port = start();
  // A source whose first step has not run: nothing to keep yet (no worker).
  auto r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  const std::string live = r.json()["run_id"];
  r = post_json(port, "/v1/runs/" + live + "/rerun", {{"from_step", "summarize"}});
  expect_problem(r, 409);
  EXPECT_NE(r.json()["detail"].get<std::string>().find("step 'fetch' of run " + live + " is queued"), std::string::npos)
      << r.body;

  start_worker();
  r = post_json(port, "/v1/workflows/analyze/runs", kGoodInput);
  const std::string source = r.json()["run_id"];
  const Json before = http(port, "GET", "/v1/runs/" + source + "?wait=10s", {}, {}, 15s).json();
  ASSERT_EQ(before["status"], "completed") << before;

  const Json edited = {{"document_url", "https://example.test/b.pdf"}, {"pages", 2}};
  r = post_json(port, "/v1/runs/" + source + "/rerun", {{"from_step", "summarize"}, {"input", edited}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.json()["run_id"];
  EXPECT_EQ(r.json(), (Json{{"run_id", id}, {"rerun_of", source}, {"from_step", "summarize"},
                            {"status_url", "/v1/runs/" + id}}));
  EXPECT_EQ(r.header("location"), "/v1/runs/" + id);
  const Json after = http(port, "GET", "/v1/runs/" + id + "?wait=10s", {}, {}, 15s).json();
  EXPECT_EQ(after["status"], "completed") << after;
  EXPECT_EQ(after["workflow"], "analyze");
  EXPECT_EQ(after["input"], edited);
  EXPECT_EQ(after["rerun_of"], source);
  EXPECT_EQ(after["rerun_from"], "summarize");
  EXPECT_TRUE(before["rerun_of"].is_null());
  EXPECT_EQ(after["steps"][0]["started_at"], before["steps"][0]["started_at"]) << "fetch was kept, not run";
  EXPECT_EQ(after["steps"][0]["output"], before["steps"][0]["output"]);
  EXPECT_NE(after["steps"][1]["started_at"], before["steps"][1]["started_at"]);
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + source).json()["updated_at"], before["updated_at"]);

  // The audit log: who, the source, the new run.
  const Json entries = http(port, "GET", "/v1/audit").json()["entries"];
  ASSERT_EQ(entries.size(), 1u) << entries;
  EXPECT_EQ(entries[0]["action"], "rerun");
  EXPECT_EQ(entries[0]["who"], "anonymous");
  EXPECT_EQ(entries[0]["target"], source);
  EXPECT_EQ(entries[0]["detail"], (Json{{"run_id", id}, {"from_step", "summarize"}}));

  // Bad requests: nothing is created.
  const std::string url = "/v1/runs/" + source + "/rerun";
  r = post_json(port, url, {{"from_step", "publish"}});
  expect_problem(r, 422);
  EXPECT_EQ(r.json()["detail"], "from_step 'publish' is not a step of this run (its steps: fetch, summarize)");
  EXPECT_EQ(r.json()["errors"][0]["pointer"], "/from_step") << r.body;
  r = post_json(port, url, Json::object());
  expect_problem(r, 422);
  EXPECT_EQ(r.json()["errors"][0]["pointer"], "/from_step") << r.body;
  expect_problem(post_json(port, url, {{"from_step", 2}}), 422);
  r = post_json(port, url, {{"from_step", "fetch"}, {"inputs", {}}});
  expect_problem(r, 422);
  EXPECT_EQ(r.json()["errors"][0]["pointer"], "/inputs") << r.body;
  // The input meets the checks of a submit, with the same answers.
  const Json bad_input = {{"from_step", "fetch"}, {"input", {{"document_url", "x"}}}};
  r = post_json(port, url, bad_input);
  const auto submitted = post_json(port, "/v1/workflows/analyze/runs", {{"input", {{"document_url", "x"}}}});
  expect_problem(r, 422);
  EXPECT_EQ(r.json(), submitted.json());
  expect_problem(post_json(port, url, Json::array()), 422);
  expect_problem(http(port, "POST", url, "{\"from_step\": ", {{"Content-Type", "application/json"}}), 400);
  expect_problem(http(port, "POST", url, "from_step=fetch", {{"Content-Type", "text/plain"}}), 415);
  expect_problem(http(port, "POST", url), 422);
  expect_problem(post_json(port, "/v1/runs/01JBAD000000000000000000ZZ/rerun", {{"from_step", "fetch"}}), 404);
  expect_problem(post_json(port, "/v1/runs/not-a-run/rerun", {{"from_step", "fetch"}}), 404);
  expect_problem(http(port, "GET", url), 405);
  EXPECT_EQ(http(port, "GET", "/v1/audit").json()["entries"].size(), 1u);
}

// Bulk jobs through the API: made with 202 and a Location, walked by the
// server in the background (GET /v1/bulk/{id} until done), audited; bad
// requests are refused naming the member; a job whose holder died (its lease
// ran out) is finished by the server.
TEST_F(ApiTest, BulkCancelAndReplayAreJobsTheServerWalksToTheirEnd) {
  // A job a dead `serve` held: claimed by "ghost" with a lease of 1.5 s, never progressed.
  store::KeySpace keys("sf", 1);
  redis::Client& client = make_client();
  store::Store store(client, keys);
  const store::BulkJob orphan = run(store::create_bulk_job(
      store, engine::BulkRequest{engine::BulkAction::cancel, engine::run_filter_from_json(Json{{"workflow", "analyze"}})},
      "tester"));
  ASSERT_TRUE(run(store::claim_bulk_job_by_id(store, orphan.id, "ghost", 1500ms)));

  const auto port = start();
  const auto submit = [&](const std::string& customer) {
    const auto r = post_json(port, "/v1/workflows/anything/runs", {{"input", 1}, {"metadata", {{"customer", customer}}}});
    EXPECT_EQ(r.status, 202) << r.body;
    return r.json()["run_id"].get<std::string>();
  };
  const auto wait_done = [&](const std::string& id) {
    Json job;
    for (const auto until = Clock::now() + 15s; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
      job = http(port, "GET", "/v1/bulk/" + id).json();
      if (job["status"] == "done") break;
    }
    return job;
  };
  std::vector<std::string> acme;
  for (int i = 0; i < 3; ++i) acme.push_back(submit("acme"));
  const std::string beta = submit("beta");

  auto r = post_json(port, "/v1/runs:bulk", {{"action", "cancel"}, {"filter", {{"meta", {{"customer", "acme"}}}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json()["id"];
  EXPECT_EQ(r.json()["status_url"], "/v1/bulk/" + id);
  EXPECT_EQ(r.header("location"), "/v1/bulk/" + id);
  EXPECT_EQ(r.json()["action"], "cancel");
  EXPECT_EQ(r.json()["status"], "queued");
  Json job = wait_done(id);
  ASSERT_EQ(job["status"], "done") << job;
  EXPECT_EQ(job["matched"], 3);
  EXPECT_EQ(job["succeeded"], 3);
  EXPECT_EQ(job["skipped"], 0);
  EXPECT_EQ(job["who"], "anonymous");
  EXPECT_TRUE(job["finished_at"].is_string()) << job;
  for (const std::string& run_id : acme) EXPECT_EQ(http(port, "GET", "/v1/runs/" + run_id).json()["status"], "cancelled");
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + beta).json()["status"], "queued");
  // Lower case, as a user may type it.
  std::string lower = id;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(http(port, "GET", "/v1/bulk/" + lower).json()["id"], id);

  // The orphan: the server takes it once the ghost's lease ends, and finishes it.
  job = wait_done(orphan.id);
  ASSERT_EQ(job["status"], "done") << job;
  EXPECT_EQ(job["claims"], 2);
  EXPECT_NE(job["holder"], "ghost");

  // Stopped before anyone walks it (its holder's lease runs 60 s): it stays stopped.
  const store::BulkJob held = run(store::create_bulk_job(
      store, engine::BulkRequest{engine::BulkAction::replay, {}}, "tester"));
  ASSERT_TRUE(run(store::claim_bulk_job_by_id(store, held.id, "ghost", 60s)));
  r = http(port, "POST", "/v1/bulk/" + held.id + "/stop");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "stopped");
  EXPECT_EQ(r.json()["stopped_by"], "anonymous");
  expect_problem(http(port, "POST", "/v1/bulk/" + held.id + "/stop"), 409);
  expect_problem(http(port, "POST", "/v1/bulk/" + id + "/stop"), 409);  // done
  expect_problem(http(port, "POST", "/v1/bulk/01JZZZZZZZZZZZZZZZZZZZZZZZ/stop"), 404);

  r = http(port, "GET", "/v1/bulk");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["jobs"].size(), 3u) << r.body;
  EXPECT_EQ(r.json()["jobs"][0]["id"], held.id);  // newest first
  EXPECT_EQ(r.json()["jobs"][1]["id"], id);
  expect_problem(http(port, "GET", "/v1/bulk?limit=0"), 400);
  expect_problem(http(port, "GET", "/v1/bulk?colour=red"), 400);

  const Json audit = http(port, "GET", "/v1/audit").json()["entries"];
  ASSERT_EQ(audit.size(), 2u) << audit;
  EXPECT_EQ(audit[0]["action"], "bulk_stop");
  EXPECT_EQ(audit[0]["target"], held.id);
  EXPECT_EQ(audit[1]["action"], "bulk");
  EXPECT_EQ(audit[1]["target"], id);
  EXPECT_EQ(audit[1]["detail"], (Json{{"action", "cancel"}, {"filter", {{"meta", {{"customer", "acme"}}}}}}));

  // Replay: the dead-lettered runs of a workflow, and only failed runs.
  start_worker();
  std::vector<std::string> doomed;
  for (int i = 0; i < 2; ++i) doomed.push_back(post_json(port, "/v1/workflows/doomed/runs", {{"input", i}}).json()["run_id"]);
  for (const std::string& run_id : doomed) {
    ASSERT_EQ(http(port, "GET", "/v1/runs/" + run_id + "?wait=10s", {}, {}, 15s).json()["status"], "failed");
  }
  r = post_json(port, "/v1/runs:bulk", {{"action", "replay"}, {"filter", {{"workflow", "doomed"}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  job = wait_done(r.json()["id"]);
  ASSERT_EQ(job["status"], "done") << job;
  EXPECT_EQ(job["matched"], 2);
  EXPECT_EQ(job["succeeded"], 2);
  for (const std::string& run_id : doomed) {  // run again (and failed again: it always fails)
    Json again;
    for (const auto until = Clock::now() + 15s; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
      again = http(port, "GET", "/v1/runs/" + run_id).json();
      if (again["status"] == "failed" && again["steps"][0]["attempts"] == 2) break;
    }
    EXPECT_EQ(again["steps"][0]["attempts"], 2) << again;
  }

  // What it refuses, and how.
  expect_problem(post_json(port, "/v1/runs:bulk", {{"action", "delete"}}), 422);
  r = post_json(port, "/v1/runs:bulk", {{"action", "cancel"}});
  expect_problem(r, 422);
  EXPECT_NE(r.body.find("a cancel needs at least one condition"), std::string::npos) << r.body;
  r = post_json(port, "/v1/runs:bulk", {{"action", "replay"}, {"filter", {{"status", "running"}}}});
  expect_problem(r, 422);
  EXPECT_NE(r.body.find("failed runs only"), std::string::npos) << r.body;
  expect_problem(post_json(port, "/v1/runs:bulk", {{"action", "cancel"}, {"filter", {{"queue", "q"}}}}), 422);
  expect_problem(http(port, "POST", "/v1/runs:bulk", "{", {{"Content-Type", "application/json"}}), 400);
  expect_problem(http(port, "POST", "/v1/runs:bulk", R"({"action": "replay"})", {{"Content-Type", "text/plain"}}), 415);
  expect_problem(http(port, "GET", "/v1/runs:bulk"), 405);
  expect_problem(http(port, "GET", "/v1/bulk/01JZZZZZZZZZZZZZZZZZZZZZZZ"), 404);
  expect_problem(http(port, "GET", "/v1/bulk/not-an-id"), 404);
}


// An ordered queue: runs submitted while no worker feeds it wait in its
// backlog, shown by priority in GET /v1/queues and /metrics, and each run's
// view says it waits for its turn among the fairness keys.
TEST_F(ApiTest, AnOrderedQueuesBacklogIsShownByPriorityWithItsActiveKeys) {
  const auto port = start(options(), R"(
queues:
  default: {fairness: {key: "{{input.tenant}}"}}
workflows:
  fair:
    steps:
      - {name: call, kind: noop}
)");
  for (const char* tenant : {"acme", "acme", "globex"}) {
    ASSERT_EQ(post_json(port, "/v1/workflows/fair/runs", {{"input", {{"tenant", tenant}}}}).status, 202);
  }
  const auto urgent = post_json(port, "/v1/workflows/fair/runs", {{"input", {{"tenant", "acme"}}}, {"priority", 8}});
  ASSERT_EQ(urgent.status, 202) << urgent.body;
  const Json queues = http(port, "GET", "/v1/queues").json()["queues"];
  ASSERT_EQ(queues.size(), 1u) << queues;
  EXPECT_EQ(queues[0]["backlog"], 4) << queues;
  EXPECT_EQ(queues[0]["waiting"], 4) << queues;
  EXPECT_EQ(queues[0]["backlog_by_priority"], (Json{{"5", 3}, {"8", 1}})) << queues;
  EXPECT_EQ(queues[0]["active_keys"], 3) << "acme and globex at 5, acme at 8";
  const std::string metrics = http(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("steadfast_queue_backlog{queue=\"default\",priority=\"5\"} 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("steadfast_queue_backlog{queue=\"default\",priority=\"8\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("steadfast_queue_active_keys{queue=\"default\"} 3"), std::string::npos);
  const Json run = http(port, "GET", "/v1/runs/" + urgent.json().at("run_id").get<std::string>()).json();
  EXPECT_EQ(run["status"], "waiting");
  EXPECT_EQ(run["priority"], 8);
  EXPECT_EQ(run["waiting_for"], (Json{{"kind", "fairness"}, {"until", nullptr}, {"key", "acme"}, {"queue", "default"}}));

  // A rerun with an edited input waits under its own tenant, at the source's priority.
  const auto rerun = post_json(port, "/v1/runs/" + urgent.json().at("run_id").get<std::string>() + "/rerun",
                               {{"from_step", "call"}, {"input", {{"tenant", "globex"}}}});
  ASSERT_EQ(rerun.status, 201) << rerun.body;
  const Json again = http(port, "GET", "/v1/runs/" + rerun.json().at("run_id").get<std::string>()).json();
  EXPECT_EQ(again["priority"], 8);
  EXPECT_EQ(again["waiting_for"]["key"], "globex") << again;
}
}  // namespace
}  // namespace steadfast
