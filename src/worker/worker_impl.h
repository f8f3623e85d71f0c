// The worker runtime's one class, shared by the files that define its member
// functions by concern (one event loop, so no locks between them):
//
//   worker.cpp           construction, run/stop, start-up, the main loop, registration beats
//   fetch.cpp            XREADGROUP, taking back own entries, claims (start.lua), re-deliveries
//   admission.cpp        limiter admission before launch, slot release, Retry-After pauses
//   execute.cpp          handlers on the pool or the loop, timeouts, results
//   step_events.cpp      feeding a step's StepMachine and doing what it answers
//   outbox.cpp           transitions grouped per event-loop turn, written and retried; counters
//   leases.cpp           renew.lua (ownership, cancel flags, progress), self-fencing
//   reclaim_promote.cpp  XAUTOCLAIM passes, timer promotion, the series sample; errors logged and counted
//   drain.cpp            stop: hand back, flush, deregister
//
// Private to src/worker/: Asio types appear here and nowhere public.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/callback_signing.h"
#include "engine/json_schema.h"
#include "engine/step_machine.h"
#include "engine/template.h"
#include "engine/workflow_graph.h"
#include "redis/client.h"
#include "steadfast/worker.h"
#include "store/limiter.h"
#include "store/schedules.h"
#include "store/store.h"
#include "worker/outage_log.h"
#include "worker/promoter_duty.h"
#include "worker/registration.h"
#include "worker/slot_promise.h"
#include "worker/task_broker.h"
#include "worker/thread_pool.h"

namespace steadfast {

namespace asio = boost::asio;

namespace worker_detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

asio::awaitable<void> sleep_for(milliseconds d);
double jitter_unit();
// A run hash field as JSON (a string that is not JSON stays a string).
Json parse_json(const std::string& text);

}  // namespace worker_detail

class Worker::Impl {
 public:
  Impl(WorkerOptions options, std::vector<Workflow> workflows);

  int run();
  void stop();
  WorkerStats stats() const;
  const std::string& id() const noexcept { return options_.id; }

 private:
  using Clock = worker_detail::Clock;
  using milliseconds = worker_detail::milliseconds;

  struct Stream {
    int partition;
    std::string queue;
    std::string key;
    milliseconds min_lease;
    // An ordered queue (WorkerOptions::queue_order): every read is preceded
    // by feed.lua. A queue not declared so is fed too while its backlog
    // holds tokens (backlogged_: runs submitted by processes that declare it).
    bool ordered = false;
  };

  // A claimed step from its claim until its StepMachine says done. The
  // machine decides; this holds what acting on its decisions needs.
  struct Inflight {
    explicit Inflight(store::StartItem it)
        : machine(store::kMaxPayloadBytes, it.token.deliveries), item(std::move(it)) {}
    engine::StepMachine machine;
    store::StartItem item;  // token.deliveries follows machine.deliveries()
    store::Fields run;      // the run hash start.lua returned; kept until launch
    std::int64_t claimed_at_ms = 0;  // Redis time of the claim (start.lua's)
    const Workflow* workflow = nullptr;
    int step_index = -1;
    // The run is a graph run (its hash has `graph`): a completion goes to
    // complete.lua as a node's ('*'), which starts the ready dependents or
    // ends the run; never as the end of a chain.
    bool graph = false;
    std::shared_ptr<StepContext> ctx;
    std::unique_ptr<asio::steady_timer> timeout;
    Clock::time_point renewed_at;
    Clock::time_point started_at;        // when the handler was handed to the pool
    Clock::time_point progress_sent_at;  // the last heartbeat handed to renew (once a second at most)
    Clock::time_point admitting_since;   // when admission began (its wait counts toward retry.max_wait)
    // Set once admitted: the limiter instances to release (one per limiter
    // the step goes through, in limit_uses() order), all held as limit_holder.
    std::vector<store::LimitRequest> held_limits;
    std::string limit_holder;
    // The run says this attempt waits for a limiter (limit_wait.lua): cleared at admission.
    bool limiter_wait_noted = false;
    // Set instead of an admission when the attempt can never be admitted (its
    // token estimate is over the bucket): launch() fails it with this, fatal.
    std::string admission_error;
    // A signal wait's signal name: parked on it (sleep.lua), or taken from
    // the run's kept signals by this completion (complete.lua deletes it).
    // Empty for every other step.
    std::string signal;
    // The step's `if` was false at claim (skip_by_condition): launch()
    // completes it with null, status 'skipped', without its handler.
    bool skip = false;
    // A map step (MapSpec): the token of item `item_index` ("step[k]"), or
    // (item_index -1) the step's own token, whose claim evaluates `over`
    // and expands it into its items (expand_map) instead of a handler.
    std::int64_t item_index = -1;
    bool expands = false;
    // A child workflow step parking on its child (run_child_step): the child
    // spawn.lua starts, or waits for if it exists. Written with the `sleep`.
    std::optional<store::ChildStart> child;
    // A task step: offered to external workers (TaskBroker) instead of a
    // handler; and the claim's facts its outcome's decision needs there.
    bool offered = false;
    int budget_from = 0;
    int rate_limited_at_claim = 0;

