#include "worker/registration.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <random>

namespace steadfast::worker {

namespace asio = boost::asio;

namespace {

const redis::Script& beat_script() {
  static const redis::Script s("worker_beat", R"lua(
-- KEYS[1] lock, KEYS[2] workers hash; ARGV: token, ttl ms, id, description
-- Returns 1 (renewed), 2 (had expired and nobody held it: taken again) or 0 (lost).
local holder = redis.call('GET', KEYS[1])
local result = 1
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  result = 2
elseif holder ~= ARGV[1] then
  return 0
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return result
)lua");
  return s;
}

const redis::Script& swap_script() {
  static const redis::Script s("worker_takeover", R"lua(
-- KEYS[1] lock; ARGV: expected holder, new token, ttl ms
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
)lua");
  return s;
}

const redis::Script& release_script() {
  static const redis::Script s("worker_release", R"lua(
-- KEYS[1] lock, KEYS[2] workers hash; ARGV: token, id
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
)lua");
  return s;
}

std::string hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Registration::Registration(redis::Client& client, const store::KeySpace& keys, std::string worker_id)
    : client_(client),
      keys_(keys),
      lock_key_(keys.worker_lock(worker_id)),
      workers_key_(keys.workers()),
      id_(std::move(worker_id)),
      host_(hostname()) {
  std::mt19937_64 rng{std::random_device{}()};
  token_ = host_ + "|" + std::to_string(getpid()) + "|" + std::to_string(rng());
}

std::string Registration::description(int in_flight) const {
  nlohmann::json j = nlohmann::json::parse(meta_);
  j["host"] = host_;
  j["pid"] = getpid();
  j["started_at_ms"] = started_ms_;
  j["beat_at_ms"] = now_ms();
  j["in_flight"] = in_flight;
  return j.dump();
}

asio::awaitable<void> Registration::acquire(int concurrency, const std::vector<std::string>& queues,
                                            const std::map<std::string, std::vector<std::string>>& handles) {
  meta_ = nlohmann::json{{"concurrency", concurrency},
                         {"queues", queues},
                         {"workflows", handles},
                         {"version", STEADFAST_VERSION}}
              .dump();
  started_ms_ = now_ms();
  const auto ttl = std::to_string(kLockTtl.count());
  const auto give_up = std::chrono::steady_clock::now() + kLockTtl + std::chrono::seconds(1);
  for (;;) {
    redis::Reply set = co_await client_.command("SET", lock_key_, token_, "NX", "PX", ttl);
    if (!set.is_nil()) break;
    redis::Reply holder = co_await client_.command("GET", lock_key_);
    if (holder.is_nil()) continue;
    const std::string value(holder.str());
    if (value == token_) break;  // our own SET, whose reply was lost (a retried start-up)
    const auto bar1 = value.find('|');
    const auto bar2 = value.find('|', bar1 + 1);
    const std::string host = value.substr(0, bar1);
    const int pid = bar1 == std::string::npos ? 0 : std::atoi(value.substr(bar1 + 1, bar2 - bar1 - 1).c_str());
    if (host == host_) {
      const bool dead = pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH;
      if (!dead) {
        throw std::runtime_error("worker id '" + id_ + "' is in use by the live process " +
                                 std::to_string(pid) + " on " + host + "; choose another --id");
      }
      std::vector<std::string> keys{lock_key_};
      std::vector<std::string> args{value, token_, ttl};
      redis::Reply took = co_await client_.eval(swap_script(), keys, args);
      if (took.as_integer() == 1) break;
      continue;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      throw std::runtime_error("worker id '" + id_ + "' is in use by process " +
                               std::to_string(pid) + " on " + host +
                               " (its registration keeps being renewed); choose another --id");
    }
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(250));
    co_await t.async_wait(asio::use_awaitable);
  }
  co_await client_.command("HSET", workers_key_, id_, description(0));
}

asio::awaitable<void> Registration::beat(int in_flight) {
  std::vector<std::string> keys{lock_key_, workers_key_};
  std::vector<std::string> args{token_, std::to_string(kLockTtl.count()), id_, description(in_flight)};
  redis::Reply r = co_await client_.eval(beat_script(), keys, args);
  if (r.as_integer() == 2) {
    // Expired while this process was paused or Redis was away, and no other
    // process took the id meanwhile: keep it. (Fencing never relied on this
    // lock: a step reclaimed meanwhile refuses our writes by its PEL token.)
    spdlog::warn("worker {}: its registration had expired (process paused or Redis away); taken again",
                 id_);
  }
  if (r.as_integer() == 0) {
    throw RegistrationLost("worker id '" + id_ +
                           "': registration lost (another process took the id, or Redis lost it); "
                           "stopping");
  }
}

asio::awaitable<void> Registration::release() {
  std::vector<std::string> keys{lock_key_, workers_key_};
  std::vector<std::string> args{token_, id_};
  co_await client_.eval(release_script(), keys, args);
}

asio::awaitable<bool> Registration::another_handles(const std::string& queue,
                                                   const std::string& workflow,
                                                   const std::string& step) {
  redis::Reply all = co_await client_.command("HGETALL", workers_key_);
  std::vector<std::string> candidates;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
    const std::string id(all[i].str());
    if (id == id_) continue;
    const nlohmann::json d = nlohmann::json::parse(all[i + 1].str(), nullptr, false);
    if (!d.is_object()) continue;
    const auto queues = d.find("queues");
    const auto workflows = d.find("workflows");
    if (queues == d.end() || !queues->is_array() || workflows == d.end() || !workflows->is_object()) {
      continue;  // an older worker's record: it says nothing about its handlers
    }
    bool serves = false;
    for (const auto& q : *queues) serves = serves || (q.is_string() && q.get<std::string>() == queue);
    const auto wf = workflows->find(workflow);
    if (!serves || wf == workflows->end() || !wf->is_array()) continue;
    for (const auto& st : *wf) {
      if (st.is_string() && st.get<std::string>() == step) {
        candidates.push_back(id);
        break;
      }
    }
  }
  for (const std::string& id : candidates) {
    // A registry entry outlives a crashed worker; its lock does not.
    redis::Reply live = co_await client_.command("EXISTS", keys_.worker_lock(id));
    if (live.as_integer() == 1) co_return true;
  }
  co_return false;
}

}  // namespace steadfast::worker
