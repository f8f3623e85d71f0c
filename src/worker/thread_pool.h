// A fixed pool of threads for step handlers (which may block). Tasks run in
// submission order. The destructor stops taking tasks, waits up to the given
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
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Thread-safe.
  void post(std::function<void()> task);

  // Stops accepting work and waits up to `grace` for the threads to finish;
  // the ones still busy are detached. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::condition_variable idle_cv;
    std::deque<std::function<void()>> tasks;
    int busy = 0;
    int alive = 0;
    bool stopping = false;
  };
  std::shared_ptr<State> state_;  // shared with detached threads
  std::vector<std::thread> threads_;
};

}  // namespace steadfast::worker
