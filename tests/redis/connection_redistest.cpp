// The Redis client against servers of its own: restarts and outages, ACL
// users, TLS, unix sockets, a failover. Every test starts (and kills) its own
// redis-server.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "proc/child.h"
#include "support/redis_sentinel.h"
#include "support/redis_test.h"

namespace steadfast::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using test::AsyncTest;
using test::RedisServer;
using test::RedisServerOptions;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// "ok", or the kind of the Error the command failed with.
asio::awaitable<std::string> outcome(asio::awaitable<Reply> command) {
  try {
    co_await std::move(command);
    co_return "ok";
  } catch (const Error& e) {
    co_return std::string(to_string(e.kind()));
  }
}

// Waits until the client has noticed that its connection is gone.
asio::awaitable<void> until_disconnected(const Client& client) {
  const auto start = Clock::now();
  while (client.connected()) {
    if (since(start) > 3s) throw std::runtime_error("the client did not notice the server going away");
    co_await test::sleep(2ms);
  }
}

// ---------------------------------------------------------------------------
// Restarts and outages

class RestartTest : public AsyncTest {};

TEST_F(RestartTest, InFlightCommandsFailWithIoErrorThenClientReconnects) {
  RedisServer server;
  Client& client = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    co_await client.command("SET", "before", "1");
    const auto writes_before = client.stats().writes;

    // DEBUG SLEEP holds the connection, so every command behind it is written
    // but unanswered when the server dies.
    std::vector<std::string> outcomes(201);
    std::vector<asio::awaitable<void>> in_flight;
    auto record = [](asio::awaitable<Reply> command, std::string& out) -> asio::awaitable<void> {
      out = co_await outcome(std::move(command));
    };
    in_flight.push_back(record(client.command("DEBUG", "SLEEP", "5"), outcomes[0]));
    for (int i = 1; i <= 200; ++i) in_flight.push_back(record(client.command("INCR", "n"), outcomes[i]));

    auto crash = [&]() -> asio::awaitable<void> {
      while (client.stats().writes == writes_before) co_await test::sleep(1ms);
      co_await test::sleep(100ms);  // the bytes reach the server
      server.kill();
    };
    const auto start = Clock::now();
    co_await (test::all(std::move(in_flight)) && crash());
    EXPECT_LT(since(start), 2000ms) << "in-flight commands were not failed promptly";
    for (std::size_t i = 0; i < outcomes.size(); ++i) EXPECT_EQ(outcomes[i], "io") << "command " << i;
    EXPECT_FALSE(client.last_error().empty());

    server.start();  // same port, empty (no AOF)
    const auto back = Clock::now();
    EXPECT_EQ((co_await client.command("INCR", "n")).as_integer(), 1);
    EXPECT_LT(since(back), 3000ms);
    EXPECT_TRUE((co_await client.command("GET", "before")).is_nil());
    EXPECT_TRUE(client.connected());
  }());
  EXPECT_EQ(client.stats().connects, 2u);
}

TEST_F(RestartTest, AppendOnlyDataSurvivesKillAndRestart) {
  RedisServerOptions options;
  options.appendonly = true;
  options.appendfsync = "always";
  RedisServer server(options);
  Client& client = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) co_await client.command("RPUSH", "journal", i);
    server.kill();
    co_await until_disconnected(client);
    server.start();
    const Reply journal = co_await client.command("LRANGE", "journal", 0, -1);
    CO_ASSERT_EQ(journal.size(), 100u);
    EXPECT_EQ(journal[99].str(), "99");
  }());
  EXPECT_TRUE(std::filesystem::exists(server.dir() + "/appendonlydir"));
}

