// ProcessLoop with tasks of its own (no programs): the first advance on
// start, advances on readiness and on wake times, a watch that cannot be
// registered waking the task at once, done tasks destroyed, and four hundred
// tasks on the one thread. The exec kind's use of it is ExecKindTest.*.
#include "steps/process_loop.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/thread_count.h"

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using Clock = ProcessLoop::Clock;

// Counts what happened, for the test thread to wait on.
struct Log {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::string> events;
  int destroyed = 0;

  void add(std::string e) {
    const std::lock_guard lock(mu);
    events.push_back(std::move(e));
    changed.notify_all();
  }
  bool wait_for(const std::function<bool()>& done) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, 10s, done);
  }
};

// Reads its pipe when ready; done at EOF. Logs each advance.
class PipeReader final : public ProcessLoop::Task {
 public:
  PipeReader(Log& log, int fd, std::string name) : log_(log), fd_(fd), name_(std::move(name)) {}
  ~PipeReader() override {
    ::close(fd_);
    const std::lock_guard lock(log_.mu);
    ++log_.destroyed;
    log_.changed.notify_all();
  }
  ProcessLoop::Interest advance(bool ready) override {
    std::string event = name_ + (ready ? ":ready" : ":start");
    ProcessLoop::Interest next;
    if (ready) {
      std::array<char, 64> buffer{};
      const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
      if (n == 0) {
        log_.add(name_ + ":eof");
        next.done = true;
        return next;
      }
      if (n > 0) event += ":" + std::string(buffer.data(), static_cast<std::size_t>(n));
    }
    log_.add(event);
    next.add(fd_, false);
    return next;
  }

 private:
  Log& log_;
  int fd_;
  std::string name_;
};

// Wakes at `at`, then is done.
class Sleeper final : public ProcessLoop::Task {
 public:
  Sleeper(Log& log, Clock::time_point at) : log_(log), at_(at) {}
  ProcessLoop::Interest advance(bool ready) override {
    ProcessLoop::Interest next;
    if (Clock::now() >= at_) {
      log_.add(std::string("woke") + (ready ? ":ready" : ""));
      next.done = true;
      return next;
    }
    next.wake = at_;
    return next;
  }

 private:
  Log& log_;
  Clock::time_point at_;
};

// Asks to watch a descriptor that is not open, then is done on the next advance.
class BadWatch final : public ProcessLoop::Task {
 public:
  explicit BadWatch(Log& log) : log_(log) {}
  ProcessLoop::Interest advance(bool ready) override {
    ProcessLoop::Interest next;
    if (calls_++ == 0) {
      next.add(1'000'000, false);  // no such descriptor, and no wake time
      return next;
    }
    log_.add(std::string("bad watch advanced again") + (ready ? ":ready" : ""));
    next.done = true;
    return next;
  }

 private:
  Log& log_;
  int calls_ = 0;
};

std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2");
  return fds;
}

using test::thread_count;

TEST(ProcessLoop, AdvancesOnStartOnReadinessAndDestroysADoneTask) {
  Log log;
  const auto [r, w] = make_pipe();
  ProcessLoop::shared().start(std::make_unique<PipeReader>(log, r, "a"));
  ASSERT_TRUE(log.wait_for([&] { return log.events.size() == 1; }));
  ASSERT_EQ(::write(w, "hi", 2), 2);
  ASSERT_TRUE(log.wait_for([&] { return log.events.size() == 2; }));
  ::close(w);
  ASSERT_TRUE(log.wait_for([&] { return log.destroyed == 1; }));
  EXPECT_EQ(log.events, (std::vector<std::string>{"a:start", "a:ready:hi", "a:eof"}));
}

TEST(ProcessLoop, ATaskIsAdvancedWhenItsWakeTimeComes) {
  Log log;
  const auto at = Clock::now() + 50ms;
  ProcessLoop::shared().start(std::make_unique<Sleeper>(log, at));
  ASSERT_TRUE(log.wait_for([&] { return log.events.size() == 1; }));
  EXPECT_EQ(log.events[0], "woke");  // by its timer, not by a descriptor
  EXPECT_GE(Clock::now(), at);
}

TEST(ProcessLoop, AWatchThatCannotBeRegisteredWakesTheTaskInsteadOfLosingIt) {
  Log log;
  ProcessLoop::shared().start(std::make_unique<BadWatch>(log));
  ASSERT_TRUE(log.wait_for([&] { return log.events.size() == 1; }));
  EXPECT_EQ(log.events[0], "bad watch advanced again");
}

TEST(ProcessLoop, ManyTasksShareItsOneThread) {
  constexpr int kTasks = 400;  // two descriptors each, under the default limit of 1,024
  Log log;
  ProcessLoop::shared();  // its thread exists before the count
  const int threads_before = thread_count();
  std::vector<int> writers;
  for (int i = 0; i < kTasks; ++i) {
    const auto [r, w] = make_pipe();
    writers.push_back(w);
    ProcessLoop::shared().start(std::make_unique<PipeReader>(log, r, std::to_string(i)));
  }
  ASSERT_TRUE(log.wait_for([&] { return log.events.size() == kTasks; }));  // every one started
  EXPECT_EQ(thread_count(), threads_before);
  for (const int w : writers) ::close(w);  // EOF for all
  ASSERT_TRUE(log.wait_for([&] { return log.destroyed == kTasks; }));
  // Counted down just after each task is destroyed.
  const auto deadline = Clock::now() + 5s;
  while (ProcessLoop::shared().active() != 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ProcessLoop::shared().active(), 0);
}

}  // namespace
}  // namespace steadfast::steps
