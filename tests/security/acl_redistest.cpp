// The least-privilege Redis ACL users of examples/redis-acl.conf, loaded as
// written (comments stripped, passwords filled in) into a redis-server whose
// `default` user is off: a `steadfast worker` as steadfast-worker and
// `steadfast serve` and the CLI as steadfast-api run every flow (submit,
// status, long poll, retry, limiter, cancel, signal, dead letter, alert, replay,
// purge, bulk jobs, idempotency, runs, stats, doctor, drain) with no command refused
// (ACL LOG stays empty); and neither user can administer Redis, touch keys
// outside the prefix or destroy the queues, from a command or from a script.
#include <cstdlib>

#include "redis/pipeline.h"
#include "security/security_fixture.h"
#include "support/fake_http_server.h"

namespace steadfast::test {
namespace {

// The default queue is ordered (fairness and priorities), so the flows go
// through the backlog's scripts too.
constexpr const char* kWorkflows = R"(
queues:
  default: {fairness: {key: "{{input.x}}"}, priorities: true}
limits:
  gate: {concurrency: 1, tokens_per_minute: 60000}
  tenant: {concurrency: 2, tokens_per_minute: 6000}
workflows:
  good:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: sleep, with: {ms: 50}}
  flaky:
    steps:
      - {name: a, kind: fail, with: {times: 1}, retry: {max_attempts: 2, backoff: {initial: 50ms}}}
  limited:
    steps:
      - {name: a, kind: noop, limit: {name: gate, tokens: 10}}
      - {name: b, kind: noop, limit: [{name: gate, tokens: 10}, {name: tenant, key: "{{input.x}}", tokens: 10}]}
  slow:
    steps:
      - {name: a, kind: sleep, with: {ms: 20000}, lease: 2s}
  doomed:
    steps:
      - {name: a, kind: fail, with: {times: 1}, retry: {max_attempts: 1}}
  approval:
    steps:
      - {name: approve, kind: wait, with: {signal: approved, timeout: 1h}}
      - {name: b, kind: noop}
schedules:
  ticker: {workflow: good, cron: "* * * * * *"}
)";

class AclUsers : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    worker_password_ = new_token();
    api_password_ = new_token();
    const std::string rules = example_acl_rules(worker_password_, api_password_);
    ASSERT_NE(rules.find("user default off"), std::string::npos) << rules;
    ASSERT_NE(rules.find("user steadfast-worker on >" + worker_password_), std::string::npos)
        << rules;
    ASSERT_NE(rules.find("user steadfast-api on >" + api_password_), std::string::npos) << rules;
    // The harness' own user, for setup and inspection only.
    const std::string admin_password = new_token();
    RedisServerOptions o;
    o.extra_args = {"--aclfile", write_file("users.acl", rules + "user harness on >" +
                                                             admin_password + " ~* &* +@all\n")};
    o.admin_user = "harness";
    o.admin_password = admin_password;
    acl_server_ = std::make_unique<RedisServer>(o);
    worker_url_ = url_as("steadfast-worker", worker_password_);
    api_url_ = url_as("steadfast-api", api_password_);
    use_redis(api_url_, *acl_server_);  // serve and the CLI run as steadfast-api
    workflows_ = write_file("workflows.yaml", kWorkflows);
  }
  void TearDown() override {
    if (HasFailure() && acl_server_) std::cout << "ACL LOG:\n" << acl_log() << "\n";
    SecurityTest::TearDown();
    acl_server_.reset();
  }

  [[nodiscard]] std::string url_as(const std::string& user, const std::string& password) const {
    return "redis://" + user + ":" + password + "@127.0.0.1:" + std::to_string(acl_server_->port());
  }

  // ACL LOG, one line per entry: "<user> <reason> <context> <object>".
  std::string acl_log() const {
    std::string out;
    const redis::Reply log = acl_server_->call({"ACL", "LOG", "100"});
    for (const auto& entry : log.elements()) {
      std::map<std::string, std::string> f;
      for (std::size_t i = 0; i + 1 < entry.size(); i += 2) {
        if (!entry[i + 1].is_array())
          f[std::string(entry[i].str())] = std::string(entry[i + 1].str());
      }
      out += f["username"] + " " + f["reason"] + " " + f["context"] + " " + f["object"] + "\n";
    }
    return out;
  }

  // Sends each command as `url`'s user; returns the replies (errors as values).
  std::vector<redis::Reply> as_user(const std::string& url,
                                    const std::vector<std::vector<std::string>>& commands) {
    redis::Client& c = make_client(config_for(url));
    return run([&]() -> asio::awaitable<std::vector<redis::Reply>> {
      redis::Pipeline p;
      for (const auto& argv : commands) p.add_argv(argv);
      co_return co_await c.exec(std::move(p));
    }());
  }

  std::unique_ptr<RedisServer> acl_server_;
  std::string worker_password_;
  std::string api_password_;
  std::string worker_url_;
  std::string api_url_;
  std::string workflows_;
};

