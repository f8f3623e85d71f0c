// Fetching: the blocking XREADGROUP loop (which also paces the reclaimer),
// taking back a restarted worker's own entries, and claims — start.lua, the
// claim's facts for the step machine, and re-deliveries of entries in flight.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <span>
#include <utility>

#include "engine/map_item.h"
#include "redis/checked.h"
#include "store/scripts.h"
#include "worker/worker_impl.h"

namespace steadfast {

using worker_detail::sleep_for;

namespace {

// The longest a blocking XREADGROUP waits (fetch_loop).
constexpr std::chrono::milliseconds kReadBlock{1000};

}  // namespace

// A restarted worker (same id) re-reads its own pending entries at once
// instead of waiting a lease for a reclaimer.
asio::awaitable<void> Worker::Impl::take_back_own_entries() {
  std::vector<const Stream*> all;
  for (const Stream& s : streams_) all.push_back(&s);
  worker::SlotPromise promise(reserved_, free_slots());
  co_await take_back(all, promise);
}

asio::awaitable<bool> Worker::Impl::take_back(const std::vector<const Stream*>& streams,
                                              worker::SlotPromise& promise) {
  for (const Stream* s : streams) {
    std::string after = "0";
    std::size_t taken = 0;
    while (promise.held() > 0 && !draining_) {
      redis::Reply r;
      try {
        r = co_await main_.command_with(loop_call(), "XREADGROUP", "GROUP", store::kGroup, options_.id, "COUNT",
                                        kTakeBackPage, "STREAMS", s->key, after);
      } catch (const redis::ServerError& e) {
        if (is_no_group(e)) std::rethrow_exception(group_missing(e));
        if (!e.transient()) throw;
        outage("taking back own entries", s->partition).failed(e.what());
        co_return false;
      } catch (const redis::Error& e) {
        outage("taking back own entries", s->partition).failed(e.what());
        co_return false;
      }
      if (r.is_nil() || r.size() == 0 || r[0][1].size() == 0) break;
      const redis::Reply& entries = r[0][1];
      std::vector<store::StartItem> items;
      for (const redis::Reply& e : entries.elements()) {
        if (!e[1].is_array()) continue;  // payload deleted: the reclaimer dead-letters it
        store::StartItem it = to_item(*s, e, /*deliveries=*/0);
        if (inflight_.contains(key_of(it.token))) continue;  // ours, and running here
        if (std::cmp_less(items.size(), promise.held())) items.push_back(std::move(it));
      }
      after = std::string(entries[entries.size() - 1][0].str());
      const bool last_page = std::cmp_less(entries.size(), kTakeBackPage);
      if (!items.empty()) {
        taken += items.size();
        promise.release(static_cast<int>(items.size()));  // (each takes a slot: handle_claims)
        co_await handle_claims(*s, std::move(items));
      }
      if (last_page) break;
    }
    if (taken > 0) {
      spdlog::info("worker {}: took back {} entries of {} that were ours and ran nowhere (a restart, or a "
                   "claim whose answer was lost)",
                   options_.id, taken, s->key);
    }
    outage("taking back own entries", s->partition).succeeded();
  }
  co_return true;
}

bool Worker::Impl::outcome_unknown(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const redis::NotSentError&) {
    return false;
  } catch (const redis::IoError&) {
    return true;  // lost with the call written, or timed out
  } catch (const redis::ProtocolError&) {
    return true;
  } catch (const redis::ServerError& e) {
    return met_a_moved_key(e);  // a script stopped after its XREADGROUP
  } catch (...) {
    return false;
  }
}

store::StartItem Worker::Impl::to_item(const Stream& s, const redis::Reply& entry, long long deliveries) {
  store::StartItem it;
  it.token = store::Token{s.partition, s.queue, std::string(entry[0].str()), deliveries};
  const redis::Reply& fields = entry[1];
  for (std::size_t k = 0; k + 1 < fields.size(); k += 2) {
    if (fields[k].str() == "r") it.run_id = std::string(fields[k + 1].str());
    if (fields[k].str() == "s") it.step = std::string(fields[k + 1].str());
    if (fields[k].str() == "b") it.ticket = std::string(fields[k + 1].str());
  }
  return it;
}