TEST_F(RestartTest, CommandWaitsWhileServerIsDownAndRunsWhenItIsBack) {
  RedisServer server;
  Client& client = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    server.stop();
    co_await until_disconnected(client);

    auto command = [&]() -> asio::awaitable<Reply> {
      co_return co_await client.command_with(CommandOptions{5s}, "SET", "k", "v");
    };
    auto bring_back = [&]() -> asio::awaitable<void> {
      co_await test::sleep(300ms);
      server.start();
    };
    const auto start = Clock::now();
    const Reply reply = co_await (command() && bring_back());
    EXPECT_EQ(reply.str(), "OK");
    EXPECT_GE(since(start), 300ms);
    EXPECT_LT(since(start), 3000ms);
    EXPECT_EQ((co_await client.command("GET", "k")).str(), "v");
  }());
  EXPECT_EQ(client.stats().connects, 2u);
}

TEST_F(RestartTest, CommandTimesOutWhileServerIsDownSayingNotConnected) {
  RedisServer server;
  Client& client = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    server.stop();
    co_await until_disconnected(client);
    const auto start = Clock::now();
    try {
      co_await client.command_with(CommandOptions{300ms}, "PING");
      ADD_FAILURE() << "no TimeoutError";
    } catch (const TimeoutError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("not connected"), std::string::npos) << msg;
      EXPECT_NE(msg.find("Connection refused"), std::string::npos) << msg;
    }
    EXPECT_GE(since(start), 290ms);
    EXPECT_LT(since(start), 1000ms);
    // The server comes back: the client finds it by itself.
    server.start();
    EXPECT_EQ((co_await client.command("PING")).str(), "PONG");
  }());
}

TEST_F(RestartTest, CommandsThatTimedOutUnsentAreNeverSent) {
  RedisServer server;
  Client& client = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    server.stop();
    co_await until_disconnected(client);
    // Queued while disconnected, in this order: a pipeline that times out, a
    // command that waits long enough, a command that times out. The callers of
    // the first and the last are told they timed out, so they must never run.
    auto stale_pipeline = [&]() -> asio::awaitable<std::string> {
      Pipeline p;
      p.add("SET", "stale1", "1");
      p.add("SET", "stale2", "1");
      try {
        co_await client.exec(std::move(p), CommandOptions{100ms});
        co_return "ok";
      } catch (const Error& e) {
        co_return std::string(to_string(e.kind()));
      }
    };
    auto patient = [&]() -> asio::awaitable<std::string> {
      co_return co_await outcome(client.command_with(CommandOptions{5s}, "SET", "kept", "1"));
    };
    auto stale_single = [&]() -> asio::awaitable<std::string> {
      co_return co_await outcome(client.command_with(CommandOptions{150ms}, "SET", "stale3", "1"));
    };
    auto bring_back = [&]() -> asio::awaitable<std::string> {
      co_await test::sleep(250ms);
      server.start();
      co_return "started";
    };
    auto [first, second, third, started] =
        co_await (stale_pipeline() && patient() && stale_single() && bring_back());
    EXPECT_EQ(started, "started");
    EXPECT_EQ(first, "timeout");
    EXPECT_EQ(second, "ok");
    EXPECT_EQ(third, "timeout");
    const Reply values = co_await client.command("MGET", "stale1", "stale2", "kept", "stale3");
    EXPECT_EQ(values, Reply::make_array({Reply(), Reply(), Reply::make_string("1"), Reply()}))
        << "a timed-out command ran after the reconnect: " << values.debug_string();
  }());
  EXPECT_EQ(client.stats().timeouts, 2u);
}

