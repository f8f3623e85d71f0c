#include "steps/curl_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace steadfast::steps {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often running transfers are asked whether they were cancelled.
constexpr milliseconds kCancelSweep{50};

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

  CURLM* multi = nullptr;
  int epoll_fd = -1;
  int wake_fd = -1;  // eventfd: start() has queued transfers

  std::mutex mu;
  std::vector<Start> queued;  // guarded by mu

  std::atomic<int> count{0};

  // The rest belongs to the loop's thread.
  std::unordered_map<CURL*, Transfer> running;
  bool timer_set = false;  // curl's one timer (CURLMOPT_TIMERFUNCTION)
  Clock::time_point timer_due;
  Clock::time_point next_sweep;

  static int on_socket(CURL*, curl_socket_t s, int what, void* user, void* socket_data) {
    auto* self = static_cast<State*>(user);
    if (what == CURL_POLL_REMOVE) {
      // The descriptor may be closed already (curl says REMOVE first, but
      // not on every path): then the kernel dropped it from the set.
      ::epoll_ctl(self->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = s;
    if ((what & CURL_POLL_IN) != 0) ev.events |= EPOLLIN;
    if ((what & CURL_POLL_OUT) != 0) ev.events |= EPOLLOUT;
    const bool known = socket_data != nullptr;
    if (::epoll_ctl(self->epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) {
      // A descriptor number curl reused after a close the loop did not see.
      if (errno == EEXIST) {
        if (::epoll_ctl(self->epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0) return -1;
      } else if (errno == ENOENT) {
        if (::epoll_ctl(self->epoll_fd, EPOLL_CTL_ADD, s, &ev) != 0) return -1;
      } else {
        return -1;  // curl fails the transfer on this socket
      }
    }
    if (!known) curl_multi_assign(self->multi, s, self);  // any non-null mark
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<State*>(user);
    self->timer_set = timeout_ms >= 0;
    if (self->timer_set) self->timer_due = Clock::now() + milliseconds(timeout_ms);
    return 0;
  }

  void take_queued() {
    std::uint64_t ignored = 0;
    (void)!::read(wake_fd, &ignored, sizeof ignored);
    std::vector<Start> starts;
    {
      const std::lock_guard lock(mu);
      starts.swap(queued);
    }
    for (Start& s : starts) {
      const CURLMcode mc = curl_multi_add_handle(multi, s.easy);
      if (mc != CURLM_OK) {
        finish(s.transfer, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
        continue;
      }
      running.emplace(s.easy, std::move(s.transfer));
    }
  }

  void finish(Transfer& t, CURLcode code) {
    count.fetch_sub(1, std::memory_order_relaxed);
    Done done = std::move(t.done);
    done(code);
  }

  void end(CURL* easy, CURLcode code) {
    curl_multi_remove_handle(multi, easy);
    auto it = running.find(easy);
    if (it == running.end()) return;
    Transfer t = std::move(it->second);
    running.erase(it);
    finish(t, code);
  }

  void collect_done() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      end(easy, code);  // msg is invalid from here
    }
  }

  void sweep_cancelled() {
    std::vector<CURL*> stop;
    for (const auto& [easy, t] : running) {
      if (t.cancelled && t.cancelled()) stop.push_back(easy);
    }
    for (CURL* easy : stop) end(easy, CURLE_ABORTED_BY_CALLBACK);
  }

  void action(curl_socket_t s, int flags) {
    int still_running = 0;
    curl_multi_socket_action(multi, s, flags, &still_running);
  }

  [[noreturn]] void run() {
    std::array<epoll_event, 256> events{};
    for (;;) {
      const Clock::time_point now = Clock::now();
      int wait_ms = -1;
      if (!running.empty()) {
        wait_ms = static_cast<int>(std::max<Clock::duration::rep>(
            0, std::chrono::duration_cast<milliseconds>(next_sweep - now).count()));
      }
      if (timer_set) {
        const auto until_timer = std::max<Clock::duration::rep>(
            0, std::chrono::duration_cast<milliseconds>(timer_due - now).count() + 1);
        wait_ms = wait_ms < 0 ? static_cast<int>(until_timer)
                              : std::min(wait_ms, static_cast<int>(until_timer));
      }
      const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), wait_ms);
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.fd == wake_fd) {
          take_queued();
          continue;
        }
        int flags = 0;
        if ((ev.events & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
        if ((ev.events & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
        action(ev.data.fd, flags);
      }
      if (timer_set && Clock::now() >= timer_due) {
        timer_set = false;
        action(CURL_SOCKET_TIMEOUT, 0);
      }
      collect_done();
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
    s->multi = curl_multi_init();
    s->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    s->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->multi == nullptr || s->epoll_fd < 0 || s->wake_fd < 0) {
      throw std::runtime_error(std::string("http: cannot start the transfer loop: ") +
                               (s->multi == nullptr ? "no curl multi handle" : std::strerror(errno)));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s->wake_fd;
    if (::epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->wake_fd, &ev) != 0) {
      throw std::runtime_error(std::string("http: cannot start the transfer loop: ") + std::strerror(errno));
    }
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, &State::on_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, &State::on_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
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
  const std::uint64_t one = 1;
  (void)!::write(state_->wake_fd, &one, sizeof one);
}

int CurlLoop::active() const noexcept { return state_->count.load(std::memory_order_relaxed); }

}  // namespace steadfast::steps