// Pull backpressure: read at most as many entries as there are free slots.
// The same loop runs the reclaimer between two reads, every reclaim
// interval: a blocked read holds its free slots promised, so a reclaimer of
// its own would find none free while the worker waits for work, and the
// entries of a dead worker would never be taken over.
asio::awaitable<void> Worker::Impl::fetch_loop() {
  std::size_t rotate = 0;
  auto next_reclaim = Clock::now() + reclaim_interval_;
  auto next_pause_check = Clock::now();
  while (!draining_) {
    if (Clock::now() >= next_pause_check) {
      co_await refresh_paused();
      next_pause_check = Clock::now() + kPauseCheck;
      continue;
    }
    if (!take_back_due_.empty() && free_slots() > 0) {
      std::vector<const Stream*> all;
      for (const Stream& s : streams_) {
        if (!paused(s)) all.push_back(&s);
      }
      worker::SlotPromise promise(reserved_, free_slots());
      if (co_await take_back(all, promise)) {
        take_back_due_.clear();
      } else {
        co_await sleep_for(milliseconds(200));
      }
      continue;
    }
    if (Clock::now() >= next_reclaim) {
      worker::SlotPromise promise(reserved_, 0);  // (each page promises what is free then)
      co_await reclaim_pass(promise);
      next_reclaim = Clock::now() + reclaim_interval_;
      continue;
    }
    const int free = free_slots();
    if (free <= 0) {
      slot_signal_.expires_at(Clock::time_point::max());
      co_await slot_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    std::vector<const Stream*> open;  // the streams of queues not paused (a task worker's: with claims waiting)
    for (const Stream& s : streams_) {
      if (!paused(s) && free_slots(s) > 0) open.push_back(&s);
    }
    if (open.empty()) {
      // A task worker with no claim waiting: woken by the next (on_room).
      const auto until = options_.tasks ? std::min(next_pause_check, next_reclaim) : next_pause_check;
      slot_signal_.expires_at(until);
      co_await slot_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // COUNT applies per stream: split the free slots so the total never exceeds them.
    std::vector<const Stream*> chosen;
    const std::size_t n = open.size();
    const std::size_t take = std::min<std::size_t>(n, static_cast<std::size_t>(free));
    for (std::size_t i = 0; i < take; ++i) chosen.push_back(open[(rotate + i) % n]);
    rotate += take;
    int count = free / static_cast<int>(take);
    for (const Stream* s : chosen) count = std::min(count, free_slots(*s));
    // Work waits (the last read of each took all it asked for): read and
    // claim in one call per stream (claim.lua; a fed stream's feed.lua
    // first, in the same round trip), no blocking read and no start.lua
    // round trip. Not for a task worker (its reads follow the claims that
    // wait: TaskBroker).
    const bool busy = !options_.tasks && std::all_of(chosen.begin(), chosen.end(), [this](const Stream* s) {
      return busy_streams_.contains(s->key);
    });
    if (busy) {
      worker::SlotPromise promise(reserved_, count * static_cast<int>(chosen.size()));
      const ReadOutcome outcome = co_await read_and_claim(chosen, count, promise);
      if (outcome == ReadOutcome::stop) break;
      if (outcome == ReadOutcome::failed || outcome == ReadOutcome::unsent) co_await sleep_for(milliseconds(200));
      continue;
    }
    // Block no longer than until the next reclaim pass is due. (Not until the
    // next pause check: a read that blocks on a paused queue takes at most what
    // arrives within this block, so a pause holds within block + kPauseCheck
    // <= 1.25 s; shorter blocks would only add reads.)
    const milliseconds block = std::clamp(
        std::chrono::duration_cast<milliseconds>(next_reclaim - Clock::now()), milliseconds(1), kReadBlock);
    std::size_t feeds = 0;
    redis::Pipeline p = blocking_read(chosen, count, block, feeds);
    redis::Reply reply;
    bool failed = false;
    // The slots asked for are promised to this read until it returns, so a
    // reclaim meanwhile cannot take them too (invariant 6).
    const int promised = count * static_cast<int>(chosen.size());
    worker::SlotPromise promise(reserved_, promised);
    try {
      std::vector<redis::Reply> replies = co_await blocking_.exec(std::move(p), {block + milliseconds(5000)});
      reply = read_reply(replies, feeds);
    } catch (const redis::Error&) {
      read_failed(std::current_exception(), chosen.front()->partition);
      if (draining_) break;
      failed = true;
    }
    if (failed) {
      co_await sleep_for(milliseconds(200));
      continue;
    }
    outage("fetch", chosen.front()->partition).succeeded();
    promise.release();
    co_await take_read(chosen, reply, count);
  }
}

redis::Reply Worker::Impl::read_reply(std::vector<redis::Reply>& replies, std::size_t feeds) {
  for (std::size_t i = 0; i < feeds; ++i) {
    if (replies[i].is_error()) redis::checked(replies[i]);
  }
  redis::Reply reply = std::move(replies.back());
  if (reply.is_error()) redis::checked(reply);
  return reply;
}

void Worker::Impl::read_failed(const std::exception_ptr& error, int partition) {
  if (!draining_) note_if_unknown(error, partition);
  try {
    std::rethrow_exception(error);
  } catch (const redis::ServerError& e) {
    if (is_no_group(e)) std::rethrow_exception(group_missing(e));
    if (!e.transient()) throw;  // UNBLOCKED, READONLY (a demotion), LOADING, ... are waited out
    if (!draining_) outage("fetch", partition).failed(e.what());
  } catch (const redis::Error& e) {
    if (!draining_) outage("fetch", partition).failed(e.what());
  }
}

asio::awaitable<void> Worker::Impl::take_read(const std::vector<const Stream*>& streams, const redis::Reply& reply,
                                              int count) {
  for (const Stream* s : streams) busy_streams_.erase(s->key);
  if (reply.is_nil()) co_return;
  for (const redis::Reply& stream : reply.elements()) {
    const Stream* s = stream_by_key(stream[0].str());
    if (s == nullptr) continue;
    std::vector<store::StartItem> items;
    for (const redis::Reply& e : stream[1].elements()) items.push_back(to_item(*s, e, 1));
    if (std::cmp_equal(items.size(), count)) busy_streams_.insert(s->key);
    co_await handle_claims(*s, std::move(items));
  }
}

redis::Pipeline Worker::Impl::blocking_read(const std::vector<const Stream*>& streams, int count, milliseconds block,
                                           std::size_t& feeds) const {
  // Ordered queues: their backlog's next steps into the stream first, as
  // many as this read may take (feed.lua), in the same round trip.
  redis::Pipeline p;
  feeds = 0;
  const std::string count_text = std::to_string(count);
  const std::string note_ttl = std::to_string((block + milliseconds(5000)).count());
  for (const Stream* s : streams) {
    if (!fed(*s)) continue;
    p.add_eval(store::scripts::feed(), std::vector<std::string>{s->key},
               std::vector<std::string>{options_.id, count_text, note_ttl});
    ++feeds;
  }
  std::vector<std::string> argv{"XREADGROUP", "GROUP", std::string(store::kGroup), options_.id,
                                "COUNT", std::to_string(count), "BLOCK",
                                std::to_string(block.count()), "STREAMS"};
  for (const Stream* s : streams) argv.push_back(s->key);
  for (std::size_t i = 0; i < streams.size(); ++i) argv.emplace_back(">");
  p.add_argv(std::span<const std::string>(argv));
  return p;
}

// claim.lua over each stream, `count` entries at most from each, with the
// slots `promise` holds for them (count per stream; each stream's given
// back as its call returns, the rest left to the caller). A stream that
// gave less than `count` is no longer busy: its next read blocks. Errors as
// the blocking read's.
asio::awaitable<Worker::Impl::ReadOutcome> Worker::Impl::read_and_claim(const std::vector<const Stream*>& streams,
                                                                        int count, worker::SlotPromise& promise) {
  for (const Stream* s : streams) {
    std::vector<store::ReadClaim> claims;
    std::exception_ptr error;
    try {
      // (a fed stream's blocked-worker note, if the feed leaves one, expires
      // as the blocking read's would)
      std::optional<milliseconds> feed_first;
      if (fed(*s)) feed_first = kReadBlock + milliseconds(5000);
      claims = co_await store_->read_and_start(s->partition, s->queue, count, feed_first, loop_call());
    } catch (...) {
      error = std::current_exception();
    }
    promise.release(count);  // (the entries claimed take a slot each: handle_read_claims)
    if (error) {
      if (!draining_) note_if_unknown(error, s->partition);
      try {
        std::rethrow_exception(error);
      } catch (const redis::ServerError& e) {
        if (is_no_group(e)) std::rethrow_exception(group_missing(e));
        // A run hash already moved by a resharding of the partition's slot
        // (claim.lua reads the runs its entries name, keys it cannot
        // declare): the script stopped there, after its XREADGROUP — an
        // outcome as unknown as a lost reply's, so handled as one (below).
        if (!e.transient() && !met_a_moved_key(e)) throw;
        if (draining_) co_return ReadOutcome::stop;
        outage("fetch", s->partition).failed(e.what());
        co_return ReadOutcome::failed;
      } catch (const redis::NotSentError& e) {
        if (draining_) co_return ReadOutcome::stop;
        outage("fetch", s->partition).failed(e.what());
        co_return ReadOutcome::unsent;
      } catch (const redis::Error& e) {
        // (an unknown outcome: entries this call claimed stay in our PEL, and
        // a reclaimer takes them after the lease, as after a blocking read's)
        if (draining_) co_return ReadOutcome::stop;
        outage("fetch", s->partition).failed(e.what());
        co_return ReadOutcome::failed;
      }
    }
    outage("fetch", s->partition).succeeded();
    if (std::cmp_less(claims.size(), count)) busy_streams_.erase(s->key);
    if (!claims.empty()) co_await handle_read_claims(std::move(claims));
  }
  co_return ReadOutcome::read;
}

asio::awaitable<void> Worker::Impl::refresh_paused() {
  std::set<std::string> now;
  try {
    now = co_await store_->paused_queues();
  } catch (const redis::Error&) {
    co_return;  // the fetch reports the outage; the last known set stays
  }
  for (const std::string& q : queue_names()) {
    const bool was = paused_.contains(q);
    const bool is = now.contains(q);
    if (is && !was) spdlog::info("worker {}: queue {} paused: taking nothing new from it", options_.id, q);
    if (!is && was) spdlog::info("worker {}: queue {} resumed", options_.id, q);
  }
  paused_ = std::move(now);
  // Backlogs of queues this worker does not know as ordered: runs submitted
  // by a process that declares them so must not wait for ever.
  std::vector<std::string> asked;
  for (const Stream& s : streams_) {
    if (!s.ordered) asked.push_back(s.key);
  }
  if (asked.empty()) co_return;
  std::set<std::string> waiting;
  try {
    waiting = co_await store_->backlogged(asked);
  } catch (const redis::Error&) {
    co_return;
  }
  for (const Stream& s : streams_) {
    if (waiting.contains(s.key) && !backlogged_.contains(s.key)) {
      spdlog::info("worker {}: queue {} has steps in an ordered backlog: feeding it", options_.id, s.queue);
    }
  }
  backlogged_ = std::move(waiting);
}

bool Worker::Impl::met_a_moved_key(const redis::ServerError& e) {
  // Redis 7.0: "ERR Script attempted to access a non local key in a cluster node script: ..."
  return std::string_view(e.what()).find("access a non local key") != std::string_view::npos;
}

bool Worker::Impl::is_no_group(const redis::ServerError& e) {
  return std::string_view(e.what()).find("NOGROUP") != std::string_view::npos;
}

// Invariant 8: a missing group is never re-created here (at `$` it would
// skip every entry written meanwhile; at 0 it would hide a data loss).
std::exception_ptr Worker::Impl::group_missing(const redis::ServerError& e) {
  return std::make_exception_ptr(std::runtime_error(
      std::string("consumer group missing: ") + e.what() +
      " — the queue was deleted or Redis lost its data; refusing to recreate it "
      "(start the worker again once the cause is understood)"));
}

const Worker::Impl::Stream* Worker::Impl::stream_by_key(std::string_view key) const {
  for (const Stream& s : streams_) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

asio::awaitable<void> Worker::Impl::handle_claims(const Stream& s, std::vector<store::StartItem> items) {
  std::erase_if(items, [this](const store::StartItem& it) { return in_flight_already(it); });
  if (items.empty()) co_return;
  reserve_slots(items);
  std::optional<std::vector<store::Started>> started_or = co_await start_claims(s, items);
  if (!started_or) {
    // Draining: the entries stay in our PEL; a reclaimer takes them after the lease.
    for (const auto& it : items) feed(key_of(it.token), engine::step_event::ClaimFailed{});
    co_return;
  }
  co_await take_started(items, *started_or);
}

asio::awaitable<void> Worker::Impl::handle_read_claims(std::vector<store::ReadClaim> claims) {
  // (An entry in flight here read again — a failover rolled our first read
  // back — was claimed again by claim.lua: the attempt in flight goes on,
  // its delivery count followed, as in handle_claims.)
  std::vector<store::StartItem> items;
  std::vector<store::Started> started;
  for (store::ReadClaim& c : claims) {
    if (in_flight_already(c.item)) continue;
    items.push_back(std::move(c.item));
    started.push_back(std::move(c.started));
  }
  if (items.empty()) co_return;
  reserve_slots(items);
  co_await take_started(items, started);
}

bool Worker::Impl::in_flight_already(const store::StartItem& it) {
  // One handler, one outcome: an entry already in flight here that is
  // delivered again — by our own reclaimer (after renewals failed for a
  // lease), or by a read that a failover rolled back (the new primary never
  // saw our first read, so XREADGROUP '>' hands the same id out again) —
  // never gets a second slot, claim or handler, and never resets the live
  // one. The step machine keeps the higher delivery count (see
  // StepMachine::on_redelivered): Redis bumps it on every delivery, so ours
  // must follow it or our own outcome would be refused as stale.
  const std::string key = key_of(it.token);
  auto found = inflight_.find(key);
  if (found == inflight_.end()) return false;
  bump(&WorkerStats::redelivered);
  spdlog::warn("worker {}: entry {} (run {} step {}) delivered again while in flight "
               "(delivery {}, in flight as {}); not run twice",
               options_.id, it.token.entry_id, it.run_id, it.step, it.token.deliveries,
               found->second.item.token.deliveries);
  feed(key, engine::step_event::Redelivered{it.token.deliveries});
  return true;
}

void Worker::Impl::reserve_slots(const std::vector<store::StartItem>& items) {
  // Reserve the slots before the round trip so no other claim overbooks them.
  // The delivery itself started the lease (it reset the entry's idle time).
  const auto delivered_at = Clock::now();
  for (const auto& it : items) {
    auto [slot, inserted] = inflight_.emplace(key_of(it.token), Inflight(it));
    if (!inserted) continue;
    slot->second.renewed_at = delivered_at;
    holding_slots_ += slot->second.machine.holds_slot() ? 1 : 0;
  }
}

asio::awaitable<void> Worker::Impl::take_started(const std::vector<store::StartItem>& items,
                                                 std::vector<store::Started>& started) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string key = key_of(items[i].token);
    auto found = inflight_.find(key);
    if (found == inflight_.end()) continue;
    if (started[i].state != store::Started::State::ok) {
      feed(key, engine::step_event::ClaimFailed{});
      continue;
    }
    engine::ClaimFacts facts = claim_facts(found->second, started[i]);
    if (!facts.handler_known) {
      // Rare (a fleet mid-deploy): one registry read decides whether another
      // live worker can take the step, or the grace runs.
      // (Named locals, not temporaries, across the co_await: GCC 12 mishandles
      // a temporary of a conditional expression there.)
      std::string workflow;
      if (auto wf = started[i].run.find("workflow"); wf != started[i].run.end()) workflow = wf->second;
      const std::string queue = items[i].token.queue;
      // (an item of a map step is handled by whoever has its step)
      const std::optional<engine::MapItem> map_item = engine::parse_item_step(items[i].step);
      const std::string step = map_item ? map_item->step : items[i].step;
      try {
        facts.another_worker_has_it = co_await registration_->another_handles(queue, workflow, step);
      } catch (const std::exception& e) {
        // Unknown: hand the step back without starting the grace.
        spdlog::warn("worker {}: reading the worker registry failed: {}", options_.id, e.what());
        facts.another_worker_has_it = true;
      }
      found = inflight_.find(key);
      if (found == inflight_.end()) continue;
    }
    found->second.run = std::move(started[i].run);
    found->second.claimed_at_ms = started[i].now_ms;
    if (facts.handler_known && !decide_condition(found->second)) facts.limited = false;
    found->second.budget_from = facts.budget_from;
    found->second.rate_limited_at_claim = facts.rate_limited;
    feed(key, engine::step_event::ClaimStarted{std::move(facts)});
  }
}

engine::ClaimFacts Worker::Impl::claim_facts(Inflight& slot, const store::Started& st) {
  const store::Fields& f = st.run;
  auto field = [&](const std::string& k) {
    auto it = f.find(k);
    return it == f.end() ? std::string() : it->second;
  };
  engine::ClaimFacts c;
  c.deliveries = st.deliveries;
  // The attempts before this token: a graph run's node keeps its own
  // (s.<step>.base: retry.lua), a chain run its one at run level.
  const std::string base = field("graph").empty() ? field("base") : field("s." + slot.item.step + ".base");
  c.attempt = std::atoi(base.c_str()) + static_cast<int>(st.deliveries);
  c.budget_from = std::atoi(field("s." + slot.item.step + ".budget_from").c_str());
  c.status = engine::parse_run_status(field("status")).value_or(engine::RunStatus::queued);
  c.cancel_requested = field("cancel") == "1";
  c.worker_id = options_.id;
  const std::string p = "s." + slot.item.step + ".";
  c.rate_limited = std::atoi(field(p + "rate_limited").c_str());
  c.waited = milliseconds(std::atoll(field(p + "waited_ms").c_str()));
  c.queue = slot.item.token.queue;
  c.no_handler_grace = options_.no_handler_grace;
  if (const std::string since = field(p + "unhandled_since"); !since.empty() && st.now_ms > 0) {
    c.unhandled_for = milliseconds(std::max<long long>(0, st.now_ms - std::atoll(since.c_str())));
  }
  slot.renewed_at = Clock::now();
  const Workflow* wf = find_workflow(field("workflow"));
  // An item of a map step names "step[k]" (engine/map_item.h).
  const std::optional<engine::MapItem> map_item = engine::parse_item_step(slot.item.step);
  int index = wf != nullptr ? wf->index_of(map_item ? map_item->step : slot.item.step) : -1;
  if (map_item && index >= 0 && !wf->steps()[static_cast<std::size_t>(index)].map) index = -1;
  if (index < 0) {
    c.handler_known = false;
    c.unknown_what = "workflow '" + field("workflow") + "' step '" + slot.item.step + "'";
    return c;
  }
  slot.workflow = wf;
  slot.step_index = index;
  const StepDefinition& step = wf->steps()[static_cast<std::size_t>(index)];
  const StepOptions& o = step.options;
  slot.item_index = map_item ? map_item->index : -1;
  slot.expands = step.map && !map_item;
  // (expanding a map asks no limiter: its items do)
  c.limited = !limit_uses(o).empty() && !slot.expands;
  slot.graph = !field("graph").empty();
  c.is_last_step = !slot.graph && index + 1 == static_cast<int>(wf->steps().size());
  c.retry = o.retry;
  c.continue_on_failure = map_item ? step.map->on_item_failure == OnItemFailure::continue_
                                   : o.on_failure == OnFailure::continue_;
  return c;
}

// start.lua for claimed entries. While Redis is unreachable or refuses
// writes (OOM, loading), it is retried with the same tokens, renewed
// meanwhile by renew_loop: leaving the entries to a reclaimer would spend an
// attempt per lease of outage. A retry sends deliveries 0, so start.lua
// checks in the PEL that the entries are still ours (the first call may
// have run, or another worker may have reclaimed them meanwhile). nullopt
// when draining; other errors are thrown, the claims forgotten.
asio::awaitable<std::optional<std::vector<store::Started>>> Worker::Impl::start_claims(
    const Stream& s, const std::vector<store::StartItem>& items) {
  std::vector<store::StartItem> ask = items;
  for (milliseconds pause{50};; pause = std::min(pause * 2, milliseconds(1000))) {
    std::string error;
    std::exception_ptr fatal;
    try {
      auto started = co_await store_->start(s.partition, s.queue, ask);
      outage("starting claimed steps").succeeded();
      co_return started;
    } catch (const redis::ServerError& e) {
      if (is_no_group(e)) {
        fatal = group_missing(e);
      } else if (!e.transient()) {
        fatal = std::current_exception();
      }
      error = e.what();
    } catch (const redis::IoError& e) {
      error = e.what();
    } catch (...) {
      fatal = std::current_exception();
    }
    if (fatal) {
      // The entries stay in our PEL, and a reclaimer (maybe us) takes them after the lease.
      for (const auto& it : items) feed(key_of(it.token), engine::step_event::ClaimFailed{});
      std::rethrow_exception(fatal);
    }
    if (draining_) co_return std::nullopt;
    outage("starting claimed steps").failed(error);
    for (store::StartItem& it : ask) it.token.deliveries = 0;
    co_await sleep_for(pause);
  }
}

}  // namespace steadfast
