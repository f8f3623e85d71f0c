// Signals sent to runs (POST /v1/runs/{id}/signals/{name}, `steadfast
// signal`, Client::signal): signal.lua keeps the body in the run and queues
// the step parked on that name, if any; the step's claim takes it
// (worker/wait_step.cpp). Bounds below keep a run's hash small whatever its
// callers send.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "steadfast/json.h"
#include "store/store.h"

namespace steadfast::store {

// A signal's body, as compact JSON, is at most this long (HTTP 413 past it).
inline constexpr std::size_t kMaxSignalBytes = std::size_t{64} << 10;
// Signals kept in a run (sent, not yet taken by a wait) at most; a new name
// past it is refused. A kept name sent again replaces its body.
inline constexpr int kMaxKeptSignals = 100;
// Idempotency keys a run records at most (each signal sent with one).
inline constexpr int kMaxSignalKeys = 1000;

struct SignalRequest {
  std::string run_id;           // canonical (store::canonical_run_id)
  std::string name;             // ^[A-Za-z0-9_-]{1,64}$
  Json body;                    // becomes the waiting step's output
  std::string idempotency_key;  // empty = none; else store::is_valid_idempotency_key
};

struct SignalResult {
  enum class Outcome {
    delivered,       // a step parked on the name was queued: it completes with the body
    kept,            // nobody waits yet: the first wait on the name takes it
    repeat,          // the idempotency key was seen: nothing changed
    missing,         // no such run (never submitted, or expired)
    ended,           // the run ended (detail: its status)
    unknown_signal,  // no wait step of the run's workflow waits on the name (detail: its signals)
    full,            // a bound is reached (detail says which); nothing written
  } outcome = Outcome::missing;
  std::string detail;
};

// The signal names a registered definition's wait steps wait on (store/definition.h).
[[nodiscard]] std::vector<std::string> signals_of(const Json& definition);

// The signal a wait step of the run's workflow (as registered) waits on;
// "" when the step is no signal wait of it, nullopt when the run is gone.
asio::awaitable<std::optional<std::string>> signal_of_step(Store& store, const std::string& run_id,
                                                           const std::string& step);

// Sends one signal. Throws std::invalid_argument for a bad name, a body over
// kMaxSignalBytes or a bad idempotency key (nothing written);
// the name is checked against the run's workflow as registered in Redis
// (not checked when the workflow is not registered).
asio::awaitable<SignalResult> send_signal(Store& store, const SignalRequest& request);

}  // namespace steadfast::store
