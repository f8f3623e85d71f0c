// The handlers' thread pool: threads start only when a task finds none idle,
// never more than the bound, and every task runs.
#include "worker/thread_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace steadfast::worker {
namespace {

using namespace std::chrono_literals;

TEST(ThreadPool, StartsThreadsOnlyForWorkAndNeverPastItsBound) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.threads(), 0) << "no task yet: no thread";

  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int ran = 0;
  const auto blocking = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    ++ran;
    cv.notify_all();
  };
  for (int i = 0; i < 3; ++i) pool.post(blocking);
  EXPECT_EQ(pool.threads(), 2) << "three blocked tasks, a bound of two";
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return ran == 3; }));
  }
  EXPECT_EQ(pool.threads(), 2);
}

TEST(ThreadPool, ShutdownWithoutAnyTaskIsImmediateAndPostAfterIsIgnored) {
  ThreadPool pool(4);
  pool.shutdown(1s);
  pool.post([] { FAIL() << "ran after shutdown"; });
  EXPECT_EQ(pool.threads(), 0);
}

}  // namespace
}  // namespace steadfast::worker