    const StepOptions& options() const {
      return workflow->steps()[static_cast<std::size_t>(step_index)].options;
    }
  };

  static std::string key_of(const store::Token& t) {
    return std::to_string(t.partition) + "/" + t.queue + "/" + t.entry_id;
  }

  void bump(std::uint64_t WorkerStats::*field, std::uint64_t n = 1) {
    std::lock_guard lock(stats_mu_);
    stats_.*field += n;
  }

  // worker.cpp
  asio::awaitable<bool> start_up();
  asio::awaitable<void> main_loop();
  asio::awaitable<void> heartbeat_loop();
  std::vector<std::string> queue_names() const;
  const Workflow* find_workflow(const std::string& name) const;
  // Decides a claimed step's `if` (StepDefinition::condition) from the run
  // hash in `slot.run`: sets slot.skip when it is false, or
  // slot.admission_error (a fatal failure) when it cannot be evaluated.
  // Returns whether the step still runs (and asks its limiter first).
  bool decide_condition(Inflight& slot);
  void log_background_error(const char* what, std::exception_ptr e);
  // The rate-limited warnings of a loop retrying Redis ("fetch", "heartbeat", ...).
  worker::OutageLog& outage(const std::string& what);
  // The outage log of `what` ("fetch", "reclaim") for one partition: on a
  // cluster each partition's own, so a dead primary's partitions failing
  // while the others succeed log once, not at every alternation.
  worker::OutageLog& outage(const std::string& what, int partition) {
    return outage(reads_per_partition() ? what + " from partition " + std::to_string(partition) : what);
  }
  int free_slots() const;
  // ... for a read of this stream: a task worker's are bounded by the
  // external workers' claims waiting for its queue (TaskBroker::room).
  int free_slots(const Stream& s) const;

  // fetch.cpp
  asio::awaitable<void> fetch_loop();
  asio::awaitable<void> take_back_own_entries();
  // Taking back our entries whose claim's answer was lost. A call that may
  // have delivered entries to us and whose answer never came — a read, a
  // claim or a reclaim page whose connection dropped or timed out after it
  // was written (outcome_unknown) — leaves them in our PEL: ours, and run by
  // nobody; a reclaimer (maybe us) would take them only after their lease.
  // The partitions where that happened are taken back (take_back) before
  // they are read again, once their primary answers.
  std::set<int> take_back_due_;
  static bool outcome_unknown(const std::exception_ptr& error);
  void note_if_unknown(const std::exception_ptr& error, int partition) {
    if (outcome_unknown(error) && !options_.tasks) take_back_due_.insert(partition);
  }
  // Our pending entries of `streams` (XREADGROUP ... 0, a history read: no
  // delivery count or idle time changes) that are not in flight here,
  // claimed again as a restarted worker's are (start.lua with deliveries 0
  // checks that each is still ours), at most promise.held() of them.
  // False after a Redis error (reported; nothing is lost: the rest wait for
  // the next try or their lease); a missing group is thrown.
  asio::awaitable<bool> take_back(const std::vector<const Stream*>& streams, worker::SlotPromise& promise);
  // How many of our entries a history read asks for at a time.
  static constexpr int kTakeBackPage = 200;
  static store::StartItem to_item(const Stream& s, const redis::Reply& entry, long long deliveries);
  static bool is_no_group(const redis::ServerError& e);
  // A script's error for a key of a slot migrating away (a resharding):
  // the script ran up to that key.
  static bool met_a_moved_key(const redis::ServerError& e);
  static std::exception_ptr group_missing(const redis::ServerError& e);
  const Stream* stream_by_key(std::string_view key) const;
  asio::awaitable<void> handle_claims(const Stream& s, std::vector<store::StartItem> items);
  // Entries read and claimed in one call (Store::read_and_start).
  asio::awaitable<void> handle_read_claims(std::vector<store::ReadClaim> claims);
  // stop: draining; unsent: failed without a round trip, the partition's
  // primary known to be down (loop_call), so soon asked again.
  enum class ReadOutcome { read, failed, unsent, stop };
  asio::awaitable<ReadOutcome> read_and_claim(const std::vector<const Stream*>& streams, int count,
                                              worker::SlotPromise& promise);
  // A blocking read's answer: feed.lua's replies checked, the XREADGROUP's
  // returned; an error reply thrown (redis::checked).
  static redis::Reply read_reply(std::vector<redis::Reply>& replies, std::size_t feeds);
  // A failed read: rethrows what must stop the worker (a missing group, an
  // error reply that is not transient), else reports the outage.
  void read_failed(const std::exception_ptr& error, int partition);
  // A read's entries: claimed (handle_claims); a stream that gave all
  // `count` is busy, one that gave less no longer.
  asio::awaitable<void> take_read(const std::vector<const Stream*>& streams, const redis::Reply& reply, int count);
  // The blocking read of `streams` (one slot's: one partition's on a
  // cluster): feed.lua for each fed stream (`feeds` of them), then one
  // XREADGROUP ... COUNT count BLOCK block.
  redis::Pipeline blocking_read(const std::vector<const Stream*>& streams, int count, milliseconds block,
                                std::size_t& feeds) const;

