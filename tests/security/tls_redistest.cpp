// TLS to Redis end to end: a redis-server that speaks TLS only (no plain TCP
// port), with the least-privilege ACL users of examples/redis-acl.conf; a
// `steadfast worker` and `steadfast serve` connect with
// rediss://USER:PASSWORD@127.0.0.1:PORT?ca=<ca.pem> and a run completes; the
// CLI reads it. A server certificate signed by another CA is refused by each
// of them with an error that says so (and no password in it).
#include "security/security_fixture.h"

namespace steadfast::test {
namespace {

constexpr const char* kWorkflows = R"(
workflows:
  good:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: sleep, with: {ms: 50}}
)";

class RedisTls : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    certs_ = make_test_certificates(dir().path());
    worker_password_ = new_token();
    api_password_ = new_token();
    const std::string admin_password = new_token();
    const std::string rules = example_acl_rules(worker_password_, api_password_);
    RedisServerOptions o;
    o.tls = TlsServerFiles{certs_.server_cert, certs_.server_key, certs_.ca_cert, false};
    o.extra_args = {"--aclfile", write_file("users.acl", rules + "user harness on >" +
                                                             admin_password + " ~* &* +@all\n")};
    o.admin_user = "harness";
    o.admin_password = admin_password;
    tls_server_ = std::make_unique<RedisServer>(o);
    use_redis(url_as("steadfast-api", api_password_, certs_.ca_cert), *tls_server_);
    workflows_ = write_file("workflows.yaml", kWorkflows);
  }
  void TearDown() override {
    SecurityTest::TearDown();
    tls_server_.reset();
  }

  [[nodiscard]] std::string url_as(const std::string& user, const std::string& password,
                                   const std::string& ca) const {
    return "rediss://" + user + ":" + password +
           "@127.0.0.1:" + std::to_string(tls_server_->port()) + "?ca=" + ca;
  }

  TestCertificates certs_;
  std::unique_ptr<RedisServer> tls_server_;
  std::string worker_password_;
  std::string api_password_;
  std::string workflows_;
};

TEST_F(RedisTls, WorkerServeAndCliOverTlsCompleteARun) {
  // The server takes no plain-text connections.
  EXPECT_EQ(tls_server_->call({"CONFIG", "GET", "port"})[1].str(), "0");
  start_worker("w1", workflows_, {}, url_as("steadfast-worker", worker_password_, certs_.ca_cert));
  const Serve serve = start_serve(workflows_);
  EXPECT_EQ(http(serve.port, "GET", "/readyz").status, 200);
  const auto r = post_json(serve.port, "/v1/workflows/good/runs", {{"input", {{"over", "tls"}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json()["run_id"];
  const Json done = http(serve.port, "GET", "/v1/runs/" + id + "?wait=15s", {}, {}, 20s).json();
  EXPECT_EQ(done["status"], "completed") << done.dump();
  const CommandResult status = cli({"status", id, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(Json::parse(status.out)["status"], "completed");
  const CommandResult submitted =
      cli({"submit", "good", "--input", "{}", "--wait", "--timeout", "15s"});
  EXPECT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
  // Every client was on TLS, as its ACL user.
  const std::string clients(tls_server_->call({"CLIENT", "LIST"}).str());
  EXPECT_NE(clients.find("user=steadfast-worker"), std::string::npos) << clients;
  EXPECT_NE(clients.find("user=steadfast-api"), std::string::npos) << clients;
  EXPECT_EQ(tls_server_->call({"ACL", "LOG"}).size(), 0u);
}

TEST_F(RedisTls, ServerCertificateFromAnotherCaIsRefusedClearly) {
  const std::string worker_url = url_as("steadfast-worker", worker_password_, certs_.other_ca_cert);
  const std::string api_url = url_as("steadfast-api", api_password_, certs_.other_ca_cert);
  const auto clear = [&](const std::string& what, const std::string& output) {
    SCOPED_TRACE(what);
    EXPECT_NE(output.find("certificate verify failed"), std::string::npos) << output;
    EXPECT_NE(output.find("rediss://steadfast-"), std::string::npos)
        << "the URL is not named: " << output;
    EXPECT_EQ(output.find(worker_password_), std::string::npos) << "a password leaked: " << output;
    EXPECT_EQ(output.find(api_password_), std::string::npos) << "a password leaked: " << output;
  };
  // The worker and serve never get to work: each says why on every retry
  // while it waits for Redis (serve answers /readyz 503 meanwhile), and stops
  // on SIGTERM.
  ChildProcess& worker =
      spawn("worker", {STEADFAST_BIN, "worker", "--workflows", workflows_, "--redis", worker_url});
  const Serve serve = start_serve(workflows_, {}, api_url, /*wait_ready=*/false);
  for (ChildProcess* p : {&worker, serve.process}) {
    const bool is_worker = p == &worker;
    EXPECT_TRUE(p->wait_for_log("certificate verify failed", 20s)) << p->log();
    if (!is_worker) {
      const HttpResponse ready = http(serve.port, "GET", "/readyz");
      EXPECT_EQ(ready.status, 503) << ready.body;
    }
    p->sigterm();
    const auto code = p->wait(10s);
    ASSERT_TRUE(code.has_value()) << p->log();
    const std::string log = p->log();
    clear(is_worker ? "worker" : "serve", log);
    EXPECT_EQ(log.find(is_worker ? "serving" : "api: ready"), std::string::npos) << log;
  }
  EXPECT_EQ(tls_server_->call({"DBSIZE"}).as_integer(), 0);  // nothing was written
  const CommandResult status = cli({"status", "01HZZZZZZZZZZZZZZZZZZZZZZZ"}, api_url);
  EXPECT_EQ(status.exit_code, 1) << status.out << status.err;
  clear("status", status.out + status.err);
  // Plain TCP to the TLS port is no way round it.
  const CommandResult plain = cli({"status", "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
                                  "redis://steadfast-api:" + api_password_ +
                                      "@127.0.0.1:" + std::to_string(tls_server_->port()));
  EXPECT_EQ(plain.exit_code, 1) << plain.out << plain.err;
  EXPECT_EQ((plain.out + plain.err).find(api_password_), std::string::npos);
}

}  // namespace
}  // namespace steadfast::test
