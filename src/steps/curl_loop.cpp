#include "steps/curl_loop.h"

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "steps/wakeable_epoll.h"

namespace steadfast::steps {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often running transfers are asked whether they were cancelled.
constexpr milliseconds kCancelSweep{50};

// Transfers are spread over this many multi handles, each with its own
// connection pool: libcurl looks for an idle connection to a host by walking
// every pooled connection to it, so with 5,000 calls to one host in flight a
// single pool costs thousands of steps per transfer started.
constexpr int kShards = 16;

// epoll_event.data: the descriptor in the low 32 bits, its shard above.
std::uint64_t pack(int fd, int shard) {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(fd)) | (static_cast<std::uint64_t>(shard) << 32);
}
constexpr std::uint64_t kWake = ~std::uint64_t{0};

}  // namespace

struct CurlLoop::State {
  struct Transfer {
    Cancelled cancelled;
    Done done;
  };
  struct Start {
    CURL* easy;
    Transfer transfer;
  };
  // One multi handle, its connection pool and its one timer.
  struct Shard {
    State* state = nullptr;
    int index = 0;
    CURLM* multi = nullptr;
    bool timer_set = false;  // CURLMOPT_TIMERFUNCTION
    Clock::time_point timer_due;
    int running = 0;  // transfers added and not ended
  };

  std::array<Shard, kShards> shards;
  WakeableEpoll epoll;  // woken: start() has queued transfers
  int epoll_fd = -1;    // epoll.epoll_fd

  std::mutex mu;
  std::vector<Start> queued;  // guarded by mu

  std::atomic<int> count{0};

  // The rest belongs to the loop's thread.
  struct Running {
    Transfer transfer;
    Shard* shard;
  };
  std::unordered_map<CURL*, Running> running;
  Clock::time_point next_sweep;

