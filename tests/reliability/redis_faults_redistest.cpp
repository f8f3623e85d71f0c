// Redis itself failing under a running fleet: SIGKILLed and restarted from its
// append-only file, not there yet when the fleet starts, out of memory, holding
// a backlog longer than any trim threshold, its consumer group destroyed, its
// data flushed. Real `steadfast worker` / `steadfast serve` processes, each
// test with a redis-server of its own on 127.0.0.1.
//
// Every test ends with `steadfast doctor` clean and accepted == completed +
// dead-lettered, and prints a "[figures]" line for docs/reliability.md.
#include <atomic>
#include <mutex>

#include "reliability/reliability_fixture.h"

namespace steadfast::test {
namespace {

class RedisFaults : public ReliabilityTest {};

// Three steps; the middle one sleeps so that runs are in flight when Redis
// dies. Retries are generous: an outage may cost an attempt (a step whose
// lease ran out while Redis was away runs again), never a run.
constexpr const char* kPipeline = R"(
workflows:
  pipeline:
    steps:
      - {name: a, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: b, kind: sleep, with: {ms: 50}, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: c, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";

long long info_field(RedisServer& redis, const std::string& section, const std::string& field) {
  const redis::Reply r = redis.call({"INFO", section});
  const std::string text(r.str());
  const auto at = text.find(field + ":");
  if (at == std::string::npos) throw std::runtime_error("INFO " + section + " has no " + field);
  return std::stoll(text.substr(at + field.size() + 1));
}

// Submits runs over HTTP on a thread of its own, one every `pace`, each with
// an Idempotency-Key and retried (same key) until the API accepts it: a 503
// while Redis is away is the API's answer, not a lost run.
class Submitter {
 public:
  Submitter(std::uint16_t port, std::string workflow, int runs, milliseconds pace, milliseconds bound)
      : ids_(static_cast<std::size_t>(runs)) {
    thread_ = std::thread([this, port, workflow = std::move(workflow), runs, pace, bound] {
      const auto deadline = Clock::now() + bound;
      for (int i = 0; i < runs && Clock::now() < deadline; ++i) {
        for (;;) {
          HttpResponse r = post_run(port, workflow, Json{{"i", i}}, "run-" + std::to_string(i));
          if (r.status == 202 || r.status == 200) {
            std::lock_guard lock(mu_);
            ids_[static_cast<std::size_t>(i)] = r.json().value("run_id", "");
            ++accepted_;
            break;
          }
          if (r.status == 503) ++refused_; else ++other_errors_;
          if (Clock::now() >= deadline) return;
          std::this_thread::sleep_for(50ms);
        }
        std::this_thread::sleep_for(pace);
      }
    });
  }
  ~Submitter() { join(); }
  Submitter(const Submitter&) = delete;
  Submitter& operator=(const Submitter&) = delete;

  void join() {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] int accepted() const { return accepted_.load(); }
  [[nodiscard]] int refused() const { return refused_.load(); }
  [[nodiscard]] int other_errors() const { return other_errors_.load(); }
  // The accepted run ids (after join()).
  [[nodiscard]] std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const std::string& id : ids_) {
      if (!id.empty()) out.push_back(id);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> ids_;
  std::atomic<int> accepted_{0};
  std::atomic<int> refused_{0};
  std::atomic<int> other_errors_{0};
  std::thread thread_;
};

// 1. Redis SIGKILLed twice mid-run and restarted from its AOF (appendfsync
// always): the workers and the API are never restarted, they reconnect by
// themselves; every run the API accepted completes.
TEST_F(RedisFaults, KilledAndRestartedFromAofLosesNoAcceptedRun) {
  RedisServerOptions options;
  options.appendonly = true;
  options.appendfsync = "always";
  RedisServer& redis = own_redis(options);
  const std::string file = write_workflows(kPipeline);
  ChildProcess& w1 = start_worker("k1", file, WorkerArgs().with_concurrency(8));
  ChildProcess& w2 = start_worker("k2", file, WorkerArgs().with_concurrency(8));
  const std::uint16_t port = free_port();
  ChildProcess& api = start_serve(file, port);
  ASSERT_TRUE(eventually([&] { return readyz(port) == 200; }, 15s)) << tail_of(api.log());

  constexpr int kRuns = 200;
  const auto t0 = Clock::now();
  Submitter submitter(port, "pipeline", kRuns, 10ms, 40s);
  const auto completed = [&] { return stat("completed:pipeline"); };

  int kills = 0;
  long long recovery_max_ms = 0;
  for (const int at : {kRuns / 4, kRuns * 5 / 8}) {
    ASSERT_TRUE(eventually([&] { return submitter.accepted() >= at; }, 20s)) << submitter.accepted();
    redis.kill();
    ++kills;
    std::this_thread::sleep_for(1s);
    redis.start();
    const auto restarted = Clock::now();
    const long long before = completed();
    // Recovery: Redis answers again, and the fleet finishes runs again.
    ASSERT_TRUE(eventually([&] { return completed() > before; }, 20s)) << "no run completed after the restart";
    recovery_max_ms = std::max<long long>(recovery_max_ms, since(restarted).count());
  }
  submitter.join();
  const std::vector<std::string> runs = submitter.ids();
  ASSERT_EQ(static_cast<int>(runs.size()), kRuns) << "the API never accepted some runs";
  EXPECT_EQ(submitter.other_errors(), 0) << "answers other than 2xx/503";
  const Tally t = wait_finished(runs, 40s);
  const auto took = since(t0);

  // Nobody was restarted: the same processes reconnected.
  EXPECT_TRUE(w1.running()) << tail_of(w1.log());
  EXPECT_TRUE(w2.running()) << tail_of(w2.log());
  EXPECT_TRUE(api.running()) << tail_of(api.log());
  EXPECT_EQ(readyz(port), 200);
  EXPECT_GE(w1.count_in_log("fetch failed") + w2.count_in_log("fetch failed"), 1) << "the outage went unnoticed";
  EXPECT_EQ(count_runs(), runs.size()) << "a run the API refused was created anyway";
  EXPECT_EQ(t.failed, 0);
  expect_clean_end(runs, t);
  figures("runs=" + std::to_string(runs.size()) + " redis_kills=" + std::to_string(kills) +
          " completed=" + std::to_string(t.completed) + " dlq=" + std::to_string(t.failed) +
          " reexecuted=" + std::to_string(t.reexecuted) + " submit_503=" + std::to_string(submitter.refused()) +
          " recovery_ms=" + std::to_string(recovery_max_ms) + " total_ms=" + std::to_string(took.count()));
}

// 1b. A run submitted with a delay survives the SIGKILL of every worker and a
// Redis SIGKILL + restart from its AOF while it waits, and starts on time: its
// first step's claim within 100 ms after its run_at, both in Redis time.
TEST_F(RedisFaults, ADelayedRunSurvivesEveryWorkerAndRedisKilledAndStartsOnTime) {
  RedisServerOptions options;
  options.appendonly = true;
  options.appendfsync = "always";
  RedisServer& redis = own_redis(options);
  const std::string file = write_workflows(kPipeline);
  ChildProcess& w1 = start_worker("k1", file);
  const std::string id = submit("pipeline", "{}", {"--delay", "4s"});
  EXPECT_EQ(hget(id, "status"), "scheduled");
  w1.kill_and_reap();
  redis.kill();
  redis.start();
  EXPECT_EQ(hget(id, "status"), "scheduled") << "the wait was lost with Redis";
  start_worker("k2", file);
  ASSERT_TRUE(wait_status(id, "completed", 30s)) << hget(id, "status");
  const std::int64_t late = hget_int(id, "s.a.started_at") - hget_int(id, "run_at");
  EXPECT_GE(late, 0) << "started before its time";
  EXPECT_LE(late, 100) << "started " << late << " ms after its time";
  figures("delayed_run_start_late_ms=" + std::to_string(late));
}

// 1c. A durable wait (kind: wait) survives the SIGKILL of every worker and a
// Redis SIGKILL + restart from its AOF while it waits, holds no entry
// meanwhile, and completes when due: the next step claimed within 100 ms
// after the due time, both in Redis time.
TEST_F(RedisFaults, ADurableWaitSurvivesEveryWorkerAndRedisKilledAndEndsOnTime) {
  RedisServerOptions options;
  options.appendonly = true;
  options.appendfsync = "always";
  RedisServer& redis = own_redis(options);
  const std::string file = write_workflows(R"(
workflows:
  napper:
    steps:
      - {name: a, kind: noop}
      - {name: nap, kind: wait, with: {for: 4s}}
      - {name: b, kind: noop}
)");
  ChildProcess& w1 = start_worker("k1", file);
  const std::string id = submit("napper", "{}");
  ASSERT_TRUE(eventually([&] { return hget(id, "status") == "waiting"; }, 10s)) << hget(id, "status");
  w1.kill_and_reap();
  redis.kill();
  redis.start();
  EXPECT_EQ(hget(id, "status"), "waiting") << "the wait was lost with Redis";
  EXPECT_EQ(hget(id, "s.nap.status"), "waiting");
  start_worker("k2", file);
  ASSERT_TRUE(wait_status(id, "completed", 30s)) << hget(id, "status");
  const std::int64_t late = hget_int(id, "s.b.started_at") - hget_int(id, "s.nap.wake_at");
  EXPECT_GE(late, 0) << "the wait ended early";
  EXPECT_LE(late, 100) << "the next step started " << late << " ms after the wait was due";
  EXPECT_EQ(hget(id, "s.nap.attempts"), "1");
  figures("durable_wait_end_late_ms=" + std::to_string(late));
}

// 1d. Signal waits survive the SIGKILL of every worker and a Redis SIGKILL +
// restart from its AOF: a signal sent while no worker runs is taken when one
// comes back, and a timeout set before the crash ends its wait (continue)
// within a second of its time, Redis time.
TEST_F(RedisFaults, SignalWaitsSurviveEveryWorkerAndRedisKilled) {
  RedisServerOptions options;
  options.appendonly = true;
  options.appendfsync = "always";
  RedisServer& redis = own_redis(options);
  const std::string file = write_workflows(R"(
workflows:
  approval:
    steps:
      - {name: approve, kind: wait, with: {signal: approved}}
      - {name: b, kind: noop}
  expiring:
    steps:
      - {name: approve, kind: wait, with: {signal: approved, timeout: 4s, on_timeout: continue}}
      - {name: b, kind: noop}
)");
  ChildProcess& w1 = start_worker("k1", file);
  const std::string signalled = submit("approval", "{}");
  const std::string expiring = submit("expiring", "{}");
  for (const std::string& id : {signalled, expiring}) {
    ASSERT_TRUE(eventually([&] { return hget(id, "status") == "waiting"; }, 10s)) << hget(id, "status");
  }
  w1.kill_and_reap();
  redis.kill();
  redis.start();
  EXPECT_EQ(hget(signalled, "s.approve.status"), "waiting") << "the wait was lost with Redis";
  EXPECT_EQ(hget(signalled, "s.approve.signal"), "approved");
  const CommandResult sent = cli({"signal", signalled, "approved", "--data", R"({"by": "ann"})"});
  EXPECT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_EQ(sent.out, "delivered\n");
  start_worker("k2", file);
  ASSERT_TRUE(wait_status(signalled, "completed", 30s)) << hget(signalled, "status");
  EXPECT_EQ(hget(signalled, "s.approve.output"), R"({"by":"ann"})");
  ASSERT_TRUE(wait_status(expiring, "completed", 30s)) << hget(expiring, "status");
  EXPECT_EQ(hget(expiring, "s.approve.output"), "null") << "on_timeout: continue";
  const std::int64_t late = hget_int(expiring, "s.b.started_at") - hget_int(expiring, "s.approve.wake_at");
  EXPECT_GE(late, 0) << "the timeout fired early";
  EXPECT_LE(late, 1000) << "the timeout fired " << late << " ms late";
  figures("signal_timeout_late_ms=" + std::to_string(late));
}

// 2. Redis not there when a worker and the API start: both wait and retry with
// a clear log line, the API listens and answers 503 meanwhile; once Redis
// starts (same port) everything works, without a restart.
TEST_F(RedisFaults, WorkerAndApiStartedBeforeRedisWaitForIt) {
  RedisServerOptions options;
  options.appendonly = true;
  RedisServer& redis = own_redis(options);
  redis.stop();  // its port and folder are kept: started again below
  const std::string file = write_workflows(kPipeline);
  ChildProcess& w = start_worker("early", file, {}, /*wait_ready=*/false);
  const std::uint16_t port = free_port();
  ChildProcess& api = start_serve(file, port);

  const std::string waiting = "waiting for Redis at " + url() + ": ";
  ASSERT_TRUE(w.wait_for_log(waiting, 15s, 2)) << tail_of(w.log());
  ASSERT_TRUE(api.wait_for_log(waiting, 15s, 2)) << tail_of(api.log());
  EXPECT_NE(w.log().find("Connection refused; retrying in "), std::string::npos) << tail_of(w.log());
  ASSERT_TRUE(eventually([&] { return readyz(port) == 503; }, 10s)) << tail_of(api.log());
  const HttpResponse refused = post_run(port, "pipeline", Json{{"i", -1}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty());
  const HttpResponse ready = http(port, "GET", "/readyz");
  EXPECT_NE(ready.body.find("waiting for Redis"), std::string::npos) << ready.body;
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(w.running()) << tail_of(w.log());
  ASSERT_TRUE(api.running()) << tail_of(api.log());
  const int worker_retries = w.count_in_log(waiting);
  const int api_retries = api.count_in_log(waiting);

  const auto started = Clock::now();
  redis.start();
  ASSERT_TRUE(eventually([&] { return fetching(w); }, 15s)) << tail_of(w.log());
  const auto worker_ready = since(started);
  ASSERT_TRUE(eventually([&] { return readyz(port) == 200; }, 15s)) << tail_of(api.log());
  const auto api_ready = since(started);

  constexpr int kRuns = 20;
  std::vector<std::string> runs;
  for (int i = 0; i < kRuns; ++i) {
    HttpResponse r = post_run(port, "pipeline", Json{{"i", i}});
    ASSERT_EQ(r.status, 202) << r.body;
    runs.push_back(r.json().value("run_id", ""));
  }
  const Tally t = wait_finished(runs, 20s);
  EXPECT_TRUE(w.running());
  EXPECT_TRUE(api.running());
  EXPECT_EQ(t.completed, kRuns);
  expect_clean_end(runs, t);
  figures("runs=" + std::to_string(kRuns) + " worker_retries=" + std::to_string(worker_retries) +
          " api_retries=" + std::to_string(api_retries) + " completed=" + std::to_string(t.completed) +
          " dlq=" + std::to_string(t.failed) + " worker_ready_ms=" + std::to_string(worker_ready.count()) +
          " api_ready_ms=" + std::to_string(api_ready.count()));
}

// 4. Redis out of memory (maxmemory, noeviction): submits are refused with a
// clear 503 (HTTP) and error (CLI); no step is acknowledged without its
// checkpoint (every script is refused whole); once memory is raised every
// accepted run completes, and no attempt was spent on the outage.
TEST_F(RedisFaults, OutOfMemoryRefusesSubmitsThenRecovers) {
  RedisServer& redis = own_redis();
  ASSERT_EQ(std::string(redis.call({"CONFIG", "GET", "maxmemory-policy"})[1].str()), "noeviction");
  const std::string file = write_workflows(R"(
workflows:
  pipeline:
    steps:
      - {name: a, kind: noop, lease: 1s, retry: {max_attempts: 3}}
      - {name: b, kind: sleep, with: {ms: 100}, lease: 1s, retry: {max_attempts: 3}}
      - {name: c, kind: noop, lease: 1s, retry: {max_attempts: 3}}
)");
  ChildProcess& w1 = start_worker("m1", file, WorkerArgs().with_concurrency(4));
  ChildProcess& w2 = start_worker("m2", file, WorkerArgs().with_concurrency(4));
  const std::uint16_t port = free_port();
  ChildProcess& api = start_serve(file, port);
  ASSERT_TRUE(eventually([&] { return readyz(port) == 200; }, 15s)) << tail_of(api.log());

  const long long used = info_field(redis, "memory", "used_memory");
  ASSERT_FALSE(redis.call({"CONFIG", "SET", "maxmemory", std::to_string(used + (2 << 20))}).is_error());
  const std::string pad(16 * 1024, 'x');
  std::vector<std::string> runs;
  HttpResponse refusal;
  for (int i = 0; i < 2000; ++i) {
    HttpResponse r = post_run(port, "pipeline", Json{{"i", i}, {"pad", pad}});
    if (r.status != 202) {
      refusal = r;
      break;
    }
    runs.push_back(r.json().value("run_id", ""));
  }
  ASSERT_EQ(refusal.status, 503) << refusal.body;
  EXPECT_NE(refusal.body.find("OOM"), std::string::npos) << refusal.body;
  EXPECT_FALSE(refusal.header("retry-after").empty());
  ASSERT_GE(runs.size(), 10u);
  // Kept over the limit from here on: the refused request's buffers, freed,
  // could otherwise bring Redis back just under it for a smaller write.
  const long long full = info_field(redis, "memory", "used_memory");
  ASSERT_FALSE(redis.call({"CONFIG", "SET", "maxmemory", std::to_string(full - (1 << 20))}).is_error());
  const auto oom_at = Clock::now();
  // The CLI says what is wrong, too.
  CommandResult cli_refusal = cli({"submit", "pipeline", "--input", R"({"from": "cli"})"});
  EXPECT_NE(cli_refusal.exit_code, 0) << cli_refusal.out;
  EXPECT_NE(cli_refusal.err.find("OOM"), std::string::npos) << cli_refusal.err;

  // While Redis refuses writes: the fleet stalls, nobody dies, no entry is
  // acknowledged without its checkpoint (doctor: every live run still holds
  // its token; every completed step has its output).
  ASSERT_TRUE(eventually([&] { return w1.count_in_log("OOM") + w2.count_in_log("OOM") > 0; }, 10s))
      << tail_of(w1.log()) << tail_of(w2.log());
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(w1.running() && w2.running() && api.running());
  const Tally during = tally(runs);
  EXPECT_EQ(during.missing, 0);
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << "doctor under OOM:\n" << doc.out << doc.err;
  static constexpr std::string_view kCheckpoints = R"lua(
local bad = 0
for _, k in ipairs(KEYS) do
  for _, s in ipairs({'a', 'b', 'c'}) do
    if redis.call('HGET', k, 's.' .. s .. '.status') == 'completed' and
       redis.call('HEXISTS', k, 's.' .. s .. '.output') == 0 then bad = bad + 1 end
  end
end
return bad
)lua";
  std::vector<std::string> check{"EVAL", std::string(kCheckpoints), std::to_string(runs.size())};
  for (const std::string& r : runs) check.push_back(run_key(r));
  EXPECT_EQ(redis.call(check, 10s).as_integer(), 0) << "a step completed without its output";
  const int refused_writes = w1.count_in_log("OOM") + w2.count_in_log("OOM");
  const auto oom_ms = since(oom_at);

  ASSERT_FALSE(redis.call({"CONFIG", "SET", "maxmemory", "0"}).is_error());
  const auto freed = Clock::now();
  Tally t = wait_finished(runs, 40s);
  const auto recovery = since(freed);
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = post_run(port, "pipeline", Json{{"after", i}});
    ASSERT_EQ(r.status, 202) << r.body;
    runs.push_back(r.json().value("run_id", ""));
  }
  t = wait_finished(runs, 20s);
  EXPECT_TRUE(w1.running() && w2.running() && api.running());
  EXPECT_EQ(t.failed, 0) << "the outage spent the attempts of some runs";
  expect_clean_end(runs, t);
  figures("runs=" + std::to_string(runs.size()) + " completed=" + std::to_string(t.completed) +
          " dlq=" + std::to_string(t.failed) + " reexecuted=" + std::to_string(t.reexecuted) +
          " oom_ms=" + std::to_string(oom_ms.count()) + " refused_writes_logged=" + std::to_string(refused_writes) +
          " recovery_ms=" + std::to_string(recovery.count()));
}

// 5. A backlog of 20,000 entries, larger than any trim threshold: nothing in
// steadfast trims a queue stream (entries are XDELed with their ACK), so no
// undelivered entry is removed; at every sample, entries + completed runs ==
// submitted, and all of them complete.
TEST_F(RedisFaults, BacklogOf20kEntriesIsNeverTrimmed) {
  RedisServer& redis = own_redis();
  const std::string file = write_workflows(R"(
workflows:
  bulk:
    steps:
      - {name: only, kind: noop}
)");
  {
    // A worker registers the workflow and makes the group, then leaves.
    ChildProcess& reg = start_worker("reg", file);
    reg.sigterm();
    ASSERT_EQ(reg.wait(10s), 0) << tail_of(reg.log());
  }
  constexpr int kRuns = 20000;
  std::vector<std::string> runs(kRuns);
  const auto t0 = Clock::now();
  {
    Client& c = client();
    std::vector<std::thread> threads;
    constexpr int kThreads = 8;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kRuns; i += kThreads) runs[i] = c.submit("bulk", Json{{"i", i}}).run_id;
      });
    }
    for (auto& th : threads) th.join();
  }
  const auto submitted_in = since(t0);
  const std::string stream = key("q:default");
  ASSERT_EQ(redis.call({"XLEN", stream}).as_integer(), kRuns);
  ASSERT_EQ(redis.call({"HLEN", store::KeySpace(prefix()).workers()}).as_integer(), 0)
      << "the backlog is measured from no worker running";

  // Entries in the stream + completed runs, read atomically.
  const std::vector<std::string> sample{"EVAL",
                                        "return {redis.call('XLEN', KEYS[1]), "
                                        "tonumber(redis.call('HGET', KEYS[2], 'completed:bulk') or 0)}",
                                        "2", stream, key("stats")};
  const auto drain_start = Clock::now();
  start_worker("b1", file, WorkerArgs().with_concurrency(32));
  start_worker("b2", file, WorkerArgs().with_concurrency(32));
  int samples = 0;
  int broken = 0;
  long long done = 0;
  const auto deadline = Clock::now() + 45s;
  while (Clock::now() < deadline) {
    redis::Reply r = redis.call(sample);
    const long long in_stream = r[0].as_integer();
    done = r[1].as_integer();
    ++samples;
    if (in_stream + done != kRuns && ++broken <= 3) {
      ADD_FAILURE() << "entries " << in_stream << " + completed " << done << " != " << kRuns;
    }
    if (done == kRuns) break;
    std::this_thread::sleep_for(20ms);
  }
  const auto drained_in = since(drain_start);
  ASSERT_EQ(done, kRuns);
  EXPECT_EQ(broken, 0);
  EXPECT_EQ(redis.call({"XLEN", stream}).as_integer(), 0);
  const Tally t = tally(runs);
  expect_clean_end(runs, t);
  figures("runs=" + std::to_string(kRuns) + " peak_backlog=" + std::to_string(kRuns) +
          " completed=" + std::to_string(t.completed) + " dlq=" + std::to_string(t.failed) +
          " reexecuted=" + std::to_string(t.reexecuted) + " invariant_samples=" + std::to_string(samples) +
          " submit_ms=" + std::to_string(submitted_in.count()) + " drain_ms=" + std::to_string(drained_in.count()));
}

