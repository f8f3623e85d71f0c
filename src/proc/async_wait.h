// Waiting for a child's exit on an io_context, for callers that run on one
// (`steadfast dev`). Kept apart from child.h so that blocking callers (the
// exec step, the test harness) never include Asio.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "proc/child.h"

namespace steadfast::proc {

// Completes when `child` has exited (its pidfd turned readable) and returns its
// status, reaping it; at once when it is already reaped. Without pidfd support
// it looks every 10 ms with a timer. The Child must outlive the wait and not be
// moved meanwhile. Cancellation (a cancellation slot, or the coroutine being
// destroyed) leaves the child running and unreaped; a cancelled wait throws
// boost::system::system_error (operation_aborted).
//
// Thread-safety: as for Child; the coroutine may run on a multi-threaded
// io_context (the exit is checked again after the wait is armed, so an exit
// that happens in between is not missed).
boost::asio::awaitable<ExitStatus> async_wait(Child& child);

}  // namespace steadfast::proc
