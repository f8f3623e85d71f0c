// The fixture of the fault tests: real `steadfast worker` processes against the
// test binary's private redis-server, driven through the real CLI.
//
// Each test gets its own key prefix (so nothing it does is seen by another
// test) and its own scratch folder (workflows files, worker logs). Every
// process it starts is SIGKILLed and reaped by PID at the end of the test; on
// a failure the tails of the worker logs are printed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fault/worker_process.h"
#include "steadfast/client.h"
#include "steadfast/json.h"
#include "store/keys.h"
#include "support/redis_test.h"

#ifndef STEADFAST_BIN
#error "STEADFAST_BIN (the path of the steadfast CLI) must be defined"
#endif

namespace steadfast::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

// Polls pred every `every` until it holds or timeout passes; returns its last value.
inline bool eventually(const std::function<bool()>& pred, milliseconds timeout,
                       milliseconds every = 10ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(every);
  }
}

// Options of `steadfast worker` beyond the id and the workflows file.
struct WorkerArgs {
  int concurrency = 4;
  std::string drain_timeout;  // empty = the CLI's default
  std::string redis_url;      // empty = the test's Redis (url())
  std::vector<std::string> extra;

  WorkerArgs& with_concurrency(int n) {
    concurrency = n;
    return *this;
  }
  WorkerArgs& with_drain_timeout(std::string d) {
    drain_timeout = std::move(d);
    return *this;
  }
  WorkerArgs& with_redis_url(std::string u) {
    redis_url = std::move(u);
    return *this;
  }
};

