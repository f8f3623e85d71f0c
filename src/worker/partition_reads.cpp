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
// server rather than a 1/P share of the slots each.
//
// The loop awaits no Redis call of its own: the claims run beside it, like
// the reads (one call per partition in flight, and one claim per primary),
// and so does the reclaim pass (one at a time). A primary that hangs — its
// connections open, nothing answered — then holds up only the calls written
// to it before it was known to hang (each gives up after kLoopCallTimeout)
// and the slots they promised: a claim at most all but one primary's share
// of the concurrency (claim_size), a reclaim page a quarter (reclaim_cap);
// every other partition goes on with the rest. (When the loop awaited its claims and its reclaim pass,
// one such call stopped every partition for its 2 s, and so did a claim
// beside the loop that promised every free slot.) A due reclaim pass waits
// for the blocking reads in flight (up to kPartitionReadGrace past their
// block): each read's block ends by then, so the pass finds the slots they
// held free. The pause check runs beside the loop too, and calls for a
// primary known to be down or hung fail at once (Impl::loop_call): a lost
// primary stops its own partitions until a replica takes over, never the
// others.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string>
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
// How long a claim in flight holds the claims of other primaries to
// claim_size's floor (at least one primary's share each). A claim answers in
// milliseconds; one still waiting after this is on a slow or hung node, and
// may hold most of the slots until it gives up (2 s): the others then take
// what is free, however little, rather than wait for it.
constexpr std::chrono::milliseconds kClaimFloorFor{100};
}  // namespace