  // partition_reads.cpp: fetch_loop on a Redis Cluster (PartitionReader).
  struct PartitionReader;
  [[nodiscard]] bool reads_per_partition() const noexcept {
    return keys_.layout() == store::Layout::spread && keys_.partitions() > 1;
  }
  asio::awaitable<void> fetch_loop_partitioned();
  // A token this worker just made (an outcome that advanced a run) or
  // moved (a promotion) into stream `key`: on a cluster, if this worker
  // reads that stream, its next read there is claim.lua's, at once and
  // ahead of the other partitions, instead of the partition waiting for
  // its turn among blocking reads (with fewer free slots than partitions,
  // a turn comes about every partitions / free slots × 100 ms). No-op on
  // one server (its one blocking read covers every stream) and for a task
  // worker.
  void note_work_waits(const std::string& key);
  // The options of a Redis call for one partition that a loop awaits (the
  // fetch loop's claims and reclaims, the promoter's): on a cluster, one for
  // a primary that cannot be reached or hangs fails at once (unsent_fails),
  // so the loop goes on with the other partitions while a replica takes
  // over; and one written to a primary that then hangs gives up after
  // kLoopCallTimeout instead of the command timeout (its outcome unknown:
  // entries it claimed stay in our PEL for a reclaimer, after their lease).
  static constexpr milliseconds kLoopCallTimeout{2000};
  [[nodiscard]] redis::CommandOptions loop_call() const noexcept {
    if (!reads_per_partition()) return {};
    const milliseconds configured = redis_config_.command_timeout;  // (0: none)
    return redis::CommandOptions{configured.count() == 0 ? kLoopCallTimeout : std::min(kLoopCallTimeout, configured),
                                 true};
  }
  void launch_partition_read(PartitionReader& r, std::vector<const Stream*> streams, int count, milliseconds block);
  // read_and_claim of a busy partition's streams — or, with take_back, our
  // own entries there (take_back, at most `count`) — beside the loop, its
  // slots promised at once; the loop hears of its end as of a read's.
  void launch_partition_claim(PartitionReader& r, std::vector<const Stream*> streams, int count, bool take_back);
  // reclaim_pass beside the loop, the slots free now promised to it at once.
  void launch_reclaim_pass();
  bool reclaim_running_ = false;
  // How many slots a claim beside fetch_loop_partitioned promises:
  // worker::claim_size for this worker and the primaries that serve its
  // partitions in the current slot map.
  [[nodiscard]] worker::ClaimSize claim_size();
  // The most a reclaim page beside the loop promises: a quarter of the
  // concurrency (at least 1), as claim_size for a primary that hangs. On one
  // server, where nothing runs beside the loop, no cap.
  [[nodiscard]] int reclaim_cap() const {
    return reads_per_partition() ? std::max(1, options_.concurrency / 4) : options_.concurrency;
  }
  // What a task beside fetch_loop_partitioned ended with that must end the
  // worker (a missing group): the loop rethrows it.
  std::exception_ptr beside_error_;
  asio::awaitable<void> finish_partition_read(PartitionReader& r);
  // handle_claims' parts: whether an entry is in flight here already (then
  // it is not run twice, and its step machine hears of the delivery); takes
  // a slot for each of the rest; after their claim, hands each its facts.
  bool in_flight_already(const store::StartItem& it);
  void reserve_slots(const std::vector<store::StartItem>& items);
  asio::awaitable<void> take_started(const std::vector<store::StartItem>& items,
                                     std::vector<store::Started>& started);
  asio::awaitable<std::optional<std::vector<store::Started>>> start_claims(
      const Stream& s, const std::vector<store::StartItem>& items);
  engine::ClaimFacts claim_facts(Inflight& slot, const store::Started& st);

