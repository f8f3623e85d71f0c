#include "engine/outage_log.h"

#include <spdlog/spdlog.h>

namespace steadfast::engine {

namespace {

long long ms_between(OutageLog::Clock::time_point from, OutageLog::Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

std::optional<std::string> OutageLog::failed(std::string_view error, Clock::time_point now) {
  if (failures_++ == 0) {
    since_ = now;
    reported_ = now;
    return subject_ + " failed: " + std::string(error) + "; retrying";
  }
  if (now - reported_ < every_) return std::nullopt;
  reported_ = now;
  return subject_ + " still failing after " + std::to_string(ms_between(since_, now)) + " ms (" +
         std::to_string(failures_) + " attempts): " + std::string(error) + "; retrying";
}

std::optional<std::string> OutageLog::succeeded(Clock::time_point now) {
  if (failures_ == 0) return std::nullopt;
  std::string line = subject_ + " works again after " + std::to_string(ms_between(since_, now)) +
                     " ms (" + std::to_string(failures_) + " failed attempt" +
                     (failures_ == 1 ? "" : "s") + ")";
  failures_ = 0;
  return line;
}

void OutageLog::failed(std::string_view error) {
  if (auto line = failed(error, Clock::now())) spdlog::warn("{}", *line);
}

void OutageLog::succeeded() {
  if (auto line = succeeded(Clock::now())) spdlog::info("{}", *line);
}

}  // namespace steadfast::engine
