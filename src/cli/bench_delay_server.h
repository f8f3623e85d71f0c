// The local upstream of `steadfast bench io --kind http`: answers every HTTP
// request (200, body "{}") a fixed delay after it arrived, keeps connections
// open, and holds any number of them on one thread (level-triggered epoll).
// Loopback only; stops when destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace steadfast::cli {

class DelayServer {
 public:
  // Throws std::runtime_error if it cannot listen.
  explicit DelayServer(std::chrono::milliseconds delay);
  ~DelayServer();
  DelayServer(const DelayServer&) = delete;
  DelayServer& operator=(const DelayServer&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  // Requests answered so far; the most that were waiting at one time.
  [[nodiscard]] long long answered() const noexcept { return answered_.load(); }
  // Connections accepted so far.
  [[nodiscard]] long long connections() const noexcept { return connections_.load(); }
  [[nodiscard]] int most_waiting() const noexcept { return most_waiting_.load(); }
  // The mean time between an answer on a connection and the next request on
  // it, ms: what a step spends outside the upstream per cycle (the worker
  // recording the outcome, claiming the next step, sending its request).
  [[nodiscard]] double mean_reuse_gap_ms() const noexcept {
    const long long n = gaps_.load();
    return n == 0 ? 0.0 : static_cast<double>(gap_sum_us_.load()) / 1000.0 / static_cast<double>(n);
  }

 private:
  void serve();

  std::chrono::milliseconds delay_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::atomic<long long> answered_{0};
  std::atomic<long long> connections_{0};
  std::atomic<int> most_waiting_{0};
  std::atomic<long long> gap_sum_us_{0};
  std::atomic<long long> gaps_{0};
  std::thread thread_;
};

}  // namespace steadfast::cli
