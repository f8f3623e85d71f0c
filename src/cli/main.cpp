// steadfast <subcommand> — the command-line entry point.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/version.h"
#include "redis/client.h"

namespace {

std::string default_redis_url() {
  const char* env = std::getenv("STEADFAST_REDIS");
  return env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6379";
}

// `steadfast ping`: connects, sends PING, prints the round trip.
int run_ping(const std::string& url) {
  namespace asio = boost::asio;
  using namespace steadfast::redis;
  asio::io_context io;
  Client client(io.get_executor(), Config::from_url(url));
  auto done = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::string> {
        struct CloseOnExit {
          Client& c;
          ~CloseOnExit() { c.close(); }
        } close_on_exit{client};
        co_await client.wait_connected();
        auto start = std::chrono::steady_clock::now();
        Reply r = co_await client.command("PING");
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - start);
        co_return std::string(r.str()) + " from " + client.config().redacted_url() + " in " +
            std::to_string(us.count()) + " us";
      },
      asio::use_future);
  io.run();
  std::cout << done.get() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"steadfast: a resilient workflow engine on Redis Streams"};
  app.set_version_flag("--version", std::string("steadfast ") + steadfast::kVersion);
  app.require_subcommand(0, 1);

  std::string redis_url = default_redis_url();
  auto* ping = app.add_subcommand("ping", "Check that Redis answers (round trip time)");
  ping->add_option("--redis", redis_url, "Redis URL (default $STEADFAST_REDIS or redis://127.0.0.1:6379)");

  CLI11_PARSE(app, argc, argv);
  try {
    if (ping->parsed()) return run_ping(redis_url);
    std::cout << app.help();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "steadfast: " << e.what() << "\n";
    return 1;
  }
}
