// `steadfast dev`: everything on one laptop in one command — a private
// redis-server (AOF on, noeviction, in the data folder), the HTTP API and N
// workers, as child processes. Ctrl-C (or SIGTERM) stops them all; each child
// also dies with this process (PR_SET_PDEATHSIG), so nothing is left behind
// even if `dev` itself is killed.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/children.h"
#include "cli/common.h"

namespace steadfast::cli {

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

    // Signals are taken synchronously (sigwait-style) so shutdown runs in order.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);

    std::vector<Child> children;
    Child redis{"redis-server", spawn({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                                       "--dir", data, "--appendonly", "yes", "--appendfsync", "everysec",
                                       "--maxmemory-policy", "noeviction", "--save", "",
                                       "--daemonize", "no", "--logfile", ""},
                                      data + "/redis.log", SIGTERM)};
    auto shutdown = [&](int code) {
      for (auto it = children.rbegin(); it != children.rend(); ++it) stop(*it, std::chrono::seconds(15));
      stop(redis, std::chrono::seconds(10));
      std::cout << "steadfast dev: stopped" << std::endl;
      std::exit(code);
    };
    const auto ready_by = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!redis_answers(port)) {
      if (::waitpid(redis.pid, nullptr, WNOHANG) == redis.pid || std::chrono::steady_clock::now() > ready_by) {
        redis.pid = -1;
        throw std::runtime_error("redis-server did not start; see " + data + "/redis.log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
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
    for (;;) {
      int sig = 0;
      ::sigwait(&set, &sig);
      if (sig == SIGCHLD) {
        for (Child& c : children) {
          int status = 0;
          if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
            std::cerr << "steadfast dev: " << c.name << " exited (status " << status << "); see " << data
                      << "/" << (c.name == "api" ? "api" : c.name) << ".log; stopping" << std::endl;
            c.pid = -1;
            shutdown(kExitFailed);
          }
        }
        if (::waitpid(redis.pid, nullptr, WNOHANG) == redis.pid) {
          redis.pid = -1;
          std::cerr << "steadfast dev: redis-server exited; stopping" << std::endl;
          shutdown(kExitFailed);
        }
        continue;
      }
      std::cout << "\nsteadfast dev: stopping (workers drain first)..." << std::endl;
      shutdown(kExitOk);
    }
  });
}

}  // namespace steadfast::cli
