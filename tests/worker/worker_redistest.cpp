// The worker runtime in-process: steadfast::Worker runs workflows defined in
// C++ against the test binary's redis-server, steadfast::Client submits and
// watches them. What a library user relies on: outputs passed between steps,
// exceptions as retryable errors, step timeouts, a retry-stable idempotency
// key, cancellation reaching a running handler.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <set>
#include <sstream>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/run_filter.h"
#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "store/definition.h"
#include "store/keys.h"
#include "store/store.h"
#include "support/redis_test.h"
#include "worker/worker_thread.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::RedisTest;
using test::WorkerThread;

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
    return start(std::vector<Workflow>{workflow}, concurrency);
  }
  WorkerThread& start(const std::vector<Workflow>& workflows, int concurrency) {
    WorkerOptions o = options("inproc");
    o.concurrency = concurrency;
    for (const Workflow& w : workflows) client_->register_workflow(w);
    worker_ = std::make_unique<WorkerThread>(o, workflows);
    return *worker_;
  }

  WorkerOptions options(const std::string& id) const {
    WorkerOptions o;
    o.redis_url = server().url();
    o.key_prefix = prefix_;
    o.id = id;
    o.concurrency = 4;
    o.drain_timeout = 1s;
    o.handle_signals = false;
    return o;
  }

  // The run once `done` says so (polled every 5 ms, up to 10 s).
  template <typename Pred>
  RunInfo poll(const std::string& run_id, Pred done) {
    const auto until = Clock::now() + 10s;
    for (;;) {
      std::optional<RunInfo> r = client().get_run(run_id);
      if ((r && done(*r)) || Clock::now() > until) return r.value_or(RunInfo{});
      std::this_thread::sleep_for(5ms);
    }
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
  // A timeline: each node starts after the one before it finished.
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    const StepInfo& st = run.steps[i];
    EXPECT_GT(st.started_at_ms, 0);
    EXPECT_GE(st.finished_at_ms, st.started_at_ms);
    if (i > 0) { EXPECT_GE(st.started_at_ms, run.steps[i - 1].finished_at_ms); }
    EXPECT_EQ(st.worker, st.attempt_history[0]["worker"]);
  }
  EXPECT_EQ(run.input, (Json{{"n", 20}}));
  EXPECT_TRUE(run.current_steps.empty());
  EXPECT_TRUE(run.waiting_for.is_null());
}

// Delayed runs through the C++ Client: scheduled meanwhile, then claimed
// within 100 ms after run_at (Redis time), whether given as a delay or a
// run_at; both at once, or a negative delay, are refused before Redis.
TEST_F(InProcess, DelayedRunsStartOnTime) {
  Workflow wf("later");
  wf.step("go", [](StepContext&) -> StepResult { return Json{{"ok", true}}; });
  // (More slots than a cluster's 12 partitions: there, with fewer, a
  // promoted run may wait up to one more 100 ms block for a slot that the
  // partitions' blocking reads in turn hold — docs/architecture.md "Workers".)
  start(wf, 16);
  SubmitOptions by_delay;
  by_delay.delay = 400ms;
  const Submitted a = client().submit("later", Json::object(), by_delay);
  SubmitOptions by_time;
  by_time.run_at = std::chrono::system_clock::now() + 600ms;
  const Submitted b = client().submit("later", Json::object(), by_time);
  EXPECT_GT(a.run_at_ms, 0);
  EXPECT_GT(b.run_at_ms, 0);
  EXPECT_EQ(client().get_run(a.run_id)->status, "scheduled");
  for (const Submitted& s : {a, b}) {
    const RunInfo run = client().wait(s.run_id, 10s);
    ASSERT_EQ(run.status, "completed");
    EXPECT_EQ(run.run_at_ms, s.run_at_ms);
    const std::int64_t late = run.steps[0].started_at_ms - run.run_at_ms;
    EXPECT_GE(late, 0) << "started before its time";
    EXPECT_LE(late, 100) << "started " << late << " ms after its time";
  }
  SubmitOptions both = by_time;
  both.delay = 1s;
  EXPECT_THROW(client().submit("later", Json::object(), both), std::invalid_argument);
  SubmitOptions negative;
  negative.delay = -1s;
  EXPECT_THROW(client().submit("later", Json::object(), negative), std::invalid_argument);
}

// A durable wait holds no worker slot: with concurrency 1, a second run's
// step runs and finishes while the first run waits; the waiting run shows
// waiting_for sleep, spends no attempt, and completes once due (its next step
// starting at most 100 ms after the due time, Redis time).
// On a cluster one slot reads the 12 partitions in turn, 100 ms each
// (docs/architecture.md "On a Redis Cluster"): the other run's step may take
// a whole round (1.2 s) to be picked up, so the wait is longer there, and the
// woken run may wait one block for the slot and its next step one more.
TEST_F(InProcess, ADurableWaitFreesItsSlotAndCompletesWhenDue) {
  const std::chrono::milliseconds nap = on_cluster() ? 2500ms : 800ms;
  const std::int64_t most_late = on_cluster() ? 300 : 100;
  Workflow napper("napper");
  napper.step("a", [](StepContext&) -> StepResult { return Json::object(); });
  napper.wait("nap", WaitSpec::sleep_for(nap));
  napper.step("b", [](StepContext&) -> StepResult { return Json{{"after", true}}; });
  Workflow quick("quick");
  quick.step("go", [](StepContext&) -> StepResult { return Json{{"ok", true}}; });
  start(std::vector<Workflow>{napper, quick}, 1);
  const std::string napping = client().submit("napper", Json::object()).run_id;
  std::optional<RunInfo> seen;
  const auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    seen = client().get_run(napping);
    if (seen && seen->status == "waiting") break;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(seen && seen->status == "waiting") << (seen ? seen->status : "no run");
  const Json view = to_json(*seen);
  EXPECT_EQ(view["waiting_for"]["kind"], "sleep");
  EXPECT_EQ(view["current_steps"], Json::array({"nap"}));
  const RunInfo other = client().wait(client().submit("quick", Json::object()).run_id, 5s);
  EXPECT_EQ(other.status, "completed") << "the only slot was held by a waiting run";
  EXPECT_EQ(client().get_run(napping)->status, "waiting") << "woke early";

  const RunInfo done = client().wait(napping, 10s);
  ASSERT_EQ(done.status, "completed");
  ASSERT_EQ(done.steps.size(), 3u);
  EXPECT_EQ(done.steps[1].attempts, 1) << "parking spent no attempt; the completing claim is the one";
  const std::string due_text = done.steps[1].output.at("until").get<std::string>();
  const Json until_json = view["waiting_for"]["until"];
  EXPECT_EQ(due_text, until_json.get<std::string>());
  const std::int64_t late = done.steps[2].started_at_ms - *engine::parse_rfc3339_ms(due_text);
  EXPECT_GE(late, 0) << "b started before the wait was due";
  EXPECT_LE(late, most_late) << "b started " << late << " ms after the wait was due";
}

