#include "store/limiter.h"

#include <algorithm>

#include "store/scripts.h"

namespace steadfast::store {

namespace asio = boost::asio;

Limiter::Limiter(redis::Client& client, const KeySpace& keys, LimitSpec spec)
    : client_(client),
      key_(keys.limit(spec.name)),
      holders_key_(keys.limit_holders(spec.name)),
      spec_(std::move(spec)) {}

std::int64_t Limiter::token_capacity() const noexcept {
  if (spec_.token_burst > 0) return spec_.token_burst;
  return std::max<std::int64_t>(1, spec_.tokens_per_minute / 10);
}

asio::awaitable<Limiter::Admission> Limiter::try_acquire(std::int64_t cost, const std::string& holder,
                                                         std::chrono::milliseconds hold) {
  std::vector<std::string> keys{key_, holders_key_};
  std::vector<std::string> args{std::to_string(spec_.requests_per_minute),
                                std::to_string(std::max<std::int64_t>(1, spec_.burst)),
                                std::to_string(spec_.tokens_per_minute),
                                std::to_string(token_capacity()),
                                std::to_string(spec_.concurrency),
                                std::to_string(cost),
                                holder,
                                std::to_string(hold.count())};
  redis::Reply r = co_await client_.eval(scripts::limit_acquire(), keys, args);
  co_return Admission{r[0].as_integer() == 1, std::chrono::milliseconds(r[1].as_integer()),
                      std::string(r[2].str())};
}

asio::awaitable<void> Limiter::release(const std::string& holder, std::int64_t adjust) {
  std::vector<std::string> keys{key_, holders_key_};
  std::vector<std::string> args{holder, std::to_string(spec_.tokens_per_minute),
                                std::to_string(token_capacity()), std::to_string(adjust)};
  co_await client_.eval(scripts::limit_release(), keys, args);
}

std::chrono::milliseconds Limiter::capped_pause(std::chrono::milliseconds for_ms) const noexcept {
  return std::clamp(for_ms, std::chrono::milliseconds(0), spec_.max_pause);
}

asio::awaitable<void> Limiter::pause(std::chrono::milliseconds for_ms) {
  std::vector<std::string> keys{key_};
  std::vector<std::string> args{std::to_string(capped_pause(for_ms).count())};
  co_await client_.eval(scripts::limit_pause(), keys, args);
}

asio::awaitable<void> Limiter::renew(const std::vector<std::string>& holders,
                                     std::chrono::milliseconds hold) {
  if (holders.empty() || spec_.concurrency == 0) co_return;
  std::vector<std::string> keys{holders_key_};
  std::vector<std::string> args{std::to_string(hold.count())};
  args.insert(args.end(), holders.begin(), holders.end());
  co_await client_.eval(scripts::limit_renew(), keys, args);
}

}  // namespace steadfast::store
