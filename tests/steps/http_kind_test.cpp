// The http step kind against a real local server (tests/support/fake_http_server.py):
// outcomes by status, Retry-After, timeouts, cancellation, the Idempotency-Key,
// and secrets that never leave in an error or an output. No Redis.
#include "steps/http.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "steps/kind_registry.h"
#include "support/fake_http_server.h"

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::FakeHttpServer;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"
#define EXPECT_NOT_CONTAINS(haystack, needle)                      \
  EXPECT_EQ(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' contains '" << (needle) << "'"

constexpr const char* kSecret = "sk-live-7f3a9c1e5b";

Json route(int status, const Json& body, const Json& extra = Json::object()) {
  Json r = extra;
  r["status"] = status;
  r["body"] = body;
  return r;
}

// One server for the suite: scripted routes, echo for the rest.
class HttpKindTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("STEADFAST_HTTP_TEST_SECRET", kSecret, 1);
    ::setenv("STEADFAST_HTTP_TEST_BASE", "http://127.0.0.1", 1);
    const std::string big(2000, 'x');
    Json routes = {
        {"/json", {{"responses", {route(200, {{"a", 1}, {"items", {{{"id", "i0"}}, {{"id", "i1"}}}}})}}}},
        {"/llm",
         {{"responses",
           {route(200, {{"choices", {{{"text", "summary"}}}}, {"usage", {{"total_tokens", 42}}}})}}}},
        {"/text", {{"responses", {route(200, "plain words", {{"headers", {{"Content-Type", "text/html"}}}})}}}},
        {"/badjson",
         {{"responses", {route(200, "{not json", {{"headers", {{"Content-Type", "application/json"}}}})}}}},
        {"/missing", {{"responses", {route(404, big)}}}},
        {"/boom", {{"responses", {route(500, "internal")}}}},
        {"/busy", {{"responses", {route(503, "busy", {{"headers", {{"Retry-After", "2"}}}})}}}},
        {"/slowreq", {{"responses", {route(408, "request timeout")}}}},
        {"/limited", {{"responses", {route(429, "slow down", {{"headers", {{"Retry-After", "7"}}}})}}}},
        {"/limited-date", {{"responses", {route(429, "slow down", {{"retry_after_date", 3}})}}}},
        {"/limited-bare", {{"responses", {route(429, "slow down")}}}},
        {"/redirect", {{"responses", {route(302, "", {{"headers", {{"Location", "/json"}}}})}}}},
        {"/big", {{"responses", {{{"status", 200}, {"body_bytes", 5000}}}}}},
        {"/slow", {{"responses", {route(200, {{"late", true}}, {{"delay_ms", 10000}})}}}},
        {"/leak401", {{"responses", {{{"status", 401}, {"echo", true}}}}}},
        {"/leak500", {{"responses", {{{"status", 500}, {"echo", true}}}}}},
        {"/leak429", {{"responses", {{{"status", 429}, {"echo", true}}}}}},
        {"/empty", {{"responses", {route(204, "")}}}},
    };
    server_ = new FakeHttpServer(Json{{"echo", true}, {"routes", routes}});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static std::string url(std::string_view path) { return server_->url(path); }

  static StepHandler make(const Json& with) {
    const KindRegistry registry = builtin_kinds();
    return (*registry.find("http"))(with);
  }

  // Runs one attempt of `with` as step `step` of run `run`.
  static StepResult run(const Json& with, int attempt = 1, std::string run = "run-1",
                        std::string step = "call") {
    StepContext ctx(std::move(run), "wf", std::move(step), attempt, input(), outputs());
    return make(with)(ctx);
  }

  static Json input() {
    return {{"text", "hello world!"}, {"id", 17}, {"doc", {{"title", "T"}, {"pages", 3}}}};
  }
  static std::map<std::string, Json> outputs() { return {{"fetch", Json{{"body", "earlier"}}}}; }

  static std::string rejection(const Json& with) {
    try {
      (void)make(with);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted " << with.dump();
    return {};
  }

  static FakeHttpServer* server_;
};

FakeHttpServer* HttpKindTest::server_ = nullptr;

// --- success

TEST_F(HttpKindTest, Json2xxIsTheOutput) {
  const StepResult r = run({{"url", url("/json")}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output(), Json::parse(R"({"a": 1, "items": [{"id": "i0"}, {"id": "i1"}]})"));
}

TEST_F(HttpKindTest, ExtractTakesTheValueAtThePointer) {
  const StepResult r = run({{"url", url("/llm")}, {"method", "POST"}, {"extract", "/choices/0/text"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output(), Json("summary"));
  const StepResult usage = run({{"url", url("/llm")}, {"extract", "/usage"}});
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage.output(), (Json{{"total_tokens", 42}}));
}

TEST_F(HttpKindTest, ExtractOfAMissingPointerIsFatalNamingIt) {
  const StepResult r = run({{"url", url("/llm")}, {"extract", "/choices/5/text"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "extract: no value at '/choices/5/text'");
}

TEST_F(HttpKindTest, TextBodyBecomesTextStatusAndContentType) {
  const StepResult r = run({{"url", url("/text")}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output(), (Json{{"text", "plain words"}, {"status", 200}, {"content_type", "text/html"}}));
}

TEST_F(HttpKindTest, MalformedJsonBodyBecomesText) {
  const StepResult r = run({{"url", url("/badjson")}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["text"], "{not json");
  const StepResult extracted = run({{"url", url("/badjson")}, {"extract", "/a"}});
  ASSERT_FALSE(extracted.ok());
  EXPECT_EQ(extracted.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(extracted.error().message(), "the response is not JSON");
}

TEST_F(HttpKindTest, NoContentGivesAnEmptyText) {
  const StepResult r = run({{"url", url("/empty")}, {"method", "DELETE"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["text"], "");
  EXPECT_EQ(r.output()["status"], 204);
}

TEST_F(HttpKindTest, SendsTheTemplatedBodyHeadersAndUrl) {
  const Json with = {
      {"method", "post"},
      {"url", url("/echo/{{input.id}}?q={{urlencode(input.text)}}")},
      {"headers", {{"X-Doc", "{{input.doc.title}}"}, {"X-Earlier", "{{steps.fetch.output.body}}"}}},
      {"body",
       {{"prompt", "Summarize: {{input.text}}"},
        {"doc", "{{input.doc}}"},
        {"estimate", "{{len(input.text) / 4}}"},
        {"fixed", {1, 2}}}},
  };
  const StepResult r = run(with);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Json& echo = r.output();
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["path"], "/echo/17");
  EXPECT_EQ(echo["query"], "q=hello%20world%21");
  EXPECT_EQ(echo["headers"]["X-Doc"], "T");
  EXPECT_EQ(echo["headers"]["X-Earlier"], "earlier");
  EXPECT_EQ(echo["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(echo["headers"]["Accept"], "application/json");
  EXPECT_EQ(echo["body"], Json::parse(R"({"prompt": "Summarize: hello world!",
      "doc": {"title": "T", "pages": 3}, "estimate": 3, "fixed": [1, 2]})"));
}

TEST_F(HttpKindTest, GetSendsNoBodyAndUserHeadersWin) {
  const StepResult r = run({{"url", url("/echo")},
                            {"headers", {{"Accept", "text/plain"}, {"Idempotency-Key", "mine"}}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["method"], "GET");
  EXPECT_EQ(r.output()["body"], nullptr);
  EXPECT_EQ(r.output()["headers"]["Accept"], "text/plain");
  EXPECT_EQ(r.output()["headers"]["Idempotency-Key"], "mine");
}

TEST_F(HttpKindTest, PutWithoutBodySendsAnEmptyOne) {
  const StepResult r = run({{"url", url("/echo")}, {"method", "PUT"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["method"], "PUT");
  EXPECT_EQ(r.output()["headers"]["Content-Length"], "0");
  EXPECT_FALSE(r.output()["headers"].contains("Content-Type"));
}

TEST_F(HttpKindTest, HeadRequest) {
  const StepResult r = run({{"url", url("/json")}, {"method", "HEAD"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["status"], 200);
  EXPECT_EQ(r.output()["text"], "");
}

// --- failures

TEST_F(HttpKindTest, NotFoundIsFatalWithABoundedExcerpt) {
  const StepResult r = run({{"url", url("/missing?token=abc")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  const std::string& m = r.error().message();
  EXPECT_CONTAINS(m, "http GET '" + url("/missing") + "': status 404: 'xxxx");
  EXPECT_NOT_CONTAINS(m, "token=abc");  // no query string in messages
  EXPECT_CONTAINS(m, "...'");
  EXPECT_LE(m.size(), 512u + 100u) << m;
  EXPECT_GE(m.size(), 512u) << m;
}

TEST_F(HttpKindTest, ServerErrorIsRetryable) {
  const StepResult r = run({{"url", url("/boom")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "status 500: 'internal'");
  EXPECT_EQ(r.error().retry_after(), 0ms);
}

TEST_F(HttpKindTest, ServiceUnavailableHonoursRetryAfter) {
  const StepResult r = run({{"url", url("/busy")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_EQ(r.error().retry_after(), 2s);
}

TEST_F(HttpKindTest, RequestTimeoutStatusIsRetryable) {
  const StepResult r = run({{"url", url("/slowreq")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "status 408");
}

TEST_F(HttpKindTest, TooManyRequestsIsRateLimitedWithRetryAfterSeconds) {
  const StepResult r = run({{"url", url("/limited")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::rate_limited);
  EXPECT_EQ(r.error().retry_after(), 7s);
  EXPECT_CONTAINS(r.error().message(), "status 429: 'slow down'");
}

TEST_F(HttpKindTest, TooManyRequestsWithAnHttpDate) {
  const StepResult r = run({{"url", url("/limited-date")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::rate_limited);
  // Three seconds from the server's now, at one-second resolution.
  EXPECT_GE(r.error().retry_after(), 1s);
  EXPECT_LE(r.error().retry_after(), 4s);
}

TEST_F(HttpKindTest, TooManyRequestsWithoutRetryAfterWaitsZero) {
  const StepResult r = run({{"url", url("/limited-bare")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::rate_limited);
  EXPECT_EQ(r.error().retry_after(), 0ms);
}

TEST_F(HttpKindTest, RedirectsAreNotFollowed) {
  const StepResult r = run({{"url", url("/redirect")}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "status 302 (redirects are not followed)");
}

TEST_F(HttpKindTest, ResponseOverTheLimitIsFatal) {
  const StepResult r = run({{"url", url("/big")}, {"max_response_bytes", 1000}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "larger than max_response_bytes (1000)");
  EXPECT_TRUE(run({{"url", url("/big")}, {"max_response_bytes", 5000}}).ok());
}

TEST_F(HttpKindTest, ConnectionRefusedIsRetryable) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(FakeHttpServer::unused_port()) + "/x";
  const StepResult r = run({{"url", dead}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "Couldn't connect to server");
}

TEST_F(HttpKindTest, TimeoutIsRetryable) {
  const auto start = Clock::now();
  const StepResult r = run({{"url", url("/slow")}, {"timeout", "300ms"}});
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "timed out after 300 ms");
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST_F(HttpKindTest, CancellationAbortsTheTransferQuickly) {
  StepContext ctx("run-1", "wf", "call", 1, input(), outputs());
  const StepHandler handler = make({{"url", url("/slow")}});
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    ctx.request_cancel();
  });
  const auto start = Clock::now();
  const StepResult r = handler(ctx);
  const auto took = Clock::now() - start;
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "cancelled");
  EXPECT_LT(took, 200ms + 500ms);
}

TEST_F(HttpKindTest, IdempotencyKeyIsTheSameOnEveryAttempt) {
  const Json with = {{"url", url("/idem")}, {"method", "POST"}, {"body", {{"x", 1}}}};
  const StepResult first = run(with, 1, "run-idem", "charge");
  const StepResult second = run(with, 2, "run-idem", "charge");
  const StepResult other = run(with, 1, "run-idem", "refund");
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  EXPECT_EQ(first.output()["headers"]["Idempotency-Key"], "run-idem:charge");
  EXPECT_EQ(second.output()["headers"]["Idempotency-Key"], "run-idem:charge");
  EXPECT_EQ(other.output()["headers"]["Idempotency-Key"], "run-idem:refund");
  // As the server recorded them.
  int seen = 0;
  const Json stats = server_->stats();
  for (const Json& request : stats["requests"]) {
    if (request["path"] != "/idem") continue;
    if (request["headers"]["Idempotency-Key"] == "run-idem:charge") ++seen;
  }
  EXPECT_EQ(seen, 2);
}

// --- secrets

TEST_F(HttpKindTest, SecretsNeverInAnErrorEvenWhenTheServerEchoesThem) {
  for (const char* path : {"/leak401", "/leak500", "/leak429"}) {
    const Json with = {
        {"method", "POST"},
        {"url", url(path) + "?key=${STEADFAST_HTTP_TEST_SECRET}"},
        {"headers", {{"Authorization", "Bearer ${STEADFAST_HTTP_TEST_SECRET}"}}},
        {"body", {{"api_key", "${STEADFAST_HTTP_TEST_SECRET}"}}},
    };
    const StepResult r = run(with);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_NOT_CONTAINS(r.error().message(), kSecret);
    EXPECT_NOT_CONTAINS(r.error().message(), "sk-live");
    EXPECT_CONTAINS(r.error().message(), "Bearer ***");
  }
}

TEST_F(HttpKindTest, SecretsAreRedactedFromTheOutputToo) {
  const StepResult r = run({{"url", url("/echo")},
                            {"headers", {{"Authorization", "Bearer ${STEADFAST_HTTP_TEST_SECRET}"}}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["headers"]["Authorization"], "Bearer ***");
  EXPECT_NOT_CONTAINS(r.output().dump(), kSecret);
}

TEST_F(HttpKindTest, SecretsNeverInAConnectionError) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(FakeHttpServer::unused_port());
  ::setenv("STEADFAST_HTTP_TEST_DEAD", dead.c_str(), 1);
  const StepResult r = run({{"url", "${STEADFAST_HTTP_TEST_DEAD}/x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NOT_CONTAINS(r.error().message(), dead);
  EXPECT_CONTAINS(r.error().message(), "http GET '***/x'");
}

// Issue 13 item 7: the URL in an error is quoted with its control
// characters escaped (the security review's input URL).
TEST_F(HttpKindTest, TheUrlInAnErrorIsQuotedAndEscaped) {
  const StepResult r = run({{"url", url("/missing/\x1b[2J\x1b]0;pwned\x07")}});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message();
  EXPECT_CONTAINS(m, "http GET '" + url("/missing/\\x1b[2J\\x1b]0;pwned\\x07") + "'");
  EXPECT_NOT_CONTAINS(m, "\x1b");
  EXPECT_NOT_CONTAINS(m, "\x07");
}

TEST_F(HttpKindTest, EnvironmentInTheUrl) {
  const StepResult r =
      run({{"url", "${STEADFAST_HTTP_TEST_BASE}:" + std::to_string(server_->port()) + "/json"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["a"], 1);
}

// --- render errors: fatal, naming what is missing

TEST_F(HttpKindTest, UnknownPathAtRenderTimeIsFatalNamingIt) {
  const StepResult r = run({{"url", url("/echo")}, {"body", {{"x", "{{steps.nope.output.y}}"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "http: body: no value at 'steps.nope.output.y'");
  const StepResult h = run({{"url", url("/echo")}, {"headers", {{"X", "{{input.nope}}"}}}});
  EXPECT_CONTAINS(h.error().message(), "http: headers.X: no value at 'input.nope'");
}

TEST_F(HttpKindTest, MissingEnvironmentVariableIsFatalNamingIt) {
  const StepResult r = run({{"url", url("/echo")}, {"headers", {{"X", "${STEADFAST_HTTP_TEST_UNSET}"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "environment variable 'STEADFAST_HTTP_TEST_UNSET' is not set");
}

TEST_F(HttpKindTest, UrlTemplateRenderingToAnotherSchemeIsFatal) {
  ::setenv("STEADFAST_HTTP_TEST_FILE", "file:///etc/passwd", 1);
  const StepResult r = run({{"url", "${STEADFAST_HTTP_TEST_FILE}"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
}

// --- run input is untrusted: URL templates and request forgery (docs/security.md)

// One attempt with `input` as the run's input.
StepResult run_with_input(const Json& with, const Json& input) {
  StepContext ctx("run-1", "wf", "call", 1, input, {});
  const KindRegistry registry = builtin_kinds();
  return (*registry.find("http"))(with)(ctx);
}

std::string origin_of(const FakeHttpServer& server) { return "http://127.0.0.1:" + std::to_string(server.port()); }

TEST_F(HttpKindTest, ReportPathWalkStaysOneEncodedSegment) {
  // security-2026-12 #1: "${DOCS_URL}/docs/{{input.document_id}}" with a bearer secret.
  ::setenv("STEADFAST_HTTP_TEST_ORIGIN", origin_of(*server_).c_str(), 1);
  const Json with = {{"url", "${STEADFAST_HTTP_TEST_ORIGIN}/docs/{{input.document_id}}"},
                     {"headers", {{"Authorization", "Bearer ${STEADFAST_HTTP_TEST_SECRET}"}}}};
  const StepResult r = run_with_input(with, {{"document_id", "../internal/admin?dump=1#"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["path"], "/docs/..%2Finternal%2Fadmin%3Fdump%3D1%23");
  EXPECT_EQ(r.output()["query"], "");
  // A bare ".." would be removed by curl and walk up: refused.
  const StepResult up = run_with_input(with, {{"document_id", ".."}});
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(up.error().message(), "'.' or '..' segment");
}

TEST_F(HttpKindTest, ReportHostSwapIsRefusedBeforeAnyRequest) {
  // security-2026-12 #1: "${DOCS_URL}{{input.path}}" with "@localhost:<port>/stolen".
  ::setenv("STEADFAST_HTTP_TEST_ORIGIN", origin_of(*server_).c_str(), 1);
  FakeHttpServer other(Json{{"echo", true}});
  const Json with = {{"url", "${STEADFAST_HTTP_TEST_ORIGIN}{{raw(input.path)}}"},
                     {"headers", {{"Authorization", "Bearer ${STEADFAST_HTTP_TEST_SECRET}"}}}};
  for (const Json& with_url : {with, Json{{"url", "${STEADFAST_HTTP_TEST_ORIGIN}{{input.path}}"}}}) {
    const StepResult r =
        run_with_input(with_url, {{"path", "@localhost:" + std::to_string(other.port()) + "/stolen"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
    EXPECT_CONTAINS(r.error().message(), "differ from those the template names");
    EXPECT_NOT_CONTAINS(r.error().message(), kSecret);
  }
  EXPECT_EQ(other.stats()["count"], 0);
}

TEST_F(HttpKindTest, HostFromInputCannotReachLoopbackInAnyForm) {
  const std::string port = std::to_string(server_->port());
  const Json before = server_->stats()["count"];
  for (const std::string& target :
       {"http://127.0.0.1:" + port + "/echo", "http://2130706433:" + port + "/echo", "http://0x7f.1:" + port + "/echo",
        "http://[::ffff:127.0.0.1]:" + port + "/echo", "http://localhost:" + port + "/echo",
        "http://[::1]:" + port + "/echo"}) {
    SCOPED_TRACE(target);
    const StepResult r = run_with_input({{"url", "{{input.target}}"}}, {{"target", target}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
    EXPECT_CONTAINS(r.error().message(), "refused to connect to ");
    EXPECT_CONTAINS(r.error().message(), "loopback address");
    EXPECT_CONTAINS(r.error().message(), "allow_hosts");
  }
  // An earlier output is no more trusted than the input.
  StepContext ctx("run-1", "wf", "call", 1, Json::object(),
                  {{"prev", Json{{"next", "http://127.0.0.1:" + port + "/echo"}}}});
  const StepResult from_output = make({{"url", "{{steps.prev.output.next}}"}})(ctx);
  ASSERT_FALSE(from_output.ok());
  EXPECT_CONTAINS(from_output.error().message(), "refused to connect to 127.0.0.1 (loopback address)");
  EXPECT_EQ(server_->stats()["count"], before);
}

TEST_F(HttpKindTest, HostFromInputCannotReachMetadataOrPrivateRanges) {
  // Refused at connect, before a packet leaves: no server needed at these addresses.
  for (const auto& [target, why] : std::vector<std::pair<std::string, std::string>>{
           {"http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata) address"},
           {"http://[::ffff:169.254.169.254]/", "link-local (cloud metadata) address"},
           {"http://10.0.0.1:1/", "private address"},
           {"http://192.168.0.1:1/", "private address"},
           {"http://[fd00::1]:1/", "unique-local address"}}) {
    SCOPED_TRACE(target);
    const StepResult r = run_with_input({{"url", "{{input.target}}"}, {"timeout", "5s"}}, {{"target", target}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
    EXPECT_CONTAINS(r.error().message(), why);
  }
}

TEST_F(HttpKindTest, AllowHostsLetsAnInputHostReachLoopback) {
  const std::string port = std::to_string(server_->port());
  for (const std::string allow : {"127.0.0.1", "127.0.0.0/8", "localhost"}) {
    SCOPED_TRACE(allow);
    const std::string host = allow == "localhost" ? "localhost" : "127.0.0.1";
    const StepResult r = run_with_input({{"url", "{{input.target}}"}, {"allow_hosts", {allow}}},
                                        {{"target", "http://" + host + ":" + port + "/echo/ok"}});
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r.output()["path"], "/echo/ok");
  }
  // The worker's --allow-hosts does the same for every step.
  set_http_network_policy({"127.0.0.1"}, "");
  const StepResult r = run_with_input({{"url", "http://{{input.host}}:" + port + "/echo/worker"}},
                                      {{"host", "127.0.0.1"}});
  set_http_network_policy({}, "");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["path"], "/echo/worker");
}

TEST_F(HttpKindTest, TheRedisHostIsNeverReachedFromInput) {
  // A public-looking Redis address is refused too; here it is loopback, allowed by
  // range, and still refused as the Redis server's.
  set_http_network_policy({"127.0.0.0/8"}, "127.0.0.1");
  const StepResult r = run_with_input({{"url", "{{input.target}}"}},
                                      {{"target", "http://127.0.0.1:" + std::to_string(server_->port()) + "/"}});
  set_http_network_policy({}, "");
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message(), "refused to connect to 127.0.0.1 (the Redis server's address)");
}

TEST_F(HttpKindTest, UrlsFromTheFileOrEnvironmentStayTrusted) {
  // Loopback, but the template names the host: no address check.
  ::setenv("STEADFAST_HTTP_TEST_ORIGIN", origin_of(*server_).c_str(), 1);
  const StepResult r = run_with_input({{"url", "${STEADFAST_HTTP_TEST_ORIGIN}/echo/{{input.id}}"}}, {{"id", "a b"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["path"], "/echo/a%20b");
}

TEST_F(HttpKindTest, OtherProtocolsFromInputAreRefused) {
  for (const std::string target : {"file:///etc/passwd", "gopher://127.0.0.1:1/", "dict://127.0.0.1:1/"}) {
    SCOPED_TRACE(target);
    const StepResult r = run_with_input({{"url", "{{input.target}}"}}, {{"target", target}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
    EXPECT_CONTAINS(r.error().message(), "nsupported protocol");
  }
}

// --- parameters, checked when the workflows are built

TEST_F(HttpKindTest, RefusesBadParametersNamingTheKey) {
  EXPECT_CONTAINS(rejection(Json::object()), "http: key 'url': is required");
  EXPECT_CONTAINS(rejection({{"url", ""}}), "key 'url': must not be empty");
  EXPECT_CONTAINS(rejection({{"url", "ftp://x"}}), "key 'url': expected an http:// or https:// URL");
  EXPECT_CONTAINS(rejection({{"url", "{{input.u}}"}, {"allow_hosts", "x"}}), "key 'allow_hosts': expected a list");
  EXPECT_CONTAINS(rejection({{"url", "{{input.u}}"}, {"allow_hosts", {"10.0.0.0/40"}}}),
                  "key 'allow_hosts.0': expected a host name");
  EXPECT_CONTAINS(rejection({{"url", "http://x/{{input.a"}}), "key 'url': template 'http://x/{{input.a': unclosed '{{'");
  EXPECT_CONTAINS(rejection({{"url", "http://x/{{foo(input.a)}}"}}), "unknown function 'foo'");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"method", "FETCH"}}), "key 'method': expected one of GET");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"headers", {{"Bad Name", "v"}}}}),
                  "key 'headers.Bad Name': not a valid header name");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"headers", {{"X", "a\r\nInjected: 1"}}}}),
                  "key 'headers.X': must not hold a line break");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"headers", {{"Content-Length", "5"}}}}),
                  "is set by the http step itself");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"headers", {{"X", 5}}}}), "key 'headers.X': expected a string");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"headers", "x"}}), "key 'headers': expected a map");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"method", "HEAD"}, {"body", {{"a", 1}}}}),
                  "key 'body': a HEAD request has no body");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"body", {{"a", "{{input."}}}}),
                  "key 'body': at '/a': template");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"timeout", "soon"}}), "key 'timeout': invalid duration 'soon'");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"timeout", 30}}), "key 'timeout': expected a duration");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"timeout", "0ms"}}), "key 'timeout': expected a duration in [1ms");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"extract", "no-slash"}}), "key 'extract': not a JSON pointer");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"max_response_bytes", 0}}), "key 'max_response_bytes'");
  EXPECT_CONTAINS(rejection({{"url", "http://x"}, {"retries", 3}}), "key 'retries': unknown parameter");
  EXPECT_CONTAINS(rejection(Json::array()), "http: key 'with': expected a map");
}

TEST_F(HttpKindTest, AcceptsAFullSpecification) {
  EXPECT_NO_THROW((void)make({{"method", "PATCH"},
                              {"url", "https://api.example.com/v1/{{input.id}}"},
                              {"headers", {{"Authorization", "Bearer ${KEY}"}}},
                              {"body", {{"a", "{{input.x}}"}}},
                              {"timeout", "2m"},
                              {"extract", "/data"},
                              {"max_response_bytes", 1024}}));
}

// --- Retry-After

TEST(ParseRetryAfter, SecondsDatesAndJunk) {
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(parse_retry_after("", now), 0s);
  EXPECT_EQ(parse_retry_after("soon", now), 0s);
  EXPECT_EQ(parse_retry_after("-5", now), 0s);
  EXPECT_EQ(parse_retry_after("99999999999999", now), 24h);  // capped
  // 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT.
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now), 30s);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now), 0s);  // past
}

}  // namespace
}  // namespace steadfast::steps
