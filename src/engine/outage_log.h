// Warnings for a failure that repeats for as long as it lasts — Redis
// unreachable, or refusing writes while a failover demotes it — without
// flooding the log: a loop retrying every 200 ms would write 5 lines a second
// per worker. The first failure is reported at once, then at most one line
// per `every` (with the number of failures since the start), and the
// recovery once, with how long the failure lasted.
//
// Pure: the caller passes the time and logs the returned line, so the
// schedule is unit-tested (tests/worker/outage_log_test.cpp). One per loop;
// not thread-safe. Used by the worker's loops, the notifier and `serve`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace steadfast::engine {

class OutageLog {
 public:
  using Clock = std::chrono::steady_clock;

  // subject: what failed, as the lines begin ("worker w1: fetch").
  explicit OutageLog(std::string subject, std::chrono::milliseconds every = std::chrono::seconds(5))
      : subject_(std::move(subject)), every_(every) {}

  // A failed attempt (error: the exception's message). The warning to log
  // now, or nullopt while the last one is younger than `every`.
  std::optional<std::string> failed(std::string_view error, Clock::time_point now);
  // A successful attempt. The line that reports the recovery, or nullopt if
  // nothing was failing.
  std::optional<std::string> succeeded(Clock::time_point now);

  // failed()/succeeded() at Clock::now(), logging the line (spdlog warn/info).
  void failed(std::string_view error);
  void succeeded();

  [[nodiscard]] bool failing() const noexcept { return failures_ > 0; }

 private:
  std::string subject_;
  std::chrono::milliseconds every_;
  long long failures_ = 0;  // since the last success
  Clock::time_point since_{};
  Clock::time_point reported_{};
};

}  // namespace steadfast::engine