constexpr const char* kSlow = R"(
workflows:
  slow:
    steps:
      - {name: a, kind: sleep, with: {ms: 200}, lease: 1s, retry: {max_attempts: 10}}
)";

// The end of the group tests: a worker stopped with a clear error naming the
// stream and the group, and non-zero.
void expect_failed_closed(ChildProcess& w, const std::string& stream) {
  const auto code = w.wait(20s);
  ASSERT_TRUE(code.has_value()) << "the worker kept running:\n" << tail_of(w.log());
  EXPECT_NE(*code, 0) << tail_of(w.log());
  // The error is the contract here: it tells the operator what broke and why
  // the worker will not repair it.
  const std::string log = w.log();
  EXPECT_NE(log.find("consumer group missing"), std::string::npos) << tail_of(log);
  EXPECT_NE(log.find(stream), std::string::npos) << tail_of(log);
  EXPECT_NE(log.find("'steadfast'"), std::string::npos) << tail_of(log);
  EXPECT_NE(log.find("refusing to recreate it"), std::string::npos) << tail_of(log);
}

// 6a. XGROUP DESTROY under a running fleet: every worker fails closed with a
// clear error and none re-creates the group (at `$` it would skip the
// backlog). Restarting the workers (the documented recovery: the group is made
// again at the stream's start) finishes every run.
TEST_F(RedisFaults, DestroyedGroupStopsWorkersWithoutRecreatingIt) {
  RedisServer& redis = own_redis();
  const std::string file = write_workflows(kSlow);
  const auto args = WorkerArgs().with_concurrency(4).with_drain_timeout("1s");
  ChildProcess& w1 = start_worker("g1", file, args);
  ChildProcess& w2 = start_worker("g2", file, args);
  constexpr int kRuns = 40;
  std::vector<std::string> runs;
  for (int i = 0; i < kRuns; ++i) runs.push_back(client().submit("slow", Json{{"i", i}}).run_id);
  ASSERT_TRUE(eventually([&] { return stat("completed:slow") >= 4; }, 15s));

  const std::string stream = key("q:default");
  const auto t0 = Clock::now();
  ASSERT_EQ(redis.call({"XGROUP", "DESTROY", stream, "steadfast"}).as_integer(), 1);
  expect_failed_closed(w1, stream);
  expect_failed_closed(w2, stream);
  const auto stopped_in = since(t0);
  // Both workers have exited (expect_failed_closed): nothing can make it again.
  EXPECT_EQ(redis.call({"XINFO", "GROUPS", stream}).size(), 0u) << "a worker re-created the group";
  const long long left = redis.call({"XLEN", stream}).as_integer();
  EXPECT_GT(left, 0) << "the backlog is still in the stream";

  // Recovery: start the workers again.
  const auto restarted = Clock::now();
  start_worker("g1", file, args);
  start_worker("g2", file, args);
  const Tally t = wait_finished(runs, 30s);
  const auto recovery = since(restarted);
  EXPECT_EQ(t.completed, kRuns);
  expect_clean_end(runs, t);
  figures("runs=" + std::to_string(kRuns) + " workers_failed_closed=2 stopped_ms=" +
          std::to_string(stopped_in.count()) + " backlog_kept=" + std::to_string(left) +
          " completed=" + std::to_string(t.completed) + " dlq=" + std::to_string(t.failed) +
          " reexecuted=" + std::to_string(t.reexecuted) + " recovery_ms=" + std::to_string(recovery.count()));
}

