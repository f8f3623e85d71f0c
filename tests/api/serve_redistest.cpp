// `steadfast serve` as a process: the Redis settings it refuses or warns
// about, and a graceful stop on SIGTERM with a request in flight.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/http_client.h"
#include "proc/child.h"
#include "support/redis_test.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kWorkflows = R"(
workflows:
  anything:
    steps:
      - {name: only, kind: noop}
)";

// A child process, output to a file (truncated); SIGKILLed and reaped (by PID) on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log) {
    proc::SpawnOptions options;
    options.argv = argv;
    options.out = proc::Stdio::truncate(log);
    options.err = proc::Stdio::to_stdout();
    child_ = proc::Child(options);
  }

  void signal(int sig) const { child_.signal(sig); }
  // The exit code (128 + signal when killed), or nullopt if still running after timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (const auto status = child_.wait_for(timeout)) return status->shell_code();
    return std::nullopt;
  }

 private:
  proc::Child child_;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class ServeProcess : public test::RedisTest {
 protected:
  void SetUp() override {
    test::RedisTest::SetUp();
    dir_ = test::make_temp_dir("steadfast-serve-");
    workflows_ = dir_ + "/workflows.yaml";
    std::ofstream(workflows_) << kWorkflows;
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    test::RedisTest::TearDown();
  }

  std::vector<std::string> serve_args(std::uint16_t port) const {
    return {STEADFAST_BIN, "serve", "--workflows", workflows_, "--listen", "127.0.0.1:" + std::to_string(port),
            "--redis", server().url()};
  }

  std::string dir_;
  std::string workflows_;
};

TEST_F(ServeProcess, RefusesAnEvictingRedisUnlessAllowed) {
  server().call({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  struct Restore {
    ~Restore() { test::RedisTest::server().call({"CONFIG", "SET", "maxmemory-policy", "noeviction"}); }
  } restore;
  const auto r = test::run_process(serve_args(test::free_port()), 15s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("maxmemory-policy is 'allkeys-lru'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--allow-eviction"), std::string::npos) << r.output;

  const std::uint16_t port = test::free_port();
  auto args = serve_args(port);
  args.push_back("--allow-eviction");
  Child serve(args, dir_ + "/serve.log");
  int status = 0;
  for (const auto until = Clock::now() + 10s; Clock::now() < until && status != 200;) {
    try {
      status = test::http(port, "GET", "/readyz").status;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_EQ(status, 200) << read_file(dir_ + "/serve.log");
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(10s), 0);
  EXPECT_NE(read_file(dir_ + "/serve.log").find("allowed by --allow-eviction"), std::string::npos);
}

TEST_F(ServeProcess, SigtermAnswersInFlightRequestsThenExits) {
  const std::uint16_t port = test::free_port();
  Child serve(serve_args(port), dir_ + "/serve.log");
  std::string run_id;
  for (const auto until = Clock::now() + 10s; Clock::now() < until && run_id.empty();) {
    try {
      const auto r = test::post_json(port, "/v1/workflows/anything/runs", {{"input", 1}});
      if (r.status == 202) run_id = r.json()["run_id"];
    } catch (const std::exception&) {
      std::this_thread::sleep_for(20ms);
    }
  }
  ASSERT_FALSE(run_id.empty()) << read_file(dir_ + "/serve.log");
  // The test Redis runs without AOF: serve warns.
  EXPECT_NE(read_file(dir_ + "/serve.log").find("appendonly is 'no'"), std::string::npos)
      << read_file(dir_ + "/serve.log");

  std::atomic<int> status{0};
  std::thread poll([&] {  // no worker: the run stays queued, the poll waits
    try {
      status = test::http(port, "GET", "/v1/runs/" + run_id + "?wait=30s", {}, {}, 20s).status;
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  });
  std::this_thread::sleep_for(300ms);
  const auto t0 = Clock::now();
  serve.signal(SIGTERM);
  const auto code = serve.wait(10s);
  poll.join();
  EXPECT_EQ(code, 0) << read_file(dir_ + "/serve.log");
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(status, 200);
}

TEST_F(ServeProcess, BadFilesAreUsageErrors) {
  std::ofstream(dir_ + "/bad.yaml") << "workflows:\n  x:\n    input_schema: 5\n    steps:\n      - {name: a, kind: noop}\n";
  auto r = test::run_process({STEADFAST_BIN, "serve", "--workflows", dir_ + "/bad.yaml", "--redis", server().url()}, 15s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("input_schema"), std::string::npos) << r.output;
  std::ofstream(dir_ + "/tokens") << "plaintext-token admin\n";
  r = test::run_process({STEADFAST_BIN, "serve", "--workflows", workflows_, "--tokens", dir_ + "/tokens", "--redis",
                         server().url()},
                        15s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("tokens:1:"), std::string::npos) << r.output;
  r = test::run_process({STEADFAST_BIN, "serve", "--workflows", workflows_, "--listen", "nowhere", "--redis",
                         server().url()},
                        15s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace steadfast
