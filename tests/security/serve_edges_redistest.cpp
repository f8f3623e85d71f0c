// The edges of `steadfast serve` (issue 13 item 8, issue 12 item 4): a body
// is never read before its request is authenticated, two Authorization
// fields are refused, HTTPS with --tls-cert/--tls-key, the warnings at start
// (an open address without tokens, Redis TLS without verification), Redis
// going away and coming back in the log, and the notifier's log without the
// webhook's credentials.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include "security/security_fixture.h"

namespace steadfast::test {
namespace {

constexpr const char* kWorkflows = R"(
workflows:
  hello:
    steps:
      - {name: only, kind: noop}
)";

// One request over HTTPS (OpenSSL, blocking) to 127.0.0.1:port, the server
// verified with ca_file for the address 127.0.0.1; returns everything the
// server sent until it closed (send "Connection: close"). Throws
// std::runtime_error with OpenSSL's reason when the handshake fails.
std::string https_exchange(std::uint16_t port, const std::string& ca_file, const std::string& request) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("cannot load " + ca_file);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  std::string failure;
  SSL* ssl = nullptr;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    failure = "connect failed";
  } else {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    if (SSL_connect(ssl) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      failure = std::string("TLS handshake failed: ") + buf;
    } else {
      SSL_write(ssl, request.data(), static_cast<int>(request.size()));
      char buf[4096];
      for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    }
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(ctx);
  if (!failure.empty()) throw std::runtime_error(failure);
  return out;
}

int status_of(const std::string& raw) {
  return raw.starts_with("HTTP/1.1 ") && raw.size() >= 12 ? std::stoi(raw.substr(9, 3)) : 0;
}

class ServeEdges : public SecurityTest {
 protected:
  void SetUp() override {
    SecurityTest::SetUp();
    workflows_ = write_file("workflows.yaml", kWorkflows);
    submit_token_ = new_token();
    admin_token_ = new_token();
    tokens_ = write_file("tokens", token_line(submit_token_, "submit", "ci") + token_line(admin_token_, "admin", "ops"));
  }

  std::string workflows_;
  std::string submit_token_;
  std::string admin_token_;
  std::string tokens_;
};