  // admission.cpp
  asio::awaitable<void> admit_then_launch(std::string key);
  void release_limit(Inflight& s, const Json* output);
  // Writes (limiter non-empty) or clears the run's note that the step waits for a limiter; in the background.
  void note_limiter_wait(const Inflight& s, const std::string& limiter, const std::string& key);
  void pause_limit(const Inflight& s, milliseconds retry_after);
  // The fatal error of an estimate over a bucket (logged).
  std::string over_capacity(const Inflight& s, const LimitUse& use, std::int64_t cost, std::int64_t capacity) const;
  // The attempt's token cost for the step's limit `use`.
  std::int64_t token_cost(const Inflight& s, const LimitUse& use) const;
  // The instance key of `use` for this run: "" for an unkeyed limiter; nullopt
  // when the key template yields no value (*error, if given, says so).
  std::optional<std::string> limit_key(const Inflight& s, const LimitUse& use, std::string* error) const;

  // execute.cpp
  // The run's input and the outputs of the steps that precede `step_index`
  // in its workflow's graph (for a chain: the steps before it).
  std::pair<Json, std::map<std::string, Json>> run_data(const Workflow& wf, int step_index,
                                                        const store::Fields& f) const;
  // Why run_data() must not parse the run for this step (its parsed size would
  // be over engine::kMaxParsedBytesPerStep), or nullopt.
  std::optional<std::string> parse_budget_problem(const Workflow& wf, int step_index, const store::Fields& f) const;
  // Whether step `a` of `wf` finishes before step `s` starts (its graph's precedes).
  bool precedes(const Workflow& wf, int a, int s) const;
  // A map item's element of `over` (s.<step>[k].item, as start.lua returned
  // it); null for any other step.
  Json item_value(const Inflight& slot) const;
  // map.cpp: a map step's own token at its claim: `over` evaluated to the
  // items it expands into (handed to on_finished as its output), or a fatal
  // failure naming why (not an array, longer than max_items).
  void expand_map(const std::string& key, Inflight& slot, const StepDefinition& step, const Json& input,
                  const std::map<std::string, Json>& outputs);
  // What a child workflow step needs of its child's workflow, by name (built
  // once in the constructor, for every workflow some step starts): the run
  // as submit would create it but for its id and input, and its
  // input_schema compiled (null without one).
  struct ChildPlan {
    store::ChildStart shape;
    Json definition;  // the child's, with this worker's queue settings (store::run_sched)
    std::shared_ptr<const engine::JsonSchema> schema;
    std::size_t max_input_bytes = 0;
  };
  // child_step.cpp: what a step starting `child` needs of it (child_plans_).
  static ChildPlan child_plan(const Workflow& child, const std::map<std::string, QueueOrder>& queue_order);
  // A child workflow step's claim: parks on the child it starts (or still
  // runs), or finishes with how the child ended.
  void run_child_step(const std::string& key, Inflight& slot, const StepDefinition& step, const Json& input,
                      const std::map<std::string, Json>& outputs);
  void launch(const std::string& key);
  // task_offer.cpp: a task step (StepDefinition::task) offered to the
  // external workers (options_.tasks); what became of the offer.
  void offer_task(const std::string& key, Inflight& slot, const StepDefinition& step, Json input,
                  std::map<std::string, Json> outputs);
  void on_offer_resolved(const std::string& key, TaskBroker::Resolution r);
  asio::awaitable<void> offer_patience_loop();
  static StepResult run_handler(const StepHandler& handler, StepContext& ctx);
  // Starts an AsyncStepHandler on the event loop; its first `done` reaches
  // on_finished() through the loop.
  void start_async(const std::string& key, const AsyncStepHandler& handler);
  // wait_step.cpp: a durable wait (StepDefinition::wait) at its claim:
  // completed when due, else parked until then (HandlerResult::Kind::parked).
  void finish_wait(const std::string& key, Inflight& slot, const StepDefinition& step, const Json& input,
                   const std::map<std::string, Json>& outputs);
  // A signal wait: completed with a kept signal, ended by its timeout
  // (`stored`: the due time an earlier claim parked it with), else parked.
  void finish_signal_wait(const std::string& key, Inflight& slot, const StepDefinition& step,
                          std::optional<std::int64_t> stored);
  // Parks the step until `due` (Redis Unix ms; 0 = no time: a signal wait without timeout).
  void park(const std::string& key, std::int64_t due);
  void on_timeout(const std::string& key);
  void on_finished(const std::string& key, StepResult result);

