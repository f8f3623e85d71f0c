#include "api/quotas.h"

#include <algorithm>
#include <vector>

#include "steadfast/run.h"

namespace steadfast::api {

namespace asio = boost::asio;

namespace {

std::string label(const Principal& who) {
  return who.name.empty() ? "token " + who.id : "token '" + who.name + "'";
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

store::Limiter& Quotas::limiter(const Principal& who) {
  auto it = limiters_.find(who.id);
  if (it == limiters_.end()) {
    LimitSpec spec;
    spec.name = "token-" + who.id;
    spec.requests_per_minute = who.quota.per_minute;
    spec.burst = who.quota.burst;
    it = limiters_.emplace(who.id, std::make_unique<store::Limiter>(redis_, keys_, spec)).first;
  }
  return *it->second;
}

asio::awaitable<std::optional<Quotas::Refusal>> Quotas::admit(const Principal& who) {
  // Live runs first: a submit refused for them must not spend the rate.
  if (who.quota.max_live > 0) {
    const std::int64_t live = co_await live_runs(who);
    if (live >= who.quota.max_live) {
      co_return Refusal{"too-many-live-runs",
                        label(who) + " has " + std::to_string(live) + " runs not finished yet, its max_live is " +
                            std::to_string(who.quota.max_live) + "; retry once some have finished",
                        std::chrono::seconds(1)};
    }
  }
  if (who.quota.per_minute > 0) {
    const store::Limiter& rate = limiter(who);
    const store::LimitRequest request{&rate, rate.instance({}), 0};
    const store::Limiter::Admission a = co_await store::acquire_all(
        redis_, std::span<const store::LimitRequest>(&request, 1), who.id, std::chrono::milliseconds(0));
    if (!a.admitted) {
      const auto seconds = std::max<std::int64_t>(1, (a.wait.count() + 999) / 1000);
      co_return Refusal{"rate-limited",
                        label(who) + " may submit " + std::to_string(who.quota.per_minute) +
                            " runs per minute (rate); retry after " + std::to_string(seconds) + " s",
                        std::chrono::seconds(seconds)};
    }
  }
  co_return std::nullopt;
}

asio::awaitable<void> Quotas::record(const Principal& who, const std::string& run_id) {
  if (who.quota.max_live <= 0) co_return;
  co_await redis_.command("ZADD", keys_.token_live_runs(who.id), "NX", now_ms(), run_id);
}

asio::awaitable<std::int64_t> Quotas::live_runs(const Principal& who) {
  const std::string key = keys_.token_live_runs(who.id);
  std::int64_t live = (co_await redis_.command("ZCARD", key)).as_integer();
  if (live < who.quota.max_live) co_return live;
  // At the bound: look up the runs checked longest ago.
  redis::Reply oldest = co_await redis_.command("ZRANGE", key, 0, static_cast<std::int64_t>(kPruneBatch) - 1);
  if (oldest.size() == 0) co_return live;
  std::vector<std::string> ids;
  redis::Pipeline lookups;
  for (std::size_t i = 0; i < oldest.size(); ++i) {
    ids.emplace_back(oldest[i].str());
    lookups.add("HGET", keys_.run(ids.back()), "status");
  }
  const std::vector<redis::Reply> statuses = co_await redis_.exec(std::move(lookups));
  redis::Pipeline update;
  std::vector<std::string> finished{"ZREM", key};
  std::vector<std::string> still{"ZADD", key, "XX"};
  const std::string now = std::to_string(now_ms());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const redis::Reply& s = statuses.at(i);
    if (s.is_nil() || (s.is_string() && is_terminal_status(s.str()))) {
      finished.push_back(ids[i]);
    } else if (!s.is_error()) {
      still.push_back(now);  // to the back: the next check looks at others
      still.push_back(ids[i]);
    }
  }
  if (finished.size() > 2) update.add_argv(std::span<const std::string>(finished));
  if (still.size() > 3) update.add_argv(std::span<const std::string>(still));
  if (!update.empty()) co_await redis_.exec(std::move(update));
  co_return live - static_cast<std::int64_t>(finished.size() - 2);
}

}  // namespace steadfast::api
