#include "store/limiter.h"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "store/scripts.h"

namespace steadfast::store {

namespace asio = boost::asio;
using std::chrono::milliseconds;

Limiter::Limiter(redis::Client& client, const KeySpace& keys, LimitSpec spec)
    : client_(client), keys_(keys), spec_(std::move(spec)) {
  for (const auto& [key, o] : spec_.overrides) overridden_.emplace(key, with_override(spec_, o));
}

const LimitSpec& Limiter::bounds(const Instance& at) const {
  if (at.key.empty()) return spec_;
  auto it = overridden_.find(at.key);
  return it == overridden_.end() ? spec_ : it->second;
}

Limiter::Instance Limiter::instance(const std::string& key) const {
  if (key.empty()) return Instance{{}, keys_.limit(spec_.name), keys_.limit_holders(spec_.name)};
  return Instance{key, keys_.limit_instance(spec_.name, key), keys_.limit_instance_holders(spec_.name, key)};
}

std::int64_t Limiter::token_capacity(const LimitSpec& b) noexcept {
  if (b.token_burst > 0) return b.token_burst;
  return std::max<std::int64_t>(1, b.tokens_per_minute / 10);
}

milliseconds Limiter::idle_expiry(const Instance& at, milliseconds hold) const {
  if (at.key.empty()) return milliseconds(0);
  // A runtime override may make a bucket deeper or a rate slower than this;
  // an hour covers any sane one (an instance expired early forgets a debt
  // or a spacing: one burst's worth, never more).
  const LimitSpec& b = bounds(at);
  milliseconds idle = std::max({milliseconds(std::chrono::minutes(1)), spec_.max_pause, hold});
  if (b.tokens_per_minute > 0) {
    // From a full debt (-capacity) back to a full bucket.
    idle = std::max(idle, milliseconds(2 * token_capacity(b) * 60000 / b.tokens_per_minute + 1));
  }
  if (b.requests_per_minute > 0) {
    idle = std::max(idle, milliseconds(std::max<std::int64_t>(1, b.burst) * 60000 / b.requests_per_minute + 1));
  }
  return idle + milliseconds(1000);
}

asio::awaitable<Limiter::Admission> acquire_all(redis::Client& client, std::span<const LimitRequest> requests,
                                                const std::string& holder, milliseconds hold) {
  std::vector<std::string> keys;
  std::vector<std::string> args{holder, std::to_string(hold.count())};
  for (const LimitRequest& r : requests) {
    const Limiter& l = *r.limiter;
    const LimitSpec& b = l.bounds(r.instance);
    keys.insert(keys.end(), {r.instance.state, r.instance.holders, l.instance({}).state, l.overrides_key()});
    args.insert(args.end(), {std::to_string(b.requests_per_minute), std::to_string(std::max<std::int64_t>(1, b.burst)),
                             std::to_string(b.tokens_per_minute), std::to_string(Limiter::token_capacity(b)),
                             std::to_string(b.concurrency), std::to_string(r.cost),
                             std::to_string(l.idle_expiry(r.instance, hold).count()), r.instance.key});
  }
  redis::Reply reply = co_await client.eval(scripts::limit_acquire(), keys, args);
  Limiter::Admission a{reply[0].as_integer() == 1, milliseconds(reply[1].as_integer()), std::string(reply[2].str()),
                       0, 0};
  if (!a.admitted && reply[3].as_integer() > 0) a.which = static_cast<std::size_t>(reply[3].as_integer() - 1);
  if (a.reason == "capacity" && reply.size() > 4) a.capacity = reply[4].as_integer();
  co_return a;
}

asio::awaitable<void> Limiter::release(Instance at, std::string holder, std::int64_t adjust) const {
  const LimitSpec& b = bounds(at);
  std::vector<std::string> keys{at.state, at.holders, overrides_key()};
  std::vector<std::string> args{holder, std::to_string(b.tokens_per_minute), std::to_string(token_capacity(b)),
                                std::to_string(adjust), std::to_string(idle_expiry(at, milliseconds(0)).count()), at.key};
  co_await client_.eval(scripts::limit_release(), keys, args);
}

milliseconds Limiter::capped_pause(milliseconds for_ms) const noexcept {
  return std::clamp(for_ms, milliseconds(0), spec_.max_pause);
}

asio::awaitable<void> Limiter::pause(Instance at, milliseconds for_ms) const {
  std::vector<std::string> keys{at.state};
  std::vector<std::string> args{std::to_string(capped_pause(for_ms).count()),
                                std::to_string(idle_expiry(at, milliseconds(0)).count())};
  co_await client_.eval(scripts::limit_pause(), keys, args);
}

asio::awaitable<void> Limiter::renew(const Instance& at, const std::vector<std::string>& holders, milliseconds hold) const {
  // (Not only when the spec has a concurrency bound: an override may give a key one.)
  if (holders.empty()) co_return;
  std::vector<std::string> keys{at.holders, at.state};
  std::vector<std::string> args{std::to_string(hold.count()), std::to_string(idle_expiry(at, hold).count())};
  args.insert(args.end(), holders.begin(), holders.end());
  co_await client_.eval(scripts::limit_renew(), keys, args);
}

namespace {

constexpr std::array<std::pair<std::string_view, std::optional<std::int64_t> LimitOverride::*>, 5> kOverrideFields{{
    {"requests_per_minute", &LimitOverride::requests_per_minute},
    {"burst", &LimitOverride::burst},
    {"tokens_per_minute", &LimitOverride::tokens_per_minute},
    {"token_burst", &LimitOverride::token_burst},
    {"concurrency", &LimitOverride::concurrency},
}};

}  // namespace

Json to_json(const LimitOverride& o) {
  Json out = Json::object();
  for (const auto& [name, field] : kOverrideFields) {
    if (o.*field) out[std::string(name)] = *(o.*field);
  }
  return out;
}

LimitOverride limit_override_from_json(const Json& value) {
  if (!value.is_object() || value.empty()) {
    throw std::invalid_argument(
        "an override is an object of requests_per_minute, burst, tokens_per_minute, token_burst, concurrency "
        "(at least one)");
  }
  LimitOverride o;
  for (const auto& item : value.items()) {
    const std::string& member = item.key();
    const Json& v = item.value();
    const auto* it = std::find_if(kOverrideFields.begin(), kOverrideFields.end(),
                                  [&](const auto& f) { return f.first == member; });
    if (it == kOverrideFields.end()) {
      throw std::invalid_argument("/" + member.substr(0, 64) +
                                  ": unknown (requests_per_minute, burst, tokens_per_minute, token_burst, concurrency)");
    }
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1'000'000'000'000) {
      throw std::invalid_argument("/" + member + ": a whole number from 1 to 10^12, got " + v.dump().substr(0, 64));
    }
    o.*(it->second) = v.get<std::int64_t>();
  }
  return o;
}

