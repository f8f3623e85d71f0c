// One thread per process that supervises every `exec` step's program: each
// program is a Task (a state machine over its pipes, its pidfd and its
// deadlines) on a level-triggered epoll set, so a worker keeps thousands of
// programs running with one thread, not one blocked thread per program.
//
// The loop calls a task's advance() when one of the descriptors it asked for
// is ready or its wake time has come; advance() does only non-blocking work
// and says what it waits for next. Level-triggered for the same reason as
// CurlLoop (steps/curl_loop.h): readiness is asked of the kernel each round,
// never remembered from an edge.
//
// The loop's thread blocks SIGPIPE: a task writing to a program that closed
// its stdin gets EPIPE, not the worker's death.
#pragma once

#include <array>
#include <chrono>
#include <memory>

namespace steadfast::steps {

class ProcessLoop {
 public:
  using Clock = std::chrono::steady_clock;

  // A descriptor a task waits on: readable, or writable when `write`.
  struct Watch {
    int fd = -1;
    bool write = false;
  };

  // What a task waits for after an advance().
  struct Interest {
    std::array<Watch, 4> watches{};
    int count = 0;  // watches[0, count) are used
    // advance() is called by then at the latest (max = only on readiness).
    Clock::time_point wake = Clock::time_point::max();
    // The task has ended: the loop forgets its descriptors, then destroys it.
    bool done = false;

    void add(int fd, bool write) { watches[static_cast<std::size_t>(count++)] = {fd, write}; }
  };

  class Task {
   public:
    virtual ~Task() = default;
    // On the loop's thread: first once when the task is started (`ready`
    // false), then whenever a watched descriptor is ready (`ready` true) or
    // its wake time has passed. Must not block. A descriptor it closes must
    // not be in the Interest it returns. Exceptions end the process.
    virtual Interest advance(bool ready) = 0;
  };

  // The process's loop, started on first use; it lives until the process
  // exits. Throws std::runtime_error if it cannot be made (no epoll or
  // eventfd descriptor).
  static ProcessLoop& shared();

  // Hands `task` to the loop, which owns it from now on. Thread-safe.
  void start(std::unique_ptr<Task> task);

  // Tasks started and not yet done. Thread-safe.
  [[nodiscard]] int active() const noexcept;

  ProcessLoop(const ProcessLoop&) = delete;
  ProcessLoop& operator=(const ProcessLoop&) = delete;

 private:
  struct State;
  explicit ProcessLoop(State* state) : state_(state) {}
  ~ProcessLoop() = default;  // never destroyed: programs may end while the process exits

  State* state_;
};

}  // namespace steadfast::steps
