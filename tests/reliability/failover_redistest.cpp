// A planned failover under a running fleet: the primary is demoted to a
// replica and promoted back, with real `steadfast worker`, `steadfast serve`
// and `steadfast notifier` processes that keep pointing at it. Meanwhile Redis
// answers their blocked XREADGROUPs with -UNBLOCKED and every write with
// -READONLY: a transient state, to be waited out, never a reason to exit.
//
// Both switches lose no write, so the data the fleet finds afterwards is the
// data it left: the demotion is done as Sentinel does it (REPLICAOF NO ONE on
// the standby, REPLICAOF on the old primary) with the primary's writes paused
// until the standby has applied everything; the promotion back is Redis' own
// FAILOVER (7.0), which pauses and waits the same way. Both end in a partial
// resync.
#include <cstdlib>

#include "reliability/reliability_fixture.h"
#include "store/keys.h"

namespace steadfast::test {
namespace {

class Failover : public ReliabilityTest {};

// Three steps; the middle one sleeps 2 s, so that once every run has reached
// it the queue is empty, every worker's XREADGROUP blocks (the fleet has more
// slots than runs), and the steps are still running when the primary is
// demoted. The lease (10 s) is longer than the demotion (about 2 s): a step
// running through it keeps its claim, so its outcome must be written once the
// primary is back, and no attempt is spent on the demotion.
constexpr const char* kPipeline = R"(
workflows:
  pipeline:
    steps:
      - {name: a, kind: noop, lease: 10s, retry: {max_attempts: 3, backoff: {initial: 50ms}}}
      - {name: b, kind: sleep, with: {ms: 2000}, lease: 10s, retry: {max_attempts: 3, backoff: {initial: 50ms}}}
      - {name: c, kind: noop, lease: 10s, retry: {max_attempts: 3, backoff: {initial: 50ms}}}
)";

// Makes `to` (a replica of `from`, in sync) the primary and `from` its
// replica, at once and without losing a write: writes paused on `from`, wait
// until `to` has applied all of them, REPLICAOF NO ONE on `to`, REPLICAOF on
// `from`, unpause. Reads blocked on `from` at that moment are answered
// -UNBLOCKED. (FAILOVER would do the same but may wait up to a second for the
// replica's acknowledgement: long enough for every blocked read to time out
// and come back as a paused command, which meets -READONLY instead.)
// Returns an error message, empty on success.
std::string switch_primary(const RedisServer& from, const RedisServer& to) {
  if (from.call({"CLIENT", "PAUSE", "5000", "WRITE"}).is_error()) return "CLIENT PAUSE refused";
  const std::string offset = replication_field(from, "master_repl_offset");
  if (!eventually([&] { return replication_field(to, "master_repl_offset") == offset; }, 3s, 1ms)) {
    from.call({"CLIENT", "UNPAUSE"});
    return "the standby did not catch up with offset " + offset;
  }
  const redis::Reply promoted = to.call({"REPLICAOF", "NO", "ONE"});
  const redis::Reply demoted = from.call({"REPLICAOF", "127.0.0.1", std::to_string(to.port())});
  from.call({"CLIENT", "UNPAUSE"});
  if (promoted.is_error() || demoted.is_error()) {
    return "REPLICAOF refused: " + std::string(promoted.str()) + " / " + std::string(demoted.str());
  }
  return {};
}

long long system_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The worker's registration: its entry in the workers hash (JSON) and its lock.
struct Registered {
  bool lock = false;
  long long beat_at_ms = 0;  // 0 when the entry is missing
};

// Demoted under a running fleet, promoted back: no process exits, every run
// completes with each step run exactly once (the steps in flight through the
// demotion kept their claims and their outcomes were written afterwards), each
// worker is still registered and beating, serve answered 503 while demoted
// and 202 after, and `steadfast doctor` finds nothing.
TEST_F(Failover, PrimaryDemotedToReplicaAndPromotedBackLosesNothing) {
  RedisServerOptions options;
  // Full syncs start at once (Redis 7 waits 5 s for more replicas by default).
  options.extra_args = {"--repl-diskless-sync-delay", "0"};
  RedisServer& primary = own_redis(options);
  RedisServer standby(options);
  const std::string primary_port = std::to_string(primary.port());
  ASSERT_EQ(std::string(standby.call({"REPLICAOF", "127.0.0.1", primary_port}).str()), "OK");
  ASSERT_TRUE(wait_role(standby, "slave", 10s)) << standby.log();

  const std::string file = write_workflows(kPipeline);
  const std::vector<std::string> ids{"d1", "d2", "d3"};
  std::vector<ChildProcess*> workers;
  for (const std::string& id : ids) {
    workers.push_back(&start_worker(id, file, WorkerArgs().with_concurrency(100)));
  }
  const std::uint16_t port = free_port();
  ChildProcess& api = start_serve(file, port);
  // Nothing is dead-lettered here, so the webhook is never called: the
  // notifier only has to survive the demotion (its blocked read is unblocked too).
  ChildProcess& notifier = start_child({STEADFAST_BIN, "notifier", "--webhook",
                                        "http://127.0.0.1:" + std::to_string(free_port()) + "/hook",
                                        "--redis", url(), "--key-prefix", prefix(), "--id", "n1"},
                                       "notifier");
  ASSERT_TRUE(notifier.wait_for_log("alerts for dead runs go to", 10s)) << tail_of(notifier.log());
  ASSERT_TRUE(eventually([&] { return readyz(port) == 200; }, 15s)) << tail_of(api.log());

  const auto t0 = Clock::now();
  constexpr int kRuns = 200;
  std::vector<std::string> runs;
  for (int i = 0; i < kRuns; ++i) {
    HttpResponse r = post_run(port, "pipeline", Json{{"i", i}});
    ASSERT_EQ(r.status, 202) << r.body;
    runs.push_back(r.json().value("run_id", ""));
  }
  // Every run has reached its 2 s step: the queue is empty and the reads of
  // the three workers and of the notifier are blocked.
  const auto blocked_clients = [&] {
    const std::string text(primary.call({"INFO", "clients"}).str());
    const auto at = text.find("blocked_clients:");
    return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + 16);
  };
  ASSERT_TRUE(eventually([&] { return blocked_clients() == 4; }, 10s, 5ms)) << blocked_clients();