  // step_events.cpp
  // Feeds `event` to the step's machine and does what it answers. `result`
  // and `output` (serialized, moved from) only with handler_returned.
  void feed(const std::string& key, const engine::StepEvent& event,
            const StepResult* result = nullptr, std::string output = {});
  void write_transition(const std::string& key, const Inflight& s, const engine::Decision& d,
                        std::string output);
  void log_outcome(const std::string& key, const store::Transition& t);

  // outbox.cpp
  void queue_transition(const std::string& key, store::Transition t);
  asio::awaitable<void> flush(int lane);
  // Whether any outcome waits to be written or is being written.
  [[nodiscard]] bool outbox_busy() const;
  void count_applied(const store::Transition& t);
  asio::awaitable<void> flush_counters();
  asio::awaitable<void> counters_loop();

  // leases.cpp
  asio::awaitable<void> renew_loop();
  milliseconds lease_of(const Inflight& s) const;

  // reclaim_promote.cpp
  asio::awaitable<void> reclaim_pass(worker::SlotPromise& promise);
  // Reads the paused queues (Store::pause_queue) into paused_; logs changes.
  // On a Redis error the last known set stays.
  asio::awaitable<void> refresh_paused();
  // fetch_loop_partitioned's pause check runs beside the loop, not in it: a
  // primary that does not answer holds up only the check (the last known
  // sets stay), never the reads and claims of the other partitions.
  bool pause_check_running_ = false;
  bool paused(const Stream& s) const { return paused_.contains(s.queue); }
  bool fed(const Stream& s) const { return s.ordered || backlogged_.contains(s.key); }
  // Promotes the due timers of the partitions whose promoter duty this worker
  // holds (lua/duty.lua): one worker per partition polls, not every worker.
  asio::awaitable<void> promote_loop();
  // True while this worker holds partition p's promoter duty: renews it every
  // third of the lease, and asks again for another's when that one's lease ends.
  asio::awaitable<bool> hold_promoter_duty(int p);
  // At a clean stop: frees the duties it holds, so the next worker to ask
  // takes each one instead of finding it held until the lease ends.
  asio::awaitable<void> give_up_promoter_duties();
  // schedule_loop.cpp: fires the published cron schedules' due ticks.
  asio::awaitable<void> schedule_loop();
  // Once a minute (Redis time): this worker's sample of every partition's
  // counters and its queues' depths for the per-minute series (store/series.h).
  // An error leaves the minute to the next pass (or another worker).
  asio::awaitable<void> sample_series_if_due();

  // drain.cpp
  void begin_drain();
  asio::awaitable<void> drain();
  asio::awaitable<void> drain_done();

