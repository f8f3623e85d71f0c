// Workers that die, hang or stop while a step runs, and the worker that takes
// over: real `steadfast worker` processes, SIGKILL / SIGSTOP / SIGTERM by PID.
//
// Defends invariants 3 (fencing), 4 (attempts counted at claim) and 7 (leases
// renewed, reclaimed only after a full lease) of docs/DESIGN.md, and the
// worker registry (one live process per id; a restart takes its entries back).
#include "fault/fault_fixture.h"

namespace steadfast::test {
namespace {

class Takeover : public FaultTest {};

// SIGKILL during step 2 of 3: another worker reclaims the step after its lease
// and finishes the run; step 1 is never run again.
TEST_F(Takeover, ResumeAfterSigkillRunsFinishedStepsOnce) {
  const std::string file = write_workflows(R"(
workflows:
  resume:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: sleep, with: {ms: 3000}, lease: 1s}
      - {name: c, kind: noop}
)");
  ChildProcess& w1 = start_worker("w1", file);
  const std::string run = submit("resume", R"({"n": 1})");
  ASSERT_TRUE(wait_running(run, "b", "w1", 10s)) << "step b never ran on w1";
  std::this_thread::sleep_for(300ms);  // well inside the step
  w1.kill_and_reap();
  EXPECT_EQ(w1.exit_code(), 128 + SIGKILL);
  EXPECT_EQ(hget(run, "s.b.status"), "running") << "the kill left the step as it was";

  start_worker("w2", file);
  ASSERT_TRUE(wait_status(run, "completed", 15s)) << "status " << hget(run, "status");

