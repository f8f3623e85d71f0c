// Pipelined XADD throughput of our Redis client against redis-benchmark, on the
// same server in the same run. Prints one JSON line:
//   {"client_rps": ..., "redis_benchmark_rps": ..., "ratio": client / redis-benchmark, ...}
//
//   steadfast_client_bench [--commands N] [--depth D] [--coroutines K]
//                          [--redis redis://host:port] [--no-redis-benchmark]
//                          [--min-ratio R]
//
// Without --redis it starts a private redis-server (tests/support). Our side:
// K coroutines on one Client, each sending Pipelines of D `XADD benchkey * f v`
// (formatted per call, as real code does) until N commands are answered.
// redis-benchmark's side: `redis-benchmark -P D -n N -q XADD benchkey * f v`
// (its default 50 connections). --min-ratio makes a lower ratio exit 1.
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "redis/client.h"
#include "support/redis_server.h"
#include "support/redis_test.h"

namespace {

namespace asio = boost::asio;
using namespace steadfast;
using Clock = std::chrono::steady_clock;

constexpr const char* kStreamKey = "benchkey";

struct Options {
  std::uint64_t commands = 1'000'000;
  int depth = 64;
  int coroutines = 16;
  std::string redis_url;  // empty = start a private redis-server
  bool redis_benchmark = true;
  double min_ratio = 0;  // 0 = never fail on the ratio
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "error: " << error << "\n"
            << "usage: steadfast_client_bench [--commands N] [--depth D] [--coroutines K]\n"
               "                              [--redis URL] [--no-redis-benchmark] [--min-ratio R]\n";
  std::exit(2);
}

template <typename T>
T parse_number(const std::string& flag, const std::string& text) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) usage("invalid value '" + text + "' for " + flag);
  return v;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--commands") {
      o.commands = parse_number<std::uint64_t>(flag, value());
    } else if (flag == "--depth") {
      o.depth = parse_number<int>(flag, value());
    } else if (flag == "--coroutines") {
      o.coroutines = parse_number<int>(flag, value());
    } else if (flag == "--redis") {
      o.redis_url = value();
    } else if (flag == "--no-redis-benchmark") {
      o.redis_benchmark = false;
    } else if (flag == "--min-ratio") {
      o.min_ratio = std::stod(value());
    } else {
      usage("unknown option " + flag);
    }
  }
  if (o.commands == 0 || o.depth <= 0 || o.coroutines <= 0) usage("--commands, --depth, --coroutines must be > 0");
  return o;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct ClientRun {
  double seconds = 0;
  double cpu_seconds = 0;  // our process' user + system CPU time in the timed part
  std::uint64_t errors = 0;
  redis::ClientStats stats;
  std::string redis_version;
};

// Sends Pipelines of `depth` XADDs until `left` reaches zero.
asio::awaitable<void> xadd_loop(redis::Client& client, std::uint64_t& left, int depth, std::uint64_t& errors) {
  redis::Pipeline p;
  while (left > 0) {
    const auto n = static_cast<int>(std::min<std::uint64_t>(left, static_cast<std::uint64_t>(depth)));
    left -= static_cast<std::uint64_t>(n);
    p.clear();
    for (int i = 0; i < n; ++i) p.add("XADD", kStreamKey, "*", "f", "v");
    auto replies = co_await client.exec(p);
    for (const redis::Reply& r : replies) {
      if (!r.is_string()) ++errors;
    }
  }
}

asio::awaitable<void> run_all(redis::Client& client, std::uint64_t commands, int depth, int coroutines,
                              std::uint64_t& errors) {
  std::uint64_t left = commands;
  std::vector<asio::awaitable<void>> loops;
  for (int i = 0; i < coroutines; ++i) loops.push_back(xadd_loop(client, left, depth, errors));
  co_await test::all(std::move(loops));
}

