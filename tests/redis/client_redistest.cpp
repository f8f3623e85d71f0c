// The Redis client against the redis-server shared by this test binary:
// auto-pipelining, pipelines, scripts, timeouts, blocking commands, close.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "support/redis_test.h"

namespace steadfast::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using test::RedisTest;

class ClientTest : public RedisTest {};

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// The outcome of an awaited command as a word, for tests that expect a type of
// failure: "ok", "io", "timeout", "closed", "server", "protocol".
asio::awaitable<std::string> outcome(asio::awaitable<Reply> command) {
  try {
    co_await std::move(command);
    co_return "ok";
  } catch (const Error& e) {
    co_return std::string(to_string(e.kind()));
  }
}

struct WorkerResult {
  int wrong = 0;
  std::string first_wrong;
};

// 1000 commands, one at a time: INCR of its own counter (the values prove the
// order) alternating with ECHO of a payload no other command sends.
asio::awaitable<void> pipelining_worker(Client& client, std::string counter, int worker, WorkerResult& result) {
  for (int j = 0; j < 1000; ++j) {
    if (j % 2 == 0) {
      const Reply r = co_await client.command("INCR", counter);
      if (!r.is_integer() || r.as_integer() != j / 2 + 1) {
        if (result.wrong++ == 0) result.first_wrong = "INCR #" + std::to_string(j / 2) + " -> " + r.debug_string();
      }
    } else {
      const std::string payload =
          "w" + std::to_string(worker) + ":" + std::to_string(j) + ":" + std::string(static_cast<std::size_t>(j % 97), 'x');
      const Reply r = co_await client.command("ECHO", payload);
      if (r.str() != payload) {
        if (result.wrong++ == 0) result.first_wrong = "ECHO " + payload + " -> " + r.debug_string();
      }
    }
  }
}

TEST_F(ClientTest, AutoPipelines100kCommandsFrom100Coroutines) {
  Client& client = make_client();
  constexpr int kWorkers = 100;
  std::vector<WorkerResult> results(kWorkers);
  ClientStats before;
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    before = client.stats();
    std::vector<asio::awaitable<void>> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.push_back(pipelining_worker(client, key("counter:" + std::to_string(w)), w, results[w]));
    }
    co_await test::all(std::move(workers));
    for (int w = 0; w < kWorkers; ++w) {
      const Reply total = co_await client.command("GET", key("counter:" + std::to_string(w)));
      EXPECT_EQ(total.as_integer(), 500) << "worker " << w;
    }
  }());
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(results[w].wrong, 0) << "worker " << w << ", first: " << results[w].first_wrong;
  }
  const ClientStats after = client.stats();
  const auto commands = after.commands - before.commands;
  const auto writes = after.writes - before.writes;
  EXPECT_EQ(commands, 100'000u + kWorkers);
  // One command in flight per coroutine: a write carries about one command of
  // each of the 100 coroutines. Unbatched would be one write per command.
  EXPECT_LT(writes * 10, commands) << writes << " writes for " << commands << " commands";
  EXPECT_EQ(after.timeouts, 0u);
  EXPECT_EQ(after.connects, 1u);
}

