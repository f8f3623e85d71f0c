#include "support/redis_test.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace steadfast::test {

using namespace std::chrono_literals;

void detail::run_until(asio::io_context& io, const bool& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  if (io.stopped()) io.restart();
  while (!done) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("the test coroutine did not finish within " + std::to_string(limit.count()) +
                               " ms");
    }
    if (io.run_one_until(deadline) == 0 && io.stopped() && !done) {
      io.restart();
      throw std::runtime_error(
          "the io_context ran out of work before the test coroutine finished (a lost completion)");
    }
  }
}

asio::awaitable<void> sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> all(std::vector<asio::awaitable<void>> tasks) {
  if (tasks.empty()) co_return;
  auto ex = co_await asio::this_coro::executor;
  struct State {
    explicit State(asio::any_io_executor e, std::size_t n) : left(n), done(std::move(e)) {}
    std::size_t left;
    std::exception_ptr first_error;
    asio::steady_timer done;  // cancelled when the last task finishes
  };
  auto state = std::make_shared<State>(ex, tasks.size());
  state->done.expires_at(asio::steady_timer::time_point::max());
  for (auto& task : tasks) {
    asio::co_spawn(ex, std::move(task), [state](std::exception_ptr e) {
      if (e && !state->first_error) state->first_error = e;
      if (--state->left == 0) state->done.cancel();
    });
  }
  // The tasks start only once we suspend here, so the wait is pending before any can finish.
  co_await state->done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (state->first_error) std::rethrow_exception(state->first_error);
}

void AsyncTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  prefix_ = std::string(info->test_suite_name()) + "." + info->name() + ":";
}

void AsyncTest::TearDown() {
  for (auto& c : clients_) c->close();
  // Closed clients fail what they still hold with ClosedError and stop
  // reconnecting, so the io_context runs out of work.
  io_.restart();
  io_.run_for(5s);
  EXPECT_TRUE(io_.stopped()) << "work still pending on the io_context 5 s after closing every client";
  clients_.clear();
}

std::string AsyncTest::key(std::string_view name) const { return prefix_ + std::string(name); }

redis::Config AsyncTest::config_for(const std::string& url) {
  redis::Config c = redis::Config::from_url(url);
  c.reconnect_initial = 10ms;
  c.reconnect_max = 200ms;
  return c;
}

redis::Client& AsyncTest::make_client(const redis::Config& config) {
  clients_.push_back(std::make_unique<redis::Client>(io_.get_executor(), config));
  return *clients_.back();
}

bool RedisTest::on_cluster() { return SharedRedis::kind_from_environment() != SharedRedis::Kind::single; }

SharedRedis& RedisTest::server() {
  static std::unique_ptr<SharedRedis> shared = std::make_unique<SharedRedis>(SharedRedis::kind_from_environment());
  return *shared;
}

void RedisTest::SetUp() {
  AsyncTest::SetUp();
  SharedRedis& s = server();
  if (!s.running()) s.start();
  const redis::Reply flushed = s.call({"FLUSHALL"});
  ASSERT_FALSE(flushed.is_error()) << flushed.debug_string();
}

}  // namespace steadfast::test
