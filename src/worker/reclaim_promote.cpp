// Reclaiming idle entries of dead or stalled workers (XAUTOCLAIM) and
// promoting due timers back to their queues. Neither loop gives up on an
// error: each failure is counted (WorkerStats::reclaim_errors /
// promote_errors) and logged at most once per kErrorLogInterval with the
// number left unlogged.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>

#include "store/series.h"
#include "worker/worker_impl.h"

namespace steadfast {

// One reclaimer pass over every stream (XAUTOCLAIM, looping on its cursor),
// claiming at most the free slots: each page promises what is free when it
// is sent (`promise`, which the caller gives back at the end), so no read or
// claim beside the pass takes the same slots meanwhile. (On a cluster, where
// the pass runs beside the fetch loop, no more than reclaim_cap.)
asio::awaitable<void> Worker::Impl::reclaim_pass(worker::SlotPromise& promise) {
  for (const Stream& s : streams_) {
    if (paused(s)) continue;  // a paused queue's entries wait, a dead worker's too
    std::string cursor = "0-0";
    do {
      // (free_slots() counts the promise's own as taken already)
      promise.add(std::min(free_slots(), reclaim_cap() - promise.held()));
      const int free = promise.held();
      if (free <= 0 || draining_) break;
      store::Reclaimed page;
      std::string error;
      try {
        page = co_await store_->reclaim(s.partition, s.queue, s.min_lease, cursor, free, loop_call());
      } catch (const redis::ServerError& e) {
        if (is_no_group(e)) std::rethrow_exception(group_missing(e));
        error = e.what();
      } catch (const redis::Error& e) {
        error = e.what();
        // (XAUTOCLAIM may have moved entries to us: taken back, not left for another lease)
        if (!draining_) note_if_unknown(std::current_exception(), s.partition);
      }
      if (!error.empty()) {
        bump(&WorkerStats::reclaim_errors);
        outage("reclaim", s.partition).failed(error);
        break;
      }
      outage("reclaim", s.partition).succeeded();
      if (page.payload_lost > 0) {
        spdlog::error("worker {}: {} entries of {} lost their payload; moved to the dead-letter queue",
                      options_.id, page.payload_lost, s.key);
      }
      // The page's entries take a slot each (handle_claims) in place of the promise's.
      promise.release(static_cast<int>(page.items.size()));
      if (!page.items.empty()) {
        bump(&WorkerStats::reclaimed, page.items.size());
        spdlog::info("worker {}: reclaimed {} idle entries from {}", options_.id,
                     page.items.size(), s.key);
        co_await handle_claims(s, std::move(page.items));
      }
      cursor = page.cursor;
    } while (cursor != "0-0");
  }
}

asio::awaitable<void> Worker::Impl::promote_loop() {
  promoter_duties_.assign(static_cast<std::size_t>(keys_.partitions()), {});
  while (!draining_) {
    long long next = -1;
    for (int p = 0; p < keys_.partitions(); ++p) {
      if (!co_await hold_promoter_duty(p)) continue;
      try {
        std::set<std::string> fed;
        long long w = co_await store_->promote(p, 500, loop_call(), &fed);
        outage("promote", p).succeeded();
        for (const std::string& key : fed) note_work_waits(key);
        if (w >= 0 && (next < 0 || w < next)) next = w;
      } catch (const redis::Error& e) {
        bump(&WorkerStats::promote_errors);
        outage("promote", p).failed(e.what());
        next = 200;
      }
    }
    co_await sample_series_if_due();
    co_await worker_detail::sleep_for(milliseconds(next < 0 ? 100 : std::clamp<long long>(next, 1, 100)));
  }
}

asio::awaitable<bool> Worker::Impl::hold_promoter_duty(int p) {
  if (draining_) co_return false;  // give_up_promoter_duties may have run
  worker::PromoterDuty& duty = promoter_duties_[static_cast<std::size_t>(p)];
  const Clock::time_point asked = Clock::now();
  if (asked >= duty.ask_at) {
    try {
      const store::Store::Duty r = co_await store_->take_duty(p, options_.id, worker::PromoterDuty::kLease, loop_call());
      duty.answered(r.held, r.left, asked);
    } catch (const redis::Error& e) {
      bump(&WorkerStats::promote_errors);
      outage("promote", p).failed(e.what());
      duty.failed(asked);
    }
  }
  co_return duty.held(Clock::now());
}

asio::awaitable<void> Worker::Impl::give_up_promoter_duties() {
  for (std::size_t p = 0; p < promoter_duties_.size(); ++p) {
    if (!promoter_duties_[p].held(Clock::now())) continue;
    try {
      co_await store_->take_duty(static_cast<int>(p), options_.id, milliseconds(0), loop_call());
      promoter_duties_[p] = {};
    } catch (const redis::Error& e) {
      spdlog::warn("worker {}: promoter duty of partition {} not given up ({}); it ends with its lease",
                   options_.id, p, e.what());
    }
  }
}

asio::awaitable<void> Worker::Impl::sample_series_if_due() {
  using std::chrono::system_clock;
  const auto local_ms = [] {
    return std::chrono::duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  };
  if ((local_ms() + series_clock_offset_ms_) / 60'000 < series_next_minute_) co_return;
  std::int64_t sampled_minute = -1;
  for (int p = 0; p < keys_.partitions(); ++p) {
    std::vector<std::string> queues;
    for (const Stream& s : streams_) {
      if (s.partition == p) queues.push_back(s.queue);
    }
    try {
      // Our clock may name another hour than Redis's: then once more with Redis's.
      for (int tries = 0; tries < 2; ++tries) {
        const std::int64_t hour = (local_ms() + series_clock_offset_ms_) / 3'600'000;
        const store::SeriesSampled r =
            co_await store::sample_series(store_->client(), keys_, p, queues, hour);
        series_clock_offset_ms_ = r.redis_now_ms - local_ms();
        if (r.written) {
          sampled_minute = r.redis_now_ms / 60'000;
          break;
        }
      }
    } catch (const redis::Error& e) {
      outage("series sample").failed(e.what());
      co_return;  // the next pass tries this minute again
    }
  }
  outage("series sample").succeeded();
  if (sampled_minute >= 0) series_next_minute_ = sampled_minute + 1;
}

}  // namespace steadfast