TEST_F(ClientTest, LargePipelineAndLargeValues) {
  Client& client = make_client();
  run([&]() -> asio::awaitable<void> {
    Pipeline p;
    constexpr int kCommands = 20'000;
    for (int i = 0; i < kCommands; ++i) p.add("RPUSH", key("list"), i);
    p.add("LRANGE", key("list"), 0, -1);
    auto replies = co_await client.exec(std::move(p));
    EXPECT_EQ(replies.size(), static_cast<std::size_t>(kCommands + 1));
    for (int i = 0; i < kCommands; ++i) {
      if (replies[i].as_integer() != i + 1) {
        ADD_FAILURE() << "reply " << i << ": " << replies[i].debug_string();
        break;
      }
    }
    const Reply& range = replies.back();
    CO_ASSERT_EQ(range.size(), static_cast<std::size_t>(kCommands));
    EXPECT_EQ(range[kCommands - 1].str(), std::to_string(kCommands - 1));

    // 8 MiB each way: many partial reads and writes.
    std::string big(8 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
    co_await client.command("SET", key("big"), big);
    const Reply got = co_await client.command("GET", key("big"));
    EXPECT_EQ(got.str().size(), big.size());
    EXPECT_TRUE(got.str() == big);
  }());
}

TEST_F(ClientTest, PipelineReturnsErrorRepliesAsValues) {
  Client& client = make_client();
  run([&]() -> asio::awaitable<void> {
    co_await client.command("SET", key("str"), "text");
    Pipeline p;
    p.add("INCR", key("n"));
    p.add("LPUSH", key("str"), "x");  // WRONGTYPE
    p.add("INCR", key("n"));
    p.add("NOSUCHCOMMAND", "arg");
    p.add("GET", key("str"));
    auto replies = co_await client.exec(std::move(p));
    EXPECT_EQ(replies.size(), 5u);
    EXPECT_EQ(replies[0], Reply::make_integer(1));
    EXPECT_TRUE(replies[1].is_error());
    EXPECT_TRUE(replies[1].str().starts_with("WRONGTYPE")) << replies[1].str();
    EXPECT_EQ(replies[2], Reply::make_integer(2));
    EXPECT_TRUE(replies[3].is_error());
    EXPECT_TRUE(replies[3].str().starts_with("ERR unknown command")) << replies[3].str();
    EXPECT_EQ(replies[4], Reply::make_string("text"));
  }());
}

TEST_F(ClientTest, SingleCommandThrowsServerError) {
  Client& client = make_client();
  run([&]() -> asio::awaitable<void> {
    co_await client.command("SET", key("str"), "text");
    try {
      co_await client.command("LPUSH", key("str"), "x");
      ADD_FAILURE() << "no ServerError";
    } catch (const ServerError& e) {
      EXPECT_EQ(e.prefix(), "WRONGTYPE");
      EXPECT_EQ(e.kind(), ErrorKind::server);
    }
    // The connection is fine afterwards.
    EXPECT_EQ((co_await client.command("GET", key("str"))).str(), "text");
  }());
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(ClientTest, EvalShaWorksAfterScriptFlush) {
  Client& client = make_client();
  const Script incrby("incrby", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  const std::vector<std::string> keys = {key("n")};
  const std::vector<std::string> args = {"5"};
  run([&]() -> asio::awaitable<void> {
    // Never loaded on this server: the client loads it and runs it.
    EXPECT_EQ((co_await client.eval(incrby, keys, args)).as_integer(), 5);
    EXPECT_EQ((co_await client.eval(incrby, keys, args)).as_integer(), 10);
    EXPECT_EQ((co_await client.command("SCRIPT", "FLUSH")).str(), "OK");
    EXPECT_EQ((co_await client.command("SCRIPT", "EXISTS", incrby.sha1()))[0].as_integer(), 0);
    EXPECT_EQ((co_await client.eval(incrby, keys, args)).as_integer(), 15);
    EXPECT_EQ((co_await client.command("SCRIPT", "EXISTS", incrby.sha1()))[0].as_integer(), 1);
  }());
}

TEST_F(ClientTest, PipelineOfScriptsAfterScriptFlushKeepsReplyOrder) {
  Client& client = make_client();
  const Script incrby("incrby", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  const Script echo("echo", "return ARGV[1]");
  run([&]() -> asio::awaitable<void> {
    co_await client.command("SCRIPT", "FLUSH");
    Pipeline p;
    const std::vector<std::string> keys = {key("n")};
    const std::vector<std::string> none;
    p.add_eval(incrby, keys, std::vector<std::string>{"2"});
    p.add("GET", key("n"));  // runs before the retried scripts
    p.add_eval(echo, none, std::vector<std::string>{"hello"});
    p.add_eval(incrby, keys, std::vector<std::string>{"3"});
    auto replies = co_await client.exec(std::move(p));
    CO_ASSERT_EQ(replies.size(), 4u);
    EXPECT_EQ(replies[0], Reply::make_integer(2));
    EXPECT_TRUE(replies[1].is_nil()) << replies[1].debug_string();
    EXPECT_EQ(replies[2], Reply::make_string("hello"));
    EXPECT_EQ(replies[3], Reply::make_integer(5));
  }());
}

TEST_F(ClientTest, LuaSyntaxErrorIsClearServerError) {
  Client& client = make_client();
  const Script broken("broken", "return (");
  run([&]() -> asio::awaitable<void> {
    try {
      co_await client.eval(broken, {}, {});
      ADD_FAILURE() << "no ServerError";
    } catch (const ServerError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("cannot load script 'broken'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("Error compiling script"), std::string::npos) << msg;
    }
    // A script that runs and returns an error reply: thrown with Redis' message.
    const Script refuses("refuses", "return redis.error_reply('MYERR not today')");
    try {
      co_await client.eval(refuses, {}, {});
      ADD_FAILURE() << "no ServerError";
    } catch (const ServerError& e) {
      EXPECT_EQ(e.prefix(), "MYERR") << e.what();
    }
    EXPECT_EQ((co_await client.command("PING")).str(), "PONG");
  }());
}

TEST_F(ClientTest, CommandTimeoutThenNextCommandSucceeds) {
  Client& client = make_client();
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    const auto start = Clock::now();
    try {
      co_await client.command_with(CommandOptions{100ms}, "DEBUG", "SLEEP", "0.5");
      ADD_FAILURE() << "no TimeoutError";
    } catch (const TimeoutError& e) {
      EXPECT_NE(std::string(e.what()).find("timed out after 100 ms"), std::string::npos) << e.what();
    }
    const auto waited = since(start);
    EXPECT_GE(waited, 95ms);
    EXPECT_LT(waited, 450ms) << "the timeout fired late";
    // Queued behind the sleeping command on the same connection, then answered.
    EXPECT_EQ((co_await client.command("PING")).str(), "PONG");
  }());
  EXPECT_EQ(client.stats().timeouts, 1u);
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(ClientTest, TimeoutWhileAnotherClientPausesTheServer) {
  Client& client = make_client();
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    const Reply paused = server().call({"CLIENT", "PAUSE", "400", "ALL"});
    EXPECT_EQ(paused.str(), "OK");
    const auto start = Clock::now();
    EXPECT_EQ(co_await outcome(client.command_with(CommandOptions{100ms}, "GET", key("k"))), "timeout");
    EXPECT_LT(since(start), 350ms);
    EXPECT_TRUE((co_await client.command("GET", key("k"))).is_nil());
  }());
}

TEST_F(ClientTest, BlockingCommandOnItsOwnClientDoesNotStallOthers) {
  Client& blocking = make_client();
  Client& other = make_client();
  const std::string list = key("list");
  run([&]() -> asio::awaitable<void> {
    co_await blocking.wait_connected();
    co_await other.wait_connected();
    auto blpop = [&]() -> asio::awaitable<Reply> {
      co_return co_await blocking.command_with(CommandOptions{10s}, "BLPOP", list, 8);
    };
    auto meanwhile = [&]() -> asio::awaitable<std::chrono::milliseconds> {
      // Wait until Redis reports the BLPOP as blocked.
      for (int i = 0; i < 200; ++i) {
        const Reply info = co_await other.command("INFO", "clients");
        if (info.str().find("blocked_clients:1") != std::string::npos) break;
        co_await test::sleep(5ms);
      }
      const auto start = Clock::now();
      for (int i = 0; i < 200; ++i) co_await other.command("INCR", key("n"));
      const auto took = since(start);
      co_await other.command("RPUSH", list, "item");
      co_return took;
    };
    const auto start = Clock::now();
    auto [popped, took] = co_await (blpop() && meanwhile());
    EXPECT_LT(took, 1000ms) << "200 commands on the other client were stalled";
    EXPECT_EQ(popped, Reply::make_array({Reply::make_string(list), Reply::make_string("item")}));
    EXPECT_LT(since(start), 3000ms);
  }());
}

TEST_F(ClientTest, CloseFailsPendingCommandsWithClosedError) {
  Client& client = make_client();
  run([&]() -> asio::awaitable<void> {
    co_await client.wait_connected();
    auto in_flight = [&]() -> asio::awaitable<std::string> {
      co_return co_await outcome(client.command("DEBUG", "SLEEP", "0.3"));
    };
    auto closer = [&]() -> asio::awaitable<void> {
      co_await test::sleep(50ms);
      client.close();
    };
    const auto start = Clock::now();
    auto result = co_await (in_flight() && closer());
    EXPECT_EQ(result, "closed");
    EXPECT_LT(since(start), 250ms);
    EXPECT_EQ(co_await outcome(client.command("PING")), "closed");
  }());
}

TEST_F(ClientTest, ConnectionRefusedIsIoError) {
  Config c = config_for("redis://127.0.0.1:" + std::to_string(test::free_port()));
  Client& client = make_client(c);
  run([&]() -> asio::awaitable<void> {
    const auto start = Clock::now();
    try {
      co_await client.wait_connected(300ms);
      ADD_FAILURE() << "connected to nothing";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("Connection refused"), std::string::npos) << e.what();
    }
    EXPECT_LT(since(start), 1000ms);
  }());
}

TEST_F(ClientTest, SelectsTheDbOfTheUrlPath) {
  Client& db3 = make_client(config_for(server().url() + "/3"));
  Client& db0 = make_client();
  Client& db3_query = make_client(config_for(server().url() + "?db=3"));
  run([&]() -> asio::awaitable<void> {
    co_await db3.command("SET", key("k"), "in db 3");
    const Reply info = co_await db3.command("CLIENT", "INFO");
    EXPECT_NE(info.str().find(" db=3 "), std::string::npos) << info.str();
    EXPECT_TRUE((co_await db0.command("GET", key("k"))).is_nil());
    EXPECT_EQ((co_await db3_query.command("GET", key("k"))).str(), "in db 3");
  }());
  EXPECT_EQ(server().call({"DBSIZE"}).as_integer(), 0);
}

TEST_F(ClientTest, SetsTheClientNameOfTheUrl) {
  Client& client = make_client(config_for(server().url() + "?name=worker-7"));
  run([&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client.command("CLIENT", "GETNAME")).str(), "worker-7");
  }());
}

}  // namespace
}  // namespace steadfast::redis
