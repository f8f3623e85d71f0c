#include "steps/process_loop.h"

#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "steps/wakeable_epoll.h"

namespace steadfast::steps {

namespace {

using Clock = ProcessLoop::Clock;
using std::chrono::milliseconds;

constexpr std::uint64_t kWake = ~std::uint64_t{0};

std::uint32_t events_of(const ProcessLoop::Watch& w) { return w.write ? EPOLLOUT : EPOLLIN; }

}  // namespace

struct ProcessLoop::State {
  WakeableEpoll epoll;  // woken: start() has queued tasks

  std::mutex mu;
  std::vector<std::unique_ptr<Task>> queued;  // guarded by mu

  std::atomic<int> count{0};

  // The rest belongs to the loop's thread. epoll_event.data holds the id.
  struct Entry {
    std::unique_ptr<Task> task;
    Interest interest;  // what is registered in the epoll set and the timers
  };
  std::unordered_map<std::uint64_t, Entry> tasks;
  std::set<std::pair<Clock::time_point, std::uint64_t>> timers;
  std::uint64_t next_id = 0;

  // Registers `next` in place of what `entry` had: descriptors no longer
  // watched leave the set first, so a number the task closed (and that the
  // kernel may hand out again) is never touched after it was reused.
  void apply(std::uint64_t id, Entry& entry, const Interest& next) {
    const Interest& old = entry.interest;
    const auto find = [](const Interest& in, int fd) -> const Watch* {
      for (int i = 0; i < in.count; ++i) {
        if (in.watches[static_cast<std::size_t>(i)].fd == fd) return &in.watches[static_cast<std::size_t>(i)];
      }
      return nullptr;
    };
    for (int i = 0; i < old.count; ++i) {
      const Watch& w = old.watches[static_cast<std::size_t>(i)];
      if (find(next, w.fd) == nullptr) ::epoll_ctl(epoll.epoll_fd, EPOLL_CTL_DEL, w.fd, nullptr);  // EBADF if closed
    }
    Interest kept = next;
    for (int i = 0; i < next.count; ++i) {
      const Watch& w = next.watches[static_cast<std::size_t>(i)];
      const Watch* before = find(old, w.fd);
      if (before != nullptr && before->write == w.write) continue;
      epoll_event ev{};
      ev.events = events_of(w);
      ev.data.u64 = id;
      if (::epoll_ctl(epoll.epoll_fd, before != nullptr ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w.fd, &ev) != 0) {
        // Not watchable (closed under us): wake the task at once instead of
        // leaving it waiting on nothing.
        kept.wake = Clock::time_point::min();
      }
    }
    if (old.wake != Clock::time_point::max()) timers.erase({old.wake, id});
    if (kept.wake != Clock::time_point::max()) timers.emplace(kept.wake, id);
    entry.interest = kept;
  }

  void advance(std::uint64_t id, bool ready) {
    auto it = tasks.find(id);
    if (it == tasks.end()) return;
    const Interest next = it->second.task->advance(ready);
    if (!next.done) {
      apply(id, it->second, next);
      return;
    }
    apply(id, it->second, Interest{});
    tasks.erase(it);  // destroys the task
    count.fetch_sub(1, std::memory_order_relaxed);
  }

  void take_queued() {
    epoll.woken();
    std::vector<std::unique_ptr<Task>> starts;
    {
      const std::lock_guard lock(mu);
      starts.swap(queued);
    }
    for (auto& task : starts) {
      const std::uint64_t id = next_id++;
      tasks.emplace(id, Entry{std::move(task), {}});
      advance(id, false);
    }
  }

  [[noreturn]] void run() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::vector<epoll_event> events(256);
    std::vector<std::uint64_t> due;
    for (;;) {
      int wait_ms = -1;
      if (!timers.empty()) {
        // Rounded up: waking before a timer is due would spin.
        const auto left = std::chrono::ceil<milliseconds>(timers.begin()->first - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
      }
      const int n = ::epoll_wait(epoll.epoll_fd, events.data(), static_cast<int>(events.size()), wait_ms);
      for (int i = 0; i < n; ++i) {
        const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
        if (id == kWake) {
          take_queued();
        } else {
          advance(id, true);  // a second event of the same task finds it up to date
        }
      }
      const Clock::time_point now = Clock::now();
      due.clear();
      for (auto it = timers.begin(); it != timers.end() && it->first <= now; ++it) due.push_back(it->second);
      for (const std::uint64_t id : due) advance(id, false);
      // A blocked SIGPIPE a write raised stays pending; clear it.
      const timespec zero{};
      while (::sigtimedwait(&pipe, nullptr, &zero) == SIGPIPE) {
      }
    }
  }
};

ProcessLoop& ProcessLoop::shared() {
  static ProcessLoop* const loop = [] {
    auto* s = new State;  // never freed: see ~ProcessLoop
    s->epoll = WakeableEpoll::make(kWake, "exec: cannot start the process loop");
    std::thread([s] { s->run(); }).detach();
    return new ProcessLoop(s);
  }();
  return *loop;
}

void ProcessLoop::start(std::unique_ptr<Task> task) {
  state_->count.fetch_add(1, std::memory_order_relaxed);
  {
    const std::lock_guard lock(state_->mu);
    state_->queued.push_back(std::move(task));
  }
  state_->epoll.wake();
}

int ProcessLoop::active() const noexcept { return state_->count.load(std::memory_order_relaxed); }

}  // namespace steadfast::steps
