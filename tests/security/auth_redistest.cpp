// Bearer tokens of a `steadfast serve` process: kept only as SHA-256 hashes
// (the tokens file, Redis and the logs never hold a token), roles enforced on
// every route (no token 401, a submit token 403 on each admin route, before
// anything is changed), hostile Authorization values refused, and rotation by
// restarting serve with a new file.
#include "security/security_fixture.h"

namespace steadfast::test {
namespace {

constexpr const char* kWorkflows = R"(
workflows:
  good:
    steps:
      - {name: only, kind: sleep, with: {ms: 100}}
  doomed:
    steps:
      - {name: boom, kind: fail, with: {times: 100}, retry: {max_attempts: 1}}
)";

class Tokens : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    submit_ = new_token();
    admin_ = new_token();
    tokens_file_ =
        write_file("tokens", "# steadfast API tokens\n" + token_line(submit_, "submit", "ci") +
                                 token_line(admin_, "admin", "ops"));
    workflows_ = write_file("workflows.yaml", kWorkflows);
  }

  std::string submit_;
  std::string admin_;
  std::string tokens_file_;
  std::string workflows_;
};

TEST_F(Tokens, StoredOnlyAsHashesNeverInRedisOrLogs) {
  start_worker("w1", workflows_);
  const Serve serve = start_serve(workflows_, {"--tokens", tokens_file_});
  // Every route used with both tokens: a run completes, one dead-letters and
  // is replayed and purged, one is cancelled.
  auto r =
      post_json(serve.port, "/v1/workflows/good/runs", {{"input", {{"x", 1}}}}, bearer(submit_));
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string done = r.json()["run_id"];
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs/" + done + "?wait=10s", {}, bearer(submit_))
                .json()["status"],
            "completed");
  r = post_json(serve.port, "/v1/workflows/doomed/runs", {{"input", 1}}, bearer(admin_));
  const std::string failed = r.json()["run_id"];
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs/" + failed + "?wait=10s", {}, bearer(admin_))
                .json()["status"],
            "failed");
  EXPECT_EQ(http(serve.port, "GET", "/v1/dlq", {}, bearer(submit_)).json()["dead_letters"].size(),
            1u);
  EXPECT_EQ(http(serve.port, "POST", "/v1/dlq/" + failed + "/replay", {}, bearer(admin_)).status,
            200);
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs/" + failed + "?wait=10s", {}, bearer(admin_))
                .json()["status"],
            "failed");
  EXPECT_EQ(http(serve.port, "GET", "/metrics", {}, bearer(submit_)).status, 200);
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs", {}, bearer(submit_)).status, 200);
  EXPECT_EQ(http(serve.port, "GET", "/v1/workflows", {}, bearer(submit_)).status, 200);
  EXPECT_EQ(http(serve.port, "POST", "/v1/dlq/purge", R"({"confirm": true})",
                 {{"Authorization", "Bearer " + admin_}, {"Content-Type", "application/json"}})
                .json()["purged"], 1);
  EXPECT_EQ(http(serve.port, "POST", "/v1/dlq/purge", {}, bearer("wrong-" + admin_)).status, 401);

  // The file holds hashes only; no token, no hash of one, is anywhere else.
  const std::string file = read_text(tokens_file_);
  const std::string keyspace = keyspace_text();
  const std::string logs = all_logs();
  ASSERT_FALSE(keyspace.empty());
  for (const std::string& token : {submit_, admin_}) {
    EXPECT_EQ(file.find(token), std::string::npos) << "the tokens file holds a token";
    EXPECT_EQ(keyspace.find(token), std::string::npos) << "Redis holds a token";
    EXPECT_EQ(logs.find(token), std::string::npos) << "a log holds a token";
    const std::string hash = sha256_hex(token);
    EXPECT_NE(file.find(hash), std::string::npos);
    EXPECT_EQ(keyspace.find(hash), std::string::npos) << "Redis holds a token's hash";
    EXPECT_EQ(logs.find(hash), std::string::npos) << "a log holds a token's hash";
  }
  // Nothing of the tokens is kept in Redis at all: every key is the engine's.
  for (const std::string& k : all_keys()) EXPECT_TRUE(k.starts_with("sf:")) << k;

  // A file that holds a token itself (not its hash) is refused at start.
  for (const std::string& bad :
       {admin_ + " admin ops\n", "sha256:" + admin_.substr(0, 60) + " admin\n"}) {
    const CommandResult c = cli({"serve", "--workflows", workflows_, "--listen", "127.0.0.1:0",
                                 "--tokens", write_file("plain-tokens", bad)});
    EXPECT_EQ(c.exit_code, 2) << c.err;
    EXPECT_NE(c.err.find("plain-tokens:1:"), std::string::npos) << c.err;
    EXPECT_EQ(c.err.find(admin_.substr(0, 16)), std::string::npos)
        << "the error echoes the token: " << c.err;
  }
}