// CommandOptions::unsent_fails (the cluster router's way to send a dead
// primary's commands to its successor): a command that cannot be written
// comes back at once as NotSentError, and never runs later.
TEST_F(RestartTest, WithUnsentFailsACommandThatCannotBeWrittenFailsAtOnceAndNeverRuns) {
  RedisServer server;
  server.stop();
  // Never connected: the command is queued, then the first connect fails.
  Client& client = make_client(config_for(server.url()));
  const CommandOptions unsent_fails{30s, true};
  run([&]() -> asio::awaitable<void> {
    std::string first = "ok";
    try {
      co_await client.command_with(unsent_fails, "SET", "queued", "1");
    } catch (const NotSentError& e) {
      first = e.what();
    }
    EXPECT_NE(first.find("not sent"), std::string::npos) << first;
    EXPECT_NE(first.find("Connection refused"), std::string::npos) << first;
    // A reconnect is failing now: refused before it is queued at all.
    bool refused = false;
    try {
      co_await client.command_with(unsent_fails, "SET", "later", "1");
    } catch (const NotSentError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    server.start();
    co_await client.wait_connected();
    EXPECT_EQ((co_await client.command_with(unsent_fails, "SET", "after", "1")).str(), "OK");
    const Reply values = co_await client.command("MGET", "queued", "later", "after");
    EXPECT_EQ(values, Reply::make_array({Reply(), Reply(), Reply::make_string("1")}))
        << "a command told it was not sent ran: " << values.debug_string();
  }(), 20s);
}

TEST_F(RestartTest, CommandTimesOutWhileServerIsFrozen) {
  RedisServer server;
  Client& client = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    server.pause();  // SIGSTOP: the connection stays up, nothing answers
    const auto start = Clock::now();
    EXPECT_EQ(co_await outcome(client.command_with(CommandOptions{200ms}, "PING")), "timeout");
    EXPECT_LT(since(start), 700ms);
    server.resume();
    EXPECT_EQ((co_await client.command("PING")).str(), "PONG");
  }());
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(RestartTest, CloseAbortsAConnectAttemptToAFrozenServer) {
  RedisServer server;
  server.pause();  // TCP connects (the kernel accepts), the handshake never ends
  Config config = config_for(server.url());
  config.connect_timeout = 0ms;  // no limit: only close() can end the attempt
  Client& client = make_client(config);
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ(co_await outcome([&]() -> asio::awaitable<Reply> {
                co_await client.wait_connected(300ms);
                co_return Reply();
              }()),
              "io");
  }());
  const auto start = Clock::now();
  client.close();
  io_.restart();
  io_.run_for(3s);
  EXPECT_TRUE(io_.stopped()) << "close() left the connect attempt running";
  EXPECT_LT(since(start), 1000ms);
  server.resume();
}

// ---------------------------------------------------------------------------
// ACL users

class AclTest : public AsyncTest {
 protected:
  static RedisServerOptions with_users() {
    RedisServerOptions o;
    o.extra_args = {"--user", "alice", "on", ">secret", "~*", "&*", "+@all",
                    "--user", "bob",   "on", ">p@ss:w/rd%", "~*", "&*", "+@all"};
    return o;
  }
  static std::string url_for(const RedisServer& server, const std::string& userinfo) {
    return "redis://" + userinfo + "@127.0.0.1:" + std::to_string(server.port());
  }
};

TEST_F(AclTest, UserAndPasswordFromUrl) {
  RedisServer server(with_users());
  Client& client = make_client(config_for(url_for(server, "alice:secret")));
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client.command("ACL", "WHOAMI")).str(), "alice");
  }());
}

TEST_F(AclTest, PercentEncodedPassword) {
  RedisServer server(with_users());
  Client& client = make_client(config_for(url_for(server, "bob:p%40ss%3Aw%2Frd%25")));
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client.command("ACL", "WHOAMI")).str(), "bob");
  }());
}

TEST_F(AclTest, WrongPasswordFailsPromptlyWithWrongpass) {
  RedisServer server(with_users());
  Client& client = make_client(config_for(url_for(server, "alice:hunter2")));
  run([&]() -> asio::awaitable<void> {
    const auto start = Clock::now();
    try {
      co_await client.wait_connected(5s);
      ADD_FAILURE() << "connected with a wrong password";
    } catch (const ServerError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.prefix(), "WRONGPASS") << msg;
      EXPECT_NE(msg.find("alice"), std::string::npos) << msg;
      EXPECT_EQ(msg.find("hunter2"), std::string::npos) << "the password leaked into: " << msg;
    }
    EXPECT_LT(since(start), 1000ms) << "wait_connected waited for its timeout";
    // Commands fail the same way, at once.
    const auto command_start = Clock::now();
    EXPECT_EQ(co_await outcome(client.command("PING")), "server");
    EXPECT_LT(since(command_start), 1000ms);
    EXPECT_NE(client.last_error().find("WRONGPASS"), std::string::npos) << client.last_error();
  }());
}