// A step's `if` decides at its claim: false, 0, "", null or [] skip it
// (status skipped, output null, attempts 0, its handler never called) and
// the run goes on, the next step seeing null; true runs it; a last step can
// be skipped too; a condition that cannot be evaluated fails the run as
// fatal, naming the condition.
TEST_F(InProcess, AStepWhoseIfIsFalseIsSkippedAndTheRunGoesOn) {
  std::atomic<int> summarized{0};
  Workflow triage("triage");
  triage.step("search", [](StepContext& ctx) -> StepResult { return Json{{"hits", ctx.input().at("hits")}}; });
  triage.step("summarize", [&](StepContext&) -> StepResult {
    ++summarized;
    return Json{{"summary", "text"}};
  });
  triage.only_if("summarize", "{{len(steps.search.output.hits)}}");
  triage.step("report", [](StepContext& ctx) -> StepResult { return Json{{"got", ctx.outputs().at("summarize")}}; });
  triage.step("notify", [](StepContext&) -> StepResult { return Json{{"sent", true}}; });
  triage.only_if("notify", "{{input.notify}}");
  Workflow broken("broken");
  broken.step("a", [](StepContext&) -> StepResult { return Json::object(); });
  broken.step("b", [](StepContext&) -> StepResult { return Json::object(); });
  broken.only_if("b", "{{steps.a.output.flag}}");
  start(std::vector<Workflow>{triage, broken}, 2);

  const RunInfo none = client().wait(client().submit("triage", Json{{"hits", Json::array()}, {"notify", false}}).run_id, 10s);
  ASSERT_EQ(none.status, "completed");
  ASSERT_EQ(none.steps.size(), 4u);
  EXPECT_EQ(none.steps[1].status, "skipped");
  EXPECT_EQ(none.steps[1].output, Json(nullptr));
  EXPECT_EQ(none.steps[1].attempts, 0);
  EXPECT_TRUE(none.steps[1].error.empty());
  EXPECT_EQ(none.steps[2].output, (Json{{"got", nullptr}})) << "the next step sees null";
  EXPECT_EQ(none.steps[3].status, "skipped") << "the last step, skipped, still completes the run";
  EXPECT_EQ(summarized.load(), 0);
  const Json view = to_json(none);
  EXPECT_EQ(view["steps"][1]["status"], "skipped");
  EXPECT_FALSE(view["steps"][1].contains("error") && !view["steps"][1]["error"].is_null());

  const RunInfo some = client().wait(client().submit("triage", Json{{"hits", {1, 2}}, {"notify", true}}).run_id, 10s);
  ASSERT_EQ(some.status, "completed");
  EXPECT_EQ(some.steps[1].status, "completed");
  EXPECT_EQ(some.steps[2].output, (Json{{"got", {{"summary", "text"}}}}));
  EXPECT_EQ(some.steps[3].status, "completed");
  EXPECT_EQ(summarized.load(), 1);

  const RunInfo failed = client().wait(client().submit("broken", Json::object()).run_id, 10s);
  ASSERT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.steps[1].status, "failed");
  EXPECT_EQ(failed.steps[1].attempts, 1) << "fatal: not retried";
  EXPECT_NE(failed.steps[1].error.find("`if` '{{steps.a.output.flag}}' could not be evaluated: no value at"),
            std::string::npos)
      << failed.steps[1].error;
}

// on_failure: continue: a step that fails for good (a fatal error, or its
// attempts exhausted) is recorded as failed with its error, the next step
// sees null, and the run completes without a dead-letter entry.
TEST_F(InProcess, AStepWithOnFailureContinueFailsAndTheRunGoesOn) {
  StepOptions best_effort = quick_retries(2);
  best_effort.on_failure = OnFailure::continue_;
  Workflow enrich("enrich");
  enrich.step("fetch", [](StepContext&) -> StepResult { return Json{{"text", "t"}}; });
  enrich.step("tags", [](StepContext&) -> StepResult { return StepError::retryable("503 from the tagger"); },
              best_effort);
  enrich.step("store", [](StepContext& ctx) -> StepResult { return Json{{"tags", ctx.outputs().at("tags")}}; });
  start(enrich);
  const RunInfo run = client().wait(client().submit("enrich", Json::object()).run_id, 10s);
  ASSERT_EQ(run.status, "completed");
  EXPECT_EQ(run.steps[1].status, "failed");
  EXPECT_EQ(run.steps[1].attempts, 2);
  EXPECT_NE(run.steps[1].error.find("503 from the tagger"), std::string::npos) << run.steps[1].error;
  EXPECT_EQ(run.steps[1].output, Json(nullptr));
  EXPECT_EQ(run.steps[2].output, (Json{{"tags", nullptr}}));
  EXPECT_TRUE(client().dead_letters(10).empty()) << "no dead-letter entry";
}

// A worker takes a workflow whose needs branch and fan in (waits too),
// refuses what this version cannot run in one (two queues), and needs that
// are broken.
TEST_F(InProcess, AWorkerTakesGraphsAndRefusesWhatItCannotRunInOne) {
  const auto refusal = [&](const Workflow& w) -> std::string {
    try {
      Worker worker(options("graph"), {w});
      return "accepted";
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  };
  const StepHandler noop = [](StepContext&) -> StepResult { return Json::object(); };
  Workflow chain("chain");
  chain.step("a", noop).step("b", noop).needs("b", {"a"});
  EXPECT_EQ(refusal(chain), "accepted");
  Workflow fan("fan");
  fan.step("a", noop).step("b", noop).step("c", noop).needs("c", {"a"});
  EXPECT_EQ(refusal(fan), "accepted");
  Workflow queues("queues");
  StepOptions elsewhere;
  elsewhere.queue = "gpu";
  queues.step("a", noop).step("b", noop, elsewhere).needs("b", {});
  EXPECT_EQ(refusal(queues),
            "workflow 'queues': step 'b' runs on queue 'gpu' and step 'a' on 'default': this version runs every "
            "step of a workflow with parallel branches, fan-in, a map step or a child workflow step on one queue");
  Workflow waits("waits");
  waits.step("a", noop).wait("nap", WaitSpec::sleep_for(1s)).needs("nap", {});
  EXPECT_EQ(refusal(waits), "accepted");
  Workflow cycle("cycle");
  cycle.step("a", noop).step("b", noop).needs("a", {"b"});
  EXPECT_EQ(refusal(cycle),
            "workflow 'cycle': the steps' needs form a cycle (a -> b -> a): none of them could ever start");
  Workflow unknown("unknown");
  unknown.step("a", noop).needs("a", {"zz"});
  EXPECT_EQ(refusal(unknown), "workflow 'unknown': step 'a' needs 'zz', which is no step of the workflow");
}

// A graph run end to end: two branches that can only finish if they run at
// the same time (each waits for the other to start), a root listed after the
// fan-in, and a fan-in that sees exactly its ancestors' outputs.
TEST_F(InProcess, ParallelBranchesRunTogetherAndTheFanInSeesEveryAncestor) {
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  const auto branch = [&](const std::string& name) {
    return [&, name](StepContext& ctx) -> StepResult {
      std::unique_lock lock(m);
      ++started;
      cv.notify_all();
      if (!cv.wait_for(lock, 10s, [&] { return started >= 2; })) throw std::runtime_error("ran alone");
      return Json{{"branch", name}, {"chunks", ctx.outputs().at("split").at("chunks")}};
    };
  };
  Workflow doc("doc");
  doc.step("split", [](StepContext&) -> StepResult { return Json{{"chunks", 2}}; })
      .step("left", branch("left"))
      .step("right", branch("right"))
      .step("merge",
            [](StepContext& ctx) -> StepResult {
              std::vector<std::string> seen;
              for (const auto& [name, out] : ctx.outputs()) seen.push_back(name);
              return Json{{"seen", seen}, {"side", ctx.outputs().at("side")}};
            })
      .step("side", [](StepContext&) -> StepResult { return Json{{"side", true}}; })
      .needs("left", {"split"})
      .needs("right", {"split"})
      .needs("merge", {"left", "right", "side"})
      .needs("side", {});
  start(doc, 4);
  const RunInfo run = client().wait(client().submit("doc", Json::object()).run_id, 20s);
  ASSERT_EQ(run.status, "completed");
  for (const auto& s : run.steps) EXPECT_EQ(s.status, "completed") << s.name;
  EXPECT_EQ(run.steps[1].output, (Json{{"branch", "left"}, {"chunks", 2}}));
  EXPECT_EQ(run.steps[3].output,
            (Json{{"seen", {"left", "right", "side", "split"}}, {"side", {{"side", true}}}}));
  EXPECT_TRUE(client().dead_letters(10).empty());
}

// A node of a graph run counts its attempts as a step of a chain does: a
// branch that keeps failing is retried up to its max_attempts and then fails
// the run, while the other branch's output is kept.
TEST_F(InProcess, AGraphNodeThatKeepsFailingSpendsItsAttemptsAndFailsTheRun) {
  std::atomic<int> tries{0};
  Workflow fork("fork");
  fork.step("ok", [](StepContext&) -> StepResult { return Json{{"fine", true}}; })
      .step("flaky",
            [&](StepContext&) -> StepResult {
              ++tries;
              return StepError::retryable("503");
            },
            quick_retries(3))
      .needs("flaky", {});
  start(fork);
  const RunInfo run = client().wait(client().submit("fork", Json::object()).run_id, 10s);
  ASSERT_EQ(run.status, "failed");
  EXPECT_EQ(run.steps[0].status, "completed");
  EXPECT_EQ(run.steps[1].status, "failed");
  EXPECT_EQ(run.steps[1].attempts, 3);
  EXPECT_EQ(tries.load(), 3);
  ASSERT_EQ(client().dead_letters(10).size(), 1u);
}

// A map step end to end: split's chunks mapped by `summarize`, at most 2
// items at once, each seeing its item, index and own idempotency key; the
// step's output is the items' outputs in input order, and the fan-in after
// it sees that array.
TEST_F(InProcess, AMapStepRunsOncePerItemAtMostMaxParallelAtOnceAndKeepsTheOrder) {
  std::mutex m;
  int running = 0;
  int most = 0;
  std::set<std::string> keys;
  Workflow doc("mapdoc");
  doc.step("split", [](StepContext& ctx) -> StepResult { return Json{{"chunks", ctx.input().at("chunks")}}; })
      .step("summarize",
            [&](StepContext& ctx) -> StepResult {
              {
                std::lock_guard lock(m);
                most = std::max(most, ++running);
                keys.insert(ctx.idempotency_key());
              }
              std::this_thread::sleep_for(20ms);  // let the others start, if they may
              {
                std::lock_guard lock(m);
                --running;
              }
              return Json{{"upper", ctx.item().get<std::string>() + "!"}, {"at", ctx.item_index()}};
            })
      .step("merge", [](StepContext& ctx) -> StepResult { return Json{{"n", ctx.outputs().at("summarize").size()}}; })
      .map("summarize", MapSpec{"{{steps.split.output.chunks}}", 2});
  // (More slots than a cluster's 12 partitions: so that both items are
  // claimed at once there too, not one of them behind the partitions'
  // blocking reads in turn — docs/architecture.md "Workers".)
  start(doc, 16);
  const Json chunks = {"a", "b", "c", "d", "e"};
  const std::string id = client().submit("mapdoc", Json{{"chunks", chunks}}).run_id;
  const RunInfo run = client().wait(id, 20s);
  ASSERT_EQ(run.status, "completed");
  Json want = Json::array();
  for (int i = 0; i < 5; ++i) want.push_back({{"upper", chunks[i].get<std::string>() + "!"}, {"at", i}});
  EXPECT_EQ(run.steps[1].output, want);
  EXPECT_EQ(run.steps[2].output, (Json{{"n", 5}}));
  EXPECT_EQ(most, 2) << "max_parallel bounds the items in flight, with 16 slots free";
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys.count(id + ":summarize:4"), 1u);
  EXPECT_EQ(run.steps[1].items["total"], 5);
  EXPECT_EQ(run.steps[1].items["completed"], 5);
  EXPECT_EQ(run.steps[1].items["waiting"], 0);
  // A page of its items, their outputs out of the step's.
  const std::optional<MapItemsPage> page = client().map_items(id, "summarize", 3, 10);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->total, 5);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].index, 3);
  EXPECT_EQ(page->items[0].status, "completed");
  EXPECT_EQ(page->items[0].attempts, 1);
  EXPECT_EQ(page->items[1].output, want[4]);
  EXPECT_EQ(to_json(*page)["items"][1]["error"], nullptr);
  EXPECT_THROW((void)client().map_items(id, "merge"), std::invalid_argument) << "merge is no map step";
  EXPECT_THROW((void)client().map_items(id, "summarize", 0, kMaxItemsPage + 1), std::invalid_argument);

  // An empty list: the step completes with [] and the run goes on.
  const RunInfo empty = client().wait(client().submit("mapdoc", Json{{"chunks", Json::array()}}).run_id, 10s);
  ASSERT_EQ(empty.status, "completed");
  EXPECT_EQ(empty.steps[1].output, Json::array());
  // Not an array: the step fails for good, naming what it got.
  const RunInfo bad = client().wait(client().submit("mapdoc", Json{{"chunks", "abc"}}).run_id, 10s);
  ASSERT_EQ(bad.status, "failed");
  EXPECT_NE(bad.steps[1].error.find("not an array"), std::string::npos) << bad.steps[1].error;
}