class FaultTest : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("t-") + info->test_suite_name() + "-" + info->name();
    url_ = server().url();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& w : workers_) {
        std::cout << "---- " << w->log_path() << " (pid " << w->pid() << ")\n"
                  << tail_of(w->log(), 4000) << "\n";
      }
    }
    // Children first (by PID), then the client, then the harness' own teardown.
    workers_.clear();
    client_.reset();
    RedisTest::TearDown();
  }

  [[nodiscard]] const std::string& prefix() const noexcept { return prefix_; }
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  [[nodiscard]] ScratchDir& dir() noexcept { return dir_; }

  // The Redis the helpers, the CLI and the workers use: the shared server
  // unless use_redis() named one of the test's own (AOF, maxmemory, a server
  // started late). Call use_redis() before starting workers or the client.
  [[nodiscard]] RedisServer& redis() { return own_redis_ != nullptr ? *own_redis_ : server().only_server(); }
  void use_redis(RedisServer& s) {
    own_redis_ = &s;
    url_ = s.url();
    client_.reset();
  }
  // Everything the test starts (workers, the CLI, the client) talks to `url`,
  // a Sentinel's say; the helpers' own reads still go to redis(). Call it
  // after use_redis().
  void use_url(std::string url) {
    url_ = std::move(url);
    client_.reset();
  }

  std::string write_workflows(std::string_view yaml, const std::string& name = "workflows.yaml") {
    return dir_.write_file(name, yaml);
  }

  // Starts `steadfast worker` with the test's Redis and key prefix; waits until
  // it fetches from its queues (unless wait_ready is false). The fixture owns it.
  // Its Redis connections carry the name connection_name(w), so what it does
  // can be read from Redis itself (fetching(), blocked_in_read()).
  ChildProcess& start_worker(const std::string& id, const std::string& workflows_file,
                             const WorkerArgs& args = {}, bool wait_ready = true) {
    const int n = ++spawned_[id];
    const std::string name = "sf-" + id + "." + std::to_string(n);
    std::vector<std::string> argv{STEADFAST_BIN, "worker", "--workflows", workflows_file,
                                  "--redis", named_url(args.redis_url.empty() ? url_ : args.redis_url, name),
                                  "--key-prefix", prefix_, "--id", id,
                                  "--concurrency", std::to_string(args.concurrency)};
    if (!args.drain_timeout.empty()) {
      argv.insert(argv.end(), {"--drain-timeout", args.drain_timeout});
    }
    argv.insert(argv.end(), args.extra.begin(), args.extra.end());
    auto child = std::make_unique<ChildProcess>(
        argv, dir_, dir_.path() + "/" + id + "." + std::to_string(n) + ".log");
    ChildProcess& w = *child;
    workers_.push_back(std::move(child));
    name_connections(w, name);
    if (wait_ready && !eventually([&] { return fetching(w) || !w.running(); }, 10s, 5ms)) {
      throw std::runtime_error("worker " + id + " did not start fetching within 10 s:\n" + tail_of(w.log()));
    }
    if (wait_ready && !w.running()) {
      throw std::runtime_error("worker " + id + " exited at start-up:\n" + tail_of(w.log()));
    }
    return w;
  }

  // `url` with the option that names every connection made with it (CLIENT
  // SETNAME): a process given it can be watched in CLIENT LIST.
  static std::string named_url(const std::string& url, const std::string& name) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "name=" + name;
  }
  // Records the connection name a process was given (named_url).
  void name_connections(const ChildProcess& p, std::string name) { names_[&p] = std::move(name); }
  // The name of a process' Redis connections (see start_worker, named_url).
  [[nodiscard]] std::string connection_name(const ChildProcess& w) const { return names_.at(&w); }

  // The CLIENT LIST lines of the worker's connections.
  std::vector<std::string> connections_of(const ChildProcess& w) {
    const std::string needle = " name=" + connection_name(w) + " ";
    const redis::Reply r = redis().call({"CLIENT", "LIST"});
    std::vector<std::string> out;
    std::istringstream in{std::string(r.str())};
    for (std::string line; std::getline(in, line);) {
      if (line.find(needle) != std::string::npos) out.push_back(line);
    }
    return out;
  }
  // True while one of the process' connections last ran one of `commands`
  // (lower-case, as CLIENT LIST writes them: "xreadgroup").
  bool last_command_in(const ChildProcess& p, std::initializer_list<std::string_view> commands) {
    for (const std::string& c : connections_of(p)) {
      for (std::string_view command : commands) {
        if (c.find(" cmd=" + std::string(command) + " ") != std::string::npos) return true;
      }
    }
    return false;
  }
  // True once the worker reads from its streams (XREADGROUP): it is past its
  // start-up (id taken, workflows registered, consumer groups made).
  bool fetching(const ChildProcess& w) { return last_command_in(w, {"xreadgroup"}); }
  // True while the worker is blocked in its read: idle, waiting for an entry.
  bool blocked_in_read(const ChildProcess& w) {
    for (const std::string& c : connections_of(w)) {
      const auto flags = c.find(" flags=");
      const auto end = c.find(' ', flags + 1);
      if (c.find(" cmd=xreadgroup ") != std::string::npos && flags != std::string::npos &&
          c.substr(flags, end - flags).find('b') != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  // The worker's registration (the JSON of its field in the workers hash), or
  // null while it is not registered.
  Json registration(const std::string& id) {
    const redis::Reply r = redis().call({"HGET", store::KeySpace(prefix_).workers(), id});
    return r.is_nil() ? Json() : Json::parse(r.str(), nullptr, false);
  }

  // Starts any program (argv[0] a path) in the scratch folder, its output in
  // <name>.<n>.log; the fixture owns it (SIGKILLed and reaped by PID at the end).
  ChildProcess& start_child(const std::vector<std::string>& argv, const std::string& name) {
    const int n = ++spawned_[name];
    workers_.push_back(
        std::make_unique<ChildProcess>(argv, dir_, dir_.path() + "/" + name + "." + std::to_string(n) + ".log"));
    return *workers_.back();
  }

  // Runs `steadfast <args...> --redis URL --key-prefix P`.
  CommandResult cli(std::vector<std::string> args, milliseconds timeout = 30s) {
    args.insert(args.begin(), STEADFAST_BIN);
    args.insert(args.end(), {"--redis", url_, "--key-prefix", prefix_});
    return run_command(args, dir_, timeout);
  }

  // `steadfast submit`; returns the run id (fails the test on a non-zero exit).
  std::string submit(const std::string& workflow, const std::string& input = "{}",
                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"submit", workflow, "--input", input};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out;
    while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
    EXPECT_EQ(id.size(), 26u) << "submit printed: " << r.out << r.err;
    return id;
  }

  // `steadfast status RUN --json`.
  Json status_json(const std::string& run) {
    CommandResult r = cli({"status", run, "--json"});
    if (r.exit_code != 0) return Json();
    return Json::parse(r.out, nullptr, false);
  }

  // `steadfast doctor`: its exit code and output.
  CommandResult doctor() { return cli({"doctor"}, 60s); }

  [[nodiscard]] std::string run_key(const std::string& run) const {
    return prefix_ + ":{0}:run:" + run;
  }
  [[nodiscard]] std::string key(const std::string& suffix) const { return prefix_ + ":{0}:" + suffix; }

  // HGET of the run hash; empty when absent.
  std::string hget(const std::string& run, const std::string& field) {
    redis::Reply r = redis().call({"HGET", run_key(run), field});
    return r.is_nil() ? std::string() : std::string(r.str());
  }
  std::int64_t hget_int(const std::string& run, const std::string& field) {
    const std::string v = hget(run, field);
    return v.empty() ? 0 : std::stoll(v);
  }
  std::map<std::string, std::string> run_hash(const std::string& run) {
    redis::Reply r = redis().call({"HGETALL", run_key(run)});
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < r.size(); i += 2) out[std::string(r[i].str())] = std::string(r[i + 1].str());
    return out;
  }
  bool wait_status(const std::string& run, const std::string& status, milliseconds timeout) {
    return eventually([&] { return hget(run, "status") == status; }, timeout);
  }
  // Waits until step `step` of the run is running under worker `worker`.
  bool wait_running(const std::string& run, const std::string& step, const std::string& worker,
                    milliseconds timeout) {
    return eventually(
        [&] {
          return hget(run, "s." + step + ".status") == "running" &&
                 hget(run, "s." + step + ".worker") == worker;
        },
        timeout);
  }

  // The number of runs (run hashes) under the test's prefix.
  std::size_t count_runs() {
    std::size_t n = 0;
    std::string cursor = "0";
    do {
      redis::Reply r = redis().call({"SCAN", cursor, "MATCH", prefix_ + ":{*}:run:*", "COUNT", "1000"});
      cursor = std::string(r[0].str());
      n += r[1].size();
    } while (cursor != "0");
    return n;
  }

  // A C++ client on the test's Redis and prefix (created on first use).
  Client& client() {
    if (!client_) {
      ClientOptions o;
      o.redis_url = url_;
      o.key_prefix = prefix_;
      client_ = std::make_unique<Client>(o);
    }
    return *client_;
  }

  // `dlq list --json`: one object per line.
  std::vector<Json> dlq_list() {
    CommandResult r = cli({"dlq", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<Json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(Json::parse(line));
    }
    return out;
  }

  // The counters of a worker's final "worker ID stopped: ..." line, by name
  // ("attempts", "succeeded", "failed", "stale", "reclaimed", "handed back");
  // empty if the line is missing.
  static std::map<std::string, long> stopped_stats(const std::string& log) {
    std::map<std::string, long> out;
    const auto at = log.rfind(" stopped: ");
    if (at == std::string::npos) return out;
    std::istringstream in(log.substr(at + 10, log.find('\n', at) - at - 10));
    for (std::string item; std::getline(in, item, ',');) {
      std::istringstream parts(item);
      long n = 0;
      std::string name;
      parts >> n;
      std::getline(parts >> std::ws, name);
      out[name] = n;
    }
    return out;
  }

 private:
  std::string prefix_;
  std::string url_;
  ScratchDir dir_;
  std::map<std::string, int> spawned_;
  std::map<const ChildProcess*, std::string> names_;  // connection names of the workers
  std::vector<std::unique_ptr<ChildProcess>> workers_;
  std::unique_ptr<Client> client_;
  RedisServer* own_redis_ = nullptr;  // not owned; outlives the test's children
};

}  // namespace steadfast::test