TEST_F(AclUsers, WorkerAndApiUsersRunEveryFlowWithNoCommandRefused) {
  FakeHttpServer hooks(
      Json{{"routes", {{"/hook", {{"responses", {{{"status", 200}, {"body", "ok"}}}}}}}}});
  const std::string submit = new_token();
  const std::string admin = new_token();
  const std::string tokens =
      write_file("tokens", token_line(submit, "submit", "ci") + token_line(admin, "admin", "ops"));
  ChildProcess& worker =
      start_worker("w1", workflows_,
                   {"--alert-webhook", hooks.url("/hook"), "--drain-timeout", "1s"}, worker_url_);
  const Serve serve = start_serve(workflows_, {"--tokens", tokens});
  const auto submit_run = [&](const std::string& wf, Headers extra = {}) {
    Headers h = bearer(submit);
    h.insert(h.end(), extra.begin(), extra.end());
    const auto r =
        post_json(serve.port, "/v1/workflows/" + wf + "/runs", {{"input", {{"x", 1}}}}, h);
    EXPECT_TRUE(r.status == 202 || r.status == 200) << wf << ": " << r.status << " " << r.body;
    return r.json().value("run_id", "");
  };
  const auto wait_for = [&](const std::string& id) {
    return http(serve.port, "GET", "/v1/runs/" + id + "?wait=15s", {}, bearer(submit), 20s)
        .json()
        .value("status", "");
  };
  EXPECT_EQ(http(serve.port, "GET", "/readyz").status, 200);

  // Completed, retried, through a limiter.
  for (const char* wf : {"good", "flaky", "limited"})
    EXPECT_EQ(wait_for(submit_run(wf)), "completed") << wf;
  // Idempotency: the same key gives the same run.
  const std::string once = submit_run("good", {{"Idempotency-Key", "order-42"}});
  EXPECT_EQ(submit_run("good", {{"Idempotency-Key", "order-42"}}), once);
  // Cancelled while running (the worker hears of it through its renewals).
  const std::string slow = submit_run("slow");
  ASSERT_TRUE(eventually(
      [&] {
        return http(serve.port, "GET", "/v1/runs/" + slow, {}, bearer(submit))
                   .json()
                   .value("status", "") == "running";
      },
      10s));
  EXPECT_EQ(
      http(serve.port, "POST", "/v1/runs/" + slow + "/cancel", {}, bearer(admin)).json()["result"],
      "cancelling");
  EXPECT_EQ(wait_for(slow), "cancelled");
  // Parked on a signal by the worker, which the API (a submit token) and the CLI send.
  for (const bool by_http : {true, false}) {
    const std::string approval = submit_run("approval");
    ASSERT_TRUE(eventually(
        [&] {
          return http(serve.port, "GET", "/v1/runs/" + approval, {}, bearer(submit)).json().value("status", "") ==
                 "waiting";
        },
        10s));
    if (by_http) {
      EXPECT_EQ(http(serve.port, "POST", "/v1/runs/" + approval + "/signals/approved", {}, bearer(submit)).status,
                202);
    } else {
      const CommandResult r = cli({"signal", approval, "approved", "--data", R"({"ok": true})"});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_EQ(r.out, "delivered\n");
    }
    EXPECT_EQ(wait_for(approval), "completed");
  }
  // Dead-lettered, alerted, replayed (it then succeeds); another one purged.
  const std::string doomed = submit_run("doomed");
  EXPECT_EQ(wait_for(doomed), "failed");
  EXPECT_EQ(http(serve.port, "GET", "/v1/dlq", {}, bearer(submit)).json()["dead_letters"].size(),
            1u);
  EXPECT_TRUE(eventually([&] { return hooks.stats()["by_path"].value("/hook", 0) >= 1; }, 10s));
  EXPECT_EQ(http(serve.port, "POST", "/v1/dlq/" + doomed + "/replay", {}, bearer(admin)).status,
            200);
  EXPECT_EQ(wait_for(doomed), "completed");
  const std::string purged = submit_run("doomed");
  EXPECT_EQ(wait_for(purged), "failed");
  EXPECT_EQ(http(serve.port, "POST", "/v1/dlq/purge", R"({"confirm": true})",
                 {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}})
                .json()["purged"], 1);
  // Reads.
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs?status=completed", {}, bearer(submit)).status, 200);
  const auto metrics = http(serve.port, "GET", "/metrics", {}, bearer(submit));
  EXPECT_NE(metrics.body.find("steadfast_redis_up 1"), std::string::npos)
      << metrics.body.substr(0, 500);
  EXPECT_NE(metrics.body.find("steadfast_limiter_waits_total"), std::string::npos);

  // The CLI as steadfast-api: every client command, doctor included.
  const std::string by_cli = [&] {
    const CommandResult r = cli({"submit", "good", "--input", "{}", "--wait", "--timeout", "15s"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return Json::parse(r.out, nullptr, false).value("id", "");
  }();
  EXPECT_EQ(cli({"status", by_cli, "--json"}).exit_code, 0);
  // --wait-replicas as steadfast-api: WAIT is allowed (no replica here: "0 of 1", not NOPERM).
  const CommandResult waited = cli({"submit", "good", "--wait-replicas", "1", "--wait-replicas-timeout", "20ms"});
  EXPECT_EQ(waited.exit_code, 1) << waited.err;
  EXPECT_NE(waited.err.find("0 of 1 replicas"), std::string::npos) << waited.err;
  const std::string to_cancel = submit_run("slow");
  EXPECT_EQ(cli({"cancel", to_cancel}).exit_code, 0);
  EXPECT_EQ(wait_for(to_cancel), "cancelled");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"runs", "--json"},
                                             {"stats", "--json"},
                                             {"dlq", "list"},
                                             {"doctor"},
                                             {"doctor", "--repair"}}) {
    const CommandResult r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.out << r.err;
  }
  const std::string replayed_by_cli = submit_run("doomed");
  EXPECT_EQ(wait_for(replayed_by_cli), "failed");
  EXPECT_EQ(cli({"dlq", "replay", replayed_by_cli}).exit_code, 0);
  EXPECT_EQ(wait_for(replayed_by_cli), "completed");
  EXPECT_EQ(cli({"dlq", "purge", "--yes"}).exit_code, 0);

  // Bulk jobs: one through the API (serve walks it), two through the CLI.
  const std::string bulk_replayed = submit_run("doomed");
  EXPECT_EQ(wait_for(bulk_replayed), "failed");
  const auto job = post_json(serve.port, "/v1/runs:bulk",
                             {{"action", "replay"}, {"filter", {{"workflow", "doomed"}}}}, bearer(admin));
  ASSERT_EQ(job.status, 202) << job.body;
  const std::string job_id = job.json().value("id", "");
  EXPECT_TRUE(eventually(
      [&] {
        return http(serve.port, "GET", "/v1/bulk/" + job_id, {}, bearer(submit)).json().value("status", "") == "done";
      },
      10s));
  EXPECT_EQ(wait_for(bulk_replayed), "completed");
  const std::string cli_replayed = submit_run("doomed");
  EXPECT_EQ(wait_for(cli_replayed), "failed");
  CommandResult bulk = cli({"dlq", "replay", "--all", "--workflow", "doomed"});
  EXPECT_EQ(bulk.exit_code, 0) << bulk.out << bulk.err;
  EXPECT_EQ(wait_for(cli_replayed), "completed");
  const std::string cli_cancelled = submit_run("slow");
  bulk = cli({"cancel", "--all", "--workflow", "slow"});
  EXPECT_EQ(bulk.exit_code, 0) << bulk.out << bulk.err;
  EXPECT_EQ(wait_for(cli_cancelled), "cancelled");
  EXPECT_EQ(cli({"bulk", "--json"}).exit_code, 0);

  // Schedules: published and fired by both processes' schedulers; every
  // action through the API and the CLI.
  EXPECT_TRUE(eventually(
      [&] {
        return !http(serve.port, "GET", "/v1/runs?meta.schedule=ticker", {}, bearer(submit)).json()["runs"].empty();
      },
      5s));
  EXPECT_EQ(http(serve.port, "GET", "/v1/schedules", {}, bearer(submit)).status, 200);
  for (const char* action : {"pause", "trigger", "resume"}) {
    const auto r = http(serve.port, "POST", std::string("/v1/schedules/ticker/") + action, {}, bearer(admin));
    EXPECT_TRUE(r.status == 200 || r.status == 202) << action << ": " << r.status << " " << r.body;
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"schedules", "--json"}, {"schedules", "pause", "ticker"}, {"schedules", "trigger", "ticker"},
           {"schedules", "resume", "ticker"}}) {
    const CommandResult r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << args[1] << ": " << r.out << r.err;
  }

  // A clean drain: the worker releases its id (DEL of its lock, through a script).
  worker.sigterm();
  EXPECT_EQ(worker.wait(10s), 0);
  EXPECT_EQ(acl_server_->call({"EXISTS", "sf:{sf}:worker:w1"}).as_integer(), 0);
  serve.process->sigterm();
  EXPECT_EQ(serve.process->wait(10s), 0);

  // Not one command was refused, from the clients or inside a script.
  EXPECT_EQ(acl_log(), "");
  const std::string logs = all_logs();
  EXPECT_EQ(logs.find("NOPERM"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("can't run this command"), std::string::npos) << logs;
  // INFO gives the settings check what it needs: no "cannot read" warning.
  EXPECT_EQ(logs.find("cannot read the Redis settings"), std::string::npos) << logs;
  EXPECT_NE(logs.find("appendonly is 'no'"), std::string::npos) << logs;  // and it does read them
}

