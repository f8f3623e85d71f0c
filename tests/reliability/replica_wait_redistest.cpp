// Acknowledged means replicated (--wait-replicas): a submit is answered only
// once the replicas asked for have the run (WAIT on the submit's connection).
// A replica that cannot acknowledge — SIGSTOPped, or none at all — turns the
// answer into "not replicated, the run may exist": NotReplicatedError from
// the C++ client, 503 not-replicated naming the run from `serve`, exit 1 with
// the run id from the CLI. Submitting again with the same idempotency key
// never makes a second run. And what it buys: when the primary dies and its
// replica is promoted, every run acknowledged with it is there, while a run
// acknowledged without it, after the link to the replica broke, is gone.
#include <thread>

#include "reliability/reliability_fixture.h"
#include "steadfast/worker.h"

namespace steadfast::test {
namespace {

class ReplicaWait : public ReliabilityTest {
 protected:
  // A replica of `primary`, linked and counted by the primary.
  static void link(const RedisServer& primary, const RedisServer& replica) {
    ASSERT_EQ(std::string(replica.call({"REPLICAOF", "127.0.0.1", std::to_string(primary.port())}).str()), "OK");
    ASSERT_TRUE(eventually(
        [&] {
          const std::string info(primary.call({"INFO", "replication"}).str());
          return info.find("connected_slaves:1") != std::string::npos &&
                 info.find("state=online") != std::string::npos;
        },
        10s, 10ms))
        << replica.log();
    ASSERT_TRUE(eventually(
        [&] { return std::string(replica.call({"INFO", "replication"}).str()).find("master_link_status:up") != std::string::npos; },
        10s, 10ms))
        << replica.log();
  }

  // A primary of the test's own, and a replica of it (replica_), linked.
  RedisServer& primary_with_replica() {
    RedisServerOptions options;
    options.extra_args = {"--repl-diskless-sync-delay", "0"};  // full syncs at once (Redis 7 waits 5 s)
    RedisServer& primary = own_redis(options);
    replica_ = std::make_unique<RedisServer>(options);
    link(primary, *replica_);
    return primary;
  }

  ClientOptions waiting_client(std::chrono::milliseconds timeout) const {
    ClientOptions o;
    o.redis_url = url();
    o.key_prefix = prefix();
    o.wait_replicas = 1;
    o.wait_replicas_timeout = timeout;
    return o;
  }

  static Workflow one_step() {
    Workflow wf("w");
    wf.step("a", [](StepContext&) -> StepResult { return Json::object(); });
    return wf;
  }

  // The run's status as `redis` has it; empty when it has no such run.
  std::string status_on(const RedisServer& redis, const std::string& run) const {
    const redis::Reply r = redis.call({"HGET", run_key(run), "status"});
    return r.is_nil() ? std::string() : std::string(r.str());
  }