TEST_F(Tokens, RolesAreEnforcedOnEveryRoute) {
  const Serve serve = start_serve(workflows_, {"--tokens", tokens_file_});
  // A queued run (no worker) to aim the admin routes at.
  auto r = post_json(serve.port, "/v1/workflows/good/runs", {{"input", 1}}, bearer(submit_));
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string run = r.json()["run_id"];

  struct Route {
    std::string method;
    std::string target;
    bool admin;
  };
  const std::vector<Route> routes = {
      {"POST", "/v1/workflows/good/runs", false},
      {"GET", "/v1/runs/" + run, false},
      {"GET", "/v1/runs/" + run + "?wait=1ms", false},
      {"GET", "/v1/runs", false},
      {"GET", "/v1/workflows", false},
      {"GET", "/v1/dlq", false},
      {"GET", "/metrics", false},
      {"HEAD", "/v1/runs/" + run, false},
      {"HEAD", "/metrics", false},
      {"POST", "/v1/runs/" + run + "/cancel", true},
      {"POST", "/v1/dlq/" + run + "/replay", true},
      {"POST", "/v1/dlq/1-0/replay", true},
      {"POST", "/v1/dlq/purge", true},
  };
  const auto send = [&](const Route& route, const Headers& h) {
    Headers headers = h;
    std::string body;
    if (route.method == "POST" && route.target.ends_with("/runs")) {
      headers.emplace_back("Content-Type", "application/json");
      body = R"({"input": 1})";
    }
    return http(serve.port, route.method, route.target, body, headers);
  };
  const std::vector<Headers> no_entry = {
      {},
      bearer("wrong"),
      bearer(submit_ + "x"),
      bearer(submit_.substr(1)),
      bearer(std::string(10 * 1024, 't')),
      {{"Authorization", "Basic " + submit_}},
      {{"Authorization", submit_}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer " + admin_ + " " + admin_}},
      {{"Authorization", "Bearer\t"}},
  };
  const auto keys_before = all_keys();
  for (const Route& route : routes) {
    SCOPED_TRACE(route.method + " " + route.target);
    for (const Headers& h : no_entry) {
      const HttpResponse a = send(route, h);
      EXPECT_EQ(a.status, 401) << (h.empty() ? "no header" : h[0].second.substr(0, 40));
      if (route.method != "HEAD") expect_problem(a, 401, "bearer token");
      EXPECT_NE(a.header("www-authenticate").find("Bearer"), std::string::npos);
      EXPECT_EQ(a.body.find(submit_), std::string::npos);
    }
    const HttpResponse s = send(route, bearer(submit_));
    if (route.admin) {
      if (route.method != "HEAD") expect_problem(s, 403);
      EXPECT_EQ(s.status, 403);
    } else {
      EXPECT_TRUE(s.status >= 200 && s.status < 300) << s.status << " " << s.body;
    }
  }
  // A control character in the header is a malformed request, never a match.
  const int ctl =
      http(serve.port, "GET", "/v1/runs", {}, {{"Authorization", "Bearer " + submit_ + "\x01"}})
          .status;
  EXPECT_TRUE(ctl == 400 || ctl == 401) << ctl;
  // The 403s changed nothing: the run is still queued, the keys are the same
  // (the submits above added runs: compare without the run hashes).
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs/" + run, {}, bearer(submit_)).json()["status"],
            "queued");
  const auto without_runs = [](std::set<std::string> keys) {
    std::erase_if(keys, [](const std::string& k) { return k.find(":run:") != std::string::npos; });
    return keys;
  };
  EXPECT_EQ(without_runs(all_keys()), without_runs(keys_before));
  // The scheme is case-insensitive (RFC 9110); the admin token may do it all.
  for (const Route& route : routes) {
    SCOPED_TRACE(route.method + " " + route.target);
    const HttpResponse a = send(route, {{"Authorization", "bearer " + admin_}});
    EXPECT_NE(a.status, 401);
    EXPECT_NE(a.status, 403);
  }
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs/" + run, {}, bearer(admin_)).json()["status"],
            "cancelled");
  // Probes need no token.
  EXPECT_EQ(http(serve.port, "GET", "/healthz").status, 200);
  EXPECT_EQ(http(serve.port, "GET", "/readyz").status, 200);
  EXPECT_EQ(all_logs().find(submit_), std::string::npos);
}

TEST_F(Tokens, RotationIsANewFileAndARestart) {
  Serve serve = start_serve(workflows_, {"--tokens", tokens_file_});
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs", {}, bearer(admin_)).status, 200);
  // Step 1: the new token is added next to the old one; both work.
  const std::string next = new_token();
  write_file("tokens", read_text(tokens_file_) + token_line(next, "admin", "ops-2025"));
  serve.process->sigterm();
  ASSERT_EQ(serve.process->wait(10s), 0);
  serve = start_serve(workflows_, {"--tokens", tokens_file_});
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs", {}, bearer(admin_)).status, 200);
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs", {}, bearer(next)).status, 200);
  // Step 2: once the clients use the new one, the old line goes.
  write_file("tokens", token_line(submit_, "submit", "ci") + token_line(next, "admin", "ops-2025"));
  serve.process->sigterm();
  ASSERT_EQ(serve.process->wait(10s), 0);
  serve = start_serve(workflows_, {"--tokens", tokens_file_});
  EXPECT_EQ(http(serve.port, "GET", "/v1/runs", {}, bearer(admin_)).status, 401);
  EXPECT_EQ(http(serve.port, "POST", "/v1/dlq/purge", R"({"confirm": true})",
                 {{"Authorization", "Bearer " + next}, {"Content-Type", "application/json"}})
                .status,
            200);
}

}  // namespace
}  // namespace steadfast::test
