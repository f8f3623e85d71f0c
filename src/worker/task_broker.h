// Where `serve`'s task worker (a Worker serving the task queues, with
// WorkerOptions::tasks set) meets the external workers' long polls
// (POST /v1/worker/claim; docs/worker-protocol.md).
//
// The worker claims a task step only while some claim waits for its queue
// (room()), runs its `if` and its limiters as for any step, then offers it
// here. A waiting claim takes the offers that match its queues and tasks,
// moves each claim to its external worker in Redis (handover.lua), and
// reports back through resolve(): taken (the worker forgets the step) or
// lost. An offer no claim takes within kOfferPatience is handed back
// (expire_stale), spending no attempt.
//
// Thread-safety: every member may be called from any thread. Callbacks
// (the worker's listener, a waiter's wake) are called with no lock held and
// must only post to their own executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "steadfast/json.h"
#include "store/store.h"

namespace steadfast {

// A limiter slot a task step holds from its admission until its outcome.
struct HeldLimit {
  std::string limiter;
  std::string key;   // the keyed limiter's key ('' for a plain one)
  std::int64_t cost = 0;  // the tokens taken (the estimate)
};

// A claimed task step, admitted and ready for an external worker.
struct TaskOffer {
  std::string key;       // the offering worker's in-flight key
  store::Token token;    // the claim (deliveries filled)
  std::string consumer;  // the offering worker's consumer name (the PEL owner now)
  std::string run_id;
  std::string workflow;
  std::string step;      // as in the stream: "summarize" or a map item "summarize[3]"
  std::string task;
  int attempt = 1;
  // What an outcome's decision needs of the claim (engine::ClaimFacts).
  int budget_from = 0;
  int rate_limited = 0;
  std::int64_t waited_ms = 0;
  bool graph = false;           // a graph run's node
  std::int64_t item_index = -1;  // a map item's index, or -1
  Json input;
  Json outputs;  // object: step name -> output
  Json item;     // a map item's value, else null
  std::int64_t lease_ms = 0;
  std::int64_t timeout_ms = 0;  // 0 = none
  std::string limit_holder;     // the holder id of `limits`
  std::vector<HeldLimit> limits;
  std::chrono::steady_clock::time_point offered_at{};
};

class TaskBroker {
 public:
  // How long an offer waits for a claim that takes it before it is handed back.
  static constexpr std::chrono::milliseconds kOfferPatience{2000};
  // A queue claimed from within this long is being polled: the task worker
  // keeps up to the last claim's `max` offers ready ahead of the next claim
  // (a claim then takes them without waiting for Redis). Offers no claim
  // takes are handed back after kOfferPatience, spending no attempt.
  static constexpr std::chrono::milliseconds kPolledWithin{1000};

  enum class Resolution { taken, lost, not_taken };

  // The worker's side. `on_room`: a claim began waiting (the worker may read
  // more). `on_resolved(key, resolution)`: what became of an offer.
  void attach(std::function<void()> on_room, std::function<void(const std::string&, Resolution)> on_resolved);
  void detach();
  // Steps a worker may claim for `queue` now: what the waiting claims that
  // list it still want, plus the read-ahead of a polled queue (kPolledWithin),
  // minus the offers of that queue not taken yet.
  [[nodiscard]] int room(const std::string& queue,
                         std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const;
  void offer(TaskOffer offer);
  // Takes an offer back before a claim took it (its step was cancelled, its
  // lease lost, the drain ended): true when it was still here.
  bool withdraw(const std::string& key);
  // Offers older than kOfferPatience at `now`, withdrawn and reported not_taken.
  void expire_stale(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // The claims' side. A waiter lists what it takes; `wake` is called when
  // an offer it may take arrives (or the broker closes).
  struct Waiter {
    std::set<std::string> queues;
    std::set<std::string> tasks;
    int max = 1;
    std::function<void()> wake;
  };
  using WaiterHandle = std::list<Waiter>::iterator;
  WaiterHandle wait(Waiter w);
  void stop_waiting(WaiterHandle h);
  // Removes and returns up to `max` offers matching the waiter, oldest first.
  std::vector<TaskOffer> take(WaiterHandle h);
  // The taker's report once handover.lua answered (or failed).
  void resolve(const std::string& key, Resolution r);

 private:
  struct Polled {
    std::chrono::steady_clock::time_point at{};
    int max = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Polled> polled_;  // by queue: its last claim
  std::list<Waiter> waiters_;
  std::list<TaskOffer> offers_;
  std::function<void()> on_room_;
  std::function<void(const std::string&, Resolution)> on_resolved_;
};

}  // namespace steadfast