  static int on_socket(CURL*, curl_socket_t s, int what, void* user, void* socket_data) {
    auto* shard = static_cast<Shard*>(user);
    const int epoll_fd = shard->state->epoll_fd;
    if (what == CURL_POLL_REMOVE) {
      // The descriptor may be closed already (curl says REMOVE first, but
      // not on every path): then the kernel dropped it from the set.
      ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.u64 = pack(s, shard->index);
    if ((what & CURL_POLL_IN) != 0) ev.events |= EPOLLIN;
    if ((what & CURL_POLL_OUT) != 0) ev.events |= EPOLLOUT;
    const bool known = socket_data != nullptr;
    if (::epoll_ctl(epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) {
      // A descriptor number reused after a close the loop did not see.
      if (errno == EEXIST) {
        if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0) return -1;
      } else if (errno == ENOENT) {
        if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s, &ev) != 0) return -1;
      } else {
        return -1;  // curl fails the transfer on this socket
      }
    }
    if (!known) curl_multi_assign(shard->multi, s, shard);  // any non-null mark
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* shard = static_cast<Shard*>(user);
    shard->timer_set = timeout_ms >= 0;
    if (shard->timer_set) shard->timer_due = Clock::now() + milliseconds(timeout_ms);
    return 0;
  }

  void take_queued() {
    epoll.woken();
    std::vector<Start> starts;
    {
      const std::lock_guard lock(mu);
      starts.swap(queued);
    }
    for (Start& s : starts) {
      Shard* shard = &shards[0];  // the least busy
      for (Shard& candidate : shards) {
        if (candidate.running < shard->running) shard = &candidate;
      }
      const CURLMcode mc = curl_multi_add_handle(shard->multi, s.easy);
      if (mc != CURLM_OK) {
        finish(s.transfer, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
        continue;
      }
      ++shard->running;
      running.emplace(s.easy, Running{std::move(s.transfer), shard});
    }
  }

  void finish(Transfer& t, CURLcode code) {
    count.fetch_sub(1, std::memory_order_relaxed);
    Done done = std::move(t.done);
    done(code);
  }

  void end(CURL* easy, CURLcode code) {
    auto it = running.find(easy);
    if (it == running.end()) return;
    Running r = std::move(it->second);
    running.erase(it);
    curl_multi_remove_handle(r.shard->multi, easy);
    --r.shard->running;
    finish(r.transfer, code);
  }

  void collect_done(Shard& shard) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(shard.multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      end(easy, code);  // msg is invalid from here
    }
  }

  void sweep_cancelled() {
    std::vector<CURL*> stop;
    for (const auto& [easy, r] : running) {
      if (r.transfer.cancelled && r.transfer.cancelled()) stop.push_back(easy);
    }
    for (CURL* easy : stop) end(easy, CURLE_ABORTED_BY_CALLBACK);
  }

  [[noreturn]] void run() {
    std::array<epoll_event, 256> events{};
    std::array<bool, kShards> touched{};
    for (;;) {
      const Clock::time_point now = Clock::now();
      Clock::time_point wake = Clock::time_point::max();
      if (!running.empty()) wake = next_sweep;
      for (const Shard& shard : shards) {
        if (shard.timer_set) wake = std::min(wake, shard.timer_due);
      }
      int wait_ms = -1;
      if (wake != Clock::time_point::max()) {
        // Rounded up: waking before a timer is due would spin.
        const auto left = std::chrono::ceil<milliseconds>(wake - now).count();
        wait_ms = static_cast<int>(std::max<std::int64_t>(0, left));
      }
      const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), wait_ms);
      touched.fill(false);
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.u64 == kWake) {
          take_queued();
          continue;
        }
        const int fd = static_cast<int>(ev.data.u64 & 0xffffffffu);
        const auto index = static_cast<std::size_t>(ev.data.u64 >> 32);
        int flags = 0;
        if ((ev.events & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
        if ((ev.events & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
        int still_running = 0;
        curl_multi_socket_action(shards[index].multi, fd, flags, &still_running);
        touched[index] = true;
      }
      const Clock::time_point after = Clock::now();
      for (Shard& shard : shards) {
        if (shard.timer_set && after >= shard.timer_due) {
          shard.timer_set = false;
          int still_running = 0;
          curl_multi_socket_action(shard.multi, CURL_SOCKET_TIMEOUT, 0, &still_running);
          touched[static_cast<std::size_t>(shard.index)] = true;
        }
      }
      for (Shard& shard : shards) {
        if (touched[static_cast<std::size_t>(shard.index)]) collect_done(shard);
      }
      if (Clock::now() >= next_sweep) {
        sweep_cancelled();
        next_sweep = Clock::now() + kCancelSweep;
      }
    }
  }
};

CurlLoop& CurlLoop::shared() {
  static CurlLoop* const loop = [] {
    auto* s = new State;  // never freed: see ~CurlLoop
    const auto cannot = [](const std::string& why) {
      return std::runtime_error("http: cannot start the transfer loop: " + why);
    };
    s->epoll = WakeableEpoll::make(kWake, "http: cannot start the transfer loop");
    s->epoll_fd = s->epoll.epoll_fd;
    for (int i = 0; i < kShards; ++i) {
      State::Shard& shard = s->shards[static_cast<std::size_t>(i)];
      shard.state = s;
      shard.index = i;
      shard.multi = curl_multi_init();
      if (shard.multi == nullptr) throw cannot("no curl multi handle");
      curl_multi_setopt(shard.multi, CURLMOPT_SOCKETFUNCTION, &State::on_socket);
      curl_multi_setopt(shard.multi, CURLMOPT_SOCKETDATA, &shard);
      curl_multi_setopt(shard.multi, CURLMOPT_TIMERFUNCTION, &State::on_timer);
      curl_multi_setopt(shard.multi, CURLMOPT_TIMERDATA, &shard);
    }
    std::thread([s] { s->run(); }).detach();
    return new CurlLoop(s);
  }();
  return *loop;
}

void CurlLoop::start(CURL* easy, Cancelled cancelled, Done done) {
  state_->count.fetch_add(1, std::memory_order_relaxed);
  {
    const std::lock_guard lock(state_->mu);
    state_->queued.push_back({easy, {std::move(cancelled), std::move(done)}});
  }
  state_->epoll.wake();
}

int CurlLoop::active() const noexcept { return state_->count.load(std::memory_order_relaxed); }

}  // namespace steadfast::steps
