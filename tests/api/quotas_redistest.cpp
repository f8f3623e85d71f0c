// Quotas on what a submitter may cost (issue 13 item 5), through an
// in-process api::Server over real sockets against the test binary's
// redis-server: a token line's `rate=` and `max_live=` (429 problem+json with
// Retry-After), and a workflow's `max_input_bytes` (413 naming the workflow
// and the bound, from HTTP and from the C++ Client).
#include <openssl/sha.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "api/http_client.h"
#include "api/server.h"
#include "config/workflows_file.h"
#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "steps/kind_registry.h"
#include "support/redis_test.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;
using test::http;
using test::post_json;

constexpr const char* kWorkflows = R"(
workflows:
  anything:
    steps:
      - {name: only, kind: noop}
  small:
    max_input_bytes: 100
    steps:
      - {name: only, kind: noop}
)";

std::string sha256_hex(const std::string& text) {
  unsigned char h[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), h);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : h) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

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
  ~ServerThread() {
    server_.stop();
    thread_.join();
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  api::Server server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::string error_;
};

class Quotas : public test::RedisTest {
 protected:
  void TearDown() override {
    if (worker_thread_.joinable()) {
      worker_->stop();
      worker_thread_.join();
    }
    api_.reset();
    test::RedisTest::TearDown();
  }

  // Starts the server with a tokens file of these lines ("<token> <rest of line>").
  std::uint16_t start(const std::vector<std::pair<std::string, std::string>>& tokens) {
    const std::string dir = ::testing::TempDir();
    const std::string path = dir + "/quota-tokens-" + std::to_string(::getpid());
    {
      std::ofstream f(path);
      for (const auto& [token, rest] : tokens) f << "sha256:" << sha256_hex(token) << " " << rest << "\n";
    }
    api::ServerOptions o;
    o.port = 0;
    o.redis_url = server().url();
    o.handle_signals = false;
    o.redis_timeout = 1s;
    o.tokens_file = path;
    api_ = std::make_unique<ServerThread>(std::move(o), kWorkflows);
    EXPECT_NE(api_->port(), 0) << "the server did not start: " << api_->error();
    return api_->port();
  }

  void start_worker() {
    WorkerOptions o;
    o.redis_url = server().url();
    o.handle_signals = false;
    o.concurrency = 4;
    o.drain_timeout = 1s;
    worker_ = std::make_unique<Worker>(
        o, config::build_workflows(config::parse_workflows(kWorkflows, "test.yaml"), steps::builtin_kinds()));
    worker_thread_ = std::thread([this] {
      try {
        worker_->run();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "worker: " << e.what();
      }
    });
  }

  static test::HttpResponse submit(std::uint16_t port, const std::string& token, const Json& input = Json::object(),
                                   const std::string& workflow = "anything") {
    return post_json(port, "/v1/workflows/" + workflow + "/runs", {{"input", input}},
                     {{"Authorization", "Bearer " + token}});
  }

  static void expect_429(const test::HttpResponse& r, const std::string& type, const std::string& detail) {
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
    EXPECT_NE(r.json().value("type", "").find(type), std::string::npos) << r.body;
    EXPECT_NE(r.json().value("detail", "").find(detail), std::string::npos) << r.body;
    EXPECT_FALSE(r.header("retry-after").empty()) << r.body;
  }

  std::unique_ptr<ServerThread> api_;
  std::unique_ptr<Worker> worker_;
  std::thread worker_thread_;
};

// rate=2/m: one submit at once (a second's worth, at least 1), the next one
// 30 s later; another token is not affected, and a refused submit writes nothing.
TEST_F(Quotas, TokenSubmitRateIsAnswered429WithRetryAfter) {
  const auto port = start({{"slow-token", "submit ci rate=2/m"}, {"free-token", "submit"}});
  ASSERT_EQ(submit(port, "slow-token").status, 202);
  const auto refused = submit(port, "slow-token");
  expect_429(refused, "rate-limited", "token 'ci' may submit 2 runs per minute (rate)");
  const int retry_after = std::stoi(refused.header("retry-after"));
  EXPECT_GE(retry_after, 29);
  EXPECT_LE(retry_after, 30);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(submit(port, "free-token").status, 202);
  const auto runs = http(port, "GET", "/v1/runs?workflow=anything", {}, {{"Authorization", "Bearer free-token"}});
  EXPECT_EQ(runs.json()["runs"].size(), 4u) << runs.body;  // 1 + 3: the refused one made no run
}

