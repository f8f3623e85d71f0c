// A pool of at most N threads for step handlers (which may block). Tasks run
// in submission order. Threads are started when a task finds none idle, and
// then kept: a worker whose steps never block (noop, http, waits) has none. The destructor stops taking tasks, waits up to the given
// grace for running ones, and detaches threads still stuck in a handler (a
// handler that ignores cancellation must not hang the process's exit).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace steadfast::worker {

class ThreadPool {
 public:
  // threads: the most it starts, >= 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Thread-safe.
  void post(std::function<void()> task);

  // Threads started so far. Thread-safe.
  [[nodiscard]] int threads() const;

  // Stops accepting work and waits up to `grace` for the threads to finish;
  // the ones still busy are detached. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct State {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::condition_variable idle_cv;
    std::deque<std::function<void()>> tasks;
    int busy = 0;
    int alive = 0;
    bool stopping = false;
  };
  void spawn_locked();  // state_->mu held

  std::shared_ptr<State> state_;  // shared with detached threads
  int max_threads_;
  std::vector<std::thread> threads_;  // guarded by state_->mu
};

}  // namespace steadfast::worker
