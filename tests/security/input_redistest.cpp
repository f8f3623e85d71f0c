// Run input is untrusted (docs/security.md): the reproductions of the
// 2026-12 review through real `steadfast worker` processes, a real Redis and
// a local echo server that reflects what it receives. Each one now fails the
// run with a clear error, and the echo server shows nothing reached it.
#include <filesystem>

#include "security/security_fixture.h"
#include "support/fake_http_server.h"

namespace steadfast::test {
namespace {

class UntrustedInput : public SecurityTest {
 protected:
  std::string submit(const std::string& workflow, const Json& input) {
    const CommandResult r = cli({"submit", workflow, "--input", input.dump()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 26);
  }

  // The run's status once it has finished (or the last one read).
  Json finished(const std::string& id) {
    Json s;
    eventually(
        [&] {
          const CommandResult r = cli({"status", id, "--json"});
          s = Json::parse(r.out, nullptr, false);
          return r.exit_code == 0 && s.is_object() && (s["status"] == "failed" || s["status"] == "completed");
        },
        20s, 50ms);
    return s;
  }

  static std::string error_of(const Json& status) {
    if (!status.is_object() || !status.contains("steps")) return {};
    const Json& e = status["steps"][0]["error"];
    return e.is_string() ? e.get<std::string>() : std::string();
  }
};

TEST_F(UntrustedInput, ReproductionsFailWithAClearError) {
  FakeHttpServer echo(Json{{"echo", true}});
  ASSERT_EQ(::setenv("SF_TEST_DOCS_URL", ("http://127.0.0.1:" + std::to_string(echo.port())).c_str(), 1), 0);
  const std::string pwned = dir().path() + "/pwned";
  const std::string workflows = write_file("workflows.yaml", R"yaml(
workflows:
  fetch-doc:
    steps:
      - name: fetch
        kind: http
        with: {url: "${SF_TEST_DOCS_URL}/docs/{{input.document_id}}"}
  fetch-path:
    steps:
      - name: fetch
        kind: http
        with: {url: "${SF_TEST_DOCS_URL}{{input.path}}"}
  fetch-any:
    steps:
      - name: fetch
        kind: http
        with: {url: "{{input.url}}"}
  fetch-allowed:
    steps:
      - name: fetch
        kind: http
        queue: allowed
        with: {url: "{{input.url}}"}
  git-remote:
    steps:
      - name: ls
        kind: exec
        with: {command: [git, ls-remote, "{{input.repo}}", main]}
  print-env:
    steps:
      - name: env
        kind: exec
        with: {command: [python3, -c, "import json, os; print(json.dumps(dict(os.environ)))"]}
)yaml");
  // #8: the workers see their Redis URL in the environment, as in the report.
  ASSERT_EQ(::setenv("STEADFAST_REDIS", url().c_str(), 1), 0);
  start_worker("w1", workflows, {"--queues", "default"});
  start_worker("w2", workflows, {"--queues", "allowed", "--allow-hosts", "127.0.0.1"});
  const std::string port = std::to_string(echo.port());

  // #1: the path walk is one encoded segment on the named host.
  const Json doc = finished(submit("fetch-doc", {{"document_id", "../internal/admin?dump=1#"}}));
  ASSERT_EQ(doc.value("status", ""), "completed") << doc.dump();
  EXPECT_EQ(doc["steps"][0]["output"]["path"], "/docs/..%2Finternal%2Fadmin%3Fdump%3D1%23");
  // #1: "@localhost:<port>/stolen" cannot move the host.
  const Json moved = finished(submit("fetch-path", {{"path", "@localhost:" + port + "/stolen"}}));
  EXPECT_EQ(moved.value("status", ""), "failed");
  EXPECT_NE(error_of(moved).find("differ from those the template names"), std::string::npos) << error_of(moved);

  // Request forgery: a host from the input, in three spellings of loopback
  // (here also the Redis server's address).
  for (const std::string& url : {"http://127.0.0.1:" + port + "/", "http://2130706433:" + port + "/",
                                 "http://[::ffff:127.0.0.1]:" + port + "/"}) {
    const Json s = finished(submit("fetch-any", {{"url", url}}));
    EXPECT_EQ(s.value("status", ""), "failed") << url;
    // Redis listens on 127.0.0.1 too: that reason comes first.
    EXPECT_NE(error_of(s).find("refused to connect to 127.0.0.1 (the Redis server's address)"), std::string::npos)
        << url << ": " << error_of(s);
  }
  const Json metadata = finished(submit("fetch-any", {{"url", "http://169.254.169.254/latest/meta-data/"}}));
  EXPECT_NE(error_of(metadata).find("link-local (cloud metadata) address"), std::string::npos) << error_of(metadata);
  // ... unless the worker allows it.
  const Json allowed = finished(submit("fetch-allowed", {{"url", "http://127.0.0.1:" + port + "/ok"}}));
  EXPECT_EQ(allowed.value("status", ""), "completed") << allowed.dump();

  // #2: an option from the input is refused before git runs.
  const Json git = finished(submit("git-remote", {{"repo", "--upload-pack=touch " + pwned + ";"}}));
  EXPECT_EQ(git.value("status", ""), "failed");
  EXPECT_NE(error_of(git).find("the value from the run starts with '-'"), std::string::npos) << error_of(git);
  EXPECT_FALSE(std::filesystem::exists(pwned));

  // #8: the program does not see the worker's Redis URL.
  const Json env = finished(submit("print-env", Json::object()));
  ASSERT_EQ(env.value("status", ""), "completed") << env.dump();
  EXPECT_FALSE(env["steps"][0]["output"].contains("STEADFAST_REDIS"));
  EXPECT_EQ(env["steps"][0]["output"].dump().find(url()), std::string::npos);

  // The echo server saw only the two requests that were meant to reach it.
  const Json stats = echo.stats();
  EXPECT_EQ(stats["count"], 2) << stats.dump().substr(0, 2000);
  ::unsetenv("SF_TEST_DOCS_URL");
  ::unsetenv("STEADFAST_REDIS");
}

}  // namespace
}  // namespace steadfast::test
