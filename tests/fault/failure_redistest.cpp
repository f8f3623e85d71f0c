// Failing steps with real worker processes: retries on the backoff schedule
// (in Redis time), the dead-letter queue with the error history, fatal errors,
// steps that crash their worker (attempts counted at claim), and replay.
//
// Defends invariants 2 (ACK with the outcome), 4 (attempts at claim) and 5
// (Redis time for delays) of docs/DESIGN.md.
#include "fault/fault_fixture.h"

namespace steadfast::test {
namespace {

class Failure : public FaultTest {};

// fail {times: 3}, max_attempts 4, backoff 100ms x2: the delays between a
// failure and the next attempt's start are ~100, 200, 400 ms (within 20%),
// measured with the timestamps the scripts took from Redis' TIME.
TEST_F(Failure, RetriesFollowTheBackoffScheduleInRedisTime) {
  const std::string file = write_workflows(R"(
workflows:
  flaky:
    steps:
      - name: f
        kind: fail
        with: {times: 3}
        retry: {max_attempts: 4, backoff: {initial: 100ms, multiplier: 2, max: 10s}}
)");
  start_worker("rw", file);
  const std::string run = submit("flaky");
  ASSERT_TRUE(wait_status(run, "completed", 15s)) << "status " << hget(run, "status");

  EXPECT_EQ(hget_int(run, "s.f.attempts"), 4);
  EXPECT_EQ(Json::parse(hget(run, "s.f.output")), (Json{{"attempt", 4}}));
  const Json errors = Json::parse(hget(run, "s.f.errors"));
  ASSERT_EQ(errors.size(), 3u) << errors.dump();
  std::vector<std::int64_t> starts;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i]["attempt"], i + 1) << errors.dump();
    EXPECT_EQ(errors[i]["error"], "attempt " + std::to_string(i + 1) +
                                      " of 4 failed: injected failure " + std::to_string(i + 1) +
                                      " of 3");
    EXPECT_GE(errors[i]["failed_at"].get<std::int64_t>(), errors[i]["started_at"].get<std::int64_t>());
    starts.push_back(errors[i]["started_at"].get<std::int64_t>());
  }
  starts.push_back(hget_int(run, "s.f.started_at"));
  const std::int64_t expected[] = {100, 200, 400};
  std::string measured;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::int64_t delay = starts[i + 1] - errors[i]["failed_at"].get<std::int64_t>();
    measured += (i ? ", " : "") + std::to_string(delay);
    EXPECT_GE(delay, expected[i] * 8 / 10) << "delay after attempt " << i + 1;
    EXPECT_LE(delay, expected[i] * 12 / 10) << "delay after attempt " << i + 1;
  }
  std::cout << "backoff: measured delays " << measured << " ms (expected 100, 200, 400)\n";
}

