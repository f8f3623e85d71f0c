// Secrets from the worker's environment, used through `${NAME}` in http and
// exec steps, never leave the step: a marked fake secret is sent to a server
// that echoes it back with a 500, a 400 and a 200, and echoed by exec programs
// on stderr and stdout (exit 3, exit 75, a timeout, a signal); the runs retry,
// dead-letter, alert and are replayed. Then every place that could hold it is
// searched for the mark: each worker and serve log, `steadfast status` (human
// and --json), `steadfast dlq list` (both), `steadfast runs`, `steadfast
// stats`, GET /v1/runs/{id}, /v1/runs, /v1/dlq, /metrics, the dead-letter
// alerts posted to the webhook, and the whole Redis keyspace (every key's
// values by type, stream entries, consumer groups, and DUMP of each key).
#include <cstdlib>

#include "security/security_fixture.h"
#include "support/fake_http_server.h"

namespace steadfast::test {
namespace {

constexpr const char* kSecret = "sekrit-MARK-12345";
// Parts of the mark: none may appear either (a secret cut in two is still leaked).
constexpr const char* kMarkParts[] = {"sekrit", "MARK-12345"};

std::string workflows_yaml() {
  // ${SF_TEST_BASE} is the fake server's URL; ${SF_TEST_SECRET} the mark.
  const std::string http_with = R"(
          method: POST
          url: "${SF_TEST_BASE}/PATH/${SF_TEST_SECRET}?key=${SF_TEST_SECRET}"
          headers: {Authorization: "Bearer ${SF_TEST_SECRET}", X-Api-Key: "${SF_TEST_SECRET}"}
          body: {key: "${SF_TEST_SECRET}", text: "the key is ${SF_TEST_SECRET}.", n: 1}
          timeout: 5s)";
  const auto http_step = [&](const std::string& name, const std::string& path, int attempts) {
    std::string with = http_with;
    with.replace(with.find("PATH"), 4, path);
    return "      - name: " + name + "\n        kind: http\n        with:" + with +
           "\n        retry: {max_attempts: " + std::to_string(attempts) +
           ", backoff: {initial: 10ms, max: 10ms}}\n";
  };
  // The program gets the secret as an argument and in its environment, and
  // prints it on stderr (and stdout) before failing.
  const auto exec_step = [](const std::string& name, const std::string& script, int attempts,
                            const std::string& extra = "") {
    return "      - name: " + name +
           "\n        kind: exec\n        with:\n          command: [sh, -c, '" + script +
           "', sh, \"${SF_TEST_SECRET}\"]\n          env: {TOKEN: \"${SF_TEST_SECRET}\"}\n" +
           extra + "        retry: {max_attempts: " + std::to_string(attempts) +
           ", backoff: {initial: 10ms, max: 10ms}}\n";
  };
  return "workflows:\n"
         "  http-500:\n    steps:\n" +
         http_step("call", "e500", 2) + "  http-400:\n    steps:\n" + http_step("call", "e400", 3) +
         "  http-ok-then-exec:\n    steps:\n" + http_step("call", "ok", 1) +
         exec_step(
             "run",
             "echo \"token=$TOKEN arg=$1\" >&2; echo \"{\\\"leak\\\": \\\"$TOKEN\\\"}\"; exit 3",
             2) +
         "  exec-tempfail:\n    steps:\n" +
         exec_step("run", "echo \"retry me with $1\" >&2; exit 75", 2) +
         "  exec-timeout:\n    steps:\n" +
         exec_step("run", "echo \"slow $TOKEN\" >&2; sleep 10", 1, "          timeout: 300ms\n") +
         "  exec-signal:\n    steps:\n" +
         exec_step("run", "echo \"dying $TOKEN\" >&2; kill -9 $$", 1) +
         "  exec-output:\n    steps:\n" +
         exec_step("run",
                   "printf \"{\\\"v\\\": \\\"%s\\\", \\\"in\\\": \\\"x%sy\\\"}\" \"$TOKEN\" \"$1\"",
                   1) +
         "  exec-not-json:\n    steps:\n" +
         exec_step("run", "echo \"not json $TOKEN\"; echo \"$1\" >&2", 1);
}

class Secrets : public SecurityTest {
 protected:
  void TearDown() override {
    SecurityTest::TearDown();
    ::unsetenv("SF_TEST_SECRET");
    ::unsetenv("SF_TEST_BASE");
  }
};

TEST_F(Secrets, EnvironmentSecretsNeverAppearInLogsErrorsDeadLettersStatusOrRedis) {
  const Json route_echo_500 = {{"responses", {{{"status", 500}, {"echo", true}}}}};
  const Json route_echo_400 = {{"responses", {{{"status", 400}, {"echo", true}}}}};
  const Json route_echo_200 = {{"responses", {{{"status", 200}, {"echo", true}}}}};
  FakeHttpServer server(Json{{"routes",
                              {{std::string("/e500/") + kSecret, route_echo_500},
                               {std::string("/e400/") + kSecret, route_echo_400},
                               {std::string("/ok/") + kSecret, route_echo_200},
                               {"/hook", {{"responses", {{{"status", 200}, {"body", "ok"}}}}}}}}});
  // The workers (and serve, and the CLI) inherit these.
  ASSERT_EQ(::setenv("SF_TEST_SECRET", kSecret, 1), 0);
  ASSERT_EQ(::setenv("SF_TEST_BASE", server.url().c_str(), 1), 0);
  const std::string workflows = write_file("workflows.yaml", workflows_yaml());
  start_worker("w1", workflows, {"--alert-webhook", server.url("/hook")});
  start_worker("w2", workflows);
  const Serve serve = start_serve(workflows);

  std::map<std::string, std::string> runs;  // workflow -> run id
  for (const char* wf : {"http-500", "http-400", "http-ok-then-exec", "exec-tempfail",
                         "exec-timeout", "exec-signal", "exec-output", "exec-not-json"}) {
    const auto r = post_json(serve.port, std::string("/v1/workflows/") + wf + "/runs",
                             {{"input", {{"n", 1}}}});
    ASSERT_EQ(r.status, 202) << r.body;
    runs[wf] = r.json()["run_id"];
  }
  std::map<std::string, Json> status;
  for (const auto& [wf, id] : runs) {
    status[wf] = http(serve.port, "GET", "/v1/runs/" + id + "?wait=20s", {}, {}, 25s).json();
    EXPECT_EQ(status[wf]["status"], wf == "exec-output" ? "completed" : "failed")
        << wf << ": " << status[wf].dump();
  }
  // Replay one dead run (it fails again, the same way).
  const auto replay = http(serve.port, "POST", "/v1/dlq/" + runs["http-400"] + "/replay");
  EXPECT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs/" + runs["http-400"] + "?wait=20s", {}, {}, 25s)
                .json()["status"],
            "failed");
  // Every dead run was alerted (at least once).
  EXPECT_TRUE(eventually(
      [&] {
        std::set<std::string> alerted;
        const Json stats = server.stats();  // (a temporary would die before the loop body)
        for (const Json& req : stats["requests"]) {
          if (req["path"] == "/hook" && req["body"].is_object())
            alerted.insert(req["body"].value("run", ""));
        }
        return alerted.size() == runs.size() - 1;
      },
      20s))
      << server.stats().dump().substr(0, 2000);