ClientRun run_client(const Options& o, const std::string& url) {
  asio::io_context io;
  redis::Config config = redis::Config::from_url(url);
  config.command_timeout = std::chrono::seconds(60);
  redis::Client client(io.get_executor(), config);
  ClientRun result;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await client.wait_connected(std::chrono::seconds(10));
        const redis::Reply info = co_await client.command("INFO", "server");
        const std::string_view text = info.str();
        if (auto at = text.find("redis_version:"); at != std::string_view::npos) {
          const auto from = at + 14;
          result.redis_version = std::string(text.substr(from, text.find('\r', from) - from));
        }
        co_await client.command("DEL", kStreamKey);
        // Warm-up: connection buffers, allocator, server-side stream.
        std::uint64_t ignored = 0;
        co_await run_all(client, std::min<std::uint64_t>(o.commands / 10, 50'000), o.depth, o.coroutines, ignored);
        co_await client.command("DEL", kStreamKey);

        const auto before = client.stats();
        const auto start = Clock::now();
        const double cpu_start = cpu_seconds();
        co_await run_all(client, o.commands, o.depth, o.coroutines, result.errors);
        result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        result.cpu_seconds = cpu_seconds() - cpu_start;
        const auto after = client.stats();
        result.stats.commands = after.commands - before.commands;
        result.stats.writes = after.writes - before.writes;
        co_await client.command("DEL", kStreamKey);
      },
      [&](std::exception_ptr e) {
        failure = e;
        client.close();  // or io.run() would never return: the client keeps its connection
      });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return result;
}

// redis-benchmark's requests per second for the same workload.
double run_redis_benchmark(const Options& o, const redis::Config& config) {
  if (config.scheme != redis::Config::Scheme::tcp) {
    throw std::runtime_error("the redis-benchmark comparison needs a redis:// URL");
  }
  std::vector<std::string> argv = {"redis-benchmark", "-h", config.host, "-p", std::to_string(config.port),
                                   "-P", std::to_string(o.depth), "-n", std::to_string(o.commands), "-q"};
  if (!config.password.empty()) {
    if (!config.user.empty()) argv.insert(argv.end(), {"--user", config.user});
    argv.insert(argv.end(), {"-a", config.password});
  }
  if (config.db != 0) argv.insert(argv.end(), {"--dbnum", std::to_string(config.db)});
  argv.insert(argv.end(), {"XADD", kStreamKey, "*", "f", "v"});
  const test::ProcessResult r = test::run_process(argv, std::chrono::minutes(10));
  // "XADD benchkey * f v: 1408450.62 requests per second, p50=2.319 msec"
  // after progress lines separated by '\r'.
  const auto at = r.output.rfind(" requests per second");
  if (r.exit_code != 0 || at == std::string::npos) {
    throw std::runtime_error("redis-benchmark failed (exit " + std::to_string(r.exit_code) + "): " + r.output);
  }
  const auto from = r.output.rfind(' ', at - 1) + 1;
  return std::stod(r.output.substr(from, at - from));
}

std::string json_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  try {
    std::optional<test::RedisServer> server;
    std::string url = o.redis_url;
    if (url.empty()) {
      server.emplace();
      url = server->url();
    }
    const redis::Config config = redis::Config::from_url(url);
    const ClientRun ours = run_client(o, url);
    if (ours.errors != 0) throw std::runtime_error(std::to_string(ours.errors) + " XADD replies were not stream ids");
    const double client_rps = static_cast<double>(o.commands) / ours.seconds;

    std::optional<double> theirs;
    if (o.redis_benchmark) {
      if (server) server->call({"DEL", kStreamKey});
      theirs = run_redis_benchmark(o, config);
    }

    std::string line = "{\"bench\":\"redis_client_xadd\",\"commands\":" + std::to_string(o.commands) +
                       ",\"depth\":" + std::to_string(o.depth) + ",\"coroutines\":" + std::to_string(o.coroutines) +
                       ",\"redis_version\":\"" + ours.redis_version + "\"" +
                       ",\"client_seconds\":" + json_number(ours.seconds) +
                       ",\"client_cpu_us_per_command\":" +
                       json_number(ours.cpu_seconds * 1e6 / static_cast<double>(o.commands)) +
                       ",\"client_writes\":" + std::to_string(ours.stats.writes) +
                       ",\"client_rps\":" + json_number(client_rps);
    if (theirs) {
      line += ",\"redis_benchmark_rps\":" + json_number(*theirs) + ",\"ratio\":" + json_number(client_rps / *theirs);
    }
    std::cout << line << "}" << std::endl;
    if (theirs && o.min_ratio > 0 && client_rps / *theirs < o.min_ratio) {
      std::cerr << "ratio " << client_rps / *theirs << " is below --min-ratio " << o.min_ratio << "\n";
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "steadfast_client_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
