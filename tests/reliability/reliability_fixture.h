// The fixture of the reliability tests: the fault tests' fixture (real
// `steadfast worker` processes, the real CLI, children reaped by PID) plus a
// redis-server of the test's own (AOF, maxmemory, started late, killed and
// restarted), `steadfast serve` as a process, whole-fleet tallies and the
// one-line figures each test prints for docs/reliability.md.
#pragma once

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/http_client.h"
#include "fault/fault_fixture.h"

namespace steadfast::test {

// Counts over a set of runs, read from their run hashes in Redis.
struct Tally {
  long long completed = 0;
  long long failed = 0;      // dead-lettered
  long long other = 0;       // queued, running, retrying, cancelled
  long long missing = 0;     // no run hash
  long long reexecuted = 0;  // sum over steps of (attempts - 1)
};

// GET /readyz, or 0 when the connection is refused.
inline int readyz(std::uint16_t port) {
  try {
    return http(port, "GET", "/readyz", {}, {}, std::chrono::seconds(5)).status;
  } catch (const std::exception&) {
    return 0;
  }
}

// POST /v1/workflows/{name}/runs; status 0 when the request failed on the wire.
inline HttpResponse post_run(std::uint16_t port, const std::string& workflow, const Json& input,
                             const std::string& idempotency_key = {}) {
  Headers h;
  if (!idempotency_key.empty()) h.emplace_back("Idempotency-Key", idempotency_key);
  try {
    return post_json(port, "/v1/workflows/" + workflow + "/runs", Json{{"input", input}}, h);
  } catch (const std::exception& e) {
    HttpResponse r;
    r.body = e.what();
    return r;
  }
}

// "<field>:<value>" of INFO replication; empty when absent.
inline std::string replication_field(const RedisServer& redis, const std::string& field) {
  const redis::Reply r = redis.call({"INFO", "replication"});
  const std::string text(r.str());
  const auto at = text.find("\n" + field + ":");
  if (at == std::string::npos) return {};
  const auto from = at + field.size() + 2;
  const auto end = text.find_first_of("\r\n", from);
  return text.substr(from, end - from);
}

// Waits until the server has the role ("master" or "slave") with no failover
// in progress, and, as a replica, its link to the primary up (in sync).
inline bool wait_role(const RedisServer& redis, const std::string& role, std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        if (replication_field(redis, "role") != role) return false;
        if (replication_field(redis, "master_failover_state") != "no-failover") return false;
        return role != "slave" || replication_field(redis, "master_link_status") == "up";
      },
      timeout, std::chrono::milliseconds(20));
}

class ReliabilityTest : public FaultTest {
 protected:
  void TearDown() override {
    FaultTest::TearDown();  // children first: they talk to own_
    own_.reset();
  }

  // Starts a redis-server of the test's own and makes it the one everything uses.
  RedisServer& own_redis(RedisServerOptions options = {}) {
    own_ = std::make_unique<RedisServer>(std::move(options));
    use_redis(*own_);
    return *own_;
  }

  // `steadfast serve` on 127.0.0.1:port for the workflows file. Returns at once.
  ChildProcess& start_serve(const std::string& workflows_file, std::uint16_t port,
                            const std::string& redis_url = {}) {
    return start_child({STEADFAST_BIN, "serve", "--workflows", workflows_file, "--listen",
                        "127.0.0.1:" + std::to_string(port), "--redis",
                        redis_url.empty() ? url() : redis_url, "--key-prefix", prefix()},
                       "serve");
  }

  // Statuses and attempts of the runs, 500 per EVAL (read-only, so it also
  // works while Redis refuses writes).
  Tally tally(const std::vector<std::string>& runs) {
    static constexpr std::string_view kScript = R"lua(
local completed, failed, other, missing, again = 0, 0, 0, 0, 0
for _, k in ipairs(KEYS) do
  local h = redis.call('HGETALL', k)
  if #h == 0 then missing = missing + 1 end
  for i = 1, #h, 2 do
    local f, v = h[i], h[i + 1]
    if f == 'status' then
      if v == 'completed' then completed = completed + 1
      elseif v == 'failed' then failed = failed + 1
      else other = other + 1 end
    elseif string.sub(f, 1, 2) == 's.' and string.sub(f, -9) == '.attempts' then
      local n = tonumber(v)
      if n > 1 then again = again + n - 1 end
    end
  end
end
return {completed, failed, other, missing, again}
)lua";
    Tally t;
    for (std::size_t i = 0; i < runs.size(); i += 500) {
      const std::size_t end = std::min(runs.size(), i + 500);
      std::vector<std::string> args{"EVAL", std::string(kScript), std::to_string(end - i)};
      for (std::size_t k = i; k < end; ++k) args.push_back(run_key(runs[k]));
      redis::Reply r = redis().call(args, std::chrono::seconds(20));
      if (r.is_error()) throw std::runtime_error("tally: " + std::string(r.str()));
      t.completed += r[0].as_integer();
      t.failed += r[1].as_integer();
      t.other += r[2].as_integer();
      t.missing += r[3].as_integer();
      t.reexecuted += r[4].as_integer();
    }
    return t;
  }

  // Waits until every run is completed or failed; the last tally.
  Tally wait_finished(const std::vector<std::string>& runs, milliseconds timeout) {
    Tally t;
    eventually(
        [&] {
          t = tally(runs);
          return t.completed + t.failed == static_cast<long long>(runs.size());
        },
        timeout, 100ms);
    return t;
  }

  // The end of every reliability test: every accepted run finished (completed
  // or dead-lettered), the dead-letter queue holds exactly the failed ones,
  // and `steadfast doctor` finds nothing.
  void expect_clean_end(const std::vector<std::string>& accepted, const Tally& t) {
    EXPECT_EQ(t.missing, 0) << "accepted runs lost";
    EXPECT_EQ(t.other, 0) << "accepted runs not finished";
    EXPECT_EQ(t.completed + t.failed, static_cast<long long>(accepted.size()))
        << "accepted != completed + dead-lettered";
    EXPECT_EQ(static_cast<long long>(dlq_list().size()), t.failed) << "dead-letter queue vs failed runs";
    CommandResult doc = doctor();
    EXPECT_EQ(doc.exit_code, 0) << "steadfast doctor:\n" << doc.out << doc.err;
  }

  // Prints the test's figures on one line: "[figures] <Test> k=v k=v ...".
  static void figures(const std::string& pairs) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::printf("[figures] %s.%s %s\n", info->test_suite_name(), info->name(), pairs.c_str());
    std::fflush(stdout);
  }

  // HGET of the partition's stats hash (counters written by the scripts).
  long long stat(const std::string& field) {
    redis::Reply r = redis().call({"HGET", key("stats"), field});
    return r.is_nil() ? 0 : std::stoll(std::string(r.str()));
  }

 private:
  std::unique_ptr<RedisServer> own_;
};

}  // namespace steadfast::test