void Worker::Impl::note_work_waits(const std::string& key) {
  if (!reads_per_partition() || options_.tasks || stream_by_key(key) == nullptr) return;
  busy_streams_.insert(key);
  if (known_work_.insert(key).second) slot_signal_.cancel();  // wakes the loop
}

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
    // A task beside the loop that must end the worker (a missing group).
    if (beside_error_) std::rethrow_exception(std::exchange(beside_error_, nullptr));
    // Ended reads and claims first: their entries (or their error).
    for (auto& r : partition_readers_) {
      if (r->done) co_await finish_partition_read(*r);
      if (draining_) break;
    }
    if (draining_) break;
    const auto now = Clock::now();
    // Reads that should end soon: a due reclaim pass waits for them. Not for
    // one overdue — its node hung or failing over — which keeps its promised
    // slots until it ends, while every other partition goes on.
    // (Not for a claim: it promised only for its round trip, and takes no
    // more than was free.)
    const bool reading = std::any_of(partition_readers_.begin(), partition_readers_.end(), [now](const auto& r) {
      return r->in_flight && !r->claiming && now < r->ends_by + kPartitionReadGrace;
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
      // (One still running — its page waits for a primary that hangs — and
      // this pass is skipped.)
      if (!reclaim_running_) launch_reclaim_pass();
      next_reclaim = now + reclaim_interval_;
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
      // Partitions with work this worker knows of first (note_work_waits),
      // the rest in turn. Only those: putting every busy partition first
      // let a worker drain a few partitions' backlogs while the others
      // waited, which broke fairness across partitions (an ordered queue is
      // fair within each partition; across them, the turns are).
      // (Skipped when there is none: stable_partition allocates, and this
      // runs at every wake of the loop.)
      if (!known_work_.empty()) {
        std::stable_partition(idle.begin(), idle.end(), [this](const Idle& i) {
          return std::any_of(i.streams.begin(), i.streams.end(),
                             [this](const Stream* s) { return known_work_.contains(s->key); });
        });
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
        bool claimed = false;
        const milliseconds block =
            std::clamp(std::chrono::duration_cast<milliseconds>(next_reclaim - now), milliseconds(1),
                       in_turn ? kPartitionTurnBlock : kPartitionReadBlock);
        for (std::size_t i = 0; i < take; ++i) {
          std::vector<const Stream*>& chosen = idle[i].streams;
          const bool busy = !options_.tasks && std::all_of(chosen.begin(), chosen.end(), [this](const Stream* s) {
            return busy_streams_.contains(s->key);
          });
          // Our own entries there, if a call's answer was lost, before anything new.
          const bool take_back = take_back_due_.contains(idle[i].reader->partition);
          if (busy || take_back) {
            // Work waits there: read and claim without blocking, now, as
            // much as every free slot takes — but one claim per primary in
            // flight, and none of more than claim_size, so that a primary
            // that hangs holds only what its one claim promised (this
            // partition waits for the claim in flight on its primary).
            std::string primary = store_->client().key_primary(keys_.partition_base(idle[i].reader->partition));
            bool another = false;  // a claim in flight, for less than kClaimFloorFor
            bool its_primary_busy = false;
            for (const auto& r : partition_readers_) {
              if (!r->in_flight || !r->claiming) continue;
              another = another || now - r->ends_by < kClaimFloorFor;
              its_primary_busy = its_primary_busy || (!primary.empty() && r->primary == primary);
            }
            if (its_primary_busy) continue;
            const worker::ClaimSize size = claim_size();
            if (take_back) {
              const int slots = std::min(free_slots(), size.most);
              if (slots < 1) continue;
              idle[i].reader->primary = std::move(primary);
              launch_partition_claim(*idle[i].reader, std::move(chosen), slots, true);
              claimed = true;
              break;
            }
            int all = std::min(free_slots(), size.most) / static_cast<int>(chosen.size());
            for (const Stream* s : chosen) all = std::min(all, free_slots(*s));
            if (all < 1 || (another && all * static_cast<int>(chosen.size()) < size.least_beside_another)) continue;
            idle[i].reader->primary = std::move(primary);
            launch_partition_claim(*idle[i].reader, std::move(chosen), all, false);
            claimed = true;
            break;  // the free slots changed: count again
          }
          // One entry per stream: the blocking read only finds where work is.
          // A stream that gave one is busy, and its next read is claim.lua's,
          // as large as every free slot (above). Batches stay as large as on
          // one server instead of a 1/P share of the slots each.
          launch_partition_read(*idle[i].reader, std::move(chosen), 1, block);
        }
        if (claimed) continue;
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
      // (a claim's floor ends: a busy partition may be claimed with less)
      if (r->in_flight && r->claiming && Clock::now() < r->ends_by + kClaimFloorFor) {
        until = std::min(until, r->ends_by + kClaimFloorFor);
      }
      if (reclaim_due && r->in_flight && Clock::now() < r->ends_by + kPartitionReadGrace) {
        until = std::min(until, r->ends_by + kPartitionReadGrace);
      }
    }
    slot_signal_.expires_at(until);
    co_await slot_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // Draining: the reads were ended (begin_drain closed their connections);
  // what they promised is free again. (A claim or reclaim pass still in
  // flight gives its own back when it ends.)
  for (auto& r : partition_readers_) {
    reserved_ -= r->promised;
    r->promised = 0;
  }
}

worker::ClaimSize Worker::Impl::claim_size() {
  std::set<std::string> primaries;
  for (int p = 0; p < keys_.partitions(); ++p) {
    primaries.insert(store_->client().key_primary(keys_.partition_base(p)));
  }
  return worker::claim_size(options_.concurrency, static_cast<int>(primaries.size()));
}

void Worker::Impl::launch_partition_claim(PartitionReader& r, std::vector<const Stream*> streams, int count,
                                          bool take_back) {
  for (const Stream* s : streams) known_work_.erase(s->key);  // (read now)
  r.in_flight = true;
  r.claiming = true;
  r.done = false;
  r.error = nullptr;
  r.ends_by = Clock::now();  // (a claim's: when it was sent)
  // Promised now, before the loop gives out another slot (the coroutine
  // starts later); read_and_claim gives each stream's back as its call returns.
  auto promise =
      std::make_shared<worker::SlotPromise>(reserved_, take_back ? count : count * static_cast<int>(streams.size()));
  asio::co_spawn(
      *io_,
      [this, &r, streams = std::move(streams), count, take_back, promise]() -> asio::awaitable<void> {
        try {
          if (!take_back) {
            r.outcome = co_await read_and_claim(streams, count, *promise);
          } else if (co_await this->take_back(streams, *promise)) {
            take_back_due_.erase(r.partition);
            r.outcome = ReadOutcome::read;
          } else {
            r.outcome = ReadOutcome::failed;
          }
        } catch (...) {
          r.error = std::current_exception();  // (the loop rethrows it: the worker ends)
        }
        promise->release();
        r.in_flight = false;
        r.done = true;
        slot_signal_.cancel();  // wakes the loop
      },
      asio::detached);
}

void Worker::Impl::launch_reclaim_pass() {
  reclaim_running_ = true;
  // What is free now is promised at once: the loop gives out no slot before
  // the pass's first page (the coroutine starts later).
  auto promise =
      std::make_shared<worker::SlotPromise>(reserved_, std::min(free_slots(), reclaim_cap()));
  asio::co_spawn(
      *io_,
      [this, promise]() -> asio::awaitable<void> {
        try {
          co_await reclaim_pass(*promise);
        } catch (...) {
          beside_error_ = std::current_exception();
        }
        promise->release();
        reclaim_running_ = false;
        slot_signal_.cancel();
      },
      asio::detached);
}

void Worker::Impl::launch_partition_read(PartitionReader& r, std::vector<const Stream*> streams, int count,
                                         milliseconds block) {
  for (const Stream* s : streams) known_work_.erase(s->key);  // (read now)
  redis::Pipeline p = blocking_read(streams, count, block, r.feeds);
  r.in_flight = true;
  r.claiming = false;
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
  if (r.claiming) {
    // The claim handled its entries itself; what it failed with decides
    // when the partition is read again.
    if (r.error) std::rethrow_exception(std::exchange(r.error, nullptr));
    if (r.outcome == ReadOutcome::failed) r.retry_at = Clock::now() + kPartitionRetry;
    if (r.outcome == ReadOutcome::unsent) r.retry_at = Clock::now() + kPartitionUnsentRetry;
    co_return;
  }
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