// The security review: an unauthenticated POST declaring 1,000,000 bytes got
// no answer until the body arrived. Now it is answered at once — with the
// body timeout at 30 s, an answer within 3 s can only come before the body
// (none is sent) — and a declared 1 GB gets 401, not 413.
TEST_F(ServeEdges, ABadTokenIsRefusedBeforeAnyOfTheBodyIsRead) {
  const Serve api = start_serve(workflows_, {"--tokens", tokens_, "--body-timeout", "30s"});
  for (const std::string& length : {std::string("1000000"), std::string("1073741824")}) {
    for (const std::string& auth : {std::string(), std::string("Authorization: Bearer wrong\r\n")}) {
      HttpConnection c(api.port);
      ASSERT_TRUE(c.send("POST /v1/workflows/hello/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                         auth + "Content-Length: " + length + "\r\n\r\n"));
      const auto start = Clock::now();
      const HttpResponse r = c.read_response(3s);
      EXPECT_EQ(r.status, 401) << length << " " << auth << r.body;
      EXPECT_LT(Clock::now() - start, 3s);
      EXPECT_TRUE(c.wait_closed(5s)) << "the connection stays open with an unread body";
    }
  }
  // A submit token on an admin route: 403, also before the body.
  HttpConnection c(api.port);
  ASSERT_TRUE(c.send("POST /v1/dlq/purge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + submit_token_ +
                     "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"));
  EXPECT_EQ(c.read_response(3s).status, 403);
  // A good token still gets its body read and the run submitted, and 413 beyond --max-body.
  EXPECT_EQ(post_json(api.port, "/v1/workflows/hello/runs", Json{{"input", {{"x", 1}}}}, bearer(submit_token_)).status,
            202);
  HttpConnection big(api.port);
  ASSERT_TRUE(big.send("POST /v1/workflows/hello/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       submit_token_ + "\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"));
  EXPECT_EQ(big.read_response(3s).status, 413);
}

// RFC 9110 allows one Authorization field; the review found the first one
// winning (`Bearer <admin>` then `Bearer xxx` got 200).
TEST_F(ServeEdges, TwoAuthorizationFieldsAreABadRequest) {
  const Serve api = start_serve(workflows_, {"--tokens", tokens_});
  EXPECT_EQ(http(api.port, "GET", "/v1/runs", {}, bearer(admin_token_)).status, 200);
  for (const Headers& h : {Headers{{"Authorization", "Bearer " + admin_token_}, {"Authorization", "Bearer xxx"}},
                           Headers{{"Authorization", "Bearer xxx"}, {"Authorization", "Bearer " + admin_token_}},
                           Headers{{"Authorization", "Bearer " + admin_token_}, {"authorization", "Bearer " + admin_token_}}}) {
    const HttpResponse r = http(api.port, "GET", "/v1/runs", {}, h);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("2 Authorization fields"), std::string::npos) << r.body;
    // With a body too (refused before reading it).
    EXPECT_EQ(post_json(api.port, "/v1/workflows/hello/runs", Json{{"input", Json::object()}}, h).status, 400);
  }
}

// `serve --tls-cert F --tls-key F` speaks HTTPS: a client that verifies the
// certificate (self-signed CA made by the test) gets its answers; plain HTTP
// to the same port gets none.
TEST_F(ServeEdges, ServesHttpsWithItsOwnCertificate) {
  const TestCertificates certs = make_test_certificates(dir().path());
  const Serve api = start_serve(workflows_, {"--tokens", tokens_, "--tls-cert", certs.server_cert, "--tls-key",
                                             certs.server_key});
  EXPECT_TRUE(api.process->wait_for_log("listening on https://127.0.0.1:", 1s)) << api.process->log();

  const std::string health =
      https_exchange(api.port, certs.ca_cert, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(health), 200) << health;

  const std::string body = R"({"input":{"x":1}})";
  const std::string submitted = https_exchange(
      api.port, certs.ca_cert,
      "POST /v1/workflows/hello/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
          submit_token_ + "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body);
  EXPECT_EQ(status_of(submitted), 202) << submitted;
  EXPECT_NE(submitted.find("\"run_id\""), std::string::npos) << submitted;

  const std::string refused = https_exchange(
      api.port, certs.ca_cert, "GET /v1/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(refused), 401) << refused;

  // A client that does not trust the certificate cannot talk to it.
  EXPECT_THROW(https_exchange(api.port, certs.other_ca_cert, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
               std::runtime_error);
  // Plain HTTP on the TLS port: no HTTP answer, the connection is closed.
  HttpConnection plain(api.port);
  ASSERT_TRUE(plain.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THROW(plain.read_response(5s), std::runtime_error);
}

TEST_F(ServeEdges, TlsFilesThatCannotBeUsedAreUsageErrors) {
  const TestCertificates certs = make_test_certificates(dir().path());
  const std::string listen = "127.0.0.1:" + std::to_string(free_port());
  const auto run_serve = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{"serve", "--workflows", workflows_, "--listen", listen};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return cli(argv, {}, 20s);
  };
  const CommandResult only_cert = run_serve({"--tls-cert", certs.server_cert});
  EXPECT_EQ(only_cert.exit_code, 2) << only_cert.err;
  EXPECT_NE(only_cert.err.find("--tls-cert and --tls-key go together"), std::string::npos) << only_cert.err;
  const CommandResult missing = run_serve({"--tls-cert", dir().path() + "/nope.pem", "--tls-key", certs.server_key});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("--tls-cert '" + dir().path() + "/nope.pem'"), std::string::npos) << missing.err;
  const CommandResult mismatch = run_serve({"--tls-cert", certs.server_cert, "--tls-key", certs.client_key});
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.err;
  EXPECT_NE(mismatch.err.find("--tls-key '" + certs.client_key + "'"), std::string::npos) << mismatch.err;
}

// Listening beyond loopback without --tokens is a warning; on loopback, or
// with tokens, there is none (both are logged before "api: ready").
TEST_F(ServeEdges, WarnsWhenListeningBeyondLoopbackWithoutTokens) {
  ChildProcess& open = spawn("serve-open", {STEADFAST_BIN, "serve", "--workflows", workflows_, "--listen",
                                            "0.0.0.0:0", "--redis", url()});
  ASSERT_TRUE(open.wait_for_log("api: ready", 15s)) << open.log();
  EXPECT_NE(open.log().find("without --tokens: anyone who can reach this address"), std::string::npos) << open.log();

  const Serve local = start_serve(workflows_);
  EXPECT_EQ(local.process->log().find("without --tokens"), std::string::npos) << local.process->log();
  ChildProcess& guarded = spawn("serve-guarded", {STEADFAST_BIN, "serve", "--workflows", workflows_, "--listen",
                                                  "0.0.0.0:0", "--redis", url(), "--tokens", tokens_});
  ASSERT_TRUE(guarded.wait_for_log("api: ready", 15s)) << guarded.log();
  EXPECT_EQ(guarded.log().find("without --tokens"), std::string::npos) << guarded.log();
  EXPECT_NE(guarded.log().find("bearer tokens travel in clear"), std::string::npos) << guarded.log();
}

// rediss://...?insecure=1 is said at start (it used to log only "ready").
// The warning comes before Redis is reached, so no TLS server is needed.
TEST_F(ServeEdges, InsecureRedisTlsWarnsAtStart) {
  const std::string insecure = "rediss://:PASSWORD@127.0.0.1:" + std::to_string(free_port()) + "?insecure=1";
  const Serve api = start_serve(workflows_, {}, insecure, /*wait_ready=*/false);
  ASSERT_TRUE(api.process->wait_for_log("does not verify the server's certificate (insecure=1)", 10s))
      << api.process->log();
  EXPECT_TRUE(api.process->wait_for_log("certificate verification off", 10s)) << api.process->log();
  EXPECT_EQ(api.process->log().find("PASSWORD"), std::string::npos) << api.process->log();
}

// Issue 12 item 4: serve says when Redis goes away and when it is back (one
// line each; repeats at most every 5 s while it stays away).
TEST_F(ServeEdges, LogsRedisGoingAwayAndComingBack) {
  RedisServer own;
  const Serve api = start_serve(workflows_, {}, own.url());
  own.stop();
  ASSERT_TRUE(api.process->wait_for_log("api: Redis at redis://127.0.0.1:" + std::to_string(own.port()) + " failed: ",
                                        10s))
      << api.process->log();
  own.start();
  ASSERT_TRUE(api.process->wait_for_log(" works again after ", 15s)) << api.process->log();
  EXPECT_EQ(http(api.port, "GET", "/readyz").status, 200);
  EXPECT_EQ(count_of(api.process->log(), " works again after "), 1) << api.process->log();
}

// Issue 12 item 4: the notifier logs where alerts go without the webhook's
// user info, path or query (it used to log `user:pw@...?token=`).
TEST_F(ServeEdges, NotifierNeverLogsTheWebhooksCredentials) {
  const std::string hook = "http://alerts:HOOKPASSWORD@127.0.0.1:" + std::to_string(free_port()) +
                           "/services/HOOKPATH?token=HOOKTOKEN";
  ChildProcess& n = spawn("notifier", {STEADFAST_BIN, "notifier", "--redis", url(), "--webhook", hook, "--id", "n1"});
  ASSERT_TRUE(n.wait_for_log("alerts for dead runs go to", 15s)) << n.log();
  EXPECT_NE(n.log().find("alerts for dead runs go to http://127.0.0.1:"), std::string::npos) << n.log();
  for (const char* secret : {"HOOKPASSWORD", "alerts:", "HOOKPATH", "HOOKTOKEN"}) {
    EXPECT_EQ(n.log().find(secret), std::string::npos) << secret << " in " << n.log();
  }
}

// Issue 13 item 7: the security review's text (clear the screen, set the
// terminal's title, ring, forge a line) in a step's error, as `steadfast
// status` and `steadfast dlq list` print it: escaped, one line per step.
TEST_F(ServeEdges, CliPrintsErrorsWithControlCharactersEscaped) {
  const std::string workflows = write_file("evil.yaml", R"(
workflows:
  evil:
    steps:
      - name: echo
        kind: exec
        with:
          command: [sh, -c, 'printf "%s" "$1" >&2; exit 3', sh, "{{input.text}}"]
)");
  start_worker("w1", workflows);
  const Json input = {{"text", "\x1b[2J\x1b]0;pwned\x07 x\nFAKE LINE \xc2\x9b" "31m"}};
  const CommandResult submitted = cli({"submit", "evil", "--input", input.dump(), "--wait", "--timeout", "15s"});
  const std::string id = Json::parse(submitted.out, nullptr, false).value("id", "");
  ASSERT_FALSE(id.empty()) << submitted.out << submitted.err;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status", id}, {"dlq", "list"}}) {
    const CommandResult r = cli(args);
    const std::string all = r.out + r.err;
    EXPECT_NE(all.find("\\x1b[2J\\x1b]0;pwned\\x07 x\\x0aFAKE LINE \\u009b31m"), std::string::npos) << all;
    EXPECT_EQ(all.find('\x1b'), std::string::npos) << args[0];
    EXPECT_EQ(all.find('\x07'), std::string::npos) << args[0];
    EXPECT_EQ(all.find("\xc2\x9b"), std::string::npos) << args[0];
    EXPECT_EQ(all.find("\nFAKE LINE"), std::string::npos) << all;
  }
}

}  // namespace
}  // namespace steadfast::test