  WorkerOptions options_;
  // Makes the callback URLs of signal waits; null without a public URL and key.
  std::shared_ptr<const engine::CallbackSigner> callbacks_;
  std::vector<Workflow> workflows_;
  // The steps' graph of each of workflows_ (built once in the constructor).
  std::map<const Workflow*, engine::WorkflowGraph> graphs_;
  // ChildPlan of every workflow some step starts, by name (built once in the constructor).
  std::map<std::string, ChildPlan> child_plans_;
  std::shared_ptr<asio::io_context> io_;
  redis::Config redis_config_;
  redis::Client main_;
  redis::Client blocking_;
  // On a Redis Cluster, one blocking read per partition in flight at a time,
  // each on its own connection (partition_reads.cpp); empty on one server.
  struct PartitionReader {
    int partition = 0;
    std::unique_ptr<redis::Client> client;  // this partition's blocking reads only
    bool in_flight = false;
    bool claiming = false;  // what is or was in flight: claim.lua (launch_partition_claim), not a blocking read
    std::string primary;    // a claim's: the primary it was sent to (one claim per primary in flight)
    ReadOutcome outcome = ReadOutcome::read;  // a claim's
    bool done = false;  // ended, not yet handled by the loop
    int promised = 0;   // free slots promised to the read (reserved_)
    int count = 0;      // COUNT of the read
    std::size_t feeds = 0;
    std::vector<const Stream*> streams;
    std::vector<redis::Reply> replies;
    std::exception_ptr error;
    Clock::time_point retry_at{};  // after a failed read: not before
    Clock::time_point ends_by{};   // when the read in flight should end: its launch + block
  };
  std::vector<std::unique_ptr<PartitionReader>> partition_readers_;
  store::KeySpace keys_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<worker::Registration> registration_;
  std::unique_ptr<worker::ThreadPool> pool_;
  std::vector<Stream> streams_;
  std::map<std::string, Inflight> inflight_;
  // Outcomes to write, by lane: one lane on one Redis; on a cluster, one per
  // partition, each with its own flush in flight, so a partition whose
  // primary is down or slow holds up only its own outcomes (one pipeline for
  // all of them waited for the slowest node, and held every partition's).
  struct OutboxLane {
    std::vector<std::pair<std::string, store::Transition>> pending;
    bool flushing = false;  // a flush() of this lane runs
  };
  std::map<int, OutboxLane> outbox_;
  std::map<int, std::map<std::string, std::int64_t>> counters_;  // by partition; see count_applied()
  static constexpr milliseconds kCounterFlush{50};
  asio::steady_timer slot_signal_;
  std::unique_ptr<asio::steady_timer> drained_signal_;
  std::unique_ptr<asio::steady_timer> drain_waiter_;
  std::map<std::string, std::unique_ptr<store::Limiter>> limiters_;
  // The parsed token estimate and key templates of each LimitUse.
  std::map<const LimitUse*, engine::Template> token_estimates_;
  std::map<const LimitUse*, engine::Template> limit_keys_;
  // options_.schedules checked (nullopt: this worker publishes none).
  std::optional<std::vector<store::ScheduleDefinition>> schedules_;
  // Concurrency slots expire this long after their last renewal: the longest
  // lease of a limited step (at least 1 s).
  milliseconds limiter_hold_{};
  milliseconds renew_interval_{};
  milliseconds reclaim_interval_{};
  // Paused queues as last read (fetch_loop, every kPauseCheck): nothing new
  // is read or reclaimed from their streams.
  std::set<std::string> paused_;
  // Streams of queues this worker does not know as ordered whose backlog held
  // tokens at the last check (refresh_paused, every kPauseCheck).
  std::set<std::string> backlogged_;
  // sample_series_if_due: the first minute not sampled yet, and Redis's clock
  // minus ours (ms) as its last reply showed.
  std::int64_t series_next_minute_ = 0;
  std::int64_t series_clock_offset_ms_ = 0;
  // promote_loop, per partition: what this worker believes of its promoter duty.
  std::vector<worker::PromoterDuty> promoter_duties_;
  static constexpr milliseconds kPauseCheck{250};
  // The rate-limited warnings of each loop retrying Redis, by what it does
  // ("fetch", "lease renewal", ...): see outage().
  std::map<std::string, worker::OutageLog> outages_;
  int reserved_ = 0;  // slots promised to a read in flight
  // Keys of the streams whose last read took all it asked for: work waits
  // there, so the next read of them is claim.lua's (fetch_loop).
  std::set<std::string> busy_streams_;
  // Keys of the streams where this worker's own outcome or promoter just put
  // a token (note_work_waits), until its next read or claim there: on a
  // cluster their partitions go first.
  std::set<std::string> known_work_;
  // The entries of inflight_ whose machine holds_slot(): kept by the one
  // insert (fetch) and by feed(), so free_slots() is O(1) with thousands in flight.
  int holding_slots_ = 0;
  bool draining_ = false;
  bool stopping_ = false;
  bool drained_ = false;  // drain() finished, deregistration included (drain_done)
  std::exception_ptr fatal_;
  mutable std::mutex stats_mu_;
  WorkerStats stats_;
};

}  // namespace steadfast