// An item that fails for good: under fail_run the run fails at the map, the
// other items' outputs kept, and a replay runs the failed item (17 of 200)
// and the items that had not started, each once; under continue its output
// is null and the step counts it as failed.
TEST_F(InProcess, AFailingItemFailsTheRunOrIsNullDependingOnOnItemFailure) {
  std::atomic<bool> healed{false};
  std::mutex m;
  std::map<std::int64_t, int> calls;
  const auto handler = [&](StepContext& ctx) -> StepResult {
    {
      std::lock_guard lock(m);
      ++calls[ctx.item_index()];
    }
    if (ctx.item_index() == 17 && !healed) return StepError::fatal("item 17 is poison");
    return Json(ctx.item().get<int>() * 10);
  };
  Workflow strict("strict");
  strict.step("each", handler).map("each", MapSpec{"{{input.xs}}", 3});
  Workflow lenient("lenient");
  lenient.step("each", handler).map("each", MapSpec{"{{input.xs}}", 3, OnItemFailure::continue_});
  start({strict, lenient}, 4);
  Json xs = Json::array();
  Json want = Json::array();
  for (int i = 0; i < 200; ++i) {
    xs.push_back(i);
    want.push_back(i * 10);
  }
  const std::string id = client().submit("strict", Json{{"xs", xs}}).run_id;
  const RunInfo failed = client().wait(id, 10s);
  ASSERT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.steps[0].status, "failed");
  const std::vector<DeadLetter> dead = client().dead_letters(10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].step, "each[17]");
  healed = true;
  client().replay(id);
  const RunInfo replayed = client().wait(id, 10s);
  ASSERT_EQ(replayed.status, "completed");
  EXPECT_EQ(replayed.steps[0].output, want);
  {
    std::lock_guard lock(m);
    EXPECT_EQ(calls.size(), 200u);
    for (const auto& [index, n] : calls) EXPECT_EQ(n, index == 17 ? 2 : 1) << "item " << index;
  }

  healed = false;
  calls.clear();
  const RunInfo lax = client().wait(client().submit("lenient", Json{{"xs", xs}}).run_id, 10s);
  ASSERT_EQ(lax.status, "completed");
  Json with_null = want;
  with_null[17] = nullptr;
  EXPECT_EQ(lax.steps[0].output, with_null);
  EXPECT_EQ(lax.steps[0].items["failed"], 1);
  EXPECT_EQ(lax.steps[0].items["completed"], 199);
}

// A child workflow step end to end: the child starts with the rendered
// input, shows its parent, and the parent's step completes with the child's
// output (its last step's); a failing child fails the parent's step, naming
// the child, and replaying the parent replays the child's failed step only;
// a map of child workflows starts one child per item.
TEST_F(InProcess, AChildWorkflowStepCompletesWithTheChildsOutputOrFailsWithIt) {
  std::atomic<bool> healed{false};
  std::mutex m;
  std::map<std::string, int> calls;  // per text, the child's `shout` calls
  Workflow shout("shout");
  shout.step("prepare", [](StepContext& ctx) -> StepResult { return Json{{"t", ctx.input().at("text")}}; })
      .step("shout", [&](StepContext& ctx) -> StepResult {
        const std::string t = ctx.outputs().at("prepare").at("t").get<std::string>();
        {
          std::lock_guard lock(m);
          ++calls[t];
        }
        if (t == "poison" && !healed) return StepError::fatal("poison is poison");
        return Json{{"loud", t + "!"}};
      });
  Workflow parent("parent");
  parent.step("fetch", [](StepContext& ctx) -> StepResult { return Json{{"text", ctx.input().at("text")}}; })
      .child("child", ChildSpec{"shout", Json{{"text", "{{steps.fetch.output.text}}"}}})
      .step("after", [](StepContext& ctx) -> StepResult { return Json{{"got", ctx.outputs().at("child")}}; });
  Workflow many("many");
  many.child("each", ChildSpec{"shout", Json{{"text", "{{item}}"}}}).map("each", MapSpec{"{{input.texts}}", 2});
  start({shout, parent, many}, 4);

  const std::string id = client().submit("parent", Json{{"text", "hi"}}).run_id;
  const RunInfo done = client().wait(id, 20s);
  ASSERT_EQ(done.status, "completed");
  EXPECT_EQ(done.steps[2].output, (Json{{"got", {{"loud", "hi!"}}}}));
  ASSERT_FALSE(done.steps[1].child.empty());
  const std::optional<RunInfo> child = client().get_run(done.steps[1].child);
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(child->workflow, "shout");
  EXPECT_EQ(child->status, "completed");
  EXPECT_EQ(child->input, (Json{{"text", "hi"}}));
  EXPECT_EQ(child->parent, id);
  EXPECT_EQ(child->parent_step, "child");
  EXPECT_EQ(to_json(*child)["parent"], (Json{{"run_id", id}, {"step", "child"}}));

  const std::string bad = client().submit("parent", Json{{"text", "poison"}}).run_id;
  const RunInfo failed = client().wait(bad, 20s);
  ASSERT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.steps[1].status, "failed");
  const std::string bad_child = failed.steps[1].child;
  EXPECT_NE(failed.steps[1].error.find("child run " + bad_child), std::string::npos) << failed.steps[1].error;
  EXPECT_NE(failed.steps[1].error.find("failed at step 'shout': fatal error: poison is poison"), std::string::npos)
      << failed.steps[1].error;
  EXPECT_EQ(client().get_run(bad_child)->status, "failed");
  EXPECT_EQ(failed.steps[2].status, "pending");
  healed = true;
  client().replay(bad);
  const RunInfo replayed = client().wait(bad, 20s);
  ASSERT_EQ(replayed.status, "completed");
  EXPECT_EQ(replayed.steps[1].child, bad_child) << "the same child, replayed";
  EXPECT_EQ(replayed.steps[2].output, (Json{{"got", {{"loud", "poison!"}}}}));
  {
    std::lock_guard lock(m);
    EXPECT_EQ(calls["poison"], 2) << "the child's failed step ran again, once";
  }
  EXPECT_EQ(client().get_run(bad_child)->status, "completed");

  const RunInfo fanned = client().wait(client().submit("many", Json{{"texts", {"a", "b", "c"}}}).run_id, 20s);
  ASSERT_EQ(fanned.status, "completed");
  EXPECT_EQ(fanned.steps[0].output, (Json{{{"loud", "a!"}}, {{"loud", "b!"}}, {{"loud", "c!"}}}));
  const std::optional<MapItemsPage> items = client().map_items(fanned.id, "each");
  ASSERT_TRUE(items.has_value());
  ASSERT_EQ(items->items.size(), 3u);
  EXPECT_EQ(client().get_run(items->items[2].child)->parent_step, "each[2]");
}