  // Demote: the primary becomes a replica of the standby.
  ASSERT_EQ(switch_primary(primary, standby), "");
  ASSERT_TRUE(wait_role(primary, "slave", 10s)) << primary.log();
  ASSERT_TRUE(wait_role(standby, "master", 10s)) << standby.log();
  const auto demoted = Clock::now();
  const Tally during = tally(runs);  // reads still work on a replica
  EXPECT_GT(during.other, 0) << "no run was in flight through the demotion";

  // serve: "not now", as it says for any Redis that cannot take writes yet.
  const HttpResponse refused = post_run(port, "pipeline", Json{{"while", "demoted"}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty());
  EXPECT_EQ(refused.header("content-type"), "application/problem+json") << refused.body;
  EXPECT_NE(refused.body.find("READONLY"), std::string::npos) << refused.body;

  // The demotion lasts 2 s: every process meets it (the workers' reads are
  // unblocked, their renewals, beats and outcomes refused) and waits it out.
  std::this_thread::sleep_for(2s - since(demoted));
  for (ChildProcess* w : workers) EXPECT_TRUE(w->running()) << tail_of(w->log());
  EXPECT_TRUE(api.running()) << tail_of(api.log());
  EXPECT_TRUE(notifier.running()) << tail_of(notifier.log());
  const auto demoted_for = since(demoted);

  // Promote back: the standby hands the role back (FAILOVER).
  ASSERT_EQ(std::string(standby.call({"FAILOVER"}).str()), "OK");
  ASSERT_TRUE(wait_role(primary, "master", 10s)) << primary.log();
  ASSERT_TRUE(wait_role(standby, "slave", 10s)) << standby.log();
  const long long promoted_ms = system_ms();
  const auto promoted = Clock::now();

  HttpResponse accepted;
  ASSERT_TRUE(eventually(
      [&] {
        accepted = post_run(port, "pipeline", Json{{"after", "promotion"}});
        return accepted.status == 202;
      },
      5s, 100ms))
      << accepted.status << " " << accepted.body;
  runs.push_back(accepted.json().value("run_id", ""));

  // The runs that went through the demotion, then all (the last one, submitted
  // after the promotion, needs its own 2 s).
  wait_finished(std::vector<std::string>(runs.begin(), runs.begin() + kRuns), 30s);
  const auto resumed = since(promoted);
  const Tally t = wait_finished(runs, 30s);
  const auto took = since(t0);

  // Nobody exited, nobody was restarted.
  for (ChildProcess* w : workers) EXPECT_TRUE(w->running()) << tail_of(w->log());
  EXPECT_TRUE(api.running()) << tail_of(api.log());
  EXPECT_TRUE(notifier.running()) << tail_of(notifier.log());
  // The demotion reached the workers' blocked reads (each re-blocks within
  // milliseconds of a reclaim pass, so all three nearly always are).
  int unblocked = 0;
  for (ChildProcess* w : workers) unblocked += w->count_in_log("UNBLOCKED");
  EXPECT_GE(unblocked, 1) << "no worker's read was unblocked: the test missed its point";
  // Each worker kept its registration (lock and entry) and beats again.
  const store::KeySpace keys(prefix(), 1);
  const auto registration = [&](const std::string& id) {
    Registered r;
    r.lock = primary.call({"EXISTS", keys.worker_lock(id)}).as_integer() == 1;
    const redis::Reply entry = primary.call({"HGET", keys.workers(), id});
    if (!entry.is_nil()) {
      r.beat_at_ms = Json::parse(std::string(entry.str())).value("beat_at_ms", 0LL);
    }
    return r;
  };
  for (const std::string& id : ids) {
    Registered r;
    EXPECT_TRUE(eventually(
        [&] {
          r = registration(id);
          return r.lock && r.beat_at_ms > promoted_ms;
        },
        5s, 50ms))
        << "worker " << id << ": lock " << r.lock << ", last beat " << r.beat_at_ms
        << " vs promoted at " << promoted_ms;
  }

  EXPECT_EQ(t.completed, static_cast<long long>(runs.size()));
  EXPECT_EQ(t.failed, 0);
  EXPECT_EQ(t.reexecuted, 0) << "the demotion cost attempts: steps in flight lost their claims";
  EXPECT_EQ(stat("completed:pipeline"), static_cast<long long>(runs.size()));
  EXPECT_EQ(count_runs(), runs.size()) << "the run refused while demoted was created anyway";
  expect_clean_end(runs, t);
  figures("runs=" + std::to_string(runs.size()) + " workers=" + std::to_string(workers.size()) +
          " in_flight_at_demotion=" + std::to_string(during.other) + " demoted_ms=" +
          std::to_string(demoted_for.count()) + " unblocked_reads=" + std::to_string(unblocked) +
          " completed=" + std::to_string(t.completed) + " dlq=" + std::to_string(t.failed) +
          " reexecuted=" + std::to_string(t.reexecuted) + " finished_after_promotion_ms=" +
          std::to_string(resumed.count()) + " total_ms=" + std::to_string(took.count()));
}

}  // namespace
}  // namespace steadfast::test
