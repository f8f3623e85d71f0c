// A loopback TCP proxy for fault injection, inside the test process: listens
// on 127.0.0.1:<free port> and forwards every connection to 127.0.0.1:<target>,
// one thread per direction. Its mode can change at any time:
//   pass       forward at once;
//   latency    hold every chunk `delay` before forwarding it;
//   blackhole  accept connections but forward nothing: what is sent stays in
//              the socket buffers (as behind a partition that drops packets
//              which TCP then retransmits), and flows again on heal();
// and reset() closes every open connection (as a NAT that forgot them).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace steadfast::test {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t target) : target_(target) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error(std::string("proxy: socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 128) != 0) {
      const std::string err = std::strerror(errno);
      ::close(listen_fd_);
      throw std::runtime_error("proxy: bind/listen: " + err);
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TcpProxy() {
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    reset();
    std::lock_guard lock(mu_);
    for (Pump& p : pumps_) {
      if (p.thread.joinable()) p.thread.join();
    }
    // Closed only now, so that reset() never shuts down a recycled descriptor.
    for (Pump& p : pumps_) ::close(p.from);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void pass() {
    delay_ms_ = 0;
    blackhole_ = false;
  }
  void latency(std::chrono::milliseconds delay) {
    delay_ms_ = static_cast<int>(delay.count());
    blackhole_ = false;
  }
  void blackhole() { blackhole_ = true; }
  void heal() { pass(); }

  // Closes every connection open now (both sides see a reset or EOF).
  void reset() {
    std::lock_guard lock(mu_);
    for (Pump& p : pumps_) {
      ::shutdown(p.from, SHUT_RDWR);
      ::shutdown(p.to, SHUT_RDWR);
    }
  }

  [[nodiscard]] int connections() const noexcept { return connections_.load(); }
  [[nodiscard]] long long bytes() const noexcept { return bytes_.load(); }

 private:
  struct Pump {
    int from = -1;
    int to = -1;
    std::thread thread;
  };

  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a = loopback(target_);
      if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (upstream >= 0) ::close(upstream);
        ::close(client);
        continue;
      }
      int one = 1;
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++connections_;
      std::lock_guard lock(mu_);
      // Each pump reads one side and writes the other.
      Pump& up = pumps_.emplace_back();
      up.from = client;
      up.to = upstream;
      Pump& down = pumps_.emplace_back();
      down.from = upstream;
      down.to = client;
      up.thread = std::thread([this, &up] { pump(up.from, up.to); });
      down.thread = std::thread([this, &down] { pump(down.from, down.to); });
    }
  }

  void pump(int from, int to) {
    char buf[64 * 1024];
    while (!stopping_) {
      if (blackhole_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      pollfd p{from, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if (blackhole_) continue;  // changed while waiting: leave the bytes where they are
      const ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) break;
      if (const int d = delay_ms_.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
      ssize_t off = 0;
      while (off < n) {
        const ssize_t w = ::send(to, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) break;
        off += w;
      }
      if (off < n) break;
      bytes_ += n;
    }
    ::shutdown(to, SHUT_WR);
    ::shutdown(from, SHUT_RD);
  }

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> blackhole_{false};
  std::atomic<int> delay_ms_{0};
  std::atomic<int> connections_{0};
  std::atomic<long long> bytes_{0};
  std::mutex mu_;
  std::list<Pump> pumps_;  // stable addresses for the threads
  std::thread acceptor_;
};

}  // namespace steadfast::test
