// Moving a deployment from one Redis to a Redis Cluster by a dual run, as
// docs/reliability.md ("Moving to a Redis Cluster") tells an operator to do
// it, step by step with the real CLI and `steadfast worker` processes: the
// old fleet keeps running its runs to the end while every new run, and the
// schedules, go to the cluster. No run is lost or run twice, and the old
// Redis answers "drained" (`runs --status live` lists nothing) before its
// workers stop.
#include "reliability/reliability_fixture.h"

namespace steadfast::test {
namespace {

class Migration : public ReliabilityTest {
 protected:
  // `steadfast <args...> --redis <redis_url> --key-prefix P`.
  CommandResult cli_on(const std::string& redis_url, std::vector<std::string> args) {
    args.insert(args.begin(), STEADFAST_BIN);
    args.insert(args.end(), {"--redis", redis_url, "--key-prefix", prefix()});
    return run_command(args, dir(), 30s);
  }
  // The run ids `runs --json` prints (every page's rows; the cursor line has no "id").
  std::vector<std::string> runs_on(const std::string& redis_url, std::vector<std::string> filter) {
    filter.insert(filter.begin(), "runs");
    filter.insert(filter.end(), {"--json", "--limit", "1000"});
    const CommandResult r = cli_on(redis_url, filter);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> ids;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      const Json row = Json::parse(line, nullptr, false);
      if (row.is_object() && row.contains("id")) ids.push_back(row["id"].get<std::string>());
    }
    return ids;
  }
  std::string status_on(const std::string& redis_url, const std::string& run) {
    const CommandResult r = cli_on(redis_url, {"status", run, "--json"});
    const Json j = Json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("status", "") : "<" + r.err + ">";
  }
  std::string submit_on(const std::string& redis_url, int n) {
    const CommandResult r = cli_on(redis_url, {"submit", "w", "--input", "{\"n\":" + std::to_string(n) + "}"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }
};

TEST_F(Migration, ADualRunMovesTheDeploymentToAClusterAndLosesNoRun) {
  // Runs that outlast the switch: a durable wait between two steps. And a
  // schedule, which must tick in exactly one deployment at a time.
  const std::string file = write_workflows(
      "schedules:\n"
      "  every-second: {workflow: w, cron: \"* * * * * *\", input: {n: -1}}\n"
      "workflows:\n"
      "  w:\n"
      "    steps:\n"
      "      - {name: a, kind: noop}\n"
      "      - {name: nap, kind: wait, with: {for: 1500ms}}\n"
      "      - {name: b, kind: noop}\n");
  const std::string old_url = url();
  ChildProcess& old_worker = start_worker("old-1", file);
  std::vector<std::string> old_runs;
  for (int i = 0; i < 5; ++i) old_runs.push_back(submit_on(old_url, i));
  ASSERT_TRUE(eventually([&] { return status_on(old_url, old_runs.back()) == "waiting"; }, 10s))
      << status_on(old_url, old_runs.back());

  // 1. The old deployment's schedules are paused first, so no tick fires twice.
  const CommandResult paused = cli_on(old_url, {"schedules", "pause", "every-second"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  const auto scheduled_on = [&](const std::string& redis_url) {
    return runs_on(redis_url, {"--workflow", "w"}).size() - (redis_url == old_url ? old_runs.size() : 0);
  };
  const std::size_t ticks_on_old = scheduled_on(old_url);  // a tick checks the pause in its script
  EXPECT_FALSE(runs_on(old_url, {"--status", "live"}).empty()) << "the old runs still wait";

  // 2. Workers on the cluster, with the same workflows file (the first one
  //    writes the cluster's config key: 12 partitions, layout spread).
  RedisServerOptions options;
  options.cluster = true;
  RedisServer cluster(options);
  const std::string new_url = "redis+cluster://127.0.0.1:" + std::to_string(cluster.port());
  start_worker("new-1", file, WorkerArgs().with_redis_url(new_url), /*wait_ready=*/false);
  ASSERT_TRUE(eventually([&] { return cli_on(new_url, {"workers"}).out.find("new-1") != std::string::npos; }, 15s))
      << "the cluster's worker did not register";

  // 3. Every client submits to the cluster now.
  std::vector<std::string> new_runs;
  for (int i = 0; i < 5; ++i) new_runs.push_back(submit_on(new_url, 100 + i));

  // 4. The old fleet runs its runs to the end: the old Redis is drained when
  //    no run there is live. Its history stays readable.
  ASSERT_TRUE(eventually([&] { return runs_on(old_url, {"--status", "live"}).empty(); }, 20s));
  for (const std::string& run : old_runs) EXPECT_EQ(status_on(old_url, run), "completed") << run;
  const CommandResult old_doctor = cli_on(old_url, {"doctor"});
  EXPECT_EQ(old_doctor.exit_code, 0) << old_doctor.out << old_doctor.err;
  old_worker.sigterm();
  EXPECT_EQ(old_worker.wait(15s), 0) << tail_of(old_worker.log());

  // The cluster ran the new runs and ticks the schedule; the old one no longer ticks.
  for (const std::string& run : new_runs) {
    EXPECT_TRUE(eventually([&] { return status_on(new_url, run) == "completed"; }, 20s)) << status_on(new_url, run);
  }
  for (const std::string& run : old_runs) {
    EXPECT_NE(cli_on(new_url, {"status", run}).exit_code, 0) << "the runs stay where they ran: " << run;
  }
  ASSERT_TRUE(eventually([&] { return runs_on(new_url, {"--workflow", "w"}).size() > new_runs.size(); }, 10s))
      << "the schedule ticks on the cluster";
  // The old worker ran for seconds after the pause (the drain took longer
  // than the 1.5 s wait) with a schedule due every second: none fired.
  EXPECT_EQ(scheduled_on(old_url), ticks_on_old) << "the paused schedule ticked in the old deployment";
  const CommandResult new_doctor = cli_on(new_url, {"doctor"});
  EXPECT_EQ(new_doctor.exit_code, 0) << new_doctor.out << new_doctor.err;
}

}  // namespace
}  // namespace steadfast::test
