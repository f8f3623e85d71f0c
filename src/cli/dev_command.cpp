// `steadfast dev`: everything on one laptop in one command — a private
// redis-server (AOF on, noeviction, in the data folder), the HTTP API and N
// workers, as child processes. Ctrl-C (or SIGTERM) stops them all; each child
// also dies with this process (PR_SET_PDEATHSIG), so nothing is left behind
// even if `dev` itself is killed.
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "cli/children.h"
#include "cli/common.h"
#include "proc/async_wait.h"

namespace steadfast::cli {
namespace {

namespace asio = boost::asio;

// Supervision: a child that exits on its own stops the whole set.
asio::awaitable<void> watch(Child& child, std::string log, std::function<void()> stop_all) {
  const proc::ExitStatus status = co_await proc::async_wait(child.process);
  std::cerr << "steadfast dev: " << child.name << " " << status.describe() << "; see " << log << "; stopping"
            << std::endl;
  stop_all();
}

}  // namespace

void register_dev(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "dev", "Start a private Redis (AOF on), the HTTP API and workers; Ctrl-C stops them all");
  struct Args {
    std::string workflows = "examples/document-analysis.yaml";
    std::string listen = "127.0.0.1:8080";
    std::string data = ".steadfast";
    int workers = 2;
    int concurrency = 16;
    int redis_port = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--workflows", a->workflows, "The YAML workflows file")->capture_default_str();
  cmd->add_option("--listen", a->listen, "HOST:PORT of the HTTP API")->capture_default_str();
  cmd->add_option("--data", a->data, "Folder for Redis' data and the logs")->capture_default_str();
  cmd->add_option("--workers", a->workers, "Worker processes")->capture_default_str()->check(CLI::Range(0, 64));
  cmd->add_option("--concurrency", a->concurrency, "Steps at once per worker")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--redis-port", a->redis_port, "Port of the private Redis (0 = a free one)");
  cmd->final_callback([a] {
    if (!std::filesystem::exists(a->workflows)) {
      throw std::invalid_argument("no workflows file '" + a->workflows + "' (use --workflows FILE)");
    }
    std::filesystem::create_directories(a->data);
    const std::string data = std::filesystem::absolute(a->data).string();
    const int port = a->redis_port != 0 ? a->redis_port : free_port();
    const std::string url = "redis://127.0.0.1:" + std::to_string(port);
    const std::string self = self_path();

    // Ctrl-C and SIGTERM are taken on the event loop, so shutdown runs in
    // order; before it runs they wait (start-up is never cut in half).
    asio::io_context io(1);
    asio::signal_set signals(io, SIGINT, SIGTERM);

    Child redis{"redis-server", spawn({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                                       "--dir", data, "--appendonly", "yes", "--appendfsync", "everysec",
                                       "--maxmemory-policy", "noeviction", "--save", "",
                                       "--daemonize", "no", "--logfile", ""},
                                      data + "/redis.log", SIGTERM)};
    const auto ready_by = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!redis_answers(port)) {
      if (!redis.process.running() || std::chrono::steady_clock::now() > ready_by) {
        throw std::runtime_error("redis-server did not start; see " + data + "/redis.log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::vector<Child> children;
    children.reserve(1 + static_cast<std::size_t>(a->workers));  // watched by reference: never moved
    children.push_back({"api", spawn({self, "serve", "--workflows", a->workflows, "--listen", a->listen,
                                      "--redis", url},
                                     data + "/api.log", SIGTERM)});
    for (int i = 1; i <= a->workers; ++i) {
      children.push_back({"worker-" + std::to_string(i),
                          spawn({self, "worker", "--workflows", a->workflows, "--redis", url, "--id",
                                 "dev-" + std::to_string(i), "--concurrency", std::to_string(a->concurrency)},
                                data + "/worker-" + std::to_string(i) + ".log", SIGTERM)});
    }
    std::cout << "steadfast dev: API on http://" << a->listen << "  (Redis " << url << ", AOF in " << data
              << ")\n"
              << "  " << a->workers << " worker(s); logs in " << data << "/*.log; Ctrl-C stops everything"
              << std::endl;

    int exit_code = kExitOk;
    signals.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      std::cout << "\nsteadfast dev: stopping (workers drain first)..." << std::endl;
      io.stop();
    });
    const auto failed = [&] {
      exit_code = kExitFailed;
      io.stop();
    };
    asio::co_spawn(io, watch(redis, data + "/redis.log", failed), asio::detached);
    for (Child& c : children) asio::co_spawn(io, watch(c, data + "/" + c.name + ".log", failed), asio::detached);
    io.run();

    for (auto it = children.rbegin(); it != children.rend(); ++it) it->process.terminate(std::chrono::seconds(15));
    redis.process.terminate(std::chrono::seconds(10));
    std::cout << "steadfast dev: stopped" << std::endl;
    std::exit(exit_code);
  });
}

}  // namespace steadfast::cli
