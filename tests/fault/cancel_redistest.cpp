// Cancelling runs, idempotent submits and what the CLI says (exit codes,
// messages, input_schema), through the CLI, with real workers.
#include "fault/fault_fixture.h"

namespace steadfast::test {
namespace {

class Runs : public FaultTest {
 protected:
  // Registers the file's workflows the way a user does: a worker starts (and
  // registers them), then stops on SIGTERM.
  void register_with_a_worker(const std::string& file) {
    ChildProcess& w = start_worker("registrar", file);
    w.sigterm();
    const auto code = w.wait(10s);
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 0) << tail_of(w.log());
  }

  // A run of `quick` submitted now and completed: the worker has fetched
  // everything enqueued before it on the same queue (streams are read in order).
  void sentinel_completes() {
    const std::string sentinel = submit("quick");
    ASSERT_TRUE(wait_status(sentinel, "completed", 10s)) << "sentinel " << hget(sentinel, "status");
  }

  // What `steadfast cancel` prints: its stdout when it succeeds, else its
  // stderr (it must then exit 1).
  std::string cancel(const std::string& run) {
    CommandResult r = cli({"cancel", run});
    std::string out = r.exit_code == 0 ? r.out : r.err;
    if (r.exit_code != 0) {
      EXPECT_EQ(r.exit_code, 1) << r.err;
    }
    EXPECT_TRUE(r.exit_code == 0 ? r.err.empty() : r.out.empty()) << r.out << r.err;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
};

constexpr std::string_view kWorkflows = R"(
workflows:
  slow:
    steps:
      - {name: nap, kind: sleep, with: {ms: 10000}}
      - {name: after, kind: noop}
  quick:
    steps:
      - {name: only, kind: noop}
)";

// No worker: the run waits in its queue and is cancelled at once.
TEST_F(Runs, CancelQueuedRun) {
  const std::string file = write_workflows(kWorkflows);
  register_with_a_worker(file);
  const std::string run = submit("slow");
  ASSERT_EQ(hget(run, "status"), "queued");
  EXPECT_EQ(cancel(run), "cancelled");
  const Json st = status_json(run);
  EXPECT_EQ(st["status"], "cancelled");
  EXPECT_EQ(st["steps"][0]["status"], "cancelled");
  EXPECT_EQ(st["steps"][0]["attempts"], 0);
  EXPECT_EQ(cancel(run), "steadfast: run " + run + " already cancelled: nothing to cancel");

  // A worker started now finds nothing to run.
  start_worker("late", file);
  sentinel_completes();
  EXPECT_EQ(hget(run, "status"), "cancelled");
  EXPECT_EQ(hget(run, "s.nap.attempts"), "");
  EXPECT_EQ(hget(run, "s.nap.worker"), "");
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// A running step is told to stop: "cancelling", then cancelled within ~2 s
// (the sleep step checks ctx.cancelled()); the next step never runs.
TEST_F(Runs, CancelRunningRun) {
  const std::string file = write_workflows(kWorkflows);
  ChildProcess& w = start_worker("cw", file);
  const std::string run = submit("slow");
  ASSERT_TRUE(wait_running(run, "nap", "cw", 10s));
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  EXPECT_EQ(cancel(run), "cancelling");
  ASSERT_TRUE(wait_status(run, "cancelled", 8s)) << "status " << hget(run, "status") << "\n"
                                                 << tail_of(w.log());
  const auto took = since(t0);
  EXPECT_LT(took, 2500ms) << "cancellation took " << took.count() << " ms";
  std::cout << "cancel: a running run was cancelled " << took.count() << " ms after the request\n";
  const Json st = status_json(run);
  EXPECT_EQ(st["status"], "cancelled");
  EXPECT_EQ(st["steps"][0]["status"], "cancelled");
  EXPECT_EQ(st["steps"][1]["status"], "pending");
  EXPECT_EQ(cancel(run), "steadfast: run " + run + " already cancelled: nothing to cancel");
  sentinel_completes();
  EXPECT_EQ(hget(run, "s.after.attempts"), "");
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// The same idempotency key twice: the same run id, one run.
TEST_F(Runs, IdempotentSubmitReturnsTheSameRun) {
  const std::string file = write_workflows(R"(
workflows:
  once:
    steps:
      - {name: only, kind: noop}
)");
  start_worker("iw", file);
  const std::string first = submit("once", R"({"order": 7})", {"--idempotency-key", "order-7"});
  const std::string second = submit("once", R"({"order": 7})", {"--idempotency-key", "order-7"});
  EXPECT_EQ(first, second);
  ASSERT_TRUE(wait_status(first, "completed", 10s));
  // Still the same run after it completed.
  EXPECT_EQ(submit("once", R"({"order": 7})", {"--idempotency-key", "order-7"}), first);
  EXPECT_EQ(count_runs(), 1u);
  EXPECT_EQ(hget_int(first, "s.only.attempts"), 1);

  const std::string other = submit("once", R"({"order": 8})", {"--idempotency-key", "order-8"});
  EXPECT_NE(other, first);
  EXPECT_EQ(count_runs(), 2u);
  ASSERT_TRUE(wait_status(other, "completed", 10s));
}

// A repeat says so; the same key with another input is refused (exit 1, the
// first run named); keys are scoped per workflow.
TEST_F(Runs, IdempotencyKeysAreCheckedAgainstTheInputAndScopedPerWorkflow) {
  const std::string file = write_workflows(R"(
workflows:
  once:
    steps:
      - {name: only, kind: noop}
  twice:
    steps:
      - {name: only, kind: noop}
)");
  register_with_a_worker(file);
  const std::string first = submit("once", R"({"order": 7})", {"--idempotency-key", "k-7"});
  CommandResult repeat = cli({"submit", "once", "--input", R"({"order": 7})", "--idempotency-key", "k-7"});
  EXPECT_EQ(repeat.exit_code, 0) << repeat.err;
  EXPECT_EQ(repeat.out, first + "\n");
  EXPECT_NE(repeat.err.find("a repeat: idempotency key 'k-7' was used before"), std::string::npos) << repeat.err;
  EXPECT_NE(repeat.err.find("24h"), std::string::npos) << repeat.err;

  CommandResult conflict = cli({"submit", "once", "--input", R"({"order": 8})", "--idempotency-key", "k-7"});
  EXPECT_EQ(conflict.exit_code, 1) << conflict.err;
  EXPECT_TRUE(conflict.out.empty()) << conflict.out;
  EXPECT_NE(conflict.err.find("was used for run " + first), std::string::npos) << conflict.err;
  EXPECT_NE(conflict.err.find("different input"), std::string::npos) << conflict.err;
  EXPECT_EQ(count_runs(), 1u);

  const std::string elsewhere = submit("twice", R"({"order": 8})", {"--idempotency-key", "k-7"});
  EXPECT_NE(elsewhere, first);
  EXPECT_EQ(count_runs(), 2u);
}

// `cancel` speaks the API's words; `submit --wait` that times out has its own
// exit code (3), not the one of a failed run (1).
TEST_F(Runs, CancelAndWaitSayWhatHappened) {
  const std::string file = write_workflows(kWorkflows);
  register_with_a_worker(file);
  CommandResult missing = cli({"cancel", "01JAAAAAAAAAAAAAAAAAAAAAAA"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no run 01JAAAAAAAAAAAAAAAAAAAAAAA (never submitted, or expired)"), std::string::npos)
      << missing.err;

  CommandResult waited = cli({"submit", "slow", "--wait", "--timeout", "200ms"});
  EXPECT_EQ(waited.exit_code, 3) << waited.out << waited.err;
  EXPECT_NE(waited.err.find("still queued after 200 ms"), std::string::npos) << waited.err;
  EXPECT_NE(waited.err.find("steadfast status "), std::string::npos) << waited.err;

  start_worker("cw", file);
  const std::string run = submit("quick");
  ASSERT_TRUE(wait_status(run, "completed", 10s));
  EXPECT_EQ(cancel(run), "steadfast: run " + run + " already completed: nothing to cancel");
}

// The CLI checks the input_schema as the API does: exit 2, every violation
// named, nothing written.
TEST_F(Runs, SubmitChecksTheInputSchema) {
  const std::string file = write_workflows(R"(
workflows:
  typed:
    input_schema:
      type: object
      required: [url]
      properties:
        url: {type: string}
    steps:
      - {name: only, kind: noop}
)");
  register_with_a_worker(file);
  CommandResult bad = cli({"submit", "typed", "--input", R"({"url": 3})"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("does not match the input_schema of workflow 'typed': /input/url:"), std::string::npos)
      << bad.err;
  CommandResult none = cli({"submit", "typed", "--input", "{}"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("/input/url: is required"), std::string::npos) << none.err;
  EXPECT_EQ(count_runs(), 0u);
  (void)submit("typed", R"({"url": "https://example.com"})");
  EXPECT_EQ(count_runs(), 1u);
}

// `worker --queues` naming a queue none of its workflows uses is said at start.
TEST_F(Runs, WorkerWarnsAboutAQueueNoWorkflowUses) {
  const std::string file = write_workflows(kWorkflows);
  WorkerArgs args;
  args.extra = {"--queues", "default,nope"};
  ChildProcess& w = start_worker("qw", file, args);
  EXPECT_NE(w.log().find("--queues names queue 'nope', which no step of"), std::string::npos) << w.log();
  EXPECT_EQ(w.log().find("queue 'default', which"), std::string::npos) << w.log();
}

}  // namespace
}  // namespace steadfast::test
