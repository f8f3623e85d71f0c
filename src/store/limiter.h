// A limiter in Redis (see lua/limit_*.lua): admission through one or several
// limiters at once, release with token reconciliation, pause, and renewal of
// concurrency slots. A keyed limiter (LimitUse::key_template) has one
// instance per key value — its own bounds' state under its own keys, which
// expire once idle — and shares the limiter's pause.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "redis/client.h"
#include "steadfast/json.h"
#include "steadfast/workflow.h"
#include "store/keys.h"

namespace steadfast::store {

class Limiter {
 public:
  Limiter(redis::Client& client, const KeySpace& keys, LimitSpec spec);

  // The limiter itself (key empty) or one key's instance of it.
  struct Instance {
    std::string key;      // the key's value ("acme"); empty = the limiter itself
    std::string state;    // its hash
    std::string holders;  // its concurrency holders
  };
  [[nodiscard]] Instance instance(const std::string& key) const;
  // Where its keys' runtime overrides are kept (KeySpace::limit_overrides).
  [[nodiscard]] std::string overrides_key() const { return keys_.limit_overrides(spec_.name); }

  struct Admission {
    bool admitted = false;
    std::chrono::milliseconds wait{0};  // when refused: ask again after this
    std::string reason;                 // paused | requests | tokens | concurrency
    std::size_t which = 0;              // when refused: the request that asked for `wait`
    // reason "capacity": the cost is over that instance's bucket (this
    // size), so it could never be admitted; wait is 0.
    std::int64_t capacity = 0;
  };

  // Frees the holder's slot; adjust = estimated - actual tokens (0 = no reconciliation).
  // (Arguments by value: callers spawn it and let go of theirs.)
  boost::asio::awaitable<void> release(Instance at, std::string holder, std::int64_t adjust) const;
  // No admission through `at` until `for_ms` from now (Redis time), cut to
  // the spec's max_pause: an upstream (perhaps reached through run input)
  // cannot stop a shared limiter for longer. Pausing the limiter itself
  // pauses every key's instance.
  boost::asio::awaitable<void> pause(Instance at, std::chrono::milliseconds for_ms) const;
  // What pause(for_ms) really pauses for: for_ms within [0, max_pause].
  [[nodiscard]] std::chrono::milliseconds capped_pause(std::chrono::milliseconds for_ms) const noexcept;
  boost::asio::awaitable<void> renew(const Instance& at, const std::vector<std::string>& holders,
                                     std::chrono::milliseconds hold) const;

  [[nodiscard]] const LimitSpec& spec() const noexcept { return spec_; }
  // The bounds of an instance as the workflows file sets them: the spec,
  // with the key's file override laid over it. (An override set at run time
  // is applied by the scripts, over these.)
  [[nodiscard]] const LimitSpec& bounds(const Instance& at) const;
  // The token bucket's size: token_burst, or a tenth of a minute's tokens.
  // The most one attempt may be estimated at (a larger estimate fails it), and
  // the deepest debt a reconciliation may leave (see limit_release.lua).
  [[nodiscard]] std::int64_t token_capacity() const noexcept { return token_capacity(spec_); }
  [[nodiscard]] static std::int64_t token_capacity(const LimitSpec& bounds) noexcept;
  // How long a key's instance lives after its last use: long enough that
  // whatever it remembers (a bucket in debt, the request spacing, a pause,
  // held slots) is back to a fresh instance's by then, so expiring it
  // changes no admission. Zero for the limiter itself (never expires).
  [[nodiscard]] std::chrono::milliseconds idle_expiry(const Instance& at, std::chrono::milliseconds hold) const;

 private:
  redis::Client& client_;
  KeySpace keys_;
  LimitSpec spec_;
  std::map<std::string, LimitSpec> overridden_;  // bounds() of the keys the file overrides
};

// A LimitOverride as stored (and answered by the API): its set fields only.
[[nodiscard]] Json to_json(const LimitOverride& o);
// The override `value` describes: an object of the LimitOverride fields,
// whole numbers 1 to 10^12, at least one. Throws std::invalid_argument
// naming the field at fault.
[[nodiscard]] LimitOverride limit_override_from_json(const Json& value);

// Runtime overrides of a limiter's keys (PUT /v1/limiters/{name}/overrides/{key}):
// kept in Redis, read by the limiter scripts at every admission, before the
// workflows file's. The key is the value a step's key template yields.
boost::asio::awaitable<void> set_limit_override(redis::Client& client, const KeySpace& keys, const std::string& name,
                                                const std::string& key, const LimitOverride& o);
// Whether there was one.
boost::asio::awaitable<bool> remove_limit_override(redis::Client& client, const KeySpace& keys,
                                                   const std::string& name, const std::string& key);
boost::asio::awaitable<std::map<std::string, LimitOverride>> limit_overrides(redis::Client& client,
                                                                             const KeySpace& keys,
                                                                             const std::string& name);

// Writes in the run that its step waits for `limiter` (at `key`; '' for
// an unkeyed one) since its attempt `attempt` was refused, or clears that
// (limiter empty): limit_wait.lua, fenced on the step being `consumer`'s.
// Returns whether it was written.
boost::asio::awaitable<bool> note_limiter_wait(redis::Client& client, KeySpace keys, std::string run_id,
                                               std::string step, std::string consumer, std::int64_t attempt,
                                               std::string limiter, std::string key);

// One limiter a step goes through, at one instance, for `cost` tokens.
struct LimitRequest {
  const Limiter* limiter = nullptr;
  Limiter::Instance instance;
  std::int64_t cost = 0;
};

// Takes, from every request's instance, one request, its cost in tokens and
// a concurrency slot held by `holder` for `hold` — all or nothing, in one
// script (limit_acquire.lua). When refused, Admission::which names the
// request that asked for the longest wait.
boost::asio::awaitable<Limiter::Admission> acquire_all(redis::Client& client, std::span<const LimitRequest> requests,
                                                       const std::string& holder, std::chrono::milliseconds hold);

}  // namespace steadfast::store