// A child's input past its workflow's max_input_bytes, or not matching its
// input_schema, fails the step for good, naming the bound or the field; an
// input at the bound starts the child.
TEST_F(InProcess, AChildInputOverItsBoundsOrSchemaFailsTheStepNamingIt) {
  Workflow echo("echo");
  echo.step("only", [](StepContext& ctx) -> StepResult { return ctx.input(); })
      .max_input_bytes(20)
      .input_schema(Json{{"type", "object"}, {"required", {"text"}}});
  Workflow parent("asks");
  parent.child("call", ChildSpec{"echo", Json{{"text", "{{input.text}}"}}});
  start({echo, parent}, 2);
  // {"text":"..."} is 11 bytes around the text: 9 characters make 20.
  const RunInfo at_bound = client().wait(client().submit("asks", Json{{"text", "123456789"}}).run_id, 10s);
  ASSERT_EQ(at_bound.status, "completed");
  EXPECT_EQ(at_bound.steps[0].output, (Json{{"text", "123456789"}}));
  const RunInfo over = client().wait(client().submit("asks", Json{{"text", "1234567890"}}).run_id, 10s);
  ASSERT_EQ(over.status, "failed");
  EXPECT_NE(over.steps[0].error.find("takes 21 bytes, over its max_input_bytes of 20"), std::string::npos)
      << over.steps[0].error;
  EXPECT_TRUE(over.steps[0].child.empty()) << "no child was started";

  Workflow bad("asks_badly");
  bad.child("call", ChildSpec{"echo", Json{{"txt", "x"}}});
  worker_.reset();
  start({echo, bad}, 2);
  const RunInfo wrong = client().wait(client().submit("asks_badly", Json::object()).run_id, 10s);
  ASSERT_EQ(wrong.status, "failed");
  EXPECT_NE(wrong.steps[0].error.find("does not match its input_schema"), std::string::npos) << wrong.steps[0].error;
  EXPECT_NE(wrong.steps[0].error.find("text"), std::string::npos) << wrong.steps[0].error;
}

// Cancelling a parent cancels the child its step waits for, and a child
// cancelled on its own fails its parent's step (or lets the run go on under
// on_failure: continue).
TEST_F(InProcess, AChildIsCancelledWithItsParentAndACancelledChildFailsItsStep) {
  Workflow approval("approval");
  approval.wait("approve", WaitSpec::for_signal("approved"));
  Workflow parent("holder");
  parent.child("ask", ChildSpec{"approval", Json()});
  Workflow lenient("lenient");
  StepOptions go_on;
  go_on.on_failure = OnFailure::continue_;
  lenient.child("ask", ChildSpec{"approval", Json()}, go_on)
      .step("after", [](StepContext& ctx) -> StepResult { return Json{{"asked", ctx.outputs().at("ask")}}; });
  start({approval, parent, lenient}, 2);
  // The child of run `id`, once it waits for its approval (a cancel of a
  // child still being claimed ends it a moment later: Sleep.AParkOf...).
  const auto child_of = [&](const std::string& id) {
    const std::string child =
        poll(id, [](const RunInfo& r) { return r.steps[0].status == "waiting"; }).steps[0].child;
    if (!child.empty()) poll(child, [](const RunInfo& r) { return r.status == "waiting"; });
    return child;
  };

  const std::string id = client().submit("holder", Json::object()).run_id;
  const std::string child = child_of(id);
  ASSERT_FALSE(child.empty());
  EXPECT_EQ(client().get_run(id)->steps[0].waiting_for, (Json{{"kind", "child"}, {"until", nullptr}, {"run_id", child}}));
  EXPECT_EQ(client().get_run(child)->status, "waiting");
  EXPECT_EQ(client().cancel(id), "cancelled");
  EXPECT_EQ(client().get_run(id)->status, "cancelled");
  EXPECT_EQ(client().get_run(child)->status, "cancelled") << "cancelled with its parent";

  const std::string alone = client().submit("holder", Json::object()).run_id;
  const std::string its_child = child_of(alone);
  EXPECT_EQ(client().cancel(its_child), "cancelled");
  const RunInfo failed = client().wait(alone, 10s);
  EXPECT_EQ(failed.status, "failed");
  EXPECT_NE(failed.steps[0].error.find("was cancelled"), std::string::npos) << failed.steps[0].error;

  const std::string lax = client().submit("lenient", Json::object()).run_id;
  EXPECT_EQ(client().cancel(child_of(lax)), "cancelled");
  const RunInfo went_on = client().wait(lax, 10s);
  EXPECT_EQ(went_on.status, "completed");
  EXPECT_EQ(went_on.steps[0].status, "failed");
  EXPECT_EQ(went_on.steps[1].output, (Json{{"asked", nullptr}}));
}

// An approval as one branch of a graph: the other branch runs to its end
// while the approval waits (holding no slot: concurrency 1), and the fan-in
// starts once both are done, with the approver's body as the wait's output.
TEST_F(InProcess, AnApprovalWaitsInOneBranchWhileTheOtherRuns) {
  Workflow review("review");
  review.step("draft", [](StepContext&) -> StepResult { return Json{{"text", "hello"}}; })
      .wait("approve", WaitSpec::for_signal("approved"))
      .step("enrich", [](StepContext& ctx) -> StepResult {
        return Json{{"words", ctx.outputs().at("draft").at("text")}};
      })
      .step("publish",
            [](StepContext& ctx) -> StepResult {
              return Json{{"by", ctx.outputs().at("approve").at("by")},
                          {"words", ctx.outputs().at("enrich").at("words")}};
            })
      .needs("enrich", {"draft"})
      .needs("publish", {"approve", "enrich"});
  start(review, 1);
  const std::string id = client().submit("review", Json::object()).run_id;
  std::optional<RunInfo> seen;
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    seen = client().get_run(id);
    if (seen && seen->steps[1].status == "waiting" && seen->steps[2].status == "completed") break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(seen.has_value());
  ASSERT_EQ(seen->steps[1].status, "waiting") << to_json(*seen).dump();
  ASSERT_EQ(seen->steps[2].status, "completed") << "enrich ran while the approval waited";
  EXPECT_EQ(seen->steps[3].status, "pending");
  EXPECT_EQ(client().signal(id, "approved", Json{{"by", "ann"}}), "delivered");
  const RunInfo done = client().wait(id, 10s);
  ASSERT_EQ(done.status, "completed");
  EXPECT_EQ(done.steps[3].output, (Json{{"by", "ann"}, {"words", "hello"}}));
}

