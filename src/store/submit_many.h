// Submitting runs: one run (Store::submit) or many at once (submit_many). Both
// go through submit.lua, one call per partition and chunk of runs, so a batch
// costs the script's fixed work once per chunk rather than once per run.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store.h"

namespace steadfast::store {

// Runs per submit.lua call at most: bounds how long one call holds Redis
// (about 5 µs of Redis CPU per run: a chunk of 200 takes about 1 ms).
inline constexpr std::size_t kSubmitChunk = 200;

// What became of one request of a batch. Every request is answered, each on
// its own: a refused one writes nothing, and never affects the others.
struct SubmitOutcome {
  enum class State {
    created,   // a new run: run_id, run_at_ms (0 = queued at once)
    repeated,  // its idempotency key was used with the same request: run_id is that run
    conflict,  // its idempotency key was used with another request: run_id is that run
    backlog_full,         // the first queue holds max_backlog entries or more: detail
    run_at_out_of_range,  // run_at too far in the past or the future (Redis time): detail
  };
  State state = State::created;
  std::string run_id;
  std::int64_t run_at_ms = 0;
  std::string detail;
};

// Thrown by submit_many (and Store::submit, for a created or repeated run)
// when the store waits for replicas (Store::set_replica_wait) and fewer
// acknowledged the batch's writes within the timeout. The runs are on the
// primary — outcomes() says which, as submit_many would have returned them —
// but a failover now could lose them: retry with the same idempotency keys.
class NotReplicated : public std::runtime_error {
 public:
  NotReplicated(std::vector<SubmitOutcome> outcomes, int acked, int wanted)
      : std::runtime_error("the runs were written, but only " + std::to_string(acked) + " of " +
                           std::to_string(wanted) + " replicas acknowledged them in time"),
        outcomes_(std::move(outcomes)),
        acked_(acked),
        wanted_(wanted) {}
  [[nodiscard]] const std::vector<SubmitOutcome>& outcomes() const noexcept { return outcomes_; }
  [[nodiscard]] int acked() const noexcept { return acked_; }
  [[nodiscard]] int wanted() const noexcept { return wanted_; }

 private:
  std::vector<SubmitOutcome> outcomes_;
  int acked_;
  int wanted_;
};

// Submits every request (each checked by its caller as for Store::submit;
// any workflows, in any mix). Outcomes in request order. The calls of
// different partitions and chunks go out in one pipeline: a connection lost
// mid-way throws, and then some runs may exist (a request with an
// idempotency key can be repeated safely). With a replica wait, the
// pipeline ends with WAIT (the same connection, so it covers these writes)
// and NotReplicated is thrown when too few replicas answered in time.
boost::asio::awaitable<std::vector<SubmitOutcome>> submit_many(Store& store, std::span<const SubmitRequest> requests);

}  // namespace steadfast::store
