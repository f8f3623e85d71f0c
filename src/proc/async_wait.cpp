#include "proc/async_wait.h"

#include <fcntl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <chrono>
#include <system_error>

namespace steadfast::proc {

namespace asio = boost::asio;

asio::awaitable<ExitStatus> async_wait(Child& child) {
  const auto executor = co_await asio::this_coro::executor;
  if (child.pidfd() < 0) {
    asio::steady_timer timer(executor);
    for (;;) {
      if (auto status = child.try_wait()) co_return *status;
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
  // A duplicate: the descriptor object closes its own, the Child keeps its pidfd.
  const int fd = ::fcntl(child.pidfd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "dup of a pidfd");
  asio::posix::stream_descriptor pidfd(executor, fd);
  // Armed first, looked at second: an exit before the look cancels the wait;
  // an exit after it is an edge the armed wait sees.
  auto initiate = [&](auto handler) {
    pidfd.async_wait(asio::posix::stream_descriptor::wait_read, std::move(handler));
    if (!child.running()) pidfd.cancel();
  };
  auto token = asio::as_tuple(asio::use_awaitable);
  const auto [error] =
      co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(initiate,
                                                                                      token);
  if (child.running()) {  // cancelled from outside
    throw boost::system::system_error(error ? error : asio::error::operation_aborted,
                                      "waiting for a child");
  }
  co_return child.wait();
}

}  // namespace steadfast::proc
