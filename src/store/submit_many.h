// Submitting runs: one run (Store::submit) or many at once (submit_many). Both
// go through submit.lua, one call per partition and chunk of runs, so a batch
// costs the script's fixed work once per chunk rather than once per run.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
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

// Submits every request (each checked by its caller as for Store::submit;
// any workflows, in any mix). Outcomes in request order. The calls of
// different partitions and chunks go out in one pipeline: a connection lost
// mid-way throws, and then some runs may exist (a request with an
// idempotency key can be repeated safely).
boost::asio::awaitable<std::vector<SubmitOutcome>> submit_many(Store& store, std::span<const SubmitRequest> requests);

}  // namespace steadfast::store
