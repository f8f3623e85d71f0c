#include "store/limiter.h"

#include <algorithm>

#include "store/scripts.h"

namespace steadfast::store {

namespace asio = boost::asio;
using std::chrono::milliseconds;

Limiter::Limiter(redis::Client& client, const KeySpace& keys, LimitSpec spec)
    : client_(client), keys_(keys), spec_(std::move(spec)) {}

Limiter::Instance Limiter::instance(const std::string& key) const {
  if (key.empty()) return Instance{{}, keys_.limit(spec_.name), keys_.limit_holders(spec_.name)};
  return Instance{key, keys_.limit_instance(spec_.name, key), keys_.limit_instance_holders(spec_.name, key)};
}

std::int64_t Limiter::token_capacity() const noexcept {
  if (spec_.token_burst > 0) return spec_.token_burst;
  return std::max<std::int64_t>(1, spec_.tokens_per_minute / 10);
}

milliseconds Limiter::idle_expiry(const Instance& at, milliseconds hold) const {
  if (at.key.empty()) return milliseconds(0);
  milliseconds idle = std::max({milliseconds(std::chrono::minutes(1)), spec_.max_pause, hold});
  if (spec_.tokens_per_minute > 0) {
    // From a full debt (-capacity) back to a full bucket.
    idle = std::max(idle, milliseconds(2 * token_capacity() * 60000 / spec_.tokens_per_minute + 1));
  }
  if (spec_.requests_per_minute > 0) {
    idle = std::max(idle, milliseconds(std::max<std::int64_t>(1, spec_.burst) * 60000 / spec_.requests_per_minute + 1));
  }
  return idle + milliseconds(1000);
}

asio::awaitable<Limiter::Admission> acquire_all(redis::Client& client, std::span<const LimitRequest> requests,
                                                const std::string& holder, milliseconds hold) {
  std::vector<std::string> keys;
  std::vector<std::string> args{holder, std::to_string(hold.count())};
  for (const LimitRequest& r : requests) {
    const Limiter& l = *r.limiter;
    const LimitSpec& spec = l.spec();
    keys.insert(keys.end(), {r.instance.state, r.instance.holders, l.instance({}).state});
    args.insert(args.end(), {std::to_string(spec.requests_per_minute),
                             std::to_string(std::max<std::int64_t>(1, spec.burst)),
                             std::to_string(spec.tokens_per_minute), std::to_string(l.token_capacity()),
                             std::to_string(spec.concurrency), std::to_string(r.cost),
                             std::to_string(l.idle_expiry(r.instance, hold).count())});
  }
  redis::Reply reply = co_await client.eval(scripts::limit_acquire(), keys, args);
  Limiter::Admission a{reply[0].as_integer() == 1, milliseconds(reply[1].as_integer()), std::string(reply[2].str()),
                       0};
  if (!a.admitted && reply[3].as_integer() > 0) a.which = static_cast<std::size_t>(reply[3].as_integer() - 1);
  co_return a;
}

asio::awaitable<void> Limiter::release(const Instance& at, const std::string& holder, std::int64_t adjust) const {
  std::vector<std::string> keys{at.state, at.holders};
  std::vector<std::string> args{holder, std::to_string(spec_.tokens_per_minute), std::to_string(token_capacity()),
                                std::to_string(adjust), std::to_string(idle_expiry(at, milliseconds(0)).count())};
  co_await client_.eval(scripts::limit_release(), keys, args);
}

milliseconds Limiter::capped_pause(milliseconds for_ms) const noexcept {
  return std::clamp(for_ms, milliseconds(0), spec_.max_pause);
}

asio::awaitable<void> Limiter::pause(const Instance& at, milliseconds for_ms) const {
  std::vector<std::string> keys{at.state};
  std::vector<std::string> args{std::to_string(capped_pause(for_ms).count()),
                                std::to_string(idle_expiry(at, milliseconds(0)).count())};
  co_await client_.eval(scripts::limit_pause(), keys, args);
}

asio::awaitable<void> Limiter::renew(const Instance& at, const std::vector<std::string>& holders, milliseconds hold) const {
  if (holders.empty() || spec_.concurrency == 0) co_return;
  std::vector<std::string> keys{at.holders, at.state};
  std::vector<std::string> args{std::to_string(hold.count()), std::to_string(idle_expiry(at, hold).count())};
  args.insert(args.end(), holders.begin(), holders.end());
  co_await client_.eval(scripts::limit_renew(), keys, args);
}

}  // namespace steadfast::store
