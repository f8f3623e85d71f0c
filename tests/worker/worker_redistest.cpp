// The worker runtime in-process: steadfast::Worker runs workflows defined in
// C++ against the test binary's redis-server, steadfast::Client submits and
// watches them. What a library user relies on: outputs passed between steps,
// exceptions as retryable errors, step timeouts, a retry-stable idempotency
// key, cancellation reaching a running handler.
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "store/keys.h"
#include "store/store.h"
#include "support/redis_test.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::RedisTest;

// A Worker running on its own thread; stopped and joined on destruction.
class WorkerThread {
 public:
  WorkerThread(WorkerOptions options, std::vector<Workflow> workflows)
      : worker_(std::move(options), std::move(workflows)) {
    thread_ = std::thread([this] {
      try {
        rc_ = worker_.run();
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Stops (drains) and joins; rethrows what run() threw.
  int stop() {
    if (thread_.joinable()) {
      worker_.stop();
      thread_.join();
    }
    return rc_;
  }
  [[nodiscard]] std::exception_ptr error() const { return error_; }
  Worker& worker() { return worker_; }

 private:
  Worker worker_;
  std::thread thread_;
  int rc_ = -1;
  std::exception_ptr error_;
};

class InProcess : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("w-") + info->name();
    ClientOptions co;
    co.redis_url = server().url();
    co.key_prefix = prefix_;
    client_ = std::make_unique<Client>(co);
  }
  void TearDown() override {
    worker_.reset();
    client_.reset();
    RedisTest::TearDown();
  }

  // Starts a worker for `workflow` and registers it with the client (so a
  // submit right away knows it).
  WorkerThread& start(const Workflow& workflow, int concurrency = 4) {
    WorkerOptions o;
    o.redis_url = server().url();
    o.key_prefix = prefix_;
    o.id = "inproc";
    o.concurrency = concurrency;
    o.drain_timeout = 1s;
    o.handle_signals = false;
    client_->register_workflow(workflow);
    worker_ = std::make_unique<WorkerThread>(o, std::vector<Workflow>{workflow});
    return *worker_;
  }

  Client& client() { return *client_; }

  std::string prefix_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<WorkerThread> worker_;
};

StepOptions quick_retries(int max_attempts) {
  StepOptions o;
  o.retry.max_attempts = max_attempts;
  o.retry.backoff.initial = 10ms;
  o.retry.backoff.multiplier = 1;
  return o;
}

TEST_F(InProcess, ThreeStepsPassOutputsAlong) {
  Workflow wf("pipeline");
  wf.step("double", [](StepContext& ctx) -> StepResult {
    return Json{{"x", ctx.input().at("n").get<int>() * 2}};
  });
  wf.step("add", [](StepContext& ctx) -> StepResult {
    return Json{{"y", ctx.outputs().at("double").at("x").get<int>() + 1}};
  });
  wf.step("report", [](StepContext& ctx) -> StepResult {
    Json seen = Json::array();
    for (const auto& [name, out] : ctx.outputs()) seen.push_back(name);
    return Json{{"sum", ctx.outputs().at("double").at("x").get<int>() +
                            ctx.outputs().at("add").at("y").get<int>()},
                {"seen", seen},
                {"workflow", ctx.workflow()}};
  });
  start(wf);
  const Submitted s = client().submit("pipeline", Json{{"n", 20}});
  EXPECT_TRUE(s.created);
  const RunInfo run = client().wait(s.run_id, 10s);
  ASSERT_EQ(run.status, "completed");
  ASSERT_EQ(run.steps.size(), 3u);
  EXPECT_EQ(run.steps[0].output, (Json{{"x", 40}}));
  EXPECT_EQ(run.steps[1].output, (Json{{"y", 41}}));
  EXPECT_EQ(run.steps[2].output,
            (Json{{"sum", 81}, {"seen", {"add", "double"}}, {"workflow", "pipeline"}}));
  for (const StepInfo& st : run.steps) {
    EXPECT_EQ(st.status, "completed");
    EXPECT_EQ(st.attempts, 1);
    ASSERT_EQ(st.attempt_history.size(), 1u) << st.attempt_history.dump();
    EXPECT_EQ(st.attempt_history[0]["outcome"], "completed");
    EXPECT_EQ(st.attempt_history[0]["attempt"], 1);
    EXPECT_FALSE(st.attempt_history[0]["worker"].get<std::string>().empty());
    EXPECT_FALSE(st.attempt_history[0].contains("error"));
    EXPECT_TRUE(st.waiting_for.is_null());
  }
  EXPECT_EQ(run.input, (Json{{"n", 20}}));
  EXPECT_TRUE(run.current_steps.empty());
  EXPECT_TRUE(run.waiting_for.is_null());
}

// ctx.heartbeat(progress, message) reaches the status JSON while the step
// runs (written with the lease renewal, at most once a second), and the run
// says it is at that step.
TEST_F(InProcess, HeartbeatProgressReachesTheStatusWhileTheStepRuns) {
  std::atomic<bool> release{false};
  Workflow wf("reports");
  wf.step("work", [&](StepContext& ctx) -> StepResult {
    ctx.heartbeat(0.5, "chunk 6 of 12");
    const auto until = Clock::now() + 10s;
    while (!release && Clock::now() < until) std::this_thread::sleep_for(5ms);
    return Json{{"done", true}};
  });
  start(wf);
  const std::string id = client().submit("reports", Json::object()).run_id;
  std::optional<RunInfo> seen;
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    seen = client().get_run(id);
    if (seen && !seen->steps.empty() && seen->steps[0].progress) break;
    std::this_thread::sleep_for(20ms);
  }
  release = true;
  ASSERT_TRUE(seen && seen->steps[0].progress) << "no progress within 10 s";
  EXPECT_EQ(*seen->steps[0].progress, 0.5);
  EXPECT_EQ(seen->steps[0].message, "chunk 6 of 12");
  EXPECT_EQ(seen->status, "running");
  EXPECT_EQ(seen->current_steps, std::vector<std::string>{"work"});
  const Json j = to_json(*seen);
  EXPECT_EQ(j["steps"][0]["progress"], 0.5);
  EXPECT_EQ(j["steps"][0]["message"], "chunk 6 of 12");
  EXPECT_EQ(client().wait(id, 10s).status, "completed");
}

TEST_F(InProcess, HandlerExceptionIsARetryableError) {
  std::atomic<int> calls{0};
  Workflow wf("throws");
  wf.step("flaky", [&](StepContext& ctx) -> StepResult {
    ++calls;
    if (ctx.attempt() == 1) throw std::runtime_error("boom");
    return Json{{"attempt", ctx.attempt()}};
  }, quick_retries(3));
  start(wf);
  const RunInfo run = client().wait(client().submit("throws", Json::object()).run_id, 10s);
  ASSERT_EQ(run.status, "completed");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(run.steps[0].attempts, 2);
  EXPECT_EQ(run.steps[0].output, (Json{{"attempt", 2}}));
  ASSERT_EQ(run.steps[0].errors.size(), 1u) << run.steps[0].errors.dump();
  EXPECT_EQ(run.steps[0].errors[0]["attempt"], 1);
  EXPECT_NE(run.steps[0].errors[0]["error"].get<std::string>().find("handler threw: boom"),
            std::string::npos)
      << run.steps[0].errors.dump();
  // The attempt history: the failed attempt, then the one that completed.
  const Json& h = run.steps[0].attempt_history;
  ASSERT_EQ(h.size(), 2u) << h.dump();
  EXPECT_EQ(h[0]["attempt"], 1);
  EXPECT_EQ(h[0]["outcome"], "retrying");
  EXPECT_EQ(h[0]["error"], run.steps[0].errors[0]["error"]);
  EXPECT_EQ(h[0]["worker"], h[1]["worker"]);
  EXPECT_EQ(h[1]["attempt"], 2);
  EXPECT_EQ(h[1]["outcome"], "completed");
  EXPECT_FALSE(h[1].contains("error"));
  EXPECT_LE(h[0]["finished_at"].get<std::string>(), h[1]["started_at"].get<std::string>());
}

TEST_F(InProcess, StepTimeoutFailsTheAttempt) {
  std::atomic<bool> first_saw_cancel{false};
  Workflow wf("slowpoke");
  StepOptions o = quick_retries(2);
  o.timeout = 200ms;
  wf.step("slow", [&](StepContext& ctx) -> StepResult {
    if (ctx.attempt() == 1) {
      const auto until = Clock::now() + 5s;
      while (!ctx.cancelled() && Clock::now() < until) std::this_thread::sleep_for(5ms);
      first_saw_cancel = ctx.cancelled();
      return Json{{"late", true}};  // returned after the timeout: must not count as a success
    }
    return Json{{"attempt", ctx.attempt()}};
  }, o);
  start(wf);
  const auto t0 = Clock::now();
  const RunInfo run = client().wait(client().submit("slowpoke", Json::object()).run_id, 10s);
  ASSERT_EQ(run.status, "completed");
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_TRUE(first_saw_cancel.load()) << "the timed-out handler was not told to stop";
  EXPECT_EQ(run.steps[0].attempts, 2);
  EXPECT_EQ(run.steps[0].output, (Json{{"attempt", 2}}));
  ASSERT_EQ(run.steps[0].errors.size(), 1u);
  EXPECT_NE(run.steps[0].errors[0]["error"].get<std::string>().find("timed out after 200 ms"),
            std::string::npos)
      << run.steps[0].errors.dump();
}

TEST_F(InProcess, IdempotencyKeyIsStableAcrossRetries) {
  std::mutex mu;
  std::vector<std::string> keys;
  std::vector<int> attempts;
  Workflow wf("charge");
  wf.step("prepare", [](StepContext&) -> StepResult { return Json::object(); });
  wf.step("pay", [&](StepContext& ctx) -> StepResult {
    {
      std::lock_guard lock(mu);
      keys.push_back(ctx.idempotency_key());
      attempts.push_back(ctx.attempt());
    }
    if (ctx.attempt() < 3) return StepError::retryable("upstream 503");
    return Json{{"paid", true}};
  }, quick_retries(5));
  start(wf);
  const std::string id = client().submit("charge", Json::object()).run_id;
  const RunInfo run = client().wait(id, 10s);
  ASSERT_EQ(run.status, "completed");
  std::lock_guard lock(mu);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  ASSERT_EQ(keys.size(), 3u);
  for (const std::string& k : keys) EXPECT_EQ(k, id + ":pay");
}

TEST_F(InProcess, CancellationReachesARunningHandler) {
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
  Workflow wf("cancellable");
  StepOptions o;
  o.lease = 600ms;  // renewals (which carry the cancel flag) every 200 ms
  wf.step("wait", [&](StepContext& ctx) -> StepResult {
    started = true;
    const auto until = Clock::now() + 10s;
    while (!ctx.cancelled() && Clock::now() < until) std::this_thread::sleep_for(5ms);
    saw_cancel = ctx.cancelled();
    return Json{{"finished", true}};
  }, o);
  wf.step("never", [](StepContext&) -> StepResult { return Json::object(); });
  start(wf);
  const std::string id = client().submit("cancellable", Json::object()).run_id;
  const auto deadline = Clock::now() + 10s;
  while (!started && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(started.load());
  const auto t0 = Clock::now();
  EXPECT_EQ(client().cancel(id), "cancelling");
  const RunInfo run = client().wait(id, 10s);
  const auto took = Clock::now() - t0;
  EXPECT_EQ(run.status, "cancelled");
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_LT(took, 2s);
  EXPECT_EQ(run.steps[0].status, "cancelled");
  EXPECT_TRUE(run.steps[0].output.is_null()) << "a cancelled step's output is not recorded";
  EXPECT_EQ(run.steps[1].status, "pending");
  EXPECT_EQ(client().cancel(id), "terminal:cancelled");
}

TEST_F(InProcess, WorkerStopsCleanlyAndCountsItsAttempts) {
  Workflow wf("counted");
  wf.step("one", [](StepContext&) -> StepResult { return Json::object(); });
  wf.step("two", [](StepContext& ctx) -> StepResult {
    if (ctx.attempt() == 1) return StepError::retryable("once");
    return Json::object();
  }, quick_retries(2));
  WorkerThread& w = start(wf);
  const std::string id = client().submit("counted", Json::object()).run_id;
  ASSERT_EQ(client().wait(id, 10s).status, "completed");
  EXPECT_EQ(w.stop(), 0);
  EXPECT_FALSE(w.error());
  const WorkerStats st = w.worker().stats();
  EXPECT_EQ(st.started, 3u);
  EXPECT_EQ(st.succeeded, 2u);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_EQ(st.stale, 0u);
  EXPECT_EQ(st.handed_back, 0u);
}

// A read rolled back by a failover: the group's last-delivered id moves back,
// so XREADGROUP '>' hands an entry that is running here to the same consumer
// again (Redis resets its delivery count to 1). One handler, one outcome: the
// worker must neither start a second handler nor reset the running step.
TEST_F(InProcess, AnEntryDeliveredAgainWhileInFlightRunsOnce) {
  std::atomic<int> held_runs{0};
  std::atomic<bool> release{false};
  Workflow wf("redelivered");
  wf.step("slow", [&](StepContext& ctx) -> StepResult {
    if (!ctx.input().value("hold", false)) return Json{{"sentinel", true}};
    ++held_runs;
    const auto until = Clock::now() + 20s;
    while (!release && !ctx.cancelled() && Clock::now() < until) std::this_thread::sleep_for(2ms);
    return Json{{"held", true}};
  });
  WorkerThread& w = start(wf);
  const std::string id = client().submit("redelivered", Json{{"hold", true}}).run_id;
  const auto deadline = Clock::now() + 10s;
  while (held_runs == 0 && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(held_runs.load(), 1);

  redis::Client& redis = make_client();
  const std::string stream = store::KeySpace(prefix_, 1).queue(0, "default");
  EXPECT_EQ(run(redis.command("XGROUP", "SETID", stream, store::kGroup, "0")).str(), "OK");
  // A sentinel run wakes the worker's blocked read, which returns the
  // rewound entry first; once the sentinel completed, that read was handled.
  const std::string sentinel = client().submit("redelivered", Json{{"hold", false}}).run_id;
  ASSERT_EQ(client().wait(sentinel, 10s).status, "completed");
  EXPECT_EQ(w.worker().stats().redelivered, 1u);
  EXPECT_EQ(held_runs.load(), 1) << "a second handler ran for the same entry";

  release = true;
  const RunInfo done = client().wait(id, 10s);
  EXPECT_EQ(done.status, "completed");
  EXPECT_EQ(done.steps[0].output, (Json{{"held", true}}));
  EXPECT_EQ(done.steps[0].attempts, 1);
  EXPECT_EQ(held_runs.load(), 1);
  EXPECT_EQ(w.stop(), 0);
  const WorkerStats st = w.worker().stats();
  EXPECT_EQ(st.started, 2u);  // the held run and the sentinel
  EXPECT_EQ(st.succeeded, 2u);
  EXPECT_EQ(st.stale, 0u);
}

}  // namespace
}  // namespace steadfast
