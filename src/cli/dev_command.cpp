// `steadfast dev`: everything on one laptop in one command — a private
// redis-server (AOF on, noeviction, in the data folder), the HTTP API and N
// workers, as child processes. Ctrl-C (or SIGTERM) stops them all; each child
// also dies with this process (PR_SET_PDEATHSIG), so nothing is left behind
// even if `dev` itself is killed.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/common.h"

namespace steadfast::cli {

namespace {

struct Child {
  std::string name;
  pid_t pid = -1;
};

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// fork + exec with stdout/stderr to `log` and a parent-death signal.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, int death_signal) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, death_signal);
    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);  // Ctrl-C reaches only `dev`, which stops children in order
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

bool redis_answers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char ping[] = "PING\r\n";
    char buf[16] = {};
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ok = ::write(fd, ping, sizeof ping - 1) == sizeof ping - 1 && ::read(fd, buf, sizeof buf) > 0 &&
         std::string_view(buf).starts_with("+PONG");
  }
  ::close(fd);
  return ok;
}

// SIGTERM, then SIGKILL after `grace`; always reaped.
void stop(Child& c, std::chrono::milliseconds grace) {
  if (c.pid <= 0) return;
  ::kill(c.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(c.pid, nullptr, WNOHANG) == c.pid) {
      c.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(c.pid, SIGKILL);
  ::waitpid(c.pid, nullptr, 0);
  c.pid = -1;
}

std::string self_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "steadfast" : p.string();
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