// Issue 13 item 8: the errors of a failed connect (refused, then timed out
// waiting for it) and of a wrong password name the server, never the password.
TEST_F(AclTest, ConnectErrorsNeverShowThePassword) {
  RedisServer server(with_users());
  const std::string url = url_for(server, "alice:SECRET-PW");
  server.stop();
  Client& client = make_client(config_for(url));
  run([&]() -> asio::awaitable<void> {
    try {
      co_await client.wait_connected(300ms);
      ADD_FAILURE() << "connected to a stopped server";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << msg;
      EXPECT_EQ(msg.find("SECRET"), std::string::npos) << "the password leaked into: " << msg;
    }
    try {
      co_await client.command_with(CommandOptions{200ms}, "PING");
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(client.last_error().empty());
    EXPECT_EQ(client.last_error().find("SECRET"), std::string::npos) << client.last_error();
  }());
}

TEST_F(AclTest, UsersFromAclFileAndNoperm) {
  const std::string dir = test::make_temp_dir("steadfast-acl-");
  {
    std::ofstream acl(dir + "/users.acl");
    acl << "user default on nopass ~* &* +@all\n"
           "user carol on >c4rol ~app:* &* +@all\n";
  }
  RedisServerOptions o;
  o.extra_args = {"--aclfile", dir + "/users.acl"};
  RedisServer server(o);
  Client& carol = make_client(config_for(url_for(server, "carol:c4rol")));
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await carol.command("SET", "app:x", "1")).str(), "OK");
    try {
      co_await carol.command("SET", "other:x", "1");
      ADD_FAILURE() << "wrote a key outside ~app:*";
    } catch (const ServerError& e) {
      EXPECT_EQ(e.prefix(), "NOPERM") << e.what();
    }
  }());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_F(AclTest, MissingPasswordIsNoauth) {
  RedisServerOptions o;
  o.extra_args = {"--requirepass", "sesame"};
  RedisServer server(o);
  Client& without = make_client(config_for(server.url()));
  Client& with = make_client(config_for("redis://:sesame@127.0.0.1:" + std::to_string(server.port())));
  run([&]() -> asio::awaitable<void> {
    try {
      co_await without.wait_connected(5s);
      ADD_FAILURE() << "connected without a password";
    } catch (const ServerError& e) {
      EXPECT_EQ(e.prefix(), "NOAUTH") << e.what();
    }
    EXPECT_EQ((co_await with.command("PING")).str(), "PONG");
  }());
}

// ---------------------------------------------------------------------------
// TLS (Debian's redis-server is built with TLS)

class TlsTest : public AsyncTest {
 protected:
  void SetUp() override {
    AsyncTest::SetUp();
    cert_dir_ = test::make_temp_dir("steadfast-tls-");
    certs_ = test::make_test_certificates(cert_dir_);
  }
  void TearDown() override {
    AsyncTest::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(cert_dir_, ec);
  }
  RedisServerOptions tls_options(bool auth_clients = false) const {
    RedisServerOptions o;
    o.tls = test::TlsServerFiles{certs_.server_cert, certs_.server_key, certs_.ca_cert, auth_clients};
    return o;
  }
  static std::string base_url(const RedisServer& server) {
    return "rediss://127.0.0.1:" + std::to_string(server.port());
  }

  std::string cert_dir_;
  test::TestCertificates certs_;
};