// Signals end a signal wait with their body as its output, whether sent
// before the run reaches the wait (kept, then taken by its claim) or while it
// waits (delivered); the wait holds no slot meanwhile, and the next step sees
// the body.
TEST_F(InProcess, ASignalSentBeforeOrDuringTheWaitBecomesItsOutput) {
  std::atomic<bool> release{false};
  Workflow approval("approval");
  approval.step("draft", [&](StepContext&) -> StepResult {
    const auto until = Clock::now() + 10s;
    while (!release && Clock::now() < until) std::this_thread::sleep_for(2ms);
    return Json{{"text", "hello"}};
  });
  approval.wait("approve", WaitSpec::for_signal("approved"));
  approval.step("send", [](StepContext& ctx) -> StepResult {
    return Json{{"sent", ctx.outputs().at("approve").at("by")}};
  });
  start(std::vector<Workflow>{approval}, 1);

  // Before: the run is still drafting.
  const std::string early = client().submit("approval", Json::object()).run_id;
  EXPECT_EQ(client().signal(early, "approved", Json{{"by", "ann"}}), "kept");
  release = true;
  const RunInfo first = client().wait(early, 10s);
  ASSERT_EQ(first.status, "completed");
  EXPECT_EQ(first.steps.at(1).output, (Json{{"by", "ann"}}));
  EXPECT_EQ(first.steps.at(2).output, (Json{{"sent", "ann"}}));

  // During: the run waits (and holds no slot: concurrency is 1).
  const std::string waiting = client().submit("approval", Json::object()).run_id;
  std::optional<RunInfo> seen;
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    seen = client().get_run(waiting);
    if (seen && seen->status == "waiting") break;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(seen && seen->status == "waiting") << (seen ? seen->status : "no run");
  EXPECT_EQ(to_json(*seen)["waiting_for"], (Json{{"kind", "signal"}, {"signal", "approved"}, {"until", nullptr}}));
  const std::string other = client().submit("approval", Json::object()).run_id;
  // Kept if it comes before this run reaches its wait, delivered if after: either way it is the wait's output.
  const std::string sent = client().signal(other, "approved", Json{{"by", "cy"}});
  ASSERT_TRUE(sent == "kept" || sent == "delivered") << sent;
  EXPECT_EQ(client().wait(other, 10s).status, "completed") << "the waiting run held the only slot";
  EXPECT_EQ(client().signal(waiting, "approved", Json{{"by", "bo"}}, "click-1"), "delivered");
  EXPECT_EQ(client().signal(waiting, "approved", Json{{"by", "eve"}}, "click-1"), "repeat");
  const RunInfo second = client().wait(waiting, 10s);
  ASSERT_EQ(second.status, "completed");
  EXPECT_EQ(second.steps.at(2).output, (Json{{"sent", "bo"}}));
  EXPECT_EQ(second.steps.at(1).attempts, 1) << "parking spent no attempt";

  // After: the run has ended.
  EXPECT_EQ(client().signal(waiting, "approved", Json()), "ended:completed");
  EXPECT_TRUE(client().signal(waiting, "rejected", Json()).starts_with("unknown:"));
}

// A signal wait's timeout: `fail` dead-letters the run naming the signal,
// `continue` completes the wait with null and goes on — within a second of
// the timeout (Redis time).
TEST_F(InProcess, ATimeoutFailsOrContinuesAsOnTimeoutSays) {
  Workflow failing("failing");
  failing.wait("approve", WaitSpec::for_signal("approved", 400ms));
  failing.step("send", [](StepContext&) -> StepResult { return Json::object(); });
  Workflow going_on("going_on");
  going_on.wait("approve", WaitSpec::for_signal("approved", 400ms, OnTimeout::continue_));
  going_on.step("send", [](StepContext& ctx) -> StepResult {
    return Json{{"approved", !ctx.outputs().at("approve").is_null()}};
  });
  start(std::vector<Workflow>{failing, going_on}, 2);
  const std::string f = client().submit("failing", Json::object()).run_id;
  const std::string c = client().submit("going_on", Json::object()).run_id;
  const RunInfo failed = client().wait(f, 10s);
  ASSERT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.steps.at(0).error, "fatal error: timed out: no signal 'approved' came within 400ms");
  EXPECT_EQ(failed.steps.at(1).status, "pending");
  const RunInfo continued = client().wait(c, 10s);
  ASSERT_EQ(continued.status, "completed");
  EXPECT_TRUE(continued.steps.at(0).output.is_null());
  EXPECT_EQ(continued.steps.at(1).output, (Json{{"approved", false}}));
  for (const RunInfo& r : {failed, continued}) {
    const std::int64_t took = r.steps.at(0).finished_at_ms - r.created_at_ms;  // its first claim is about at creation
    EXPECT_GE(took, 400) << r.id << " timed out early";
    EXPECT_LE(took, 1400) << r.id << " timed out " << took - 400 << " ms late";
  }
}

