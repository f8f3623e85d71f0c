// A Sentinel failover under a running fleet: real `steadfast worker` and
// `steadfast serve --wait-replicas 1` processes given only the Sentinel's URL
// (redis+sentinel://), submits going on all the time, and the primary either
// failed over by the Sentinel (SENTINEL FAILOVER) or SIGKILLed.
//
// Sentinel does not pause the old primary's writes: until the processes
// learn of the switch (+switch-master) or the old primary is demoted, writes
// may land on a server whose data is about to be thrown away. What must hold
// anyway, and what a user checks:
//   * every run answered 202 (replicated, since --wait-replicas 1) completes;
//   * a submit answered 503 "not replicated" (or not answered) and sent again
//     with its Idempotency-Key, as the 503 says, is then answered 202 or 200
//     — one run per key — and completes;
//   * no process exits, the dead-letter queue is empty, `steadfast doctor`
//     finds nothing.
// Steps whose writes were lost run again (fenced), which the figures count.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "reliability/reliability_fixture.h"
#include "support/redis_sentinel.h"

namespace steadfast::test {
namespace {

// Short steps with a short lease: a claim whose write was lost with the old
// primary's data is reclaimed within a few seconds. Enough attempts that a
// step re-run after lost writes is never dead-lettered.
constexpr const char* kPipeline = R"(
workflows:
  pipeline:
    steps:
      - {name: a, kind: noop, lease: 2s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: b, kind: sleep, with: {ms: 100}, lease: 2s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: c, kind: noop, lease: 2s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";

// The run_id an answer names; empty when its body is not a JSON object.
std::string run_id_of(const HttpResponse& r) {
  const Json j = r.json();
  return j.is_object() ? j.value("run_id", "") : std::string();
}

// What one idempotency key's submits were answered.
struct Answer {
  int status = 0;  // the last HTTP status; 0 = no answer (the request failed on the wire)
  std::string run_id;
};

// Submits keyed runs one after another on its own thread until stopped, and
// remembers each key's answer.
class Submitter {
 public:
  explicit Submitter(std::uint16_t port) : port_(port), thread_([this] { loop(); }) {}
  ~Submitter() { stop(); }
  Submitter(const Submitter&) = delete;
  Submitter& operator=(const Submitter&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Runs answered 202 so far.
  [[nodiscard]] long accepted() const { return accepted_.load(); }
  [[nodiscard]] std::map<std::string, Answer> answers() const {
    std::lock_guard lock(mutex_);
    return answers_;
  }

 private:
  void loop() {
    for (int i = 0; !stop_; ++i) {
      const std::string key = "k" + std::to_string(i);
      const HttpResponse r = post_run(port_, "pipeline", Json{{"i", i}}, key);
      Answer a{r.status, r.status == 202 || r.status == 503 ? run_id_of(r) : std::string()};
      if (r.status == 202) ++accepted_;
      {
        std::lock_guard lock(mutex_);
        answers_[key] = a;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(r.status == 202 ? 5 : 50));
    }
  }

  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<long> accepted_{0};
  mutable std::mutex mutex_;
  std::map<std::string, Answer> answers_;
  std::thread thread_;  // last: started once the rest is built
};

class SentinelFailover : public ReliabilityTest {
 protected:
  // (gtest skips the test's body after a fatal failure here)
  void SetUp() override {
    ReliabilityTest::SetUp();
    start_pair();
    if (HasFatalFailure()) return;
    start_fleet();
  }

  // A primary of the test's own and a replica of it, in sync, then a
  // Sentinel watching the primary (started after the replica, so that its
  // first look at the primary finds it: it looks again only every 10 s).
  void start_pair() {
    RedisServerOptions options;
    options.extra_args = {"--repl-diskless-sync-delay", "0"};  // full syncs at once (Redis 7 waits 5 s)
    RedisServer& a = own_redis(options);
    b_ = std::make_unique<RedisServer>(options);
    ASSERT_EQ(std::string(b_->call({"REPLICAOF", "127.0.0.1", std::to_string(a.port())}).str()), "OK");
    ASSERT_TRUE(wait_role(*b_, "slave", 10s)) << b_->log();
    sentinel_ = std::make_unique<RedisSentinel>(a.port());
    ASSERT_TRUE(eventually([&] { return sentinel_->knows_replica(b_->port()); }, 20s, 50ms))
        << "the Sentinel did not see the replica";
    use_url(sentinel_->url());
  }

  // Three workers and serve, all given the Sentinel's URL; serve answers a
  // submit only once one replica has it.
  void start_fleet() {
    const std::string file = write_workflows(kPipeline);
    for (const char* id : {"s1", "s2", "s3"}) {
      workers_.push_back(&start_worker(id, file, WorkerArgs().with_concurrency(50)));
    }
    port_ = free_port();
    api_ = &start_child({STEADFAST_BIN, "serve", "--workflows", file, "--listen", "127.0.0.1:" + std::to_string(port_),
                         "--redis", url(), "--key-prefix", prefix(), "--wait-replicas", "1",
                         "--wait-replicas-timeout", "500ms"},
                        "serve");
    ASSERT_TRUE(eventually([&] { return readyz(port_) == 200; }, 15s)) << tail_of(api_->log());
  }

  // Waits until `n` more runs than `from` were answered 202.
  static bool accepted_beyond(const Submitter& s, long from, long n, milliseconds timeout) {
    return eventually([&] { return s.accepted() >= from + n; }, timeout, 20ms);
  }

  // Every key not answered 202 is sent again with its key until it is
  // answered 202, or 200 (the key's run exists, now replicated) — the 503's
  // advice; returns every key's run.
  std::vector<std::string> settle(const std::map<std::string, Answer>& answers, long& resent) {
    std::vector<std::string> runs;
    for (const auto& [key, answer] : answers) {
      std::string run = answer.run_id;
      if (answer.status != 202) {
        ++resent;
        const std::string idempotency_key = key;  // (a structured binding: not capturable before clang 16)
        const int input_i = std::stoi(key.substr(1));
        HttpResponse r;
        EXPECT_TRUE(eventually(
            [&] {
              r = post_run(port_, "pipeline", Json{{"i", input_i}}, idempotency_key);
              return r.status == 202 || r.status == 200;  // 200: the key's run exists, now replicated
            },
            20s, 100ms))
            << key << ": " << r.status << " " << r.body;
        const std::string now = run_id_of(r);
        // The run a 503 named either survived (the same run) or was on the
        // old primary's lost data (a new one): never two runs for one key.
        if (!answer.run_id.empty() && now != answer.run_id) {
          EXPECT_TRUE(hget(answer.run_id, "status").empty()) << key << ": two runs, " << answer.run_id << " and " << now;
        }
        run = now;
      }
      runs.push_back(run);
    }
    return runs;
  }

  // Once the fleet follows the new primary (100 more runs accepted), the
  // submits stop, every key not answered 202 is sent again, and the end is
  // checked.
  void finish(Submitter& submitter, RedisServer& new_primary) {
    const long before = submitter.accepted();
    ASSERT_TRUE(accepted_beyond(submitter, before, 100, 20s)) << tail_of(api_->log());
    submitter.stop();
    use_redis(new_primary);  // the helpers read the new primary
    use_url(sentinel_->url());
    long resent = 0;
    const std::vector<std::string> runs = settle(submitter.answers(), resent);
    expect_fleet_survived(runs, resent);
  }

  // The end: every run completed, nothing dead-lettered, doctor clean, and
  // every process of the fleet still running.
  void expect_fleet_survived(const std::vector<std::string>& runs, long resent) {
    const Tally t = wait_finished(runs, 60s);
    expect_clean_end(runs, t);
    EXPECT_EQ(t.failed, 0);
    for (ChildProcess* w : workers_) EXPECT_TRUE(w->running()) << tail_of(w->log());
    EXPECT_TRUE(api_->running()) << tail_of(api_->log());
    figures("runs=" + std::to_string(runs.size()) + " resent_after_503=" + std::to_string(resent) +
            " steps_rerun=" + std::to_string(t.reexecuted));
  }

  std::unique_ptr<RedisServer> b_;
  std::unique_ptr<RedisSentinel> sentinel_;
  std::vector<ChildProcess*> workers_;
  ChildProcess* api_ = nullptr;
  std::uint16_t port_ = 0;
};

// SENTINEL FAILOVER while runs are submitted and running: the Sentinel
// promotes the replica and, ~10 s later, demotes the old primary to its
// replica; meanwhile the new primary has no replica, so submits answer 503
// until the old one has synced, then 202 again.
TEST_F(SentinelFailover, AFleetGivenTheSentinelsUrlLosesNoAcceptedRunThroughAFailover) {
  RedisServer& a = redis();
  RedisServer& b = *b_;

  Submitter submitter(port_);
  ASSERT_TRUE(accepted_beyond(submitter, 0, 100, 20s)) << tail_of(api_->log());
  const auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return sentinel_->cli({"SENTINEL", "FAILOVER", sentinel_->name()}) == "OK"; }, 20s,
                         100ms));
  ASSERT_TRUE(eventually([&] { return sentinel_->primary_port() == std::to_string(b.port()); }, 20s, 20ms));
  const auto switched = Clock::now() - t0;
  ASSERT_TRUE(wait_role(b, "master", 10s));
  ASSERT_TRUE(wait_role(a, "slave", 45s)) << "the old primary was not demoted";
  const auto demoted = Clock::now() - t0;
  // Accepted again once b has a replica: the fleet follows b.
  finish(submitter, b);
  figures("switched_ms=" + std::to_string(std::chrono::duration_cast<milliseconds>(switched).count()) +
          " demoted_ms=" + std::to_string(std::chrono::duration_cast<milliseconds>(demoted).count()));
}

// The primary SIGKILLed while runs are submitted and running: the Sentinel
// sees it down after 1 s and promotes the replica; every run acknowledged
// before the kill is on it (WAIT 1). The killed server, started again empty,
// is made the new primary's replica, and submits are answered 202 again.
TEST_F(SentinelFailover, AFleetGivenTheSentinelsUrlLosesNoAcceptedRunWhenThePrimaryIsKilled) {
  RedisServer& a = redis();
  RedisServer& b = *b_;

  Submitter submitter(port_);
  ASSERT_TRUE(accepted_beyond(submitter, 0, 100, 20s)) << tail_of(api_->log());
  const auto t0 = Clock::now();
  a.kill();
  ASSERT_TRUE(eventually([&] { return sentinel_->primary_port() == std::to_string(b.port()); }, 30s, 20ms));
  const auto promoted = Clock::now() - t0;
  ASSERT_TRUE(wait_role(b, "master", 10s));
  // Started again, empty (no persistence), and made b's replica as its
  // operator would (the Sentinel would too, after 8–20 s: an old primary
  // must have reported "master" for 8 s, and it asks a replica's INFO every 10 s).
  a.start();
  ASSERT_EQ(std::string(a.call({"REPLICAOF", "127.0.0.1", std::to_string(b.port())}).str()), "OK");
  ASSERT_TRUE(wait_role(a, "slave", 20s)) << "the restarted server did not sync";
  finish(submitter, b);
  figures("promoted_ms=" + std::to_string(std::chrono::duration_cast<milliseconds>(promoted).count()));
}

}  // namespace
}  // namespace steadfast::test
