// Hostile requests against a `steadfast serve` process: a 100 MB body declared
// by Content-Length and a never-ending chunked body are answered 413 without
// being buffered (the process' RSS, sampled from /proc/PID/status while the
// bytes are sent, stays flat); JSON nested 10,000 to 500,000 deep is a 400,
// not a crash; a header trickled a byte at a time (slowloris) is cut by the
// header timeout, however steadily it trickles, while others are served.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "security/security_fixture.h"
#include "steadfast/client.h"
#include "support/fake_http_server.h"

namespace steadfast::test {
namespace {

constexpr const char* kWorkflows = R"(
workflows:
  good:
    steps:
      - {name: only, kind: noop}
)";

// Samples a process' RSS every 5 ms on its own thread; peak() is the largest seen.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid) : pid_(pid), base_(rss_kib(pid)), peak_(base_) {
    thread_ = std::thread([this] {
      while (!stop_) {
        peak_ = std::max(peak_.load(), rss_kib(pid_));
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~RssSampler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] long base() const { return base_; }
  [[nodiscard]] long growth() const { return peak_ - base_; }

 private:
  pid_t pid_;
  long base_;
  std::atomic<long> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class RequestLimits : public SecurityTest {
 protected:
  Serve start(std::vector<std::string> extra = {}) {
    const Serve s = start_serve(write_file("workflows.yaml", kWorkflows), std::move(extra));
    // Warm up (first allocations, the Redis connection) before measuring.
    for (int i = 0; i < 20; ++i) EXPECT_EQ(http(s.port, "GET", "/readyz").status, 200);
    return s;
  }

  // Sends `header`, then `chunk` again and again (up to `limit` bytes) on
  // `connections` connections at once, sampling the server's RSS. Each
  // connection must be answered `status` and closed by the server.
  void flood(const Serve& serve, const std::string& header, const std::string& chunk,
             std::size_t limit, int connections, int status) {
    RssSampler rss(serve.process->pid());
    std::atomic<std::size_t> sent{0};
    std::vector<std::thread> threads;
    std::vector<HttpResponse> answers(static_cast<std::size_t>(connections));
    std::vector<int> closed(static_cast<std::size_t>(connections), 0);
    std::vector<std::string> errors(static_cast<std::size_t>(connections));
    for (int i = 0; i < connections; ++i) {
      threads.emplace_back([&, i] {
        try {
          HttpConnection c(serve.port);
          std::atomic<bool> stop{false};
          std::thread sender([&] {
            std::size_t mine = 0;
            if (!c.send(header)) return;
            while (!stop && mine < limit && c.send(chunk)) {
              mine += chunk.size();
              sent += chunk.size();
            }
          });
          try {
            answers[i] = c.read_response(15s);
            closed[i] = c.wait_closed(10s) ? 1 : 0;
          } catch (const std::exception& e) {
            errors[i] = e.what();
          }
          stop = true;
          c.shutdown();  // unblocks the sender if the server never closed
          sender.join();
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    rss.stop();
    for (int i = 0; i < connections; ++i) {
      EXPECT_EQ(errors[i], "") << "connection " << i;
      expect_problem(answers[i], status);
      EXPECT_EQ(answers[i].header("connection"), "close");
      EXPECT_TRUE(closed[i]) << "connection " << i << ": the server kept it open";
    }
    std::cout << connections << " connection(s): " << sent / (1 << 20) << " MiB sent; serve RSS "
              << rss.base() / 1024 << " MiB, peak growth " << rss.growth() << " KiB\n";
    EXPECT_LT(rss.growth(), 20 * 1024) << "serve's RSS grew by " << rss.growth() << " KiB";
    EXPECT_TRUE(serve.process->running());
    EXPECT_EQ(http(serve.port, "GET", "/healthz").status, 200);
  }
};

TEST_F(RequestLimits, HundredMegabyteBodyIs413BeforeBufferingWithFlatMemory) {
  const Serve serve = start();  // --max-body 1MiB (the default)
  const std::string header =
      "POST /v1/workflows/good/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 104857600\r\n\r\n";
  // 4 clients at once, each offering 100 MB: refused from the header alone.
  flood(serve, header, std::string(1 << 16, ' '), std::size_t{100} << 20, 4, 413);
  // The refused bodies wrote nothing.
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs").json()["runs"].size(), 0u);
}

TEST_F(RequestLimits, NeverEndingChunkedBodyIs413AtTheLimitWithFlatMemory) {
  const Serve serve = start();
  const std::string header =
      "POST /v1/workflows/good/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  // 64 KiB chunks with no end (the sender stops at 1 GiB if never cut): read up
  // to the 1 MiB limit, then 413 and closed.
  flood(serve, header, "10000\r\n" + std::string(0x10000, ' ') + "\r\n", std::size_t{1} << 30, 4,
        413);
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs").json()["runs"].size(), 0u);
}

TEST_F(RequestLimits, DeeplyNestedJsonIs400AndNotACrash) {
  const Serve serve = start();
  const test::Headers json{{"Content-Type", "application/json"}};
  const auto post = [&](const std::string& body) {
    return http(serve.port, "POST", "/v1/workflows/good/runs", body, json);
  };
  for (const std::size_t depth :
       {std::size_t{10'000}, std::size_t{100'000}, std::size_t{500'000}}) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    // Arrays, objects, and brackets that never close: refused by the depth
    // scan before any parser (or the input_schema validator) recurses.
    expect_problem(post("{\"input\": " + std::string(depth, '[') + std::string(depth, ']') + "}"),
                   400, "deeper than 64");
    std::string objects;
    for (std::size_t i = 0; i < depth / 10; ++i) objects += "{\"a\":";
    objects += "1" + std::string(depth / 10, '}');
    expect_problem(post("{\"input\": " + objects + "}"), 400, "deeper than 64");
    expect_problem(post(std::string(depth, '[')), 400);
  }
  EXPECT_TRUE(serve.process->running());
  EXPECT_EQ(http(serve.port, "GET", "/healthz").status, 200);
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs").json()["runs"].size(), 0u);
}

// Deep JSON from elsewhere: a step's output (an exec program's stdout, an HTTP
// response) and a run's input from the C++ client or the CLI. Without a bound
// the first copy of such a value overflows the stack: it used to kill every
// worker that took the step, and `steadfast status`.
TEST_F(RequestLimits, DeepJsonFromStepsAndClientsIsRefusedNotACrash) {
  const std::string deep = std::string(400'000, '[') + std::string(400'000, ']');
  FakeHttpServer server(Json{{"routes",
                              {{"/deep",
                                {{"responses",
                                  {{{"status", 200},
                                    {"headers", {{"Content-Type", "application/json"}}},
                                    {"body", deep}}}}}}}}});
  const std::string workflows = write_file("workflows.yaml", R"yaml(
workflows:
  deep-exec:
    steps:
      - name: run
        kind: exec
        with: {command: [python3, -c, "import sys; sys.stdout.write('[' * 400000 + ']' * 400000)"]}
        retry: {max_attempts: 2, backoff: {initial: 10ms}}
  deep-http:
    steps:
      - name: call
        kind: http
        with: {url: ")yaml" + server.url("/deep") + R"yaml("}
        retry: {max_attempts: 2, backoff: {initial: 10ms}}
  fine:
    steps:
      - name: run
        kind: exec
        with: {command: [python3, -c, "import sys; sys.stdout.write('[' * 512 + ']' * 512)"]}
)yaml");
  ChildProcess& worker = start_worker("w1", workflows);
  const auto submit = [&](const std::string& wf, const std::string& input = "{}") {
    const CommandResult r = cli({"submit", wf, "--input", input});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 26);
  };
  const auto wait_status = [&](const std::string& id) {
    Json s;
    eventually(
        [&] {
          const CommandResult r = cli({"status", id, "--json"});
          s = Json::parse(r.out, nullptr, false);
          return r.exit_code == 0 && s.is_object() &&
                 (s["status"] == "failed" || s["status"] == "completed");
        },
        20s, 100ms);
    return s;
  };
  for (const char* wf : {"deep-exec", "deep-http"}) {
    const Json s = wait_status(submit(wf));
    EXPECT_EQ(s.value("status", ""), "failed") << wf << ": " << s.dump().substr(0, 500);
    const Json e = s.is_object() ? s["steps"][0]["error"] : Json();
    const std::string error = e.is_string() ? e.get<std::string>() : "";
    EXPECT_NE(error.find("nests deeper than 512 levels"), std::string::npos) << wf << ": " << error;
    EXPECT_EQ(s.is_object() ? s["steps"][0].value("attempts", 0) : 0, 1)
        << "a fatal error, not a crash and a redelivery";
  }
  // 512 levels are fine; the same worker process did it all.
  EXPECT_EQ(wait_status(submit("fine")).value("status", ""), "completed");
  EXPECT_TRUE(worker.running());
  EXPECT_EQ(worker.count_in_log("serving"), 1);

  // Inputs: refused by the C++ client and the CLI before anything is written.
  const auto keys_before = all_keys();
  ClientOptions co;
  co.redis_url = url();
  Client client(co);
  const Json too_deep = Json::parse(std::string(100'000, '[') + std::string(100'000, ']'));
  try {
    client.submit("fine", too_deep);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("nests deeper than 512 levels"), std::string::npos)
        << e.what();
  }
  // (an argument holds at most 128 KiB: 60,000 levels)
  const CommandResult r =
      cli({"submit", "fine", "--input", std::string(60'000, '[') + std::string(60'000, ']')});
  EXPECT_EQ(r.exit_code, 2) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find("nests deeper than 512 levels"), std::string::npos) << r.err.substr(0, 300);
  EXPECT_EQ(all_keys(), keys_before);
  const Json ok = Json::parse(std::string(511, '[') + std::string(511, ']'));
  EXPECT_EQ(client.wait(client.submit("fine", ok).run_id, 20s).status, "completed");
}

// A raw TCP connection that can trickle bytes and tell when the peer closed.
class Trickle {
 public:
  explicit Trickle(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    opened_ = Clock::now();
  }
  ~Trickle() { ::close(fd_); }
  Trickle(const Trickle&) = delete;
  Trickle& operator=(const Trickle&) = delete;

  // Sends one more byte of an endless header; notes when the peer has closed.
  void step() {
    if (closed_at_) return;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) answer_.append(buf, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        closed_at_ = Clock::now();
        return;
      }
    }
    const char c = kHeader[sent_ < kHeader.size() ? sent_ : kHeader.size() - 1 - (sent_ % 2)];
    if (::send(fd_, &c, 1, MSG_NOSIGNAL) != 1) {
      closed_at_ = Clock::now();
      return;
    }
    ++sent_;
  }
  [[nodiscard]] bool closed() const { return closed_at_.has_value(); }
  [[nodiscard]] milliseconds open_for() const {
    return std::chrono::duration_cast<milliseconds>(closed_at_.value_or(Clock::now()) - opened_);
  }
  [[nodiscard]] std::size_t sent() const { return sent_; }
  [[nodiscard]] const std::string& answer() const { return answer_; }

 private:
  // A header field that never ends ("aa" forever after it).
  static constexpr std::string_view kHeader = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aa";
  int fd_ = -1;
  Clock::time_point opened_;
  std::optional<Clock::time_point> closed_at_;
  std::size_t sent_ = 0;
  std::string answer_;
};

TEST_F(RequestLimits, SlowlorisHeaderTrickleIsClosedByTheHeaderTimeout) {
  // The header timeout bounds the whole header, not the gap between bytes: a
  // byte every 100 ms never resets it.
  const Serve serve = start({"--header-timeout", "1s", "--max-connections", "64"});
  std::vector<std::unique_ptr<Trickle>> slow;
  for (int i = 0; i < 40; ++i) slow.push_back(std::make_unique<Trickle>(serve.port));
  int served = 0;
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < 5s) {
    for (auto& s : slow) s->step();
    if (std::all_of(slow.begin(), slow.end(), [](const auto& s) { return s->closed(); })) break;
    // Others are served meanwhile.
    if (http(serve.port, "GET", "/healthz", {}, {}, 2s).status == 200) ++served;
    std::this_thread::sleep_for(100ms);
  }
  milliseconds shortest = milliseconds::max();
  milliseconds longest{0};
  for (const auto& s : slow) {
    EXPECT_TRUE(s->closed()) << "a trickling connection is still open after "
                             << s->open_for().count() << " ms";
    // Closed without an answer: the request never was complete.
    EXPECT_EQ(s->answer(), "");
    shortest = std::min(shortest, s->open_for());
    longest = std::max(longest, s->open_for());
  }
  std::cout << slow.size() << " trickling connections closed after " << shortest.count() << "-"
            << longest.count() << " ms (header timeout 1000 ms, a byte every 100 ms); " << served
            << " requests served meanwhile\n";
  EXPECT_GE(shortest, 900ms);
  EXPECT_LT(longest, 3000ms);
  EXPECT_GE(served, 3);
  EXPECT_TRUE(serve.process->running());
}

}  // namespace
}  // namespace steadfast::test
