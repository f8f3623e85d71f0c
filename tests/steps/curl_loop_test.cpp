// The process's HTTP transfer loop against a real local server: transfers are
// in flight together on one thread, a cancelled one ends, connections to one
// host are reused. No Redis.
#include "steps/curl_loop.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;

// Holds every request until `answer_at` requests are waiting, then answers
// them all (200, body "{}") and every later one at once. Keeps connections
// open (HTTP/1.1 keep-alive). One thread, poll(2).
class BarrierServer {
 public:
  explicit BarrierServer(int answer_at) : answer_at_(answer_at) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 4096);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~BarrierServer() {
    stop_ = true;
    thread_.join();
    for (const auto& [fd, buffer] : conns_) ::close(fd);
    ::close(listen_fd_);
  }

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  [[nodiscard]] int accepted() const { return accepted_.load(); }
  // The most requests that were waiting for an answer at one time.
  [[nodiscard]] int most_waiting() const { return most_waiting_.load(); }

 private:
  void serve() {
    std::vector<int> waiting;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const auto& [fd, buffer] : conns_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          conns_.emplace(fd, std::string());
          ++accepted_;
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const int fd = fds[i].fd;
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fd);
          conns_.erase(fd);
          continue;
        }
        std::string& b = conns_[fd];
        b.append(buf, static_cast<std::size_t>(n));
        for (std::size_t end; (end = b.find("\r\n\r\n")) != std::string::npos;) {
          b.erase(0, end + 4);
          waiting.push_back(fd);
        }
      }
      most_waiting_ = std::max<int>(most_waiting_, static_cast<int>(waiting.size()));
      if (static_cast<int>(waiting.size()) >= answer_at_ || released_) {
        released_ = true;
        static constexpr std::string_view kAnswer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        for (const int fd : waiting) (void)!::write(fd, kAnswer.data(), kAnswer.size());
        waiting.clear();
      }
    }
  }

  int answer_at_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> most_waiting_{0};
  bool released_ = false;
  std::map<int, std::string> conns_;  // server thread only
  std::thread thread_;
};

int thread_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

struct Result {
  std::promise<CURLcode> code;
  std::string body;
};

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Result*>(user)->body.append(data, size * count);
  return size * count;
}

struct Easy {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle{curl_easy_init(), &curl_easy_cleanup};
  Result result;
  std::future<CURLcode> done = result.code.get_future();
};

std::unique_ptr<Easy> get(const std::string& url) {
  auto e = std::make_unique<Easy>();
  curl_easy_setopt(e->handle.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(e->handle.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e->handle.get(), CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(e->handle.get(), CURLOPT_WRITEFUNCTION, &keep_body);
  curl_easy_setopt(e->handle.get(), CURLOPT_WRITEDATA, &e->result);
  return e;
}

void start(Easy& e, CurlLoop::Cancelled cancelled = {}) {
  CurlLoop::shared().start(e.handle.get(), std::move(cancelled),
                           [&e](CURLcode code) { e.result.code.set_value(code); });
}

TEST(CurlLoop, HundredsOfTransfersAreInFlightTogetherOnOneThread) {
  // 400 requests, 800 descriptors with the server's: under the default 1024.
  constexpr int kTransfers = 400;
  BarrierServer server(kTransfers);
  (void)CurlLoop::shared();  // its thread, before counting
  const int threads_before = thread_count();
  std::vector<std::unique_ptr<Easy>> all;
  for (int i = 0; i < kTransfers; ++i) {
    all.push_back(get(server.url()));
    start(*all.back());
  }
  // The server answers nothing until every request is waiting: each ends
  // only if all were sent at once.
  int most_threads = 0;
  for (auto& e : all) {
    most_threads = std::max(most_threads, thread_count());
    ASSERT_EQ(e->done.wait_for(60s), std::future_status::ready);
    EXPECT_EQ(e->done.get(), CURLE_OK);
    EXPECT_EQ(e->result.body, "{}");
  }
  EXPECT_EQ(server.most_waiting(), kTransfers);
  EXPECT_EQ(most_threads, threads_before) << "a transfer took a thread of its own";
  EXPECT_EQ(CurlLoop::shared().active(), 0);
}

TEST(CurlLoop, ACancelledTransferEndsAbortedWhileItsServerSaysNothing) {
  BarrierServer server(1'000'000);  // never answers
  auto e = get(server.url());
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  start(*e, [cancelled] { return cancelled->load(); });
  while (server.most_waiting() < 1) std::this_thread::sleep_for(5ms);  // the request is there
  cancelled->store(true);
  ASSERT_EQ(e->done.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(e->done.get(), CURLE_ABORTED_BY_CALLBACK);
}

TEST(CurlLoop, ConnectionsToOneHostAreReusedAndFreshConnectOptsOut) {
  BarrierServer server(1);
  for (int i = 0; i < 20; ++i) {
    auto e = get(server.url());
    start(*e);
    ASSERT_EQ(e->done.wait_for(30s), std::future_status::ready);
    ASSERT_EQ(e->done.get(), CURLE_OK);
  }
  EXPECT_EQ(server.accepted(), 1) << "20 requests one after another should share one connection";

  for (int i = 0; i < 3; ++i) {
    auto e = get(server.url());
    curl_easy_setopt(e->handle.get(), CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e->handle.get(), CURLOPT_FORBID_REUSE, 1L);
    start(*e);
    ASSERT_EQ(e->done.wait_for(30s), std::future_status::ready);
    ASSERT_EQ(e->done.get(), CURLE_OK);
  }
  EXPECT_EQ(server.accepted(), 4);
}

TEST(CurlLoop, ARefusedConnectionEndsTheTransferWithItsError) {
  // A port nothing listens on: bound, then closed.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  auto e = get("http://127.0.0.1:" + std::to_string(port) + "/");
  start(*e);
  ASSERT_EQ(e->done.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(e->done.get(), CURLE_COULDNT_CONNECT);
}

}  // namespace
}  // namespace steadfast::steps