TEST_F(TlsTest, CommandsOverTls) {
  RedisServer server(tls_options());  // TLS only: --port 0
  Client& client = make_client(config_for(server.url()));
  ASSERT_EQ(client.config().scheme, Config::Scheme::tls);
  run([&]() -> asio::awaitable<void> {
    co_await client.command("SET", "k", "over tls");
    EXPECT_EQ((co_await client.command("GET", "k")).str(), "over tls");
    // Enough bytes for many TLS records each way.
    const std::string big(3 << 20, 'b');
    Pipeline p;
    for (int i = 0; i < 2000; ++i) p.add("INCR", "n");
    p.add("SET", "big", big);
    p.add("GET", "big");
    auto replies = co_await client.exec(std::move(p));
    CO_ASSERT_EQ(replies.size(), 2002u);
    EXPECT_EQ(replies[1999].as_integer(), 2000);
    EXPECT_EQ(replies[2001].str().size(), big.size());
  }());
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(TlsTest, WrongCaFailsWithClearIoError) {
  RedisServer server(tls_options());
  Client& client = make_client(config_for(base_url(server) + "?ca=" + certs_.other_ca_cert));
  run([&]() -> asio::awaitable<void> {
    const auto start = Clock::now();
    try {
      co_await client.wait_connected(1000ms);
      ADD_FAILURE() << "connected to a server signed by another CA";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
    }
    EXPECT_LT(since(start), 2500ms);
    try {
      co_await client.command_with(CommandOptions{300ms}, "PING");
      ADD_FAILURE() << "no TimeoutError";
    } catch (const TimeoutError& e) {
      EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
    }
  }());
}

TEST_F(TlsTest, InsecureSkipsVerification) {
  RedisServer server(tls_options());
  Client& client = make_client(config_for(base_url(server) + "?ca=" + certs_.other_ca_cert + "&insecure=1"));
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client.command("PING")).str(), "PONG");
  }());
}

TEST_F(TlsTest, MutualTlsWithClientCertificate) {
  RedisServer server(tls_options(/*auth_clients=*/true));
  Client& with_cert = make_client(config_for(server.url() + "&cert=" + certs_.client_cert + "&key=" +
                                             certs_.client_key));
  Client& without_cert = make_client(config_for(server.url()));
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await with_cert.command("PING")).str(), "PONG");
    try {
      co_await without_cert.wait_connected(1000ms);
      ADD_FAILURE() << "connected without a client certificate";
    } catch (const IoError& e) {
      SUCCEED() << e.what();
    }
  }());
}

// ---------------------------------------------------------------------------
// Unix sockets

class UnixSocketTest : public AsyncTest {};

TEST_F(UnixSocketTest, CommandsOverUnixSocket) {
  RedisServerOptions o;
  o.unix_socket = "redis.sock";
  RedisServer server(o);
  ASSERT_EQ(server.unix_socket(), server.dir() + "/redis.sock");
  EXPECT_EQ(std::filesystem::status(server.unix_socket()).permissions(), std::filesystem::perms::owner_all);
  Client& client = make_client(config_for("unix://" + server.unix_socket()));
  Client& db2 = make_client(config_for("unix://" + server.unix_socket() + "?db=2"));
  run([&]() -> asio::awaitable<void> {
    co_await client.command("SET", "k", "over a unix socket");
    EXPECT_EQ((co_await client.command("GET", "k")).str(), "over a unix socket");
    const Reply info = co_await client.command("CLIENT", "INFO");
    EXPECT_NE(info.str().find("flags=U"), std::string::npos) << info.str();
    const Reply info2 = co_await db2.command("CLIENT", "INFO");
    EXPECT_NE(info2.str().find(" db=2 "), std::string::npos) << info2.str();
    EXPECT_TRUE((co_await db2.command("GET", "k")).is_nil());
  }());
}

// ---------------------------------------------------------------------------
// A primary demoted to a replica and promoted back (FAILOVER, Redis 7.0)