  std::unique_ptr<RedisServer> replica_;
};

TEST_F(ReplicaWait, TheClientReturnsOnceTheReplicaHasTheRunAndSaysSoWhenItCannot) {
  RedisServer& primary = primary_with_replica();
  RedisServer& replica = *replica_;
  // A patient client for the answers that must come, a hasty one for those that cannot.
  Client patient(waiting_client(10s));
  Client c(waiting_client(300ms));
  patient.register_workflow(one_step());

  // Answered: the replica has the run by then, not some time after.
  const Submitted first = patient.submit("w", Json{{"n", 1}});
  EXPECT_TRUE(first.created);
  EXPECT_EQ(status_on(replica, first.run_id), "queued");

  // A replica that answers nothing: the run is on the primary, and the client says it is not replicated.
  replica.pause();
  SubmitOptions keyed;
  keyed.idempotency_key = "order-17";
  std::string written;
  const auto t0 = Clock::now();
  try {
    c.submit("w", Json{{"n", 2}}, keyed);
    ADD_FAILURE() << "a submit no replica acknowledged returned normally";
  } catch (const NotReplicatedError& e) {
    written = e.run_id();
    EXPECT_NE(std::string(e.what()).find("0 of 1 replicas"), std::string::npos) << e.what();
    ASSERT_EQ(e.runs().size(), 1u);
    EXPECT_TRUE(e.runs()[0].created);
  }
  EXPECT_GE(Clock::now() - t0, 300ms);
  ASSERT_EQ(written.size(), 26u);
  EXPECT_EQ(status_on(primary, written), "queued");

  // The same key again from a fresh connection (another process, another
  // serve): the repeat writes nothing itself, and must still not be called
  // replicated while the replica has not got the run.
  {
    Client fresh(waiting_client(300ms));
    EXPECT_THROW(fresh.submit("w", Json{{"n", 2}}, keyed), NotReplicatedError);
  }

  // A batch: every item's answer comes with the error.
  std::vector<SubmitItem> items(2);
  items[0].input = Json{{"n", 3}};
  items[1].input = Json{{"n", 4}};
  try {
    c.submit_many("w", items);
    ADD_FAILURE() << "a batch no replica acknowledged returned normally";
  } catch (const NotReplicatedError& e) {
    ASSERT_EQ(e.runs().size(), 2u);
    for (const BatchSubmitted& b : e.runs()) {
      EXPECT_TRUE(b.created);
      EXPECT_EQ(status_on(primary, b.run_id), "queued");
    }
  }

  // The replica back: the same key answers the same run, now replicated.
  replica.resume();
  const Submitted again = patient.submit("w", Json{{"n", 2}}, keyed);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.run_id, written);
  EXPECT_EQ(status_on(replica, written), "queued");
}

// The primary is SIGKILLed while its replica, paused, has lost the link, and
// the replica is promoted (REPLICAOF NO ONE, as Sentinel or a cluster failover
// does): the run acknowledged with WAIT before the pause is on it and
// completes there; the run the replica could not acknowledge was answered
// NotReplicatedError (the client was never told it is safe); and the run an
// ordinary submit acknowledged meanwhile is lost: the loss --wait-replicas
// prevents.
TEST_F(ReplicaWait, APromotedReplicaHasEveryRunAcknowledgedWithWaitAndLacksOneAcknowledgedWithout) {
  RedisServer& primary = primary_with_replica();
  RedisServer& replica = *replica_;
  Client patient(waiting_client(10s));
  patient.register_workflow(one_step());
  const std::string safe = patient.submit("w", Json{{"n", 1}}).run_id;

  // The replica stops, and the primary drops it: nothing written from now on
  // reaches the replica, not even into its socket's receive buffer.
  replica.pause();
  ASSERT_EQ(primary.call({"CLIENT", "KILL", "TYPE", "replica"}).as_integer(), 1);
  ASSERT_TRUE(eventually(
      [&] { return std::string(primary.call({"INFO", "replication"}).str()).find("connected_slaves:0") != std::string::npos; },
      10s, 10ms));
  std::string refused;
  try {
    Client(waiting_client(200ms)).submit("w", Json{{"n", 2}});
    ADD_FAILURE() << "a submit no replica acknowledged returned normally";
  } catch (const NotReplicatedError& e) {
    refused = e.run_id();
  }
  ClientOptions plain = waiting_client(1s);
  plain.wait_replicas = 0;
  const std::string unsafe = Client(plain).submit("w", Json{{"n", 3}}).run_id;
  ASSERT_EQ(status_on(primary, unsafe), "queued");
  ASSERT_EQ(status_on(primary, refused), "queued");

  primary.kill();
  replica.resume();
  ASSERT_EQ(std::string(replica.call({"REPLICAOF", "NO", "ONE"}).str()), "OK");
  EXPECT_EQ(status_on(replica, safe), "queued");
  EXPECT_EQ(status_on(replica, unsafe), "") << "the run acknowledged without WAIT survived: no loss shown";
  EXPECT_EQ(status_on(replica, refused), "");

  // The promoted replica carries on: a worker completes the run it kept.
  WorkerOptions wo;
  wo.redis_url = "redis://127.0.0.1:" + std::to_string(replica.port());
  wo.key_prefix = prefix();
  Worker worker(wo, {one_step()});
  std::thread running([&] { worker.run(); });
  ClientOptions on_replica = plain;
  on_replica.redis_url = wo.redis_url;
  const RunInfo done = Client(on_replica).wait(safe, 20s);
  worker.stop();
  running.join();
  EXPECT_EQ(done.status, "completed");
}

TEST_F(ReplicaWait, ServeAnswers503NamingTheRunAndTheCliExits1PrintingIt) {
  own_redis();  // no replica at all: WAIT 1 can only time out
  const std::string file = write_workflows("workflows:\n  w:\n    steps:\n      - {name: a, kind: noop}\n");
  const std::uint16_t port = free_port();
  ChildProcess& api = start_child({STEADFAST_BIN, "serve", "--workflows", file, "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--redis", url(), "--key-prefix", prefix(),
                                   "--wait-replicas", "1", "--wait-replicas-timeout", "100ms"},
                                  "serve");
  ASSERT_TRUE(eventually([&] { return readyz(port) == 200; }, 15s)) << tail_of(api.log());

  const HttpResponse r = post_run(port, "w", Json{{"n", 1}}, "key-1");
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json().value("type", ""), "tag:steadfast,2025:not-replicated") << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  const std::string run = r.json().value("run_id", "");
  ASSERT_EQ(run.size(), 26u) << r.body;
  EXPECT_EQ(hget(run, "status"), "queued");
  // Retried with the same key: the same run, still not known to be replicated.
  const HttpResponse retried = post_run(port, "w", Json{{"n", 1}}, "key-1");
  EXPECT_EQ(retried.status, 503) << retried.body;
  EXPECT_EQ(retried.json().value("run_id", ""), run);

  const HttpResponse batch = post_json(port, "/v1/workflows/w/runs:batch",
                                       Json{{"runs", Json::array({Json{{"input", 1}}, Json{{"input", 2}}})}});
  ASSERT_EQ(batch.status, 503) << batch.body;
  const Json items = batch.json().value("runs", Json::array());
  ASSERT_EQ(items.size(), 2u) << batch.body;
  for (const Json& item : items) EXPECT_EQ(hget(item.value("run_id", ""), "status"), "queued") << batch.body;

  const CommandResult cli_submit = cli({"submit", "w", "--wait-replicas", "1", "--wait-replicas-timeout", "50ms"});
  EXPECT_EQ(cli_submit.exit_code, 1) << cli_submit.err;
  std::string printed = cli_submit.out;
  while (!printed.empty() && printed.back() == '\n') printed.pop_back();
  ASSERT_EQ(printed.size(), 26u) << cli_submit.out;
  EXPECT_EQ(hget(printed, "status"), "queued");
  EXPECT_NE(cli_submit.err.find("0 of 1 replicas"), std::string::npos) << cli_submit.err;

  // A timeout WAIT would read as "forever" is refused before anything is written.
  const std::size_t before = count_runs();
  const CommandResult zero = cli({"submit", "w", "--wait-replicas", "1", "--wait-replicas-timeout", "0ms"});
  EXPECT_EQ(zero.exit_code, 2) << zero.err;
  EXPECT_NE(zero.err.find("at least 1 ms"), std::string::npos) << zero.err;
  EXPECT_EQ(count_runs(), before);
}

}  // namespace
}  // namespace steadfast::test