  // Not vacuous: the secret was rendered into every place the steps put it...
  int seen = 0;
  const Json requests = server.stats()["requests"];
  for (const Json& req : requests) {
    if (req["path"] == "/hook") continue;
    ++seen;
    EXPECT_EQ(req["headers"].value("Authorization", ""), std::string("Bearer ") + kSecret);
    EXPECT_EQ(req["headers"].value("X-Api-Key", ""), kSecret);
    EXPECT_EQ(req["query"].dump().find(kSecret) != std::string::npos, true) << req.dump();
    EXPECT_EQ(req["body"].value("key", ""), kSecret);
  }
  EXPECT_EQ(seen,
            2 + 2 + 1);  // the 500 twice, the 400 once and once more after the replay, the 200 once
  // ...and the errors say where it was, masked.
  for (const auto& [wf, s] : status) {
    if (wf == "exec-output") continue;
    const std::string error = s["steps"].back()["error"];
    EXPECT_NE(error.find("***"), std::string::npos) << wf << ": " << error;
  }
  EXPECT_EQ(status["exec-output"]["steps"][0]["output"], Json({{"v", "***"}, {"in", "x***y"}}));
  EXPECT_NE(status["http-ok-then-exec"]["steps"][0]["output"].dump().find("Bearer ***"),
            std::string::npos)
      << status["http-ok-then-exec"].dump();

  // Everything a person or a program can read afterwards.
  std::map<std::string, std::string> places;
  places["logs of every worker and serve process"] = all_logs();
  for (const auto& [wf, id] : runs) {
    const CommandResult human = cli({"status", id});
    const CommandResult json = cli({"status", id, "--json"});
    EXPECT_EQ(json.exit_code, 0) << json.err;
    places["steadfast status " + wf] = human.out + human.err;
    places["steadfast status --json " + wf] = json.out + json.err;
    places["GET /v1/runs/{id} " + wf] = http(serve.port, "GET", "/v1/runs/" + id).body;
  }
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"dlq", "list"},
                                             {"dlq", "list", "--json"},
                                             {"runs"},
                                             {"runs", "--json"},
                                             {"stats", "--json"}}) {
    const CommandResult r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string name = "steadfast";
    for (const auto& a : args) name += " " + a;
    places[name] = r.out + r.err;
  }
  ASSERT_EQ(cli({"dlq", "list", "--json"}).out.find("attempts exhausted") != std::string::npos,
            true);
  for (const std::string target : {"/v1/runs", "/v1/dlq", "/v1/workflows", "/metrics"}) {
    places["GET " + target] = http(serve.port, "GET", target).body;
  }
  std::string alerts;
  const Json all_requests = server.stats()["requests"];
  for (const Json& req : all_requests) {
    if (req["path"] == "/hook") alerts += req["body"].dump() + "\n";
  }
  places["dead-letter alerts posted to the webhook"] = alerts;
  places["the whole Redis keyspace"] = keyspace_text();

  std::size_t bytes = 0;
  for (const auto& [where, text] : places) {
    bytes += text.size();
    EXPECT_FALSE(text.empty()) << where;
    for (const char* part : kMarkParts) {
      const int hits = count_of(text, part);
      EXPECT_EQ(hits, 0) << "'" << part << "' found " << hits << " time(s) in " << where << ":\n"
                         << text.substr(text.find(part) > 300 ? text.find(part) - 300 : 0, 600);
    }
  }
  std::cout << places.size() << " places, " << bytes << " bytes searched: no trace of the secret\n";
}

}  // namespace
}  // namespace steadfast::test
