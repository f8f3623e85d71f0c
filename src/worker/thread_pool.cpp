#include "worker/thread_pool.h"

#include <utility>

namespace steadfast::worker {

ThreadPool::ThreadPool(int threads) : state_(std::make_shared<State>()), max_threads_(threads) {}

ThreadPool::~ThreadPool() { shutdown(std::chrono::seconds(5)); }

void ThreadPool::spawn_locked() {
  ++state_->alive;
  threads_.emplace_back([s = state_] {
    std::unique_lock lock(s->mu);
    for (;;) {
      s->cv.wait(lock, [&] { return s->stopping || !s->tasks.empty(); });
      if (s->tasks.empty()) break;
      auto task = std::move(s->tasks.front());
      s->tasks.pop_front();
      ++s->busy;
      lock.unlock();
      task();
      lock.lock();
      --s->busy;
    }
    --s->alive;
    s->idle_cv.notify_all();
  });
}

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopping) return;
    state_->tasks.push_back(std::move(task));
    // A thread more only when no idle one is left for this task.
    const int idle = state_->alive - state_->busy;
    if (idle < static_cast<int>(state_->tasks.size()) && state_->alive < max_threads_) spawn_locked();
  }
  state_->cv.notify_one();
}

int ThreadPool::threads() const {
  std::lock_guard lock(state_->mu);
  return static_cast<int>(threads_.size());
}

void ThreadPool::shutdown(std::chrono::milliseconds grace) {
  bool all_done = false;
  std::vector<std::thread> threads;
  {
    std::unique_lock lock(state_->mu);
    if (state_->stopping) return;
    state_->stopping = true;
    state_->tasks.clear();
    state_->cv.notify_all();
    all_done = state_->idle_cv.wait_for(lock, grace, [&] { return state_->alive == 0; });
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (all_done) {
      t.join();
    } else {
      t.detach();  // stuck in a handler; the state outlives us via shared_ptr
    }
  }
}

}  // namespace steadfast::worker
