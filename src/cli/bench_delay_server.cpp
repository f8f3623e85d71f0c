#include "cli/bench_delay_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace steadfast::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kAnswer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("bench upstream: " + what + ": " + std::strerror(errno));
}

}  // namespace

DelayServer::DelayServer(std::chrono::milliseconds delay) : delay_(delay) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) fail("socket");
  const int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  if (::listen(listen_fd_, 65535) != 0) fail("listen");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || stop_fd_ < 0) fail("epoll");
  for (const int fd : {listen_fd_, stop_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  thread_ = std::thread([this] { serve(); });
}

DelayServer::~DelayServer() {
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(stop_fd_);
  ::close(epoll_fd_);
  ::close(listen_fd_);
}

void DelayServer::serve() {
  struct Due {
    Clock::time_point at;
    int fd;
  };
  struct Conn {
    std::string pending;  // bytes of a request not complete yet
    std::optional<Clock::time_point> answered_at;  // the last answer written
  };
  std::unordered_map<int, Conn> conns;
  std::deque<Due> due;                          // in arrival order = in due order (one delay)
  std::array<epoll_event, 512> events{};
  for (;;) {
    int wait_ms = -1;
    if (!due.empty()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due.front().at - Clock::now()).count();
      wait_ms = static_cast<int>(std::max<long long>(0, left));
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == stop_fd_) {
        for (const auto& [c, conn] : conns) ::close(c);
        return;
      }
      if (fd == listen_fd_) {
        for (;;) {
          const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) break;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = c;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c, &ev);
          conns.emplace(c, Conn{});
          ++connections_;
        }
        continue;
      }
      char buf[4096];
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        ::close(fd);  // also leaves the epoll set; its due answers fail to write
        conns.erase(fd);
        continue;
      }
      Conn& conn = conns[fd];
      conn.pending.append(buf, static_cast<std::size_t>(got));
      for (std::size_t end; (end = conn.pending.find("\r\n\r\n")) != std::string::npos;) {
        conn.pending.erase(0, end + 4);  // requests without a body (GET)
        const auto now = Clock::now();
        if (conn.answered_at) {
          gap_sum_us_ += std::chrono::duration_cast<std::chrono::microseconds>(now - *conn.answered_at).count();
          ++gaps_;
          conn.answered_at.reset();
        }
        due.push_back({now + delay_, fd});
      }
    }
    most_waiting_ = std::max<int>(most_waiting_.load(), static_cast<int>(due.size()));
    const auto now = Clock::now();
    while (!due.empty() && due.front().at <= now) {
      if (auto c = conns.find(due.front().fd); c != conns.end()) {
        (void)!::write(due.front().fd, kAnswer.data(), kAnswer.size());
        c->second.answered_at = now;
        ++answered_;
      }
      due.pop_front();
    }
  }
}

}  // namespace steadfast::cli
