// A steadfast::Worker run on a thread of its own for in-process tests,
// stopped (drained) and joined when it goes, so a failed assertion leaves
// the test with the thread ended.
#pragma once

#include <atomic>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "steadfast/worker.h"

namespace steadfast::test {

class WorkerThread {
 public:
  WorkerThread(WorkerOptions options, std::vector<Workflow> workflows)
      : worker_(std::move(options), std::move(workflows)) {
    thread_ = std::thread([this] {
      try {
        rc_ = worker_.run();
      } catch (...) {
        error_ = std::current_exception();
      }
      ended_ = true;
    });
  }
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Stops (drains) and joins; what run() returned (-1 if it threw).
  int stop() {
    if (thread_.joinable()) {
      worker_.stop();
      thread_.join();
    }
    return rc_;
  }
  Worker& worker() { return worker_; }
  // Whether run() returned or threw on its own (or after stop()).
  [[nodiscard]] bool ended() const { return ended_; }
  // What run() threw: null while it runs and after a clean stop.
  [[nodiscard]] std::exception_ptr error() const { return ended_ ? error_ : nullptr; }
  // ... as text ("" if nothing).
  [[nodiscard]] std::string error_text() const {
    const std::exception_ptr e = error();
    if (!e) return {};
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return x.what();
    } catch (...) {
      return "(not a std::exception)";
    }
  }

 private:
  Worker worker_;
  std::thread thread_;
  int rc_ = -1;
  std::exception_ptr error_;  // written before ended_
  std::atomic<bool> ended_{false};
};

}  // namespace steadfast::test