class FailoverTest : public AsyncTest {};

// "<field>:<value>" of INFO <section>; empty when absent.
std::string info_field(const RedisServer& server, const std::string& section,
                       const std::string& field) {
  const std::string text(server.call({"INFO", section}).str());
  const auto at = text.find("\n" + field + ":");
  if (at == std::string::npos) return {};
  const auto from = at + field.size() + 2;
  return text.substr(from, text.find_first_of("\r\n", from) - from);
}

// Polls (on the test's io_context) until pred holds; throws after timeout.
asio::awaitable<void> until(const std::function<bool()>& pred, const std::string& what,
                            std::chrono::milliseconds timeout = 10s) {
  const auto start = Clock::now();
  while (!pred()) {
    if (since(start) > timeout) throw std::runtime_error("timed out waiting for " + what);
    co_await test::sleep(10ms);
  }
}

// The server has the role ("master"/"slave"), no failover in progress, and as
// a replica its link up.
bool has_role(const RedisServer& server, const std::string& role) {
  return info_field(server, "replication", "role") == role &&
         info_field(server, "replication", "master_failover_state") == "no-failover" &&
         (role != "slave" || info_field(server, "replication", "master_link_status") == "up");
}

// What a worker meets when its primary is demoted: the blocked XREADGROUP
// answered -UNBLOCKED, then every write, plain or in a script, -READONLY —
// ServerErrors that are transient(). Redis closes the connection it unblocked
// (after the reply) and keeps the others; the client reconnects by itself,
// and both take writes again once the server is promoted back.
TEST_F(FailoverTest, DemotionErrorsAreTransientAndTheClientCarriesOn) {
  RedisServerOptions o;
  o.extra_args = {"--repl-diskless-sync-delay", "0"};  // sync at once (default: wait 5 s)
  RedisServer primary(o);
  RedisServer standby(o);
  ASSERT_EQ(standby.call({"REPLICAOF", "127.0.0.1", std::to_string(primary.port())}).str(), "OK");
  Client& client = make_client(config_for(primary.url()));
  Client& reader = make_client(config_for(primary.url()));
  const Script write("write", "return redis.call('SET', KEYS[1], ARGV[1])");
  const std::vector<std::string> keys{"k"};
  const std::vector<std::string> args{"v"};
  // "ok", or the error's prefix if transient, else its whole message.
  const auto classify = [](asio::awaitable<Reply> command) -> asio::awaitable<std::string> {
    try {
      co_await std::move(command);
      co_return "ok";
    } catch (const ServerError& e) {
      co_return e.transient() ? std::string(e.prefix()) : std::string("not transient: ") + e.what();
    }
  };
  run(
      [&]() -> asio::awaitable<void> {
        co_await until([&] { return has_role(standby, "slave"); }, "the standby to sync");
        co_await client.command("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM");
        co_await client.eval(write, keys, args);
        std::optional<std::string> read;
        asio::co_spawn(
            co_await asio::this_coro::executor,
            [&]() -> asio::awaitable<void> {
              read = co_await classify(reader.command_with(CommandOptions{20s}, "XREADGROUP",
                                                           "GROUP", "g", "c", "BLOCK", 15000,
                                                           "STREAMS", "s", ">"));
            },
            asio::detached);
        co_await until([&] { return info_field(primary, "clients", "blocked_clients") == "1"; },
                       "the read to block");

        EXPECT_EQ(primary.call({"FAILOVER"}).str(), "OK");
        co_await until([&] { return read.has_value(); }, "the blocked read to end");
        EXPECT_EQ(*read, "UNBLOCKED");
        co_await until([&] { return has_role(primary, "slave") && has_role(standby, "master"); },
                       "the demotion");
        EXPECT_EQ(co_await classify(client.command("SET", "k", "w")), "READONLY");
        EXPECT_EQ(co_await classify(client.eval(write, keys, args)), "READONLY");
        EXPECT_EQ(
            co_await classify(reader.command("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")),
            "READONLY");
        EXPECT_EQ((co_await client.command("GET", "k")).str(), "v");  // reads still work

        EXPECT_EQ(standby.call({"FAILOVER"}).str(), "OK");
        co_await until([&] { return has_role(primary, "master") && has_role(standby, "slave"); },
                       "the promotion back");
        EXPECT_EQ(co_await classify(client.eval(write, keys, args)), "ok");
        EXPECT_EQ(co_await classify(reader.command("XADD", "s", "*", "f", "1")), "ok");
      }(),
      30s);
  EXPECT_EQ(client.stats().connects, 1u) << "a connection that was not blocked is kept";
  EXPECT_EQ(reader.stats().connects, 2u) << "the unblocked one is closed by Redis, then made again";
}