// 6b. FLUSHALL under a running fleet (Redis lost its data): the workers fail
// closed and neither the stream nor the group comes back by itself. The runs
// of before are gone with the data (nothing can bring them back); runs
// accepted after a restart of the workers complete.
TEST_F(RedisFaults, FlushallStopsWorkersWithoutRecreatingTheGroup) {
  RedisServer& redis = own_redis();
  const std::string file = write_workflows(kSlow);
  const auto args = WorkerArgs().with_concurrency(4).with_drain_timeout("1s");
  ChildProcess& w1 = start_worker("f1", file, args);
  ChildProcess& w2 = start_worker("f2", file, args);
  constexpr int kBefore = 40;
  for (int i = 0; i < kBefore; ++i) client().submit("slow", Json{{"i", i}});
  ASSERT_TRUE(eventually([&] { return stat("completed:slow") >= 4; }, 15s));

  const std::string stream = key("q:default");
  const auto t0 = Clock::now();
  ASSERT_FALSE(redis.call({"FLUSHALL"}).is_error());
  expect_failed_closed(w1, stream);
  expect_failed_closed(w2, stream);
  const auto stopped_in = since(t0);
  // Both workers have exited (expect_failed_closed): nothing can make it again.
  EXPECT_EQ(redis.call({"EXISTS", stream}).as_integer(), 0) << "a worker re-created the stream (and its group)";
  EXPECT_EQ(count_runs(), 0u);

  start_worker("f1", file, args);
  start_worker("f2", file, args);
  constexpr int kAfter = 20;
  std::vector<std::string> runs;
  for (int i = 0; i < kAfter; ++i) runs.push_back(client().submit("slow", Json{{"i", i}}).run_id);
  const Tally t = wait_finished(runs, 30s);
  EXPECT_EQ(t.completed, kAfter);
  expect_clean_end(runs, t);
  figures("runs_lost_with_the_data=" + std::to_string(kBefore) + " workers_failed_closed=2 stopped_ms=" +
          std::to_string(stopped_in.count()) + " runs_after=" + std::to_string(kAfter) +
          " completed=" + std::to_string(t.completed) + " dlq=" + std::to_string(t.failed));
}

}  // namespace
}  // namespace steadfast::test
