// The submit quotas of bearer tokens (a tokens file line's `rate=` and
// `max_live=`), checked before a submit and kept in Redis so every `serve`
// shares them:
//
//  * rate: a GCRA limiter per token (store::Limiter, `<prefix>:{<prefix>:limits}:limit:token-<id>`),
//    bursts of one second's worth;
//  * max_live: a sorted set of the runs the token submitted that may still be
//    live (store::KeySpace::token_live_runs). A run is added after its submit
//    and removed once it is seen finished (or expired): when the set holds
//    max_live runs, the oldest-checked of them (at most kPruneBatch) are
//    looked up and the finished ones removed before the submit is refused.
//    The set holds run ids, never a count, so it cannot drift: a run is
//    counted exactly while its hash says it is not finished. What it allows:
//    submits in flight at the same moment may each pass the check (the bound
//    is exceeded by at most those), a `serve` that dies between a run's
//    submit and its recording leaves that run uncounted, and a dead-lettered
//    run that is replayed (admin) is no longer counted.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "api/tokens.h"
#include "redis/client.h"
#include "store/keys.h"
#include "store/limiter.h"

namespace steadfast::api {

class Quotas {
 public:
  // Runs looked up per refused check, at most.
  static constexpr std::size_t kPruneBatch = 256;

  Quotas(redis::Client& redis, const store::KeySpace& keys) : redis_(redis), keys_(keys) {}

  struct Refusal {
    std::string type;    // problem type: "rate-limited" or "too-many-live-runs"
    std::string detail;  // names the token and the bound
    std::chrono::seconds retry_after{1};
  };

  // Takes one submit from the token's rate and checks its live runs; nullopt
  // = go ahead. A refused submit takes nothing.
  boost::asio::awaitable<std::optional<Refusal>> admit(const Principal& who);
  // Counts `run_id` as one of the token's live runs (after its submit).
  boost::asio::awaitable<void> record(const Principal& who, const std::string& run_id);

 private:
  // The token's live runs after removing finished ones (at most kPruneBatch checked).
  boost::asio::awaitable<std::int64_t> live_runs(const Principal& who);
  store::Limiter& limiter(const Principal& who);

  redis::Client& redis_;
  const store::KeySpace& keys_;
  std::map<std::string, std::unique_ptr<store::Limiter>> limiters_;  // by Principal::id
};

}  // namespace steadfast::api
