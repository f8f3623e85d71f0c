#include "steps/wakeable_epoll.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace steadfast::steps {

WakeableEpoll WakeableEpoll::make(std::uint64_t wake_mark, const std::string& who) {
  WakeableEpoll e;
  e.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  e.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (e.epoll_fd < 0 || e.wake_fd < 0) throw std::runtime_error(who + ": " + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_mark;
  if (::epoll_ctl(e.epoll_fd, EPOLL_CTL_ADD, e.wake_fd, &ev) != 0) {
    throw std::runtime_error(who + ": " + std::strerror(errno));
  }
  return e;
}

void WakeableEpoll::wake() const noexcept {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd, &one, sizeof one);
}

void WakeableEpoll::woken() const noexcept {
  std::uint64_t ignored = 0;
  (void)!::read(wake_fd, &ignored, sizeof ignored);
}

}  // namespace steadfast::steps
