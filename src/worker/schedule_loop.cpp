// The worker's cron scheduler (store/scheduler.h): one pass, then a wait
// until the next tick of any schedule (at most store::kSchedulerPoll). A
// Redis error is logged (rate-limited, like the other loops) and the pass
// is tried again after the poll interval.
#include <spdlog/spdlog.h>

#include "store/scheduler.h"
#include "worker/worker_impl.h"

namespace steadfast {

asio::awaitable<void> Worker::Impl::schedule_loop() {
  store::Scheduler scheduler(*store_, {"worker " + options_.id, options_.retention});
  while (!draining_) {
    milliseconds wait = store::kSchedulerPoll;
    try {
      wait = co_await scheduler.pass();
      outage("scheduler").succeeded();
    } catch (const redis::Error& e) {
      outage("scheduler").failed(e.what());
    }
    co_await worker_detail::sleep_for(wait);
  }
}

}  // namespace steadfast