// ---------------------------------------------------------------------------
// Through Redis Sentinel (redis+sentinel://): the primary is asked for, and
// followed through a failover.

using Sentinel = test::RedisSentinel;

// A loopback port bound and never listened on, for as long as it lives: a
// connect to it is refused, and no other test's server can take it.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot reserve a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

// A primary `a`, its replica `b` (syncing at once) and a Sentinel watching `a`.
struct WatchedPair {
  static RedisServerOptions options() {
    RedisServerOptions o;
    o.extra_args = {"--repl-diskless-sync-delay", "0"};
    return o;
  }
  // Before the Sentinel starts, so that its first look at `a` finds the
  // replica (it looks again only every 10 s).
  bool replicate() const {
    if (b.call({"REPLICAOF", "127.0.0.1", std::to_string(a.port())}).str() != "OK") {
      throw std::runtime_error("REPLICAOF refused");
    }
    return true;
  }
  RedisServer a{options()};
  RedisServer b{options()};
  bool replicating = replicate();
  Sentinel sentinel{a.port()};
};

class SentinelTest : public AsyncTest {};

// The client finds the primary through the Sentinels (a dead Sentinel listed
// first is skipped), writes to it, and after a failover (SENTINEL FAILOVER:
// the old primary demoted, so its writes answer READONLY) writes reach the
// new primary without a new client; a failover after a SIGKILL of the
// primary is followed too.
TEST_F(SentinelTest, FindsThePrimaryAndFollowsFailovers) {
  WatchedPair pair;
  RedisServer& a = pair.a;
  RedisServer& b = pair.b;
  Sentinel& sentinel = pair.sentinel;
  const RefusingPort nobody;
  Config config = config_for("redis+sentinel://127.0.0.1:" + std::to_string(nobody.port()) + ",127.0.0.1:" +
                             std::to_string(sentinel.port()) + "/" + sentinel.name());
  config.reconnect_max = 200ms;
  Client& client = make_client(config);
  // A write that fails transiently (READONLY, a lost connection) is tried
  // again, as every caller of the store does; anything else fails the test.
  const auto write = [&](std::string key) -> asio::awaitable<void> {
    const auto deadline = Clock::now() + 20s;
    for (;;) {
      try {
        co_await client.command("SET", key, "v");
        co_return;
      } catch (const ServerError& e) {
        if (!e.transient() || Clock::now() > deadline) throw;
      } catch (const IoError&) {
        if (Clock::now() > deadline) throw;
      }
      co_await test::sleep(50ms);
    }
  };
  run(
      [&]() -> asio::awaitable<void> {
        co_await until([&] { return has_role(b, "slave"); }, "the replica to sync");
        co_await write("one");
        EXPECT_EQ(a.call({"GET", "one"}).str(), "v") << "written to the primary";

        // (NOGOODSLAVE until the Sentinel has seen the replica in the primary's INFO.)
        co_await until([&] { return sentinel.cli({"SENTINEL", "FAILOVER", sentinel.name()}) == "OK"; },
                       "the Sentinel to accept a failover", 20s);
        co_await until([&] { return sentinel.primary_port() == std::to_string(b.port()); }, "the Sentinel's failover",
                       20s);
        // Until the Sentinel demotes a, a still takes writes (Sentinel's window:
        // replication is asynchronous); after, they answer READONLY and the
        // client asks the Sentinels again. The demotion takes ~10 s here: the
        // Sentinel reconfigures an old primary once it has reported "master"
        // for 8 s, and asks a replica's INFO every 10 s.
        co_await until([&] { return has_role(b, "master") && has_role(a, "slave"); }, "b to be the primary", 30s);
        co_await write("two");
        EXPECT_EQ(b.call({"GET", "two"}).str(), "v") << "written to the new primary";

        // b dies: the Sentinel fails over back to a (its replica by now).
        b.kill();
        co_await until([&] { return sentinel.primary_port() == std::to_string(a.port()); },
                       "the failover after b was killed", 30s);
        co_await write("three");
        EXPECT_EQ(a.call({"GET", "three"}).str(), "v") << "written to a, the primary again";
      }(),
      90s);
  EXPECT_GE(client.stats().connects, 3u);
}