// Attempts exhausted: the run is failed, in the dead-letter queue with every
// attempt's error; `dlq list --json` shows them.
TEST_F(Failure, DeadLetterAfterMaxAttemptsWithTheErrorHistory) {
  const std::string file = write_workflows(R"(
workflows:
  doomed:
    steps:
      - {name: a, kind: noop}
      - name: b
        kind: fail
        with: {times: 100}
        retry: {max_attempts: 3, backoff: {initial: 20ms, multiplier: 1}}
)");
  start_worker("dw", file);
  const std::string run = submit("doomed");
  ASSERT_TRUE(wait_status(run, "failed", 15s)) << "status " << hget(run, "status");

  const std::vector<Json> dlq = dlq_list();
  ASSERT_EQ(dlq.size(), 1u);
  const Json& d = dlq[0];
  EXPECT_EQ(d["run_id"], run);
  EXPECT_EQ(d["workflow"], "doomed");
  EXPECT_EQ(d["step"], "b");
  EXPECT_EQ(d["attempts"], 3);
  EXPECT_EQ(d["error"], "attempts exhausted (3 of 3): injected failure 3 of 100");
  ASSERT_EQ(d["errors"].size(), 3u) << d.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d["errors"][i]["attempt"], i + 1);
    EXPECT_NE(d["errors"][i]["error"].get<std::string>().find("injected failure " + std::to_string(i + 1)),
              std::string::npos)
        << d["errors"][i].dump();
  }
  const Json st = status_json(run);
  EXPECT_EQ(st["status"], "failed");
  EXPECT_EQ(st["steps"][0]["status"], "completed");
  EXPECT_EQ(st["steps"][1]["status"], "failed");
  EXPECT_EQ(st["steps"][1]["attempts"], 3);
  EXPECT_EQ(st["steps"][1]["error"], d["error"]);
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// A fatal error is not retried: dead-lettered after its one attempt.
TEST_F(Failure, FatalErrorDeadLettersAtOnce) {
  const std::string file = write_workflows(R"(
workflows:
  fatal:
    steps:
      - name: f
        kind: fail
        with: {times: 1, fatal: true}
        retry: {max_attempts: 5, backoff: {initial: 20ms}}
)");
  start_worker("fw", file);
  const std::string run = submit("fatal");
  ASSERT_TRUE(wait_status(run, "failed", 15s)) << "status " << hget(run, "status");
  const std::vector<Json> dlq = dlq_list();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0]["run_id"], run);
  EXPECT_EQ(dlq[0]["attempts"], 1);
  EXPECT_EQ(dlq[0]["error"], "fatal error: injected failure 1 of 1");
  EXPECT_EQ(dlq[0]["errors"].size(), 1u);
  EXPECT_EQ(hget_int(run, "s.f.attempts"), 1);
}

