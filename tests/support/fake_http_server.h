// Starts tests/support/fake_http_server.py (see its header for the options)
// for one test or fixture, and reads its /_stats. Header-only; a test using
// it defines STEADFAST_FAKE_HTTP_SERVER as the script's path, e.g.
//   target_compile_definitions(t PRIVATE
//     STEADFAST_FAKE_HTTP_SERVER="${PROJECT_SOURCE_DIR}/tests/support/fake_http_server.py")
//
// Thread-safety: stats() and url() may be called from any thread; construct
// and destroy from one.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proc/child.h"
#include "steadfast/json.h"

namespace steadfast::test {

class FakeHttpServer {
 public:
  // `config`: written to a temp file and passed as --config (null = none);
  // `args`: more command-line options. Throws std::runtime_error if the
  // server is not READY within 10 s.
  explicit FakeHttpServer(const Json& config = nullptr, std::vector<std::string> args = {}) {
    std::vector<std::string> argv{"python3", STEADFAST_FAKE_HTTP_SERVER};
    if (!config.is_null()) {
      std::array<char, 64> path{};
      std::snprintf(path.data(), path.size(), "/tmp/steadfast-fake-http-XXXXXX");
      const int fd = ::mkstemp(path.data());
      if (fd < 0) throw std::runtime_error("mkstemp failed");
      ::close(fd);
      config_path_ = path.data();
      std::ofstream(config_path_) << config.dump();
      argv.emplace_back("--config");
      argv.push_back(config_path_);
    }
    argv.insert(argv.end(), args.begin(), args.end());

    std::array<int, 2> out{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    proc::SpawnOptions options;
    options.argv = std::move(argv);
    options.out = proc::Stdio::from_fd(out[1]);
    options.in = proc::Stdio::inherit();
    try {
      child_ = proc::Child(options);
    } catch (const std::exception& e) {
      ::close(out[1]);
      ::close(out[0]);
      cleanup();
      throw std::runtime_error(std::string("fake HTTP server: ") + e.what());
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
    // "READY <port>\n"
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      pollfd p{stdout_fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        cleanup();
        throw std::runtime_error("fake_http_server.py did not print READY within 10 s");
      }
      std::array<char, 256> buffer{};
      const ssize_t n = ::read(stdout_fd_, buffer.data(), buffer.size());
      if (n <= 0) {
        cleanup();
        throw std::runtime_error("fake_http_server.py exited before READY: " + line);
      }
      line.append(buffer.data(), static_cast<std::size_t>(n));
    }
    if (!line.starts_with("READY ")) {
      cleanup();
      throw std::runtime_error("fake_http_server.py said " + line);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(6)));
  }

  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;
  ~FakeHttpServer() { cleanup(); }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] int pid() const noexcept { return child_.pid(); }
  // "http://127.0.0.1:<port><path>"
  [[nodiscard]] std::string url(std::string_view path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // GET /_stats, parsed.
  [[nodiscard]] Json stats() const { return Json::parse(get_body("/_stats")); }

  // The body of a GET, over a plain socket (no HTTP client library needed).
  [[nodiscard]] std::string get_body(std::string_view path) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT
      ::close(fd);
      throw std::runtime_error("cannot connect to the fake server");
    }
    const std::string request = "GET " + std::string(path) + " HTTP/1.0\r\nHost: x\r\n\r\n";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string response;
    std::array<char, 65536> buffer{};
    for (;;) {
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      response.append(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    const std::size_t body = response.find("\r\n\r\n");
    if (body == std::string::npos) throw std::runtime_error("bad response from the fake server");
    return response.substr(body + 4);
  }

  // A loopback port nobody listens on, a moment ago.
  static std::uint16_t unused_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // NOLINT
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);  // NOLINT
    ::close(fd);
    return ntohs(addr.sin_port);
  }

 private:
  // SIGTERM by PID, SIGKILL after 5 s, always reaped.
  void cleanup() noexcept {
    try {
      child_.terminate(std::chrono::seconds(5));
    } catch (...) {  // a poll error: ~Child still SIGKILLs and reaps it
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    stdout_fd_ = -1;
    if (!config_path_.empty()) ::unlink(config_path_.c_str());
    config_path_.clear();
  }

  proc::Child child_;
  int stdout_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string config_path_;
};

}  // namespace steadfast::test