  const Json st = status_json(run);
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["status"], "completed");
  ASSERT_EQ(st["steps"].size(), 3u);
  const Json& a = st["steps"][0];
  const Json& b = st["steps"][1];
  const Json& c = st["steps"][2];
  EXPECT_EQ(a["attempts"], 1) << "step a ran again after the takeover";
  EXPECT_EQ(b["attempts"], 2) << "step b: the killed attempt, then w2's";
  EXPECT_EQ(c["attempts"], 1);
  for (const Json& s : st["steps"]) {
    EXPECT_EQ(s["status"], "completed") << s.dump();
    EXPECT_FALSE(s["output"].is_null()) << s.dump();
  }
  EXPECT_EQ(b["output"], (Json{{"slept_ms", 3000}}));
  EXPECT_EQ(hget(run, "s.a.worker"), "w1");
  EXPECT_EQ(hget(run, "s.b.worker"), "w2");
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// A worker paused (SIGSTOP) past its lease: another takes the step over and
// completes the run; once continued, every write of the paused one is refused.
// (A worker paused past the 5 s registration TTL takes its expired id again
// when it resumes, unless another process took it meanwhile.)
TEST_F(Takeover, ZombieWorkerCannotOverwriteTheNewOwner) {
  const std::string file = write_workflows(R"(
workflows:
  zombie:
    steps:
      - {name: z, kind: sleep, with: {ms: 800}, lease: 500ms}
      - {name: done, kind: noop}
)");
  ChildProcess& a = start_worker("za", file);
  const std::string run = submit("zombie");
  ASSERT_TRUE(wait_running(run, "z", "za", 10s));
  std::this_thread::sleep_for(200ms);
  a.sigstop();
  const auto paused_at = Clock::now();

  start_worker("zb", file);
  ASSERT_TRUE(wait_status(run, "completed", 15s)) << "status " << hget(run, "status");
  const auto completed_after = since(paused_at);
  EXPECT_EQ(hget(run, "s.z.worker"), "zb");
  EXPECT_EQ(hget_int(run, "s.z.attempts"), 2);
  EXPECT_EQ(redis().call({"HGET", key("stats"), "reclaims"}).str(), "1") << "zb took the step by a reclaim";
  const auto before = run_hash(run);

  // The paused worker's step (its sleep is long over) finishes as soon as it
  // runs again, and its renewals find the entry gone: both must be refused.
  // It is done with the step when a heartbeat after the pause reports nothing
  // in flight.
  const auto continued_ms = std::chrono::duration_cast<milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  a.sigcont();
  const bool dropped = eventually(
      [&] {
        const Json reg = registration("za");
        return reg.is_object() && reg.value("beat_at_ms", 0LL) > continued_ms && reg.value("in_flight", -1) == 0;
      },
      5s);
  EXPECT_TRUE(dropped) << "paused for " << completed_after.count() << " ms; registration "
                       << registration("za").dump() << "\n" << tail_of(a.log());
  std::cout << "zombie: the run completed under the new owner " << completed_after.count()
            << " ms after the pause\n";
  // Once it has exited, it can write nothing more: the checks below are final.
  a.sigterm();
  const auto code = a.wait(10s);
  ASSERT_TRUE(code.has_value()) << "the continued worker did not stop on SIGTERM";
  EXPECT_EQ(*code, 0) << tail_of(a.log());
  // The exit summary is the worker's only report of the outcomes Redis refused
  // (no counter in Redis counts them), and it is what an operator reads.
  const auto stats = stopped_stats(a.log());
  ASSERT_TRUE(stats.contains("stale")) << tail_of(a.log());
  EXPECT_GE(stats.at("stale"), 1);
  EXPECT_EQ(stats.at("succeeded") + stats.at("failed"), stats.at("stale"))
      << "every outcome of the zombie must have been refused";

  EXPECT_EQ(run_hash(run), before) << "the zombie changed the completed run";
  EXPECT_EQ(hget(run, "status"), "completed");
  EXPECT_EQ(hget(run, "s.z.worker"), "zb");
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// SIGTERM with a short drain timeout: the running step is handed back at once
// and another live worker picks it up within a second, not after the lease.
TEST_F(Takeover, SigtermHandsTheStepToAnotherWorkerAtOnce) {
  const std::string file = write_workflows(R"(
workflows:
  handoff:
    steps:
      - {name: long, kind: sleep, with: {ms: 20000}, lease: 30s}
)");
  ChildProcess& a = start_worker("ha", file, WorkerArgs().with_concurrency(2).with_drain_timeout("200ms"));
  const std::string run = submit("handoff");
  ASSERT_TRUE(wait_running(run, "long", "ha", 10s));
  ChildProcess& b = start_worker("hb", file);
  // The hand-off is timed from an idle b: blocked in its read, waiting for work.
  ASSERT_TRUE(eventually([&] { return blocked_in_read(b); }, 5s)) << tail_of(b.log());
  ASSERT_EQ(hget(run, "s.long.worker"), "ha");

  const auto t0 = Clock::now();
  a.sigterm();
  const bool moved = eventually([&] { return hget(run, "s.long.worker") == "hb"; }, 10s, 2ms);
  const auto picked_up = since(t0);
  ASSERT_TRUE(moved) << tail_of(a.log()) << "\n" << tail_of(b.log());
  EXPECT_LT(picked_up, 1000ms) << "hand-off took " << picked_up.count() << " ms";
  std::cout << "hand-off: picked up by the other worker " << picked_up.count() << " ms after SIGTERM\n";

  const auto code = a.wait(3s);
  ASSERT_TRUE(code.has_value()) << "the worker did not exit within 3 s of SIGTERM";
  EXPECT_EQ(*code, 0) << tail_of(a.log());
  EXPECT_LT(since(t0), 3000ms);
  EXPECT_TRUE(registration("ha").is_null()) << "a stopped worker leaves the registry";
  // The exit summary is what an operator reads of a drain.
  EXPECT_EQ(stopped_stats(a.log())["handed back"], 1) << tail_of(a.log());
  EXPECT_EQ(hget(run, "s.long.status"), "running");
  EXPECT_EQ(hget_int(run, "s.long.attempts"), 2);
  // A hand-off is not a failure: no error recorded.
  EXPECT_EQ(hget(run, "s.long.errors"), "");
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// One live process per worker id; a worker restarted under its id after a
// SIGKILL takes back its pending entries at once, not after the lease.
TEST_F(Takeover, WorkerIdIsExclusiveAndARestartTakesItsEntriesBack) {
  const std::string file = write_workflows(R"(
workflows:
  long:
    steps:
      - {name: s, kind: sleep, with: {ms: 3000}, lease: 30s}
      - {name: t, kind: noop}
)");
  ChildProcess& first = start_worker("wid", file);
  const std::string run = submit("long");
  ASSERT_TRUE(wait_running(run, "s", "wid", 10s));

  // A second live worker with the same id is refused.
  ChildProcess& dup = start_worker("wid", file, {}, /*wait_ready=*/false);
  const auto code = dup.wait(10s);
  ASSERT_TRUE(code.has_value()) << "a second worker with a live id kept running:\n" << tail_of(dup.log());
  EXPECT_NE(*code, 0);
  // The refusal's message is the contract here: it is all the user sees.
  EXPECT_NE(dup.log().find("in use"), std::string::npos) << dup.log();
  EXPECT_TRUE(first.running()) << "the first worker must not be disturbed";
  EXPECT_EQ(hget(run, "s.s.worker"), "wid");
  EXPECT_EQ(hget_int(run, "s.s.attempts"), 1);

  // SIGKILL, then a restart under the same id: the step runs again at once.
  first.kill_and_reap();
  const auto t0 = Clock::now();
  ChildProcess& again = start_worker("wid", file);
  const bool rerun = eventually(
      [&] { return hget_int(run, "s.s.attempts") == 2 && hget(run, "s.s.status") == "running"; }, 10s, 5ms);
  const auto took = since(t0);
  ASSERT_TRUE(rerun) << tail_of(again.log());
  EXPECT_LT(took, 2000ms) << "took " << took.count() << " ms (the lease is 30 s)";
  EXPECT_EQ(registration("wid").value("pid", 0), again.pid()) << "the restart holds the id";
  ASSERT_TRUE(wait_status(run, "completed", 10s));
  EXPECT_EQ(hget_int(run, "s.s.attempts"), 2);
  EXPECT_EQ(hget_int(run, "s.t.attempts"), 1);
  CommandResult doc = doctor();
  EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
}

// A SIGTERM right after start-up (the registration written, the loops not
// all started yet) still ends with the worker's registration removed: the
// event loop used to stop before the deregistration had run, leaving the
// record in the workers hash for good. Ten workers, each stopped as soon as
// its record appears.
TEST_F(Takeover, ASigtermRightAfterStartUpStillDeregisters) {
  const std::string file = write_workflows(R"(
workflows:
  quick:
    steps:
      - {name: a, kind: noop}
)");
  for (int i = 0; i < 10; ++i) {
    const std::string id = "early-" + std::to_string(i);
    ChildProcess& w = start_worker(id, file, {}, /*wait_ready=*/false);
    ASSERT_TRUE(eventually([&] { return !registration(id).is_null(); }, 10s, 1ms)) << tail_of(w.log());
    w.sigterm();
    ASSERT_EQ(w.wait(10s), 0) << tail_of(w.log());
    EXPECT_TRUE(registration(id).is_null()) << "worker " << id << " left its registration behind\n"
                                            << tail_of(w.log());
  }
}

}  // namespace
}  // namespace steadfast::test