TEST_F(AclUsers, NeitherUserCanAdministerRedisOrDestroyTheQueues) {
  // The engine's keys: a queue with its group, a run, the workflows.
  start_worker("w1", workflows_, {}, worker_url_);
  const Serve serve = start_serve(workflows_);
  const auto r = post_json(serve.port, "/v1/workflows/slow/runs", {{"input", 1}});
  ASSERT_EQ(r.status, 202);
  const std::string run_key = "sf:{0}:run:" + r.json()["run_id"].get<std::string>();
  const std::string queue = "sf:{0}:q:default";
  ASSERT_EQ(acl_server_->call({"EXISTS", run_key, queue, "sf:{sf}:workflows"}).as_integer(), 3);
  acl_server_->call({"SET", "other:app-key", "theirs"});
  acl_server_->call({"ACL", "LOG", "RESET"});

  const std::vector<std::vector<std::string>> forbidden_to_both = {
      {"FLUSHALL"},
      {"FLUSHDB"},
      {"CONFIG", "GET", "*"},
      {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"},
      {"ACL", "SETUSER", "steadfast-api", "+@all"},
      {"ACL", "LIST"},
      {"KEYS", "*"},
      {"DEBUG", "SLEEP", "0"},
      {"SHUTDOWN", "NOSAVE"},
      {"MIGRATE", "127.0.0.1", "1", "", "0", "1000", "KEYS", queue},
      {"SCRIPT", "FLUSH"},
      {"EVAL", "return redis.call('FLUSHALL')", "0"},
      {"FUNCTION", "FLUSH"},
      {"XGROUP", "DESTROY", queue, "steadfast"},
      {"XGROUP", "SETID", queue, "steadfast", "$"},
      {"XGROUP", "DELCONSUMER", queue, "steadfast", "w1"},
      {"XTRIM", queue, "MAXLEN", "0"},
      {"DEL", queue},
      {"UNLINK", queue},
      {"SET", queue, "x"},
      {"PEXPIRE", queue, "1"},
      {"PEXPIRE", "sf:{sf}:workflows", "1"},
      {"DEL", "sf:{sf}:workflows"},
      {"RENAME", queue, "sf:elsewhere"},
      {"EXPIRE", queue, "1"},
      {"GET", "other:app-key"},
      {"SET", "other:app-key", "mine"},
      {"SUBSCRIBE", "sf:events"},
      {"PUBLISH", "sf:events", "x"},
      {"CLIENT", "KILL", "TYPE", "normal"},
      {"SELECT", "1"},
  };
  for (const auto& [user, url] :
       {std::pair<std::string, std::string>{"steadfast-worker", worker_url_},
        {"steadfast-api", api_url_}}) {
    SCOPED_TRACE(user);
    std::vector<std::vector<std::string>> commands = forbidden_to_both;
    if (user == "steadfast-worker") {
      commands.push_back({"SCAN", "0"});  // the worker never lists keys
    }
    const auto replies = as_user(url, commands);
    ASSERT_EQ(replies.size(), commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
      EXPECT_TRUE(replies[i].is_error() && replies[i].str().starts_with("NOPERM"))
          << commands[i][0] << " " << (commands[i].size() > 1 ? commands[i][1] : "") << ": "
          << replies[i].debug_string();
    }
    // Scripts run with the caller's rights: a script may be loaded (the
    // engine loads its own) but cannot do more than the user.
    const auto loaded = as_user(
        url, {{"SCRIPT", "LOAD", "return redis.call('FLUSHALL')"},
              {"SCRIPT", "LOAD", "return redis.call('XGROUP', 'DESTROY', KEYS[1], 'steadfast')"}});
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      ASSERT_FALSE(loaded[i].is_error()) << loaded[i].debug_string();
      const auto ran = as_user(url, {{"EVALSHA", std::string(loaded[i].str()), "1", queue}});
      EXPECT_TRUE(ran[0].is_error() &&
                  ran[0].str().find("can't run this command") != std::string::npos)
          << ran[0].debug_string();
    }
  }
  // Nothing happened, and the ACL log shows each refusal.
  EXPECT_EQ(acl_server_->call({"EXISTS", run_key, queue, "sf:{sf}:workflows"}).as_integer(), 3);
  EXPECT_EQ(acl_server_->call({"XINFO", "GROUPS", queue}).size(), 1u);
  EXPECT_EQ(acl_server_->call({"GET", "other:app-key"}).str(), "theirs");
  EXPECT_NE(acl_log().find("steadfast-worker command lua flushall"), std::string::npos)
      << acl_log();
  // No user: the default user is off.
  redis::Client& anonymous =
      make_client(config_for("redis://127.0.0.1:" + std::to_string(acl_server_->port())));
  try {
    run(anonymous.wait_connected(3s));
    ADD_FAILURE() << "connected without a user";
  } catch (const redis::ServerError& e) {
    EXPECT_EQ(e.prefix(), "NOAUTH") << e.what();
  }
  // doctor lists the keys (SCAN): it runs as steadfast-api, not steadfast-worker.
  const CommandResult as_worker = cli({"doctor"}, worker_url_);
  EXPECT_EQ(as_worker.exit_code, 1) << as_worker.out << as_worker.err;
  EXPECT_NE(as_worker.err.find("NOPERM"), std::string::npos) << as_worker.err;
  EXPECT_NE(as_worker.err.find("scan"), std::string::npos) << as_worker.err;
  EXPECT_EQ(as_worker.err.find(worker_password_), std::string::npos)
      << "the password leaked: " << as_worker.err;
  const CommandResult as_api = cli({"doctor"}, api_url_);
  EXPECT_EQ(as_api.exit_code, 0) << as_api.out << as_api.err;
}

}  // namespace
}  // namespace steadfast::test
