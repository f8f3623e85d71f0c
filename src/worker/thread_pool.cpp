#include "worker/thread_pool.h"

namespace steadfast::worker {

ThreadPool::ThreadPool(int threads) : state_(std::make_shared<State>()) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
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
}

ThreadPool::~ThreadPool() { shutdown(std::chrono::seconds(5)); }

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopping) return;
    state_->tasks.push_back(std::move(task));
  }
  state_->cv.notify_one();
}

void ThreadPool::shutdown(std::chrono::milliseconds grace) {
  bool all_done = false;
  {
    std::unique_lock lock(state_->mu);
    if (threads_.empty()) return;
    state_->stopping = true;
    state_->tasks.clear();
    state_->cv.notify_all();
    all_done = state_->idle_cv.wait_for(lock, grace, [&] { return state_->alive == 0; });
  }
  for (auto& t : threads_) {
    if (all_done) {
      t.join();
    } else {
      t.detach();  // stuck in a handler; the state outlives us via shared_ptr
    }
  }
  threads_.clear();
}

}  // namespace steadfast::worker
