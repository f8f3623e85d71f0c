// An epoll set with an eventfd in it that other threads write to wake the
// loop waiting on the set: what CurlLoop and ProcessLoop share.
#pragma once

#include <cstdint>
#include <string>

namespace steadfast::steps {

struct WakeableEpoll {
  int epoll_fd = -1;
  int wake_fd = -1;

  // Both descriptors (close-on-exec, never closed: the loops live as long as
  // the process), the eventfd registered for reading with data.u64 =
  // `wake_mark`. Throws std::runtime_error "<who>: <reason>".
  static WakeableEpoll make(std::uint64_t wake_mark, const std::string& who);

  // Wakes the loop. Thread-safe.
  void wake() const noexcept;
  // On the loop, when the mark came: resets the eventfd.
  void woken() const noexcept;
};

}  // namespace steadfast::steps
