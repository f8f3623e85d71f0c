// fetch_loop on a Redis Cluster (the spread layout, more than one
// partition). One XREADGROUP covers one slot, so one partition: each
// partition gets a blocking read of its own, on its own connection
// (PartitionReader), and up to one per partition is in flight at a time, so
// a step submitted to any partition is picked up as soon as it lands, as on
// one server.
//
// Pull backpressure holds across the readers: a read promises COUNT slots
// per stream it reads (reserved_) until the loop has handled its answer, and
// the loop gives the free slots out so that the promises never exceed them —
// a worker never holds more than its concurrency. A blocking read asks for
// one entry per stream: it finds where work is. A stream that gave one is
// busy, and is read and claimed by claim.lua without blocking, as many
// entries as every free slot takes, so batches stay as large as on one
// server rather than a 1/P share of the slots each. The reclaimer runs
// from this loop as from fetch_loop: each read's block ends by the next
// reclaim pass, and the pass waits for the reads in flight (up to
// kPartitionReadGrace past their block), so it finds the slots they held
// free. The pause check runs beside the loop, and the loop's own calls
// (claims, reclaims) fail at once for a primary that is down or hung
// (Impl::loop_call): a lost primary stops its own partitions until a
// replica takes over, never the others.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "worker/worker_impl.h"

