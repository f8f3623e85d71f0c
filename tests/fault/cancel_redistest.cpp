// Cancelling runs and idempotent submits through the CLI, with real workers.
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

  std::string cancel(const std::string& run) {
    CommandResult r = cli({"cancel", run});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out = r.out;
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
  EXPECT_EQ(cancel(run), "terminal:cancelled");

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
  EXPECT_EQ(cancel(run), "terminal:cancelled");
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

}  // namespace
}  // namespace steadfast::test