// A primary that stops answering (SIGSTOP: cut off, never demoted, never
// answering READONLY) is left as soon as the Sentinels announce the new one
// (+switch-master), not after command timeouts on a connection that would
// never close by itself.
TEST_F(SentinelTest, APrimaryThatStopsAnsweringIsLeftWhenTheSentinelsSwitch) {
  WatchedPair pair;
  RedisServer& a = pair.a;
  RedisServer& b = pair.b;
  Sentinel& sentinel = pair.sentinel;
  Config config = config_for("redis+sentinel://127.0.0.1:" + std::to_string(sentinel.port()) + "/" + sentinel.name());
  config.reconnect_max = 200ms;
  config.command_timeout = 30s;  // longer than the test: only the switch can free the client
  Client& client = make_client(config);
  run(
      [&]() -> asio::awaitable<void> {
        co_await until([&] { return has_role(b, "slave"); }, "the replica to sync");
        // The Sentinel must know the replica before a failover can pick it.
        co_await until([&] { return sentinel.knows_replica(b.port()); }, "the Sentinel to see the replica", 20s);
        co_await client.command("SET", "one", "v");
        a.pause();
        const auto paused_at = Clock::now();
        std::optional<std::string> result;
        for (int i = 0; !result; ++i) {
          try {
            co_await client.command("SET", "two", "v");
            result = "ok";
          } catch (const IoError&) {
            // the switch closed the connection this SET was written to: unknown outcome, try again
          }
          if (since(paused_at) > 25s) result = "timed out";
        }
        EXPECT_EQ(*result, "ok");
        EXPECT_EQ(b.call({"GET", "two"}).str(), "v");
        EXPECT_LT(since(paused_at), 20s);
        a.resume();
      }(),
      45s);
  EXPECT_GE(client.stats().switches, 1u) << "moved by the announcement";
}

// No Sentinel reachable, or none knowing the master: the error says so and
// names each Sentinel's answer.
TEST_F(SentinelTest, NoSentinelKnowingTheMasterIsAClearError) {
  RedisServer a;
  Sentinel sentinel(a.port());
  Config config = config_for("redis+sentinel://127.0.0.1:" + std::to_string(sentinel.port()) + "/othermaster");
  config.connect_timeout = 500ms;
  Client& client = make_client(config);
  const std::string error = run([&]() -> asio::awaitable<std::string> {
    try {
      co_await client.wait_connected(1500ms);
      co_return std::string("connected");
    } catch (const IoError& e) {
      co_return std::string(e.what());
    }
  }());
  EXPECT_NE(error.find("no Sentinel of redis+sentinel://127.0.0.1:" + std::to_string(sentinel.port()) +
                       "/othermaster named the primary"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("knows no master 'othermaster'"), std::string::npos) << error;
}

}  // namespace
}  // namespace steadfast::redis
