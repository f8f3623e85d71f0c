// A global limiter in Redis (see lua/limit_*.lua): admission, release with
// token reconciliation, pause, and renewal of concurrency slots.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "redis/client.h"
#include "steadfast/workflow.h"
#include "store/keys.h"

namespace steadfast::store {

class Limiter {
 public:
  Limiter(redis::Client& client, const KeySpace& keys, LimitSpec spec);

  struct Admission {
    bool admitted = false;
    std::chrono::milliseconds wait{0};  // when refused: ask again after this
    std::string reason;                 // paused | requests | tokens | concurrency
  };

  // Takes one request, `cost` tokens and a concurrency slot held by `holder`
  // for `hold` — all or nothing.
  boost::asio::awaitable<Admission> try_acquire(std::int64_t cost, const std::string& holder,
                                                std::chrono::milliseconds hold);
  // Frees the holder's slot; adjust = estimated - actual tokens (0 = no reconciliation).
  boost::asio::awaitable<void> release(const std::string& holder, std::int64_t adjust);
  // No admission for anyone until `for_ms` from now (Redis time), cut to the
  // spec's max_pause: an upstream (perhaps reached through run input) cannot
  // stop a shared limiter for longer.
  boost::asio::awaitable<void> pause(std::chrono::milliseconds for_ms);
  // What pause(for_ms) really pauses for: for_ms within [0, max_pause].
  [[nodiscard]] std::chrono::milliseconds capped_pause(std::chrono::milliseconds for_ms) const noexcept;
  boost::asio::awaitable<void> renew(const std::vector<std::string>& holders,
                                     std::chrono::milliseconds hold);

  [[nodiscard]] const LimitSpec& spec() const noexcept { return spec_; }
  // The token bucket's size: token_burst, or a tenth of a minute's tokens.
  // The most one attempt may be estimated at (a larger estimate fails it), and
  // the deepest debt a reconciliation may leave (see limit_release.lua).
  [[nodiscard]] std::int64_t token_capacity() const noexcept;

 private:
  redis::Client& client_;
  std::string key_;
  std::string holders_key_;
  LimitSpec spec_;
};

}  // namespace steadfast::store