asio::awaitable<bool> note_limiter_wait(redis::Client& client, KeySpace keys, std::string run_id, std::string step,
                                        std::string consumer, std::int64_t attempt, std::string limiter,
                                        std::string key) {
  std::vector<std::string> k{keys.run(run_id)};
  std::vector<std::string> args{step, consumer, std::to_string(attempt), limiter, key};
  const redis::Reply r = co_await client.eval(scripts::limit_wait(), k, args);
  co_return r.as_integer() == 1;
}

asio::awaitable<void> set_limit_override(redis::Client& client, const KeySpace& keys, const std::string& name,
                                         const std::string& key, const LimitOverride& o) {
  co_await client.command("HSET", keys.limit_overrides(name), key, to_json(o).dump());
}

asio::awaitable<bool> remove_limit_override(redis::Client& client, const KeySpace& keys, const std::string& name,
                                            const std::string& key) {
  const redis::Reply r = co_await client.command("HDEL", keys.limit_overrides(name), key);
  co_return r.as_integer() == 1;
}

asio::awaitable<std::map<std::string, LimitOverride>> limit_overrides(redis::Client& client, const KeySpace& keys,
                                                                      const std::string& name) {
  const redis::Reply r = co_await client.command("HGETALL", keys.limit_overrides(name));
  std::map<std::string, LimitOverride> out;
  for (std::size_t i = 0; i + 1 < r.size(); i += 2) {
    const Json v = Json::parse(r[i + 1].str(), nullptr, false);
    try {
      out.emplace(std::string(r[i].str()), limit_override_from_json(v));
    } catch (const std::invalid_argument&) {
      // Written by hand and unreadable: the scripts ignore it too (the declared bounds hold).
    }
  }
  co_return out;
}

}  // namespace steadfast::store