// max_live=2: with no worker, the third submit is refused; once a worker has
// finished the runs, submits go through again (and the set of live runs in
// Redis never holds more than the cap).
TEST_F(Quotas, TokenMaxLiveIsAnswered429UntilItsRunsFinish) {
  const auto port = start({{"capped-token", "submit batch max_live=2"}});
  const auto a = submit(port, "capped-token");
  const auto b = submit(port, "capped-token");
  ASSERT_EQ(a.status, 202) << a.body;
  ASSERT_EQ(b.status, 202) << b.body;
  expect_429(submit(port, "capped-token"), "too-many-live-runs",
             "token 'batch' has 2 runs not finished yet, its max_live is 2");
  const std::string live_key = "sf:{sf}:token-live:" + sha256_hex("capped-token").substr(0, 16);
  EXPECT_EQ(server().call({"ZCARD", live_key}).as_integer(), 2);

  start_worker();
  for (const auto& r : {a, b}) {
    const auto done = http(port, "GET", "/v1/runs/" + r.json()["run_id"].get<std::string>() + "?wait=10s",
                           {}, {{"Authorization", "Bearer capped-token"}}, 15s);
    ASSERT_EQ(done.json()["status"], "completed") << done.body;
  }
  EXPECT_EQ(submit(port, "capped-token").status, 202);
  EXPECT_LE(server().call({"ZCARD", live_key}).as_integer(), 2);
}

TEST_F(Quotas, WorkflowMaxInputBytesIs413NamingTheWorkflowAndTheBound) {
  const auto port = start({{"t", "submit"}});
  const Json big = {{"text", std::string(120, 'x')}};  // 131 bytes as compact JSON
  const auto r = submit(port, "t", big, "small");
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_EQ(r.json().value("detail", ""),
            "the input is 131 bytes as compact JSON, over the 100 bytes of workflow 'small' (max_input_bytes)");
  EXPECT_EQ(submit(port, "t", {{"text", "short"}}, "small").status, 202);
  EXPECT_EQ(submit(port, "t", big, "anything").status, 202);  // the default is 1 MiB
  const Json listed = http(port, "GET", "/v1/workflows", {}, {{"Authorization", "Bearer t"}}).json();
  for (const Json& w : listed["workflows"]) {
    EXPECT_EQ(w["max_input_bytes"], w["name"] == "small" ? 100 : 1048576) << w.dump();
  }
  // The C++ client reads the bound from the registered definition.
  ClientOptions co;
  co.redis_url = server().url();
  Client client(co);
  try {
    (void)client.submit("small", big);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "input is 131 bytes as compact JSON, over the 100 bytes of workflow 'small' (max_input_bytes)");
  }
}

TEST(QuotasConfig, MaxInputBytesMustBeFrom1To1MiB) {
  const auto error_of = [](const std::string& value) {
    try {
      (void)config::parse_workflows("workflows:\n  w:\n    max_input_bytes: " + value +
                                        "\n    steps:\n      - {name: s, kind: noop}\n",
                                    "f.yaml");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("1048576"), "no error");
  EXPECT_NE(error_of("1048577").find("max_input_bytes may be at most 1048576 (1 MiB), got 1048577"), std::string::npos)
      << error_of("1048577");
  EXPECT_NE(error_of("0").find("max_input_bytes"), std::string::npos) << error_of("0");
  EXPECT_THROW(Workflow("w").max_input_bytes(0), std::invalid_argument);
  EXPECT_EQ(Workflow("w").max_input_bytes(), kMaxInputBytes);
}

}  // namespace
}  // namespace steadfast
