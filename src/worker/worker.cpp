#include "steadfast/worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include "engine/lifecycle.h"
#include "engine/quote.h"
#include "engine/template.h"
#include "redis/client.h"
#include "store/config.h"
#include "store/definition.h"
#include "store/limiter.h"
#include "store/redis_settings.h"
#include "store/run_id.h"
#include "store/store.h"
#include "worker/outage_log.h"
#include "worker/registration.h"
#include "worker/thread_pool.h"

namespace steadfast {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

double jitter_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string default_worker_id() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

Json parse_json(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

// Slots promised to a read in flight, given back when it returns
// (release()) or fails (destructor).
class SlotPromise {
 public:
  SlotPromise(int& reserved, int n) : reserved_(reserved), n_(n) { reserved_ += n_; }
  ~SlotPromise() { release(); }
  SlotPromise(const SlotPromise&) = delete;
  SlotPromise& operator=(const SlotPromise&) = delete;
  void release() {
    reserved_ -= n_;
    n_ = 0;
  }

 private:
  int& reserved_;
  int n_;
};

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

class Worker::Impl {
 public:
  Impl(WorkerOptions options, std::vector<Workflow> workflows)
      : options_(std::move(options)),
        workflows_(std::move(workflows)),
        io_(std::make_shared<asio::io_context>(1)),
        redis_config_(redis::Config::from_url(options_.redis_url)),
        main_(io_->get_executor(), redis_config_),
        blocking_(io_->get_executor(), redis_config_),
        keys_(options_.key_prefix, options_.partitions),
        slot_signal_(*io_) {
    if (options_.id.empty()) options_.id = default_worker_id();
    if (!is_valid_name(options_.id)) {
      throw std::invalid_argument("invalid worker id " + engine::quote(options_.id, 80) +
                                  " (use 1-64 of A-Z a-z 0-9 _ -)");
    }
    if (options_.concurrency < 1 || options_.concurrency > 10000) {
      throw std::invalid_argument("concurrency must be in 1..10000");
    }
    if (workflows_.empty()) throw std::invalid_argument("a worker needs at least one workflow");
    std::set<std::string> names;
    for (const Workflow& w : workflows_) {
      if (!names.insert(w.name()).second) {
        throw std::invalid_argument("workflow '" + w.name() + "' is defined twice");
      }
    }
    std::set<std::string> queues(options_.queues.begin(), options_.queues.end());
    if (queues.empty()) {
      for (const Workflow& w : workflows_) {
        for (const StepDefinition& s : w.steps()) queues.insert(s.options.queue);
      }
    }
    for (const std::string& q : queues) {
      if (!is_valid_name(q)) throw std::invalid_argument("invalid queue name " + engine::quote(q, 80));
    }
    // The shortest lease of any step sets the renewal pace; per queue, the
    // shortest lease of its steps is how idle an entry must be to be reclaimed.
    milliseconds shortest = milliseconds::max();
    for (const std::string& q : queues) {
      milliseconds q_lease = milliseconds::max();
      for (const Workflow& w : workflows_) {
        for (const StepDefinition& s : w.steps()) {
          if (s.options.queue == q) q_lease = std::min(q_lease, s.options.lease);
        }
      }
      if (q_lease == milliseconds::max()) q_lease = milliseconds(30000);
      shortest = std::min(shortest, q_lease);
      for (int p = 0; p < keys_.partitions(); ++p) {
        streams_.push_back(Stream{p, q, keys_.queue(p, q), q_lease});
      }
    }
    // Renewals also bring the runs' cancel flags: at least once a second, so a
    // cancelled run's handler hears of it promptly even under a long lease.
    renew_interval_ = std::clamp(shortest / 3, milliseconds(20), milliseconds(1000));
    limiter_hold_ = milliseconds(1000);
    for (const Workflow& w : workflows_) {
      for (const StepDefinition& st : w.steps()) {
        if (!st.options.limit.name.empty()) limiter_hold_ = std::max(limiter_hold_, st.options.lease);
      }
    }
    reclaim_interval_ = std::clamp(shortest / 2, milliseconds(50), milliseconds(1000));
    store_ = std::make_unique<store::Store>(main_, keys_, options_.id);
    for (const LimitSpec& l : options_.limits) {
      if (!is_valid_name(l.name)) throw std::invalid_argument("invalid limiter name " + engine::quote(l.name, 80));
      limiters_[l.name] = std::make_unique<store::Limiter>(main_, keys_, l);
    }
    for (const Workflow& w : workflows_) {
      for (const StepDefinition& st : w.steps()) {
        const std::string& lim = st.options.limit.name;
        if (!lim.empty() && limiters_.count(lim) == 0) {
          throw std::invalid_argument("workflow '" + w.name() + "' step '" + st.name +
                                      "' uses the undeclared limiter " + engine::quote(lim, 80));
        }
        if (!st.options.limit.tokens_template.empty()) {
          try {
            token_estimates_[&st] = engine::Template::parse(st.options.limit.tokens_template);
          } catch (const engine::TemplateSyntaxError& e) {
            throw std::invalid_argument("workflow '" + w.name() + "' step '" + st.name +
                                        "': limit tokens: " + e.what());
          }
        }
      }
    }
    blocking_config_ = redis_config_;
  }

  int run() {
    pool_ = std::make_unique<worker::ThreadPool>(options_.concurrency);
    std::unique_ptr<asio::signal_set> signals;
    if (options_.handle_signals) {
      signals = std::make_unique<asio::signal_set>(*io_, SIGTERM, SIGINT);
      signals->async_wait([this](boost::system::error_code ec, int sig) {
        if (ec) return;
        spdlog::info("worker {}: signal {}, draining (up to {} ms)", options_.id, sig,
                     options_.drain_timeout.count());
        begin_drain();
      });
    }
    asio::co_spawn(*io_, main_loop(), [this](std::exception_ptr e) {
      if (e) fatal_ = e;
      io_->stop();
    });
    io_->run();
    if (signals) signals->cancel();
    pool_->shutdown(milliseconds(200));
    if (fatal_) std::rethrow_exception(fatal_);
    return 0;
  }

  void stop() {
    asio::post(*io_, [this] { begin_drain(); });
  }

  WorkerStats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }
  const std::string& id() const noexcept { return options_.id; }

 private:
  struct Stream {
    int partition;
    std::string queue;
    std::string key;
    milliseconds min_lease;
  };

  // A claimed step from its claim until its outcome is applied and its handler returned.
  struct Inflight {
    store::StartItem item;
    const Workflow* workflow = nullptr;
    int step_index = 0;
    int attempt = 0;      // attempts of this step so far, this claim included
    int budget_from = 0;  // attempts spent before a replay; max_attempts counts from here
    std::shared_ptr<StepContext> ctx;
    std::unique_ptr<asio::steady_timer> timeout;
    Clock::time_point renewed_at;
    Clock::time_point started_at;  // when the handler was handed to the pool
    bool lease_lost = false;
    bool cancel_requested = false;
    store::Limiter* limiter = nullptr;  // set once admitted: the slot to release
    std::string limit_holder;
    std::int64_t limit_cost = 0;
    bool settled = false;       // a transition was decided
    bool applied = false;       // ...and written (or refused)
    bool handler_done = false;
  };

  static std::string key_of(const store::Token& t) {
    return std::to_string(t.partition) + "/" + t.queue + "/" + t.entry_id;
  }

  void bump(std::uint64_t WorkerStats::*field, std::uint64_t n = 1) {
    std::lock_guard lock(stats_mu_);
    stats_.*field += n;
  }

  // Slots free for new claims: the concurrency minus the claimed steps not
  // finished yet (running, or waiting for their claim or for admission) and
  // the slots promised to a read in flight. A finished step whose outcome is
  // still being written holds no slot, so the refill overlaps the write (for
  // 50 ms steps at concurrency 200 this was 86% of the ideal rate against
  // 9x%); at most `concurrency` outcomes may wait so, so a Redis slow to take
  // writes also stops the fetching.
  int free_slots() const {
    int unfinished = 0;
    for (const auto& [key, s] : inflight_) unfinished += s.handler_done ? 0 : 1;
    const int by_running = options_.concurrency - unfinished - reserved_;
    const int by_total = 2 * options_.concurrency - static_cast<int>(inflight_.size()) - reserved_;
    return std::min(by_running, by_total);
  }

  const Workflow* find_workflow(const std::string& name) const {
    for (const Workflow& w : workflows_) {
      if (w.name() == name) return &w;
    }
    return nullptr;
  }

  // Connects, checks the settings, takes the id, registers the workflows and
  // makes the consumer groups. Every step is idempotent, so while Redis is
  // unreachable or not ready (loading, out of memory) the whole sequence is
  // retried with a log line; other errors (auth, an evicting Redis, an id in
  // use) stop the worker. False if a signal came first.
  asio::awaitable<bool> start_up() {
    milliseconds pause{100};
    for (;;) {
      std::string error;
      try {
        co_await main_.wait_connected(milliseconds(2000));
        co_await store::ensure_config(main_, keys_);
        const auto settings = co_await store::read_redis_settings(main_);
        for (const std::string& w : store::durability_warnings(settings, options_.allow_eviction)) {
          spdlog::warn("worker {}: {}", options_.id, w);
        }
        if (!registration_) registration_ = std::make_unique<worker::Registration>(main_, keys_, options_.id);
        co_await registration_->acquire(options_.concurrency, queue_names());
        for (const Workflow& w : workflows_) {
          co_await store_->register_workflow(w.name(), store::definition_of(w, options_.max_backlog));
        }
        for (const Stream& s : streams_) co_await store_->ensure_group(s.partition, s.queue);
        co_return true;
      } catch (const redis::ServerError& e) {
        if (!e.transient()) throw;
        error = e.what();
      } catch (const redis::IoError& e) {
        error = e.what();
      }
      if (draining_) co_return false;
      spdlog::warn("worker {}: waiting for Redis at {}: {}; retrying in {} ms", options_.id,
                   redis_config_.redacted_url(), error, pause.count());
      co_await sleep_for(pause);
      if (draining_) co_return false;
      pause = std::min(pause * 2, milliseconds(2000));
    }
  }

  asio::awaitable<void> main_loop() {
    if (!co_await start_up()) co_return;
    spdlog::info("worker {}: serving {} queue stream(s) with concurrency {}", options_.id,
                 streams_.size(), options_.concurrency);
    try {
      co_await take_back_own_entries();
    } catch (const redis::ServerError& e) {
      // A failover or an outage right after start-up: the reclaimer takes
      // them back after their lease.
      if (!e.transient()) throw;
      outage("taking back own entries").failed(e.what());
    } catch (const redis::IoError& e) {
      outage("taking back own entries").failed(e.what());
    }

    auto ex = co_await asio::this_coro::executor;
    auto on_loop_end = [this](std::exception_ptr e) {
      if (e && !stopping_) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex2) {
          spdlog::error("worker {}: {}", options_.id, ex2.what());
        }
        if (!fatal_) fatal_ = e;
        begin_drain();
      }
    };
    asio::co_spawn(ex, fetch_loop(), on_loop_end);
    asio::co_spawn(ex, renew_loop(), on_loop_end);
    asio::co_spawn(ex, promote_loop(), on_loop_end);
    asio::co_spawn(ex, heartbeat_loop(), on_loop_end);
    asio::co_spawn(ex, counters_loop(), on_loop_end);
    co_await drain_done();
  }

  std::vector<std::string> queue_names() const {
    std::set<std::string> q;
    for (const Stream& s : streams_) q.insert(s.queue);
    return {q.begin(), q.end()};
  }

  // A restarted worker (same id) re-reads its own pending entries at once
  // instead of waiting a lease for a reclaimer.
  asio::awaitable<void> take_back_own_entries() {
    for (const Stream& s : streams_) {
      if (free_slots() <= 0) break;
      redis::Reply r = co_await main_.command("XREADGROUP", "GROUP", store::kGroup, options_.id,
                                              "COUNT", free_slots(), "STREAMS", s.key, "0");
      if (r.is_nil() || r.size() == 0) continue;
      std::vector<store::StartItem> items;
      for (const redis::Reply& e : r[0][1].elements()) {
        if (!e[1].is_array()) continue;  // payload deleted: the reclaimer dead-letters it
        items.push_back(to_item(s, e, /*deliveries=*/0));
      }
      if (!items.empty()) {
        spdlog::info("worker {}: taking back {} entries it held before a restart", options_.id,
                     items.size());
        co_await handle_claims(s, std::move(items));
      }
    }
  }

  static store::StartItem to_item(const Stream& s, const redis::Reply& entry, long long deliveries) {
    store::StartItem it;
    it.token = store::Token{s.partition, s.queue, std::string(entry[0].str()), deliveries};
    const redis::Reply& fields = entry[1];
    for (std::size_t k = 0; k + 1 < fields.size(); k += 2) {
      if (fields[k].str() == "r") it.run_id = std::string(fields[k + 1].str());
      if (fields[k].str() == "s") it.step = std::string(fields[k + 1].str());
    }
    return it;
  }

  // Pull backpressure: read at most as many entries as there are free slots.
  // The same loop runs the reclaimer between two reads, every reclaim
  // interval: a blocked read holds its free slots promised, so a reclaimer of
  // its own would find none free while the worker waits for work, and the
  // entries of a dead worker would never be taken over.
  asio::awaitable<void> fetch_loop() {
    constexpr milliseconds kBlock{1000};
    std::size_t rotate = 0;
    auto next_reclaim = Clock::now() + reclaim_interval_;
    while (!draining_) {
      if (Clock::now() >= next_reclaim) {
        co_await reclaim_pass();
        next_reclaim = Clock::now() + reclaim_interval_;
        continue;
      }
      const int free = free_slots();
      if (free <= 0) {
        slot_signal_.expires_at(Clock::time_point::max());
        co_await slot_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      // COUNT applies per stream: split the free slots so the total never exceeds them.
      std::vector<const Stream*> chosen;
      const std::size_t n = streams_.size();
      const std::size_t take = std::min<std::size_t>(n, static_cast<std::size_t>(free));
      for (std::size_t i = 0; i < take; ++i) chosen.push_back(&streams_[(rotate + i) % n]);
      rotate += take;
      const int count = free / static_cast<int>(take);
      // Block no longer than until the next reclaim pass is due.
      const milliseconds block = std::clamp(
          std::chrono::duration_cast<milliseconds>(next_reclaim - Clock::now()), milliseconds(1), kBlock);
      std::vector<std::string> argv{"XREADGROUP", "GROUP", std::string(store::kGroup), options_.id,
                                    "COUNT", std::to_string(count), "BLOCK",
                                    std::to_string(block.count()), "STREAMS"};
      for (const Stream* s : chosen) argv.push_back(s->key);
      for (std::size_t i = 0; i < chosen.size(); ++i) argv.emplace_back(">");
      redis::Pipeline p;
      p.add_argv(std::span<const std::string>(argv));
      redis::Reply reply;
      bool failed = false;
      // The slots asked for are promised to this read until it returns, so a
      // reclaim meanwhile cannot take them too (invariant 6).
      const int promised = count * static_cast<int>(chosen.size());
      SlotPromise promise(reserved_, promised);
      try {
        reply = co_await blocking_.exec_one(std::move(p), {block + milliseconds(5000)});
      } catch (const redis::ServerError& e) {
        if (is_no_group(e)) std::rethrow_exception(group_missing(e));
        if (!e.transient()) throw;  // UNBLOCKED, READONLY (a demotion), LOADING, ... are waited out
        if (draining_) break;
        outage("fetch").failed(e.what());
        failed = true;
      } catch (const redis::Error& e) {
        if (draining_) break;
        outage("fetch").failed(e.what());
        failed = true;
      }
      if (failed) {
        co_await sleep_for(milliseconds(200));
        continue;
      }
      outage("fetch").succeeded();
      promise.release();
      if (reply.is_nil()) continue;
      for (const redis::Reply& stream : reply.elements()) {
        const Stream* s = stream_by_key(stream[0].str());
        if (s == nullptr) continue;
        std::vector<store::StartItem> items;
        for (const redis::Reply& e : stream[1].elements()) items.push_back(to_item(*s, e, 1));
        co_await handle_claims(*s, std::move(items));
      }
    }
  }

  static bool is_no_group(const redis::ServerError& e) {
    return std::string_view(e.what()).find("NOGROUP") != std::string_view::npos;
  }

  // Invariant 8: a missing group is never re-created here (at `$` it would
  // skip every entry written meanwhile; at 0 it would hide a data loss).
  static std::exception_ptr group_missing(const redis::ServerError& e) {
    return std::make_exception_ptr(std::runtime_error(
        std::string("consumer group missing: ") + e.what() +
        " — the queue was deleted or Redis lost its data; refusing to recreate it "
        "(start the worker again once the cause is understood)"));
  }

  const Stream* stream_by_key(std::string_view key) const {
    for (const Stream& s : streams_) {
      if (s.key == key) return &s;
    }
    return nullptr;
  }

  asio::awaitable<void> handle_claims(const Stream& s, std::vector<store::StartItem> items) {
    if (items.empty()) co_return;
    // Reserve the slots before the round trip so no other claim overbooks them.
    for (const auto& it : items) inflight_[key_of(it.token)].item = it;
    std::optional<std::vector<store::Started>> started_or = co_await start_claims(s, items);
    if (!started_or) {
      // Draining: the entries stay in our PEL; a reclaimer takes them after the lease.
      forget_claims(items);
      co_return;
    }
    const std::vector<store::Started>& started = *started_or;
    std::vector<store::Transition> now;
    std::vector<std::string> now_keys;
    for (std::size_t i = 0; i < items.size(); ++i) {
      store::StartItem item = items[i];
      const std::string key = key_of(item.token);
      const store::Started& st = started[i];
      if (st.state != store::Started::State::ok) {
        inflight_.erase(key);
        continue;
      }
      item.token.deliveries = st.deliveries;
      const store::Fields& f = st.run;
      auto field = [&](const char* k) {
        auto it = f.find(k);
        return it == f.end() ? std::string() : it->second;
      };
      const int attempt = std::atoi(field("base").c_str()) + static_cast<int>(st.deliveries);
      const int budget_from = std::atoi(field(("s." + item.step + ".budget_from").c_str()).c_str());
      const Workflow* wf = find_workflow(field("workflow"));
      const int index = wf != nullptr ? wf->index_of(item.step) : -1;
      Inflight& slot = inflight_[key];
      slot.item = item;
      slot.attempt = attempt;
      slot.budget_from = budget_from;
      slot.renewed_at = Clock::now();
      store::Transition t;
      t.token = item.token;
      t.run_id = item.run_id;
      t.step = item.step;
      t.attempts = attempt;
      if (index < 0) {
        t.action = engine::Action::dead_letter;
        t.error = "worker " + options_.id + " has no handler for workflow '" + field("workflow") +
                  "' step '" + item.step + "'";
      } else {
        const StepOptions& o = wf->steps()[static_cast<std::size_t>(index)].options;
        auto status = engine::parse_run_status(field("status")).value_or(engine::RunStatus::queued);
        engine::Decision d = engine::decide_on_claim(attempt - budget_from, o.retry.max_attempts, status,
                                                     field("cancel") == "1");
        if (d.action == engine::Action::execute) {
          slot.workflow = wf;
          slot.step_index = index;
          if (o.limit.name.empty()) {
            launch(key, f);
          } else {
            asio::co_spawn(*io_, admit_then_launch(key, f), [this](std::exception_ptr e) {
              if (e) log_background_error("admission", e);
            });
          }
          continue;
        }
        t.action = d.action;
        t.attempts = (d.attempts > 0 ? d.attempts : attempt - budget_from) + budget_from;
        t.error = d.reason;
      }
      slot.settled = true;
      slot.handler_done = true;
      now.push_back(std::move(t));
      now_keys.push_back(key);
    }
    for (std::size_t i = 0; i < now.size(); ++i) queue_transition(now_keys[i], std::move(now[i]));
  }

  // start.lua for claimed entries. While Redis is unreachable or refuses
  // writes (OOM, loading), it is retried with the same tokens, renewed
  // meanwhile by renew_loop: leaving the entries to a reclaimer would spend an
  // attempt per lease of outage. A retry sends deliveries 0, so start.lua
  // checks in the PEL that the entries are still ours (the first call may
  // have run, or another worker may have reclaimed them meanwhile). nullopt
  // when draining; other errors are thrown, the claims forgotten.
  asio::awaitable<std::optional<std::vector<store::Started>>> start_claims(
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
        forget_claims(items);
        std::rethrow_exception(fatal);
      }
      if (draining_) co_return std::nullopt;
      outage("starting claimed steps").failed(error);
      for (store::StartItem& it : ask) it.token.deliveries = 0;
      co_await sleep_for(pause);
    }
  }

  // Claims given up before their start: the entries stay in our PEL, and a
  // reclaimer (maybe us) takes them after the lease.
  void forget_claims(const std::vector<store::StartItem>& items) {
    for (const auto& it : items) inflight_.erase(key_of(it.token));
    slot_freed();
  }

  // The rate-limited warnings of a loop retrying Redis ("fetch", "heartbeat", ...).
  worker::OutageLog& outage(const std::string& what) {
    auto it = outages_.find(what);
    if (it == outages_.end()) {
      it = outages_.emplace(what, worker::OutageLog("worker " + options_.id + ": " + what)).first;
    }
    return it->second;
  }

  void log_background_error(const char* what, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::warn("worker {}: {} failed: {}", options_.id, what, ex.what());
    }
  }

  // Waits for the step's limiter to admit it. The step keeps its lease (it is
  // in flight and renewed) and no attempt is spent while it waits.
  asio::awaitable<void> admit_then_launch(std::string key, store::Fields f) {
    for (;;) {
      auto it = inflight_.find(key);
      if (it == inflight_.end()) co_return;
      Inflight& s = it->second;
      const StepOptions& o = s.workflow->steps()[static_cast<std::size_t>(s.step_index)].options;
      if (s.lease_lost || s.cancel_requested || draining_) {
        engine::AttemptReport rep;
        rep.end = s.lease_lost ? engine::AttemptEnd::lease_lost : engine::AttemptEnd::interrupted;
        rep.attempt = s.attempt - s.budget_from;
        rep.cancel_requested = s.cancel_requested;
        s.handler_done = true;
        settle(key, engine::decide_after_attempt(rep, o.retry, 0.0), nullptr);
        co_return;
      }
      store::Limiter& limiter = *limiters_.at(o.limit.name);
      const std::string holder = options_.id + ":" + s.item.token.entry_id;
      const std::int64_t cost = token_cost(s, f);
      store::Limiter::Admission a;
      bool asked = true;
      try {
        a = co_await limiter.try_acquire(cost, holder, limiter_hold_);
      } catch (const redis::Error& e) {
        spdlog::warn("worker {}: limiter {} unreachable: {}", options_.id, o.limit.name, e.what());
        asked = false;
      }
      it = inflight_.find(key);
      if (it == inflight_.end()) co_return;
      if (asked && a.admitted) {
        it->second.limiter = &limiter;
        it->second.limit_holder = holder;
        it->second.limit_cost = cost;
        launch(key, f);
        co_return;
      }
      if (asked) bump(&WorkerStats::limiter_waits);
      co_await sleep_for(asked ? std::clamp(a.wait, milliseconds(1), milliseconds(1000))
                               : milliseconds(200));
    }
  }

  // Frees the step's limiter slot once its handler is really done, reconciling
  // the token estimate with the usage the output reports.
  void release_limit(Inflight& s, const Json* output) {
    if (s.limiter == nullptr) return;
    const StepOptions& o = s.workflow->steps()[static_cast<std::size_t>(s.step_index)].options;
    std::int64_t adjust = 0;
    if (output != nullptr && !o.limit.usage_pointer.empty()) {
      try {
        const Json& used = output->at(Json::json_pointer(o.limit.usage_pointer));
        if (used.is_number()) adjust = s.limit_cost - used.get<std::int64_t>();
      } catch (const Json::exception&) {
        spdlog::warn("worker {}: run {} step {}: no usage at {} in the output; not reconciled",
                     options_.id, s.item.run_id, s.item.step, o.limit.usage_pointer);
      }
    }
    store::Limiter* limiter = s.limiter;
    s.limiter = nullptr;
    asio::co_spawn(*io_, limiter->release(s.limit_holder, adjust), [this](std::exception_ptr e) {
      if (e) log_background_error("limiter release", e);
    });
  }

  // The run's input and the outputs of the steps before `step_index`.
  static std::pair<Json, std::map<std::string, Json>> run_data(const Workflow& wf, int step_index,
                                                               const store::Fields& f) {
    std::map<std::string, Json> outputs;
    for (int i = 0; i < step_index; ++i) {
      const std::string& name = wf.steps()[static_cast<std::size_t>(i)].name;
      auto it = f.find("s." + name + ".output");
      if (it != f.end()) outputs.emplace(name, parse_json(it->second));
    }
    auto input_it = f.find("input");
    return {input_it == f.end() ? Json() : parse_json(input_it->second), std::move(outputs)};
  }

  // The attempt's token cost: the fixed number, or the template evaluated on the run.
  std::int64_t token_cost(const Inflight& s, const store::Fields& f) const {
    const StepDefinition& step = s.workflow->steps()[static_cast<std::size_t>(s.step_index)];
    auto t = token_estimates_.find(&step);
    if (t == token_estimates_.end()) return step.options.limit.tokens;
    auto [input, outputs] = run_data(*s.workflow, s.step_index, f);
    engine::Redactor unused;
    try {
      Json v = t->second.render_value(engine::TemplateContext(input, outputs), unused);
      if (v.is_number()) return std::max<std::int64_t>(0, static_cast<std::int64_t>(v.get<double>()));
      if (v.is_string()) return std::max<std::int64_t>(0, std::atoll(v.get<std::string>().c_str()));
    } catch (const std::exception& e) {
      spdlog::warn("worker {}: run {} step {}: token estimate failed ({}); using {}", options_.id,
                   s.item.run_id, s.item.step, e.what(), step.options.limit.tokens);
    }
    return step.options.limit.tokens;
  }

  void launch(const std::string& key, const store::Fields& f) {
    Inflight& slot = inflight_.at(key);
    const Workflow& wf = *slot.workflow;
    const StepDefinition& step = wf.steps()[static_cast<std::size_t>(slot.step_index)];
    auto [input, outputs] = run_data(wf, slot.step_index, f);
    slot.ctx = std::make_shared<StepContext>(slot.item.run_id, wf.name(), step.name, slot.attempt,
                                             std::move(input), std::move(outputs));
    if (step.options.timeout.count() > 0) {
      slot.timeout = std::make_unique<asio::steady_timer>(*io_, step.options.timeout);
      slot.timeout->async_wait([this, key](boost::system::error_code ec) {
        if (!ec) on_timeout(key);
      });
    }
    bump(&WorkerStats::started);
    slot.started_at = Clock::now();
    if (step.options.nonblocking) {
      // On the event loop, after the claims being handled now: the outcomes of
      // one batch still reach Redis together.
      asio::post(*io_, [this, key, ctx = slot.ctx, handler = step.handler] {
        StepResult result = run_handler(handler, *ctx);
        on_finished(key, std::move(result));
      });
      return;
    }
    auto io = io_;
    pool_->post([this, io, key, ctx = slot.ctx, handler = step.handler] {
      StepResult result = run_handler(handler, *ctx);
      asio::post(*io, [this, key, r = std::move(result)]() mutable { on_finished(key, std::move(r)); });
    });
  }

  // A handler's exception is a retryable failure, never the worker's end.
  static StepResult run_handler(const StepHandler& handler, StepContext& ctx) {
    try {
      return handler(ctx);
    } catch (const std::exception& e) {
      return StepError::retryable(std::string("handler threw: ") + e.what());
    } catch (...) {
      return StepError::retryable("handler threw a non-std exception");
    }
  }

  void on_timeout(const std::string& key) {
    auto it = inflight_.find(key);
    if (it == inflight_.end() || it->second.settled) return;
    Inflight& s = it->second;
    s.ctx->request_cancel();
    const StepOptions& o = s.workflow->steps()[static_cast<std::size_t>(s.step_index)].options;
    spdlog::warn("worker {}: run {} step {} attempt {} timed out after {} ms", options_.id,
                 s.item.run_id, s.item.step, s.attempt, o.timeout.count());
    engine::AttemptReport rep;
    rep.end = s.lease_lost ? engine::AttemptEnd::lease_lost : engine::AttemptEnd::timed_out;
    rep.attempt = s.attempt - s.budget_from;
    rep.cancel_requested = s.cancel_requested;
    rep.is_last_step = s.step_index + 1 == static_cast<int>(s.workflow->steps().size());
    settle(key, engine::decide_after_attempt(
                    rep, o.retry, jitter_unit(),
                    "timed out after " + std::to_string(o.timeout.count()) + " ms"),
           nullptr);
    bump(&WorkerStats::failed);
  }

  void on_finished(const std::string& key, StepResult result) {
    auto it = inflight_.find(key);
    if (it == inflight_.end()) return;
    Inflight& s = it->second;
    s.handler_done = true;
    slot_signal_.cancel();  // its slot is free (free_slots)
    if (s.timeout) s.timeout->cancel();
    release_limit(s, result.ok() ? &result.output() : nullptr);
    if (!result.ok() && result.error().kind() == StepError::Kind::rate_limited &&
        result.error().retry_after().count() > 0 && !s.lease_lost) {
      pause_limit(s, result.error().retry_after());
    }
    if (s.settled) {
      maybe_erase(key);
      return;
    }
    const StepOptions& o = s.workflow->steps()[static_cast<std::size_t>(s.step_index)].options;
    engine::AttemptReport rep;
    rep.attempt = s.attempt - s.budget_from;
    rep.cancel_requested = s.cancel_requested;
    rep.is_last_step = s.step_index + 1 == static_cast<int>(s.workflow->steps().size());
    std::string message;
    std::string output;  // the output as written to Redis, serialized once
    if (s.lease_lost) {
      rep.end = engine::AttemptEnd::lease_lost;
    } else if (draining_ && drain_expired_ && s.ctx->cancelled()) {
      rep.end = engine::AttemptEnd::interrupted;
    } else if (result.ok()) {
      rep.end = engine::AttemptEnd::succeeded;
      output = result.output().dump();
      if (output.size() > store::kMaxPayloadBytes) {
        rep.end = engine::AttemptEnd::fatal_error;
        message = "output exceeds the " + std::to_string(store::kMaxPayloadBytes) + "-byte limit";
      }
    } else {
      const StepError& e = result.error();
      message = e.message();
      switch (e.kind()) {
        case StepError::Kind::retryable:
          rep.end = engine::AttemptEnd::retryable_error;
          rep.retry_after = e.retry_after();  // a 503's Retry-After, say
          break;
        case StepError::Kind::fatal: rep.end = engine::AttemptEnd::fatal_error; break;
        case StepError::Kind::rate_limited:
          rep.end = engine::AttemptEnd::rate_limited;
          rep.retry_after = e.retry_after();
          break;
      }
    }
    bump(rep.end == engine::AttemptEnd::succeeded ? &WorkerStats::succeeded : &WorkerStats::failed);
    auto d = engine::decide_after_attempt(rep, o.retry, jitter_unit(), message);
    settle(key, std::move(d), rep.end == engine::AttemptEnd::succeeded ? &output : nullptr);
  }

  // Adaptive backpressure: the upstream's Retry-After pauses the step's limiter
  // for every worker.
  void pause_limit(const Inflight& s, milliseconds retry_after) {
    const StepOptions& o = s.workflow->steps()[static_cast<std::size_t>(s.step_index)].options;
    if (o.limit.name.empty()) return;
    bump(&WorkerStats::limiter_pauses);
    spdlog::info("worker {}: limiter {} paused for {} ms (upstream asked to retry later)",
                 options_.id, o.limit.name, retry_after.count());
    asio::co_spawn(*io_, limiters_.at(o.limit.name)->pause(retry_after), [this](std::exception_ptr e) {
      if (e) log_background_error("limiter pause", e);
    });
  }

  // output: the serialized output of a successful attempt (moved from), else nullptr.
  void settle(const std::string& key, engine::Decision d, std::string* output) {
    Inflight& s = inflight_.at(key);
    s.settled = true;
    if (d.action == engine::Action::abandon) {
      bump(&WorkerStats::stale);
      spdlog::warn("worker {}: lease of run {} step {} lost; its outcome is not written",
                   options_.id, s.item.run_id, s.item.step);
      s.applied = true;
      maybe_erase(key);
      return;
    }
    store::Transition t;
    t.token = s.item.token;
    t.run_id = s.item.run_id;
    t.step = s.item.step;
    t.action = d.action;
    t.attempts = d.attempts + s.budget_from;
    t.delay = d.delay;
    t.error = d.reason;
    if (output != nullptr) t.output = std::move(*output);
    t.workflow = s.workflow != nullptr ? s.workflow->name() : std::string();
    t.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - s.started_at);
    if (d.action == engine::Action::advance) {
      const StepDefinition& next = s.workflow->steps()[static_cast<std::size_t>(s.step_index) + 1];
      t.next_step = next.name;
      t.next_queue = next.options.queue;
    }
    if (d.action == engine::Action::release) bump(&WorkerStats::handed_back);
    queue_transition(key, std::move(t));
  }

  // Outcomes finished in the same event-loop turn go to Redis in one pipeline.
  void queue_transition(const std::string& key, store::Transition t) {
    outbox_.emplace_back(key, std::move(t));
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    asio::co_spawn(*io_, flush(), asio::detached);
  }

  asio::awaitable<void> flush() {
    milliseconds backoff{50};
    while (!outbox_.empty()) {
      auto batch = std::move(outbox_);
      outbox_.clear();
      // A step whose lease was lost while its outcome waited must not be written.
      std::erase_if(batch, [this](auto& kv) {
        auto it = inflight_.find(kv.first);
        if (it == inflight_.end() || !it->second.lease_lost) return false;
        it->second.applied = true;
        bump(&WorkerStats::stale);
        maybe_erase(kv.first);
        return true;
      });
      if (batch.empty()) break;
      std::vector<store::Transition> ts;
      ts.reserve(batch.size());
      for (auto& kv : batch) ts.push_back(kv.second);
      std::vector<store::Applied> results;
      bool written = true;
      try {
        results = co_await store_->apply(ts, options_.retention);
        outage("writing outcomes").succeeded();
      } catch (const std::exception& e) {
        // Not written (Redis away, or refusing writes while demoted): keep the
        // outcomes and try again while we hold the leases.
        outage("writing outcomes").failed(e.what());
        for (auto& kv : batch) outbox_.push_back(std::move(kv));
        written = false;
      }
      if (!written) {
        co_await sleep_for(backoff);
        backoff = std::min(backoff * 2, milliseconds(1000));
        continue;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (results[i] == store::Applied::ok) count_applied(batch[i].second);
        if (results[i] == store::Applied::stale) {
          bump(&WorkerStats::stale);
          spdlog::warn("worker {}: outcome of run {} step {} refused: stale lease", options_.id,
                       batch[i].second.run_id, batch[i].second.step);
        }
        auto it = inflight_.find(batch[i].first);
        if (it != inflight_.end()) {
          it->second.applied = true;
          maybe_erase(batch[i].first);
        }
      }
    }
    flush_scheduled_ = false;
  }

  // Step durations are counted here and added to Redis by counters_loop()
  // in one pipeline every kCounterFlush: a histogram for /metrics, not
  // state, so it stays out of the per-step script (a SIGKILLed worker loses
  // at most kCounterFlush of it; run states and run counters are exact).
  void count_applied(const store::Transition& t) {
    if (t.action != engine::Action::advance && t.action != engine::Action::complete_run) return;
    auto& c = counters_[t.token.partition];
    const std::string label = t.workflow + ":" + t.step;
    ++c["step_ms:" + label + ":" + store::duration_bucket(t.duration)];
    c["step_ms_sum:" + label] += t.duration.count();
  }

  asio::awaitable<void> flush_counters() {
    auto pending = std::move(counters_);
    counters_.clear();
    for (auto& [partition, deltas] : pending) {
      try {
        co_await store_->add_counters(partition, deltas);
        outage("adding counters").succeeded();
      } catch (const redis::Error& e) {
        outage("adding counters").failed(e.what());
        for (const auto& [field, n] : deltas) counters_[partition][field] += n;
      }
    }
  }

  asio::awaitable<void> counters_loop() {
    while (!stopping_) {
      co_await sleep_for(kCounterFlush);
      if (!counters_.empty()) co_await flush_counters();
    }
  }

  void maybe_erase(const std::string& key) {
    auto it = inflight_.find(key);
    if (it == inflight_.end()) return;
    if (it->second.applied && it->second.handler_done) {
      inflight_.erase(it);
      slot_freed();
    }
  }

  void slot_freed() {
    slot_signal_.cancel();
    if (draining_ && inflight_.empty() && drained_signal_) drained_signal_->cancel();
  }

  asio::awaitable<void> renew_loop() {
    while (!stopping_) {
      co_await sleep_for(renew_interval_);
      std::vector<store::StartItem> items;
      std::vector<std::string> keys;
      for (auto& [key, s] : inflight_) {
        if (s.applied || s.lease_lost || s.item.token.deliveries == 0) continue;
        items.push_back(s.item);
        keys.push_back(key);
      }
      if (items.empty()) continue;
      std::map<store::Limiter*, std::vector<std::string>> holders;
      for (const std::string& k : keys) {
        const Inflight& s = inflight_.at(k);
        if (s.limiter != nullptr) holders[s.limiter].push_back(s.limit_holder);
      }
      for (auto& [limiter, ids] : holders) {
        try {
          co_await limiter->renew(ids, limiter_hold_);
        } catch (const redis::Error& e) {
          spdlog::warn("worker {}: renewing limiter slots failed: {}", options_.id, e.what());
        }
      }
      try {
        auto results = co_await store_->renew(items);
        outage("lease renewal").succeeded();
        const auto now = Clock::now();
        for (std::size_t i = 0; i < items.size(); ++i) {
          auto it = inflight_.find(keys[i]);
          if (it == inflight_.end()) continue;
          Inflight& s = it->second;
          switch (results[i]) {
            case store::Store::Renewal::ok: s.renewed_at = now; break;
            case store::Store::Renewal::cancel:
              s.renewed_at = now;
              if (!s.cancel_requested) {
                s.cancel_requested = true;
                if (s.ctx) s.ctx->request_cancel();
              }
              break;
            case store::Store::Renewal::lost: lose_lease(s, "another worker owns it now"); break;
          }
        }
      } catch (const redis::Error& e) {
        outage("lease renewal").failed(e.what());
        // Self-fencing: past a full lease without a successful renewal, stop
        // writing for those steps — another worker may own them now.
        const auto now = Clock::now();
        for (const std::string& k : keys) {
          auto it = inflight_.find(k);
          if (it == inflight_.end()) continue;
          if (now - it->second.renewed_at > lease_of(it->second)) {
            lose_lease(it->second, std::string("renewal failing: ") + e.what());
          }
        }
      }
    }
  }

  milliseconds lease_of(const Inflight& s) const {
    if (s.workflow == nullptr) return milliseconds(30000);
    return s.workflow->steps()[static_cast<std::size_t>(s.step_index)].options.lease;
  }

  void lose_lease(Inflight& s, const std::string& why) {
    if (s.lease_lost) return;
    s.lease_lost = true;
    if (s.ctx) s.ctx->request_cancel();
    spdlog::warn("worker {}: lost the lease of run {} step {} ({})", options_.id, s.item.run_id,
                 s.item.step, why);
  }

  // One reclaimer pass over every stream (XAUTOCLAIM, looping on its cursor),
  // claiming at most the free slots. Runs in fetch_loop, between two reads,
  // so the two never compete for the same slots.
  asio::awaitable<void> reclaim_pass() {
    for (const Stream& s : streams_) {
      std::string cursor = "0-0";
      do {
        const int free = free_slots();
        if (free <= 0 || draining_) break;
        store::Reclaimed page;
        try {
          page = co_await store_->reclaim(s.partition, s.queue, s.min_lease, cursor, free);
        } catch (const redis::ServerError& e) {
          if (is_no_group(e)) std::rethrow_exception(group_missing(e));
          outage("reclaim").failed(e.what());
          break;
        } catch (const redis::Error& e) {
          outage("reclaim").failed(e.what());
          break;
        }
        outage("reclaim").succeeded();
        if (page.payload_lost > 0) {
          spdlog::error("worker {}: {} entries of {} lost their payload; moved to the dead-letter queue",
                        options_.id, page.payload_lost, s.key);
        }
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

  asio::awaitable<void> promote_loop() {
    while (!draining_) {
      long long next = -1;
      for (int p = 0; p < keys_.partitions(); ++p) {
        try {
          long long w = co_await store_->promote(p, 500);
          outage("promote").succeeded();
          if (w >= 0 && (next < 0 || w < next)) next = w;
        } catch (const redis::Error& e) {
          outage("promote").failed(e.what());
          next = 200;
        }
      }
      co_await sleep_for(milliseconds(next < 0 ? 100 : std::clamp<long long>(next, 1, 100)));
    }
  }

  asio::awaitable<void> heartbeat_loop() {
    while (!stopping_) {
      co_await sleep_for(worker::Registration::kBeatInterval);
      if (stopping_) break;
      try {
        co_await registration_->beat(static_cast<int>(inflight_.size()));
        outage("heartbeat").succeeded();
      } catch (const worker::RegistrationLost&) {
        throw;
      } catch (const redis::Error& e) {
        // Kept through an outage or a demotion: a lock that expired meanwhile
        // is taken again by the next beat (Registration::beat).
        outage("heartbeat").failed(e.what());
      }
    }
  }

  void begin_drain() {
    if (draining_) return;
    draining_ = true;
    blocking_.close();  // ends the blocked XREADGROUP at once
    slot_signal_.cancel();
    asio::co_spawn(*io_, drain(), asio::detached);
  }

  asio::awaitable<void> drain() {
    if (!inflight_.empty()) {
      drained_signal_ = std::make_unique<asio::steady_timer>(*io_, options_.drain_timeout);
      co_await drained_signal_->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    drain_expired_ = true;
    // Hand back what is still running so another worker takes it at once.
    std::vector<std::string> leftovers;
    for (auto& [key, s] : inflight_) {
      if (!s.settled && !s.lease_lost) leftovers.push_back(key);
    }
    for (const std::string& key : leftovers) {
      Inflight& s = inflight_.at(key);
      if (s.ctx) s.ctx->request_cancel();
      engine::AttemptReport rep;
      rep.end = engine::AttemptEnd::interrupted;
      rep.attempt = s.attempt - s.budget_from;
      engine::Decision d = engine::decide_after_attempt(rep, RetryPolicy{}, 0.0);
      s.handler_done = true;
      settle(key, d, nullptr);
    }
    if (!leftovers.empty()) {
      spdlog::info("worker {}: handed back {} running step(s)", options_.id, leftovers.size());
    }
    for (int i = 0; i < 100 && (flush_scheduled_ || !outbox_.empty()); ++i) {
      co_await sleep_for(milliseconds(20));
    }
    co_await flush_counters();
    stopping_ = true;
    if (registration_) {
      try {
        co_await registration_->release();
      } catch (const std::exception& e) {
        spdlog::warn("worker {}: deregistration failed: {}", options_.id, e.what());
      }
    }
    if (drain_waiter_) drain_waiter_->cancel();
  }

  asio::awaitable<void> drain_done() {
    drain_waiter_ = std::make_unique<asio::steady_timer>(*io_, Clock::time_point::max());
    while (!stopping_) co_await drain_waiter_->async_wait(asio::as_tuple(asio::use_awaitable));
  }

  WorkerOptions options_;
  std::vector<Workflow> workflows_;
  std::shared_ptr<asio::io_context> io_;
  redis::Config redis_config_;
  redis::Config blocking_config_;
  redis::Client main_;
  redis::Client blocking_;
  store::KeySpace keys_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<worker::Registration> registration_;
  std::unique_ptr<worker::ThreadPool> pool_;
  std::vector<Stream> streams_;
  std::map<std::string, Inflight> inflight_;
  std::vector<std::pair<std::string, store::Transition>> outbox_;
  std::map<int, std::map<std::string, std::int64_t>> counters_;  // by partition; see count_applied()
  static constexpr milliseconds kCounterFlush{50};
  asio::steady_timer slot_signal_;
  std::unique_ptr<asio::steady_timer> drained_signal_;
  std::unique_ptr<asio::steady_timer> drain_waiter_;
  std::map<std::string, std::unique_ptr<store::Limiter>> limiters_;
  std::map<std::string, worker::OutageLog> outages_;  // see outage()
  std::map<const StepDefinition*, engine::Template> token_estimates_;
  // Concurrency slots expire this long after their last renewal: the longest
  // lease of a limited step (at least 1 s).
  milliseconds limiter_hold_{};
  milliseconds renew_interval_{};
  milliseconds reclaim_interval_{};
  int reserved_ = 0;  // slots promised to a read in flight
  bool flush_scheduled_ = false;
  bool draining_ = false;
  bool drain_expired_ = false;
  bool stopping_ = false;
  std::exception_ptr fatal_;
  mutable std::mutex stats_mu_;
  WorkerStats stats_;
};

Worker::Worker(WorkerOptions options, std::vector<Workflow> workflows)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(workflows))) {}
Worker::~Worker() = default;
int Worker::run() { return impl_->run(); }
void Worker::stop() { impl_->stop(); }
WorkerStats Worker::stats() const { return impl_->stats(); }
const std::string& Worker::id() const noexcept { return impl_->id(); }

}  // namespace steadfast
