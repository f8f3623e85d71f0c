// GoogleTest support for tests against a real Redis: a fixture with one shared
// redis-server per test binary, isolated keys per test, and run(), which drives
// a coroutine to completion on an io_context.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "redis/client.h"
#include "support/redis_server.h"
#include "support/shared_redis.h"

namespace steadfast::redis {
// Failed EXPECT_EQ on replies print them readably.
inline void PrintTo(const Reply& reply, std::ostream* os) { *os << reply.debug_string(); }
}  // namespace steadfast::redis

namespace steadfast::test {

namespace asio = boost::asio;

// Thrown by the CO_ASSERT_* macros after they recorded the failure.
struct AssertionFailed : std::runtime_error {
  AssertionFailed() : std::runtime_error("fatal assertion failed in a coroutine (see the failure above)") {}
};

// ASSERT_* cannot be used in a coroutine (they `return`): these record the
// failure and then leave the coroutine, and the test, by throwing AssertionFailed.
#define CO_ASSERT_EQ(a, b)                                                                         \
  do {                                                                                             \
    if (const ::testing::AssertionResult co_assert_ = ::testing::internal::EqHelper::Compare(#a, #b, a, b); \
        !co_assert_) {                                                                             \
      ADD_FAILURE() << co_assert_.message();                                                       \
      throw ::steadfast::test::AssertionFailed();                                                  \
    }                                                                                              \
  } while (false)
#define CO_ASSERT_TRUE(condition)                                   \
  do {                                                              \
    if (!(condition)) {                                             \
      ADD_FAILURE() << "Value of: " #condition "\n  Actual: false"; \
      throw ::steadfast::test::AssertionFailed();                   \
    }                                                               \
  } while (false)

namespace detail {
// Runs io until *done or until limit passes; throws std::runtime_error then, or
// if io runs out of work first (the coroutine can never finish).
void run_until(asio::io_context& io, const bool& done, std::chrono::milliseconds limit);
}  // namespace detail

// Runs the coroutine on io until it finishes and returns its value or rethrows
// its exception. Other work on io (an open Client's reconnect loop) does not keep
// it running; a coroutine still unfinished after `limit` fails the call with
// std::runtime_error instead of hanging the test.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task,
      std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  // Shared with the completion handler, which may outlive this call on a timeout.
  struct State {
    bool done = false;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  };
  auto state = std::make_shared<State>();
  if constexpr (std::is_void_v<T>) {
    asio::co_spawn(io, std::move(task), [state](std::exception_ptr e) {
      state->done = true;
      state->error = e;
    });
  } else {
    asio::co_spawn(io, std::move(task), [state](std::exception_ptr e, T v) {
      state->done = true;
      state->error = e;
      if (!e) state->value.emplace(std::move(v));
    });
  }
  detail::run_until(io, state->done, limit);
  if (state->error) std::rethrow_exception(state->error);
  if constexpr (!std::is_void_v<T>) return std::move(*state->value);
}

// Waits d on the current coroutine's executor.
asio::awaitable<void> sleep(std::chrono::milliseconds d);

// Runs every task concurrently and waits until all have finished; then
// rethrows the first exception, if any.
asio::awaitable<void> all(std::vector<asio::awaitable<void>> tasks);

// Fixture for tests that drive clients on an io_context: run(), clients that are
// closed and drained in TearDown (so nothing keeps reconnecting), unique keys.
class AsyncTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // "<Suite>.<Test>:" + name: a key no other test uses.
  [[nodiscard]] std::string key(std::string_view name) const;
  // Config::from_url(url) with short reconnect backoff (10..200 ms).
  [[nodiscard]] static redis::Config config_for(const std::string& url);

  // A client on io_, owned by the fixture (closed in TearDown).
  redis::Client& make_client(const redis::Config& config);

  template <typename T>
  T run(asio::awaitable<T> task, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    return test::run(io_, std::move(task), limit);
  }

  asio::io_context io_;

 private:
  std::vector<std::unique_ptr<redis::Client>> clients_;
  std::string prefix_;
};

// Fixture for tests against the Redis shared by the whole test binary
// (started on first use, stopped at exit). SetUp runs FLUSHALL, so every test
// starts from an empty server. By STEADFAST_TEST_CLUSTER in the environment
// that Redis is a plain server, a one-node Redis Cluster (1) or a cluster of
// three primaries (3): support/shared_redis.h.
class RedisTest : public AsyncTest {
 public:
  // A test that kills it gets it restarted by the next SetUp (not on three
  // primaries); fault tests should rather start a RedisServer of their own.
  static SharedRedis& server();
  // True when server() is a cluster (STEADFAST_TEST_CLUSTER=1 or 3).
  static bool on_cluster();

 protected:
  void SetUp() override;

  // Config for the shared server.
  [[nodiscard]] redis::Config config() const { return config_for(server().url()); }
  using AsyncTest::make_client;
  redis::Client& make_client() { return make_client(config()); }
};

}  // namespace steadfast::test