// Run deadlines: a run still running its step, and one waiting (a durable
// wait), both fail into the dead-letter queue with "deadline exceeded" about
// when their deadline passes; the running handler is told to stop.
TEST_F(InProcess, ADeadlineFailsARunningAndAWaitingRunIntoTheDeadLetterQueue) {
  std::atomic<bool> cancelled{false};
  StepOptions short_lease;
  short_lease.lease = 300ms;  // renewed every 100 ms: the lost token is heard of soon
  Workflow slow("slow");
  slow.deadline(600ms);
  slow.step("work", [&](StepContext& ctx) -> StepResult {
    const auto until = Clock::now() + 10s;
    while (!ctx.cancelled() && Clock::now() < until) std::this_thread::sleep_for(5ms);
    cancelled = ctx.cancelled();
    return Json::object();
  }, short_lease);
  Workflow napper("napper");
  napper.deadline(600ms);
  napper.wait("nap", WaitSpec::sleep_for(1h));
  start(std::vector<Workflow>{slow, napper}, 4);
  const std::string running = client().submit("slow", Json::object()).run_id;
  const std::string waiting = client().submit("napper", Json::object()).run_id;
  for (const std::string& id : {running, waiting}) {
    const RunInfo run = client().wait(id, 10s);
    ASSERT_EQ(run.status, "failed") << id;
    EXPECT_EQ(run.steps.at(0).error, "deadline exceeded: the run had not ended by its deadline");
    EXPECT_EQ(run.deadline_at_ms - run.created_at_ms, 600) << "deadline_at: creation + deadline";
    EXPECT_TRUE(to_json(run)["deadline_at"].is_string());
    const std::int64_t took = run.updated_at_ms - run.created_at_ms;
    EXPECT_GE(took, 600) << "failed before its deadline";
    EXPECT_LE(took, 800) << "failed " << took - 600 << " ms after its deadline";
  }
  EXPECT_EQ(client().dead_letters(10).size(), 2u);
  const auto until = Clock::now() + 5s;
  while (!cancelled && Clock::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(cancelled) << "the running handler was not told to stop";
  EXPECT_EQ(client().get_run(running)->status, "failed") << "its late outcome was written";
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

// Each partition's timers are polled by one worker, the holder of its
// promoter duty (lua/duty.lua), not by every worker. A worker that stops
// cleanly gives its duties up and another takes them: a retry due after the
// stop is still promoted.
TEST_F(InProcess, OneWorkerPerPartitionPromotesAndAStoppedOnesDutiesPassOn) {
  const std::string prefix = prefix_ + "-p4";
  // (the client's: on a cluster, the spread layout)
  const store::KeySpace keys = store::KeySpace::for_redis(config(), prefix, 4);
  ClientOptions co;
  co.redis_url = server().url();
  co.key_prefix = prefix;
  co.partitions = 4;
  Client c(co);
  Workflow wf("flaky");
  StepOptions later = quick_retries(2);
  later.retry.backoff.initial = 300ms;  // due well after the first attempt
  wf.step("a", [](StepContext& ctx) -> StepResult {
    if (ctx.attempt() == 1) throw std::runtime_error("first attempt fails");
    return Json::object();
  }, later);
  c.register_workflow(wf);
  const auto holders = [&] {
    std::set<std::string> who;
    for (int p = 0; p < 4; ++p) {
      const redis::Reply r = server().call({"GET", keys.duty(p)});
      who.insert(r.is_nil() ? std::string("<none>") : std::string(r.str()));
    }
    return who;
  };
  const auto run_with_a_retry = [&] {
    const RunInfo r = c.wait(c.submit("flaky", Json::object()).run_id, 10s);
    EXPECT_EQ(r.status, "completed");
    EXPECT_EQ(r.steps.at(0).attempts, 2);
  };
  const auto options_of = [&](const std::string& id) {
    WorkerOptions o = options(id);
    o.key_prefix = prefix;
    o.partitions = 4;
    return o;
  };

  auto a = std::make_unique<WorkerThread>(options_of("a"), std::vector<Workflow>{wf});
  const auto until = Clock::now() + 10s;
  while (holders() != std::set<std::string>{"a"} && Clock::now() < until) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(holders(), std::set<std::string>{"a"});
  WorkerThread b(options_of("b"), {wf});
  for (int i = 0; i < 4; ++i) run_with_a_retry();
  EXPECT_EQ(holders(), std::set<std::string>{"a"}) << "b took a duty a renews";

  EXPECT_EQ(a->stop(), 0);
  EXPECT_FALSE(holders().contains("a")) << "a clean stop gives the duties up";
  const auto handed_on = Clock::now() + 10s;
  while (holders() != std::set<std::string>{"b"} && Clock::now() < handed_on) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(holders(), std::set<std::string>{"b"});
  run_with_a_retry();
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
  // The node: from its first attempt's start to its completion, no stale error.
  const Json node = to_json(run)["steps"][0];
  EXPECT_TRUE(node["error"].is_null()) << node.dump();
  EXPECT_EQ(node["started_at"], h[0]["started_at"]);
  EXPECT_EQ(node["finished_at"], h[1]["finished_at"]);
  EXPECT_EQ(node["worker"], h[1]["worker"]);
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

TEST_F(InProcess, AsyncStepsStartOnTheEventLoopAndTheirFirstAnswerCounts) {
  // 32 steps answered only once all 32 have started, from another thread, each
  // twice: a worker of concurrency 32 ends them all, each with its first answer.
  constexpr int kRuns = 32;
  std::mutex mu;
  std::vector<std::pair<std::shared_ptr<StepContext>, StepDone>> started;
  std::set<std::thread::id> start_threads;
  std::vector<std::thread> answerers;
  // Whatever the test's end: the worker stops (cancelling what still runs),
  // then the answering threads are joined.
  struct JoinAfterWorker {
    std::unique_ptr<WorkerThread>& worker;
    std::mutex& mu;
    std::vector<std::thread>& threads;
    ~JoinAfterWorker() {
      worker.reset();
      std::vector<std::thread> all;
      {
        const std::lock_guard lock(mu);
        all.swap(threads);
      }
      for (std::thread& t : all) t.join();
    }
  } join_after_worker{worker_, mu, answerers};
  Workflow wf("fanout");
  wf.async_step("call", [&](std::shared_ptr<StepContext> ctx, StepDone done) {
    const std::lock_guard lock(mu);
    start_threads.insert(std::this_thread::get_id());
    started.emplace_back(std::move(ctx), std::move(done));
    if (started.size() < kRuns) return;
    answerers.emplace_back([all = started] {
      for (const auto& [c, d] : all) {
        d(Json{{"i", c->input().at("i")}, {"attempt", c->attempt()}});
        d(StepError::fatal("a second answer, to be ignored"));
      }
    });
  });
  Workflow flaky("flaky");
  flaky.async_step("call", [](std::shared_ptr<StepContext> ctx, StepDone done) {
    if (ctx->attempt() == 1) throw std::runtime_error("no connection yet");
    done(Json{{"attempt", ctx->attempt()}});
  }, quick_retries(2));
  Workflow slow("slow");
  StepOptions o = quick_retries(1);
  o.timeout = 200ms;
  slow.async_step("call", [&](std::shared_ptr<StepContext> ctx, StepDone done) {
    // Ends only when told to stop: the worker's timeout must reach it.
    const std::lock_guard lock(mu);
    answerers.emplace_back([ctx, done] {
      while (!ctx->cancelled()) std::this_thread::sleep_for(5ms);
      done(Json{{"late", true}});
    });
  }, o);
  start(std::vector<Workflow>{wf, flaky, slow}, kRuns);

  std::vector<std::string> ids;
  for (int i = 0; i < kRuns; ++i) ids.push_back(client().submit("fanout", Json{{"i", i}}).run_id);
  for (int i = 0; i < kRuns; ++i) {
    const RunInfo run = client().wait(ids[static_cast<std::size_t>(i)], 20s);
    ASSERT_EQ(run.status, "completed") << i;
    EXPECT_EQ(run.steps[0].output, (Json{{"i", i}, {"attempt", 1}}));
    EXPECT_EQ(run.steps[0].attempts, 1);
  }
  {
    const std::lock_guard lock(mu);
    EXPECT_EQ(start_threads.size(), 1u) << "async handlers start on the worker's one event-loop thread";
  }

  const RunInfo retried = client().wait(client().submit("flaky", Json::object()).run_id, 10s);
  ASSERT_EQ(retried.status, "completed");
  EXPECT_EQ(retried.steps[0].output, (Json{{"attempt", 2}}));
  ASSERT_EQ(retried.steps[0].errors.size(), 1u);
  EXPECT_NE(retried.steps[0].errors[0]["error"].get<std::string>().find("handler threw: no connection yet"),
            std::string::npos)
      << retried.steps[0].errors.dump();

  const RunInfo timed_out = client().wait(client().submit("slow", Json::object()).run_id, 10s);
  EXPECT_EQ(timed_out.status, "failed");
  EXPECT_NE(timed_out.steps[0].error.find("timed out after 200 ms"), std::string::npos) << timed_out.steps[0].error;

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
  EXPECT_GT(run.steps[0].started_at_ms, 0);
  EXPECT_EQ(run.steps[0].finished_at_ms, run.updated_at_ms) << "it ended with the cancel";
  EXPECT_EQ(run.steps[1].status, "pending");
  const Json never = to_json(run)["steps"][1];
  EXPECT_TRUE(never["started_at"].is_null() && never["finished_at"].is_null() && never["worker"].is_null())
      << never.dump();
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
  const store::KeySpace keys = store::KeySpace::for_redis(config(), prefix_, 0);
  const std::string stream = keys.queue(keys.partition_of(id), "default");
  EXPECT_EQ(run(redis.command("XGROUP", "SETID", stream, store::kGroup, "0")).str(), "OK");
  // A sentinel run wakes the worker's blocked read, which returns the
  // rewound entry first (one server; on a cluster the partition's next
  // read does, in its turn).
  const std::string sentinel = client().submit("redelivered", Json{{"hold", false}}).run_id;
  ASSERT_EQ(client().wait(sentinel, 10s).status, "completed");
  const auto reread = Clock::now() + 10s;
  while (w.worker().stats().redelivered == 0 && Clock::now() < reread) std::this_thread::sleep_for(2ms);
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


// An entry of ours that runs nowhere: a claim delivered it just before its
// connection dropped, and the answer was lost. The worker takes its own
// entries back once Redis answers again, instead of leaving it for a
// reclaimer after the step's lease (30 s). Made here by hand: the entry is
// delivered to another consumer before the worker starts, then XCLAIMed to
// the worker's; every client connection is then cut, so the worker's
// blocked read fails with its outcome unknown.
TEST_F(InProcess, AnEntryOfOursWhoseClaimsAnswerWasLostIsTakenBackOnceRedisAnswers) {
  if (on_cluster()) {
    GTEST_SKIP() << "one server's connections cut; on a cluster: "
                    "OnAClusterWithALostPrimary.AnEntryOfOursWhoseClaimsAnswerWasLostIsTakenBackOnceItsPrimaryAnswers";
  }
  Workflow wf("lost");
  wf.step("a", [](StepContext&) -> StepResult { return Json{{"ran", true}}; });
  client().register_workflow(wf);
  const std::string id = client().submit("lost", Json::object()).run_id;
  redis::Client& redis = make_client();
  const store::KeySpace keys = store::KeySpace::for_redis(config(), prefix_, 0);
  const std::string stream = keys.queue(keys.partition_of(id), "default");
  // (the group as a worker makes it)
  ASSERT_FALSE(run(redis.command("XGROUP", "CREATE", stream, store::kGroup, "0", "MKSTREAM")).is_error());
  const redis::Reply read =
      run(redis.command("XREADGROUP", "GROUP", store::kGroup, "ghost", "COUNT", "1", "STREAMS", stream, ">"));
  ASSERT_FALSE(read.is_nil());
  const std::string entry(read[0][1][0][0].str());

  WorkerThread& w = start(wf);
  ASSERT_EQ(client().wait(client().submit("lost", Json::object()).run_id, 10s).status, "completed");
  ASSERT_FALSE(run(redis.command("XCLAIM", stream, store::kGroup, "inproc", "0", entry)).is_error());
  EXPECT_EQ(client().get_run(id)->status, "queued");
  const auto cut = Clock::now();
  ASSERT_FALSE(run(redis.command("CLIENT", "KILL", "TYPE", "normal")).is_error());
  const RunInfo done = client().wait(id, 10s);
  EXPECT_EQ(done.status, "completed") << "the entry waits for its lease";
  EXPECT_LT(Clock::now() - cut, 10s);
  EXPECT_EQ(done.steps[0].output, (Json{{"ran", true}}));
  EXPECT_EQ(w.worker().stats().stale, 0u);
}


// --- bounded waiting (issue 12, item 3) ---

StepOptions bounded(int max_attempts, int max_rate_limited, std::chrono::milliseconds max_wait) {
  StepOptions o = quick_retries(max_attempts);
  o.retry.max_rate_limited = max_rate_limited;
  o.retry.max_wait = max_wait;
  return o;
}

// An upstream that answers 429 forever: each attempt ends after
// max_rate_limited answers, into the normal retry path, then the DLQ.
TEST_F(InProcess, RateLimitedAnswersPastMaxRateLimitedFailTheAttempt) {
  std::atomic<int> calls{0};
  Workflow wf("throttled");
  wf.step("call", [&](StepContext&) -> StepResult {
    ++calls;
    return StepError::rate_limited("429 Too Many Requests", 10ms);
  }, bounded(2, 3, 1h));
  start(wf);
  const RunInfo run = client().wait(client().submit("throttled", Json::object()).run_id, 10s);
  ASSERT_EQ(run.status, "failed");
  EXPECT_EQ(calls.load(), 6) << "3 answers per attempt, 2 attempts";
  EXPECT_EQ(run.steps[0].attempts, 2);
  EXPECT_EQ(run.steps[0].error,
            "attempts exhausted (2 of 2): rate limited 3 times (retry.max_rate_limited): "
            "429 Too Many Requests");
  // The history shows each rate-limited answer, and the bound ending attempt 1.
  const Json& h = run.steps[0].attempt_history;
  int bound_hits = 0;
  for (const Json& e : h) {
    if (e.value("error", "") ==
        "attempt 1 of 2 failed: rate limited 3 times (retry.max_rate_limited): 429 Too Many Requests") {
      ++bound_hits;
    }
  }
  EXPECT_EQ(bound_hits, 1) << h.dump();
}

// A Retry-After that would take the attempt's waiting past max_wait fails it.
TEST_F(InProcess, ARateLimitedWaitPastMaxWaitFailsTheAttempt) {
  std::atomic<int> calls{0};
  Workflow wf("patient");
  wf.step("call", [&](StepContext&) -> StepResult {
    ++calls;
    return StepError::rate_limited("429", 300ms);
  }, bounded(1, 0, 500ms));
  start(wf);
  const RunInfo run = client().wait(client().submit("patient", Json::object()).run_id, 10s);
  ASSERT_EQ(run.status, "failed");
  EXPECT_EQ(calls.load(), 2) << "waited 300 ms after the first; 300 ms more would pass 500 ms";
  EXPECT_EQ(run.steps[0].attempts, 1);
  EXPECT_EQ(run.steps[0].error,
            "attempts exhausted (1 of 1): waited 300ms for admission; the next wait of 300ms "
            "would pass 500ms (retry.max_wait): 429");
}

// The counters live in the run: a worker started after another stopped
// goes on counting where it stopped.
TEST_F(InProcess, TheRateLimitedCountSurvivesAWorkerRestart) {
  std::atomic<int> calls{0};
  auto make = [&] {
    Workflow wf("restarted");
    wf.step("call", [&](StepContext&) -> StepResult {
      ++calls;
      return StepError::rate_limited("429", 100ms);
    }, bounded(1, 4, 1h));
    return wf;
  };
  client().register_workflow(make());
  auto first = std::make_unique<WorkerThread>(options("first"), std::vector<Workflow>{make()});
  const std::string id = client().submit("restarted", Json::object()).run_id;
  poll(id, [&](const RunInfo&) { return calls.load() >= 2; });
  EXPECT_EQ(first->stop(), 0);
  const int before = calls.load();
  ASSERT_GE(before, 2);
  ASSERT_LT(before, 4);
  WorkerThread second(options("second"), std::vector<Workflow>{make()});
  const RunInfo run = client().wait(id, 10s);
  ASSERT_EQ(run.status, "failed");
  EXPECT_EQ(calls.load(), 4) << "the count went on from " << before;
  EXPECT_NE(run.steps[0].error.find("rate limited 4 times"), std::string::npos) << run.steps[0].error;
}

// Waiting at a limiter counts toward max_wait: a step the limiter will not
// admit for a minute fails once it has waited max_wait.
TEST_F(InProcess, WaitingAtALimiterCountsTowardMaxWait) {
  LimitSpec spec;
  spec.name = "slow-api";
  spec.requests_per_minute = 1;
  Workflow wf("limited");
  StepOptions o = bounded(1, 100, 300ms);
  o.limit.name = "slow-api";
  wf.step("call", [](StepContext&) -> StepResult { return Json{{"ok", true}}; }, o);
  WorkerOptions wo = options("limited");
  wo.limits = {spec};
  client().register_workflow(wf);
  WorkerThread w(wo, std::vector<Workflow>{wf});
  const RunInfo admitted = client().wait(client().submit("limited", Json::object()).run_id, 10s);
  ASSERT_EQ(admitted.status, "completed");
  const auto t0 = Clock::now();
  const RunInfo refused = client().wait(client().submit("limited", Json::object()).run_id, 10s);
  ASSERT_EQ(refused.status, "failed");
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(refused.steps[0].attempts, 1);
  EXPECT_NE(refused.steps[0].error.find("for admission (retry.max_wait 300ms)"), std::string::npos)
      << refused.steps[0].error;
}

// The queue settings workers record (an ordered queue, a backlog bound) stay
// when a client registers the same workflow without them: its submits keep
// giving runs their place in line.
TEST_F(InProcess, AClientsRegistrationKeepsTheQueueSettingsWorkersRecorded) {
  Workflow wf("ordered");
  wf.step("a", [](StepContext&) -> StepResult { return Json::object(); });
  QueueOrder order;
  order.fairness_key = "{{input.tenant}}";
  redis::Client& redis = make_client();
  store::Store st(redis, store::KeySpace(prefix_, 1), "test");
  run(st.register_workflow("ordered", store::definition_of(wf, {{"default", 50}}, {{"default", order}})));
  client().register_workflow(wf);
  const std::optional<Json> def = run(st.workflow_definition("ordered"));
  ASSERT_TRUE(def);
  EXPECT_EQ((*def)["max_backlog"], 50) << def->dump();
  EXPECT_EQ((*def)["order"]["default"]["fairness_key"], "{{input.tenant}}") << def->dump();
  const std::string id = client().submit("ordered", Json{{"tenant", "acme"}}).run_id;
  const std::optional<RunInfo> queued = client().get_run(id);
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->status, "waiting") << "in the ordered backlog: " << to_json(*queued).dump();
}

// --- fleets that differ during a rolling deploy (issue 12, item 7) ---

// An old worker without the new workflow serves the same queue as a new one:
// whatever it claims it hands back, spending no attempt, and every run
// completes on the new worker.
TEST_F(InProcess, AStepThisWorkerCannotRunIsTakenByOneThatCan) {
  Workflow v1("v1");
  v1.step("a", [](StepContext&) -> StepResult { return Json{{"v", 1}}; });
  Workflow v2("v2");
  v2.step("a", [](StepContext& ctx) -> StepResult { return Json{{"attempt", ctx.attempt()}}; });
  client().register_workflow(v1);
  client().register_workflow(v2);
  WorkerThread fresh(options("new"), std::vector<Workflow>{v1, v2});
  // The new worker is registered once it ran a step.
  ASSERT_EQ(client().wait(client().submit("v2", Json::object()).run_id, 10s).status, "completed");
  WorkerThread old(options("old"), std::vector<Workflow>{v1});
  ASSERT_EQ(client().wait(client().submit("v1", Json::object()).run_id, 10s).status, "completed");
  // Batches of 20 until the old worker has claimed (and handed back) at least
  // one: which worker reads an entry first is up to the scheduler, so one
  // batch may go to the new worker alone on a busy machine.
  for (int batch = 0; batch < 10 && old.worker().stats().handed_back == 0; ++batch) {
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(client().submit("v2", Json{{"i", i}}).run_id);
    for (const std::string& id : ids) {
      const RunInfo run = client().wait(id, 10s);
      ASSERT_EQ(run.status, "completed") << to_json(run).dump();
      EXPECT_EQ(run.steps[0].attempts, 1);
      EXPECT_EQ(run.steps[0].output, (Json{{"attempt", 1}}));
      ASSERT_EQ(run.steps[0].attempt_history.size(), 1u) << run.steps[0].attempt_history.dump();
      EXPECT_EQ(run.steps[0].attempt_history[0]["worker"], "new");
    }
  }
  // Both read the queue: the old worker claimed some and handed them back.
  EXPECT_GE(old.worker().stats().handed_back, 1u);
  EXPECT_EQ(old.stop(), 0);
}

// With only the old worker, the run shows it waits for a worker, then is
// dead-lettered after the grace, with no attempt spent.
TEST_F(InProcess, AStepNoLiveWorkerCanRunIsDeadLetteredAfterTheGrace) {
  Workflow v1("v1");
  v1.step("a", [](StepContext&) -> StepResult { return Json::object(); });
  Workflow v2("v2");
  v2.step("a", [](StepContext&) -> StepResult { return Json::object(); });
  client().register_workflow(v2);
  WorkerOptions o = options("old");
  o.queues = {"default"};
  o.no_handler_grace = 1s;
  WorkerThread old(o, std::vector<Workflow>{v1});
  const std::string id = client().submit("v2", Json::object()).run_id;
  const RunInfo waiting = poll(id, [](const RunInfo& r) { return !r.waiting_for.is_null(); });
  EXPECT_EQ(waiting.waiting_for, (Json{{"kind", "no_worker"}, {"until", nullptr}, {"queue", "default"}}));
  const RunInfo run = client().wait(id, 10s);
  ASSERT_EQ(run.status, "failed");
  EXPECT_EQ(run.steps[0].attempts, 0);
  EXPECT_NE(run.steps[0].error.find("no live worker on queue 'default' has a handler for "
                                    "workflow 'v2' step 'a' (worker old has none)"),
            std::string::npos)
      << run.steps[0].error;
  EXPECT_NE(run.steps[0].error.find("past the grace of 1s (--no-handler-grace)"), std::string::npos)
      << run.steps[0].error;
  EXPECT_EQ(old.stop(), 0);
  EXPECT_EQ(old.worker().stats().started, 0u);
}

// --- never silent (issue 12, item 4, the worker's half) ---

// Captures the default logger's lines while alive.
class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level) : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_pattern("%l %v");
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(InProcess, EachRetryAndDeadLetterIsLoggedAtALevelAUserCanTurnDown) {
  Workflow wf("loud");
  wf.step("flaky", [](StepContext&) -> StepResult { return StepError::retryable("boom"); },
          quick_retries(2));
  std::string info_text;
  std::string id;
  {
    LogCapture log(spdlog::level::info);
    start(wf);
    id = client().submit("loud", Json::object()).run_id;
    ASSERT_EQ(client().wait(id, 10s).status, "failed");
    worker_->stop();
    info_text = log.text();
  }
  const std::string retry_line = "info worker inproc: run " + id +
                                 " step flaky attempt 1 failed; retry at ";
  ASSERT_TRUE(contains(info_text, retry_line)) << info_text;
  const std::string after = info_text.substr(info_text.find(retry_line) + retry_line.size());
  // An RFC 3339 time, then the reason.
  EXPECT_TRUE(after.size() > 24 && after[4] == '-' && after[10] == 'T' && after[23] == 'Z') << after;
  EXPECT_TRUE(after.starts_with(after.substr(0, 24) + ": attempt 1 of 2 failed: boom")) << after;
  EXPECT_TRUE(contains(info_text, "warning worker inproc: run " + id +
                                      " step flaky attempt 2 dead-lettered: attempts exhausted "
                                      "(2 of 2): boom"))
      << info_text;

  // At warn, the retry is not logged; the dead letter still is.
  LogCapture log(spdlog::level::warn);
  worker_.reset();
  start(wf);
  const std::string second = client().submit("loud", Json::object()).run_id;
  ASSERT_EQ(client().wait(second, 10s).status, "failed");
  worker_->stop();
  const std::string warn_text = log.text();
  EXPECT_FALSE(contains(warn_text, "retry at")) << warn_text;
  EXPECT_TRUE(contains(warn_text, "run " + second + " step flaky attempt 2 dead-lettered"))
      << warn_text;
}

}  // namespace
}  // namespace steadfast

