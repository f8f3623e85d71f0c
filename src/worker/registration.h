// The worker registry: one live process per worker id, held as an expiring
// lock renewed by heartbeats, plus a description in the `workers` hash for
// `steadfast status`/operators. A crashed worker's lock expires by itself.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "redis/client.h"
#include "store/keys.h"

namespace steadfast::worker {

// The lock was taken by someone else (or expired while Redis was unreachable
// and another process took the id): this process must stop.
class RegistrationLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Registration {
 public:
  static constexpr std::chrono::milliseconds kBeatInterval{1000};
  static constexpr std::chrono::milliseconds kLockTtl{5000};

  Registration(redis::Client& client, const store::KeySpace& keys, std::string worker_id);

  // Takes the id. If another process holds it: on this host and dead (its pid
  // is gone) the lock is taken over at once; on this host and alive, refused;
  // on another host, waits up to the lock's TTL for it to expire. Throws
  // std::runtime_error naming the holder when refused.
  // `handles`: workflow -> its step names, recorded so that a worker without
  // a step's handler can tell whether a live one has it (another_handles).
  boost::asio::awaitable<void> acquire(int concurrency, const std::vector<std::string>& queues,
                                       const std::map<std::string, std::vector<std::string>>& handles);
  // True when another registered worker whose registration is live (its
  // lock held) serves `queue` and has the handler of `workflow`'s `step`.
  // Reads the whole registry: for the rare claim without a handler only.
  boost::asio::awaitable<bool> another_handles(const std::string& queue, const std::string& workflow,
                                               const std::string& step);
  // Renews the lock, taking it again if it expired and nobody else holds it
  // (after a pause or a Redis outage longer than the TTL); throws
  // RegistrationLost when another process holds it.
  boost::asio::awaitable<void> beat(int in_flight);
  // Drops the lock and the registry entry (clean shutdown).
  boost::asio::awaitable<void> release();

 private:
  std::string description(int in_flight) const;

  redis::Client& client_;
  store::KeySpace keys_;
  std::string lock_key_;
  std::string workers_key_;
  std::string id_;
  std::string host_;
  std::string token_;  // "<host>|<pid>|<random>": the lock's value
  std::string meta_;   // concurrency, queues and workflows, JSON fragment
  long long started_ms_ = 0;
};

}  // namespace steadfast::worker