namespace steadfast {

using worker_detail::sleep_for;

namespace {
// As fetch.cpp's: the longest a blocking read waits.
constexpr std::chrono::milliseconds kPartitionReadBlock{1000};
// The block when the free slots cover fewer streams than are open to read
// (concurrency below the partition count): the reads then take the
// partitions in turn, and a short block bounds how long a step submitted to
// a partition nobody reads waits — about (partitions / free slots) blocks,
// 300 ms for 12 partitions and 4 free slots — at the cost of that many
// more XREADGROUPs while idle.
constexpr std::chrono::milliseconds kPartitionTurnBlock{100};
// After a failed read of a partition, the next one waits this long.
constexpr std::chrono::milliseconds kPartitionRetry{200};
// After a claim not sent because the partition's primary is known to be
// down: shorter, so the partition is claimed again soon after a replica is
// promoted (an unsent call costs no round trip).
constexpr std::chrono::milliseconds kPartitionUnsentRetry{40};
// How long past its block a read may take before a due reclaim pass stops
// waiting for it (its node hung, or a primary failing over).
constexpr std::chrono::milliseconds kPartitionReadGrace{250};
}  // namespace

asio::awaitable<void> Worker::Impl::fetch_loop_partitioned() {
  for (int p = 0; p < keys_.partitions(); ++p) {
    auto r = std::make_unique<PartitionReader>();
    r->partition = p;
    r->client = std::make_unique<redis::Client>(io_->get_executor(), redis_config_);
    partition_readers_.push_back(std::move(r));
  }
  std::size_t rotate = 0;
  auto next_reclaim = Clock::now() + reclaim_interval_;
  // The first check before the first read, so a paused queue is never read.
  co_await refresh_paused();
  auto next_pause_check = Clock::now() + kPauseCheck;
  while (!draining_) {
    // Ended reads first: their entries (or their error).
    for (auto& r : partition_readers_) {
      if (r->done) co_await finish_partition_read(*r);
      if (draining_) break;
    }
    if (draining_) break;
    const auto now = Clock::now();
    // Reads that should end soon: a due reclaim pass waits for them. Not for
    // one overdue — its node hung or failing over — which keeps its promised
    // slots until it ends, while every other partition goes on.
    const bool reading = std::any_of(partition_readers_.begin(), partition_readers_.end(), [now](const auto& r) {
      return r->in_flight && now < r->ends_by + kPartitionReadGrace;
    });
    if (now >= next_pause_check) {
      next_pause_check = now + kPauseCheck;
      if (!pause_check_running_) {
        pause_check_running_ = true;
        asio::co_spawn(
            *io_,
            [this]() -> asio::awaitable<void> {
              co_await refresh_paused();  // (catches redis::Error)
              pause_check_running_ = false;
            },
            asio::detached);
      }
    }
    if (now >= next_reclaim && !reading) {
      co_await reclaim_pass();
      next_reclaim = Clock::now() + reclaim_interval_;
      continue;
    }
    if (now < next_reclaim) {
      // The partitions with no read in flight and a stream open to read.
      struct Idle {
        PartitionReader* reader;
        std::vector<const Stream*> streams;
      };
      std::vector<Idle> idle;
      const std::size_t n = partition_readers_.size();
      for (std::size_t k = 0; k < n; ++k) {
        PartitionReader& r = *partition_readers_[(rotate + k) % n];
        if (r.in_flight || r.done || r.retry_at > now) continue;
        Idle i{&r, {}};
        for (const Stream& s : streams_) {
          if (s.partition == r.partition && !paused(s) && free_slots(s) > 0) i.streams.push_back(&s);
        }
        if (!i.streams.empty()) idle.push_back(std::move(i));
      }
      // As many partitions as the free slots cover: a blocking read promises
      // one slot per stream it reads (its COUNT is 1, below).
      const int free = free_slots();
      std::size_t streams = 0;
      std::size_t take = 0;
      bool in_turn = false;  // some open stream gets no read now
      for (; take < idle.size() && std::cmp_less(streams, free); ++take) {
        std::vector<const Stream*>& mine = idle[take].streams;
        const auto room = static_cast<std::size_t>(free) - streams;
        if (mine.size() > room) {
          in_turn = true;
          // Fewer free slots than streams: some of them, in turn.
          std::rotate(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(rotate % mine.size()), mine.end());
          mine.resize(room);
        }
        streams += mine.size();
      }
      in_turn = in_turn || take < idle.size();
      if (take > 0) {
        rotate += take;
        bool read_inline = false;
        const milliseconds block =
            std::clamp(std::chrono::duration_cast<milliseconds>(next_reclaim - now), milliseconds(1),
                       in_turn ? kPartitionTurnBlock : kPartitionReadBlock);
        for (std::size_t i = 0; i < take; ++i) {
          std::vector<const Stream*>& chosen = idle[i].streams;
          const bool busy = !options_.tasks && std::all_of(chosen.begin(), chosen.end(), [this](const Stream* s) {
            return busy_streams_.contains(s->key);
          });
          if (busy) {
            // Work waits there: read and claim without blocking, now, as
            // much as every free slot takes (nothing is promised meanwhile).
            int all = free_slots() / static_cast<int>(chosen.size());
            for (const Stream* s : chosen) all = std::min(all, free_slots(*s));
            const ReadOutcome outcome = co_await read_and_claim(chosen, std::max(all, 1));
            if (outcome == ReadOutcome::stop) {  // draining: the loop ends
              read_inline = true;
              break;
            }
            if (outcome == ReadOutcome::failed) idle[i].reader->retry_at = Clock::now() + kPartitionRetry;
            if (outcome == ReadOutcome::unsent) idle[i].reader->retry_at = Clock::now() + kPartitionUnsentRetry;
            read_inline = true;
            break;  // the free slots changed: count again
          }
          // One entry per stream: the blocking read only finds where work is.
          // A stream that gave one is busy, and its next read is claim.lua's,
          // as large as every free slot (above). Batches stay as large as on
          // one server instead of a 1/P share of the slots each.
          launch_partition_read(*idle[i].reader, std::move(chosen), 1, block);
        }
        if (read_inline) continue;
      }
    }
    // Wait for a read to end, a slot to free, a failed partition's retry,
    // or the next pause check or reclaim pass.
    if (std::any_of(partition_readers_.begin(), partition_readers_.end(), [](const auto& r) { return r->done; })) {
      continue;
    }
    // (A reclaim pass that is due waits for the reads in flight: each ends by
    // then, or by its grace.)
    const bool reclaim_due = Clock::now() >= next_reclaim;
    auto until = reclaim_due ? next_pause_check : std::min(next_pause_check, next_reclaim);
    for (const auto& r : partition_readers_) {
      if (r->retry_at > Clock::now()) until = std::min(until, r->retry_at);
      if (reclaim_due && r->in_flight && Clock::now() < r->ends_by + kPartitionReadGrace) {
        until = std::min(until, r->ends_by + kPartitionReadGrace);
      }
    }
    slot_signal_.expires_at(until);
    co_await slot_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // Draining: the reads were ended (begin_drain closed their connections);
  // what they promised is free again.
  for (auto& r : partition_readers_) {
    reserved_ -= r->promised;
    r->promised = 0;
  }
}

void Worker::Impl::launch_partition_read(PartitionReader& r, std::vector<const Stream*> streams, int count,
                                         milliseconds block) {
  redis::Pipeline p = blocking_read(streams, count, block, r.feeds);
  r.in_flight = true;
  r.done = false;
  r.error = nullptr;
  r.replies.clear();
  r.count = count;
  r.ends_by = Clock::now() + block;
  r.streams = std::move(streams);
  // The slots asked for are promised to this read until the loop has handled
  // its answer, so no other read or reclaim takes them too (invariant 6).
  r.promised = count * static_cast<int>(r.streams.size());
  reserved_ += r.promised;
  asio::co_spawn(
      *io_,
      [this, &r, p = std::move(p), block]() mutable -> asio::awaitable<void> {
        try {
          // (Not unsent_fails: a read for a primary that cannot be reached
          // waits in the router, beside the loop, and is sent to the
          // promoted replica as soon as the map names it.)
          r.replies = co_await r.client->exec(std::move(p), {block + milliseconds(5000)});
        } catch (...) {
          r.error = std::current_exception();
        }
        r.in_flight = false;
        r.done = true;
        slot_signal_.cancel();  // wakes the loop
      },
      asio::detached);
}

asio::awaitable<void> Worker::Impl::finish_partition_read(PartitionReader& r) {
  r.done = false;
  reserved_ -= r.promised;
  r.promised = 0;
  const std::vector<const Stream*> streams = std::move(r.streams);
  std::vector<redis::Reply> replies = std::move(r.replies);
  redis::Reply reply;
  try {
    if (r.error) std::rethrow_exception(std::exchange(r.error, nullptr));
    reply = read_reply(replies, r.feeds);
  } catch (const redis::Error&) {
    read_failed(std::current_exception(), r.partition);
    r.retry_at = Clock::now() + kPartitionRetry;
    co_return;
  }
  outage("fetch", r.partition).succeeded();
  co_await take_read(streams, reply, r.count);
}

}  // namespace steadfast