namespace steadfast {
namespace {

// Client::rerun end to end: a rerun from the second step with an edited input
// completes without running the first step again; the second step sees the
// new input and the first step's kept output; the source run is unchanged.
TEST_F(InProcess, ARerunFromTheSecondStepKeepsTheFirstOutputAndSeesTheNewInput) {
  std::atomic<int> fetches{0}, edits{0}, reports{0};
  Workflow wf("rerun3");
  wf.step("fetch", [&](StepContext& ctx) -> StepResult {
    ++fetches;
    return Json{{"doc", ctx.input().at("n").get<int>() * 10}};
  });
  wf.step("edit", [&](StepContext& ctx) -> StepResult {
    ++edits;
    return Json{{"n", ctx.input().at("n")}, {"doc", ctx.outputs().at("fetch").at("doc")}};
  });
  wf.step("report", [&](StepContext& ctx) -> StepResult {
    ++reports;
    return Json{{"edited", ctx.outputs().at("edit")}};
  });
  start(wf);
  const std::string source = client().submit("rerun3", Json{{"n", 1}}).run_id;
  const RunInfo before = client().wait(source, 10s);
  ASSERT_EQ(before.status, "completed");

  // Run ids in any case.
  std::string lower = source;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string id = client().rerun(lower, "edit", Json{{"n", 5}});
  ASSERT_NE(id, source);
  const RunInfo after = client().wait(id, 10s);
  ASSERT_EQ(after.status, "completed");
  EXPECT_EQ(fetches.load(), 1) << "the kept step ran again";
  EXPECT_EQ(edits.load(), 2);
  EXPECT_EQ(reports.load(), 2);
  EXPECT_EQ(after.workflow, "rerun3");
  EXPECT_EQ(after.rerun_of, source);
  EXPECT_EQ(after.rerun_from, "edit");
  EXPECT_EQ(before.rerun_of, "");
  EXPECT_EQ(after.input, (Json{{"n", 5}}));
  ASSERT_EQ(after.steps.size(), 3u);
  EXPECT_EQ(after.steps[0].output, (Json{{"doc", 10}})) << "fetch's output is the source's";
  EXPECT_EQ(after.steps[1].output, (Json{{"n", 5}, {"doc", 10}}));
  EXPECT_EQ(after.steps[2].output, (Json{{"edited", {{"n", 5}, {"doc", 10}}}}));
  EXPECT_EQ(after.steps[0].finished_at_ms, before.steps[0].finished_at_ms);

  // The source is as it was.
  const RunInfo source_now = *client().get_run(source);
  EXPECT_EQ(source_now.status, "completed");
  EXPECT_EQ(source_now.updated_at_ms, before.updated_at_ms);
  EXPECT_EQ(source_now.steps[1].output, (Json{{"n", 1}, {"doc", 10}}));

  // Bad requests name what is wrong and start nothing.
  try {
    (void)client().rerun(source, "publish");
    ADD_FAILURE() << "an unknown step was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "from_step 'publish' is not a step of this run (its steps: fetch, edit, report)");
  }
  EXPECT_THROW((void)client().rerun("01JBAD000000000000000000ZZ", "edit"), std::invalid_argument);
  EXPECT_EQ(edits.load(), 2);
}

}  // namespace
}  // namespace steadfast