// A step that aborts its worker every time: attempts are counted when the
// step is claimed, so after max_attempts crashes the run is dead-lettered
// instead of crashing workers forever. The test restarts the worker (same id)
// each time it dies; the restart takes its entry back at once.
TEST_F(Failure, CrashingStepEndsInTheDeadLetterQueue) {
  const std::string file = write_workflows(R"(
workflows:
  crashy:
    steps:
      - {name: a, kind: noop}
      - name: boom
        kind: crash
        with: {times: 1000}
        retry: {max_attempts: 3}
)");
  ChildProcess* w = &start_worker("cw", file);
  const std::string run = submit("crashy");
  int crashes = 0;
  for (;;) {
    const bool ended = eventually([&] { return !w->running() || hget(run, "status") == "failed"; }, 15s);
    ASSERT_TRUE(ended) << "the worker neither crashed nor failed the run:\n" << tail_of(w->log());
    if (hget(run, "status") == "failed") break;
    ASSERT_EQ(w->exit_code(), 128 + SIGABRT) << tail_of(w->log());
    ++crashes;
    ASSERT_LE(crashes, 3) << "a step with max_attempts 3 crashed its worker a 4th time";
    EXPECT_EQ(hget_int(run, "s.boom.attempts"), crashes) << "attempts are counted at claim";
    w = &start_worker("cw", file, {}, /*wait_ready=*/false);
  }
  ASSERT_EQ(hget(run, "status"), "failed");
  EXPECT_EQ(crashes, 3);
  const std::vector<Json> dlq = dlq_list();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0]["run_id"], run);
  EXPECT_EQ(dlq[0]["step"], "boom");
  EXPECT_EQ(dlq[0]["attempts"], 3);
  EXPECT_NE(dlq[0]["error"].get<std::string>().find("attempts exhausted (3 of 3)"), std::string::npos)
      << dlq[0].dump();
  EXPECT_EQ(hget_int(run, "s.a.attempts"), 1);
  EXPECT_EQ(hget_int(run, "s.boom.attempts"), 3);
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// Replay after the cause is fixed (here: the worker restarted with a workflows
// file whose step no longer fails) restarts the run from its failed step and
// keeps the outputs of the steps before it.
TEST_F(Failure, ReplayCompletesTheRunFromTheFailedStep) {
  const std::string broken = write_workflows(R"(
workflows:
  replayable:
    steps:
      - {name: a, kind: sleep, with: {ms: 1}}
      - name: b
        kind: fail
        with: {times: 100}
        retry: {max_attempts: 2, backoff: {initial: 20ms}}
      - {name: c, kind: noop}
)", "broken.yaml");
  const std::string fixed = write_workflows(R"(
workflows:
  replayable:
    steps:
      - {name: a, kind: sleep, with: {ms: 1}}
      - name: b
        kind: fail
        with: {times: 0}
        retry: {max_attempts: 2, backoff: {initial: 20ms}}
      - {name: c, kind: noop}
)", "fixed.yaml");
  ChildProcess& w = start_worker("pw", broken);
  const std::string run = submit("replayable", R"({"x": 42})");
  ASSERT_TRUE(wait_status(run, "failed", 15s)) << "status " << hget(run, "status");
  const std::string a_output = hget(run, "s.a.output");
  const std::string a_finished = hget(run, "s.a.finished_at");
  ASSERT_FALSE(a_output.empty());
  const std::vector<Json> dlq = dlq_list();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0]["attempts"], 2);
  w.sigterm();
  ASSERT_EQ(w.wait(10s), std::optional<int>(0)) << tail_of(w.log());

  ChildProcess& w2 = start_worker("pw", fixed);
  CommandResult r = cli({"dlq", "replay", dlq[0]["id"].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, run + "\n");
  ASSERT_TRUE(wait_status(run, "completed", 15s))
      << "status " << hget(run, "status") << "; step b: " << hget(run, "s.b.error") << "\n"
      << tail_of(w2.log());

  const Json st = status_json(run);
  EXPECT_EQ(st["status"], "completed");
  EXPECT_EQ(st["steps"][0]["attempts"], 1) << "step a ran again on replay";
  EXPECT_EQ(hget(run, "s.a.output"), a_output);
  EXPECT_EQ(hget(run, "s.a.finished_at"), a_finished);
  EXPECT_EQ(st["steps"][1]["status"], "completed");
  EXPECT_EQ(st["steps"][2]["status"], "completed");
  EXPECT_TRUE(dlq_list().empty()) << "the replayed entry must leave the dead-letter queue";
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// Replay with nothing changed: the step gets a fresh set of max_attempts, and
// its attempts keep counting (3, 4, ...) instead of starting again at 1, so
// `fail {times: 2}` with max_attempts 2 succeeds on its replay and the error
// history never holds two entries for the same attempt.
TEST_F(Failure, ReplayGivesFreshAttemptsAndKeepsCounting) {
  const std::string file = write_workflows(R"(
workflows:
  replayable:
    steps:
      - {name: a, kind: sleep, with: {ms: 1}}
      - name: b
        kind: fail
        with: {times: 2}
        retry: {max_attempts: 2, backoff: {initial: 20ms}}
      - {name: c, kind: noop}
)");
  ChildProcess& w = start_worker("pw", file);
  const std::string run = submit("replayable", R"({"x": 42})");
  ASSERT_TRUE(wait_status(run, "failed", 15s)) << "status " << hget(run, "status");
  const std::string a_output = hget(run, "s.a.output");
  const std::vector<Json> dlq = dlq_list();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0]["attempts"], 2);

  CommandResult r = cli({"dlq", "replay", dlq[0]["id"].get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, run + "\n");
  // The replay set the run queued before the command returned: wait until it ends again.
  eventually([&] { const std::string s = hget(run, "status"); return s == "completed" || s == "failed"; }, 10s);
  const bool completed = hget(run, "status") == "completed";
  const Json errors = Json::parse(hget(run, "s.b.errors"), nullptr, false);
  ASSERT_TRUE(completed) << "status " << hget(run, "status") << "; step b attempts "
                         << hget(run, "s.b.attempts") << ", errors " << errors.dump() << "\n"
                         << tail_of(w.log());
  EXPECT_EQ(hget_int(run, "s.a.attempts"), 1) << "step a ran again on replay";
  EXPECT_EQ(hget(run, "s.a.output"), a_output);
  EXPECT_EQ(hget_int(run, "s.b.attempts"), 3);
  EXPECT_EQ(Json::parse(hget(run, "s.b.output")), (Json{{"attempt", 3}}));
  ASSERT_EQ(errors.size(), 2u) << errors.dump();
  EXPECT_EQ(errors[0]["attempt"], 1);
  EXPECT_EQ(errors[1]["attempt"], 2);
  EXPECT_TRUE(dlq_list().empty());
}

}  // namespace
}  // namespace steadfast::test
