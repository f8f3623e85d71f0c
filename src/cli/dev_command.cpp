// `steadfast dev`: everything on one laptop in one command — a private
// redis-server (AOF on, noeviction, in the data folder), the HTTP API and N
// workers, as child processes, supervised: a child that dies is started again
// after a short backoff while the rest goes on (so a worker's crash and the
// takeover of its runs can be watched), and only Ctrl-C (or SIGTERM) stops
// them all. Each child also dies with this process (PR_SET_PDEATHSIG), so
// nothing is left behind even if `dev` itself is killed.
//
// The data folder is locked (dev.lock, flock, holding dev's pid) for as long
// as dev runs: a second dev on it would start a second redis-server on the
// same AOF and strand runs where no tool sees them.
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/children.h"
#include "cli/common.h"
#include "engine/callback_signing.h"
#include "proc/async_wait.h"

namespace steadfast::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Restart backoff: the first wait, its doubling cap, and how long a child
// must have run for its next death to start again from the first wait.
constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::seconds kStableAfter{10};
// A child whose first start ends on its own (an exit status, not a signal)
// within this time failed at start (port in use, bad workflows file):
// starting it again would fail the same way, so dev stops.
constexpr std::chrono::seconds kStartWindow{3};
// Lines of a dead child's output shown on dev's own output.
constexpr std::size_t kShownLines = 20;

// One supervised child: how to start it again, and the running process.
struct Slot {
  std::string name;  // "api", "worker-2"
  std::vector<std::string> argv;
  std::string log;
  bool restart = true;  // false: its death stops everything (redis-server)
  Child child;
  Clock::time_point started{};
  std::uintmax_t log_offset = 0;  // the log's size when it started: its output since is after this
  int starts = 0;
};

Slot make_slot(std::string name, std::vector<std::string> argv, std::string log, bool restart = true) {
  Slot s;
  s.name = std::move(name);
  s.argv = std::move(argv);
  s.log = std::move(log);
  s.restart = restart;
  return s;
}

void start(Slot& s) {
  s.log_offset = file_size_or_zero(s.log);
  s.child = Child{s.name, spawn(s.argv, s.log, SIGTERM)};
  s.started = Clock::now();
  ++s.starts;
}

// "1.5 s".
std::string seconds(std::chrono::milliseconds d) {
  std::ostringstream o;
  o << static_cast<double>(d.count()) / 1000.0 << " s";
  return o.str();
}

// Supervision of one child: on its death, say how it ended and what it last
// wrote; then start it again after the backoff, or stop everything (stop_all)
// when it may not restart or failed at its first start.
asio::awaitable<void> supervise(Slot& s, const bool& stopping, std::function<void()> stop_all) {
  auto backoff = kFirstBackoff;
  for (;;) {
    const proc::ExitStatus status = co_await proc::async_wait(s.child.process);
    if (stopping) co_return;
    const auto ran = Clock::now() - s.started;
    std::cerr << "steadfast dev: " << s.name << " (pid " << s.child.process.pid() << ") " << status.describe()
              << std::endl;
    if (!(status.signaled() && status.value == SIGKILL)) {
      for (const std::string& line : tail_from(s.log, s.log_offset, kShownLines)) {
        std::cerr << "  " << s.name << "| " << line << "\n";
      }
      std::cerr << std::flush;
    }
    const bool failed_at_start = s.starts == 1 && status.exited() && ran < kStartWindow;
    if (!s.restart || failed_at_start) {
      std::cerr << "steadfast dev: " << s.name << (failed_at_start ? " failed at start" : " is gone")
                << "; see " << s.log << "; stopping" << std::endl;
      stop_all();
      co_return;
    }
    if (ran >= kStableAfter) backoff = kFirstBackoff;
    std::cerr << "steadfast dev: restarting " << s.name << " in " << seconds(backoff) << std::endl;
    asio::steady_timer timer(co_await asio::this_coro::executor, backoff);
    co_await timer.async_wait(asio::use_awaitable);
    if (stopping) co_return;
    backoff = std::min(backoff * 2, kMaxBackoff);
    try {
      start(s);
    } catch (const std::exception& e) {
      std::cerr << "steadfast dev: cannot restart " << s.name << ": " << e.what() << "; stopping" << std::endl;
      stop_all();
      co_return;
    }
    std::cerr << "steadfast dev: " << s.name << " restarted (pid " << s.child.process.pid() << ")" << std::endl;
  }
}


// The signing key of this data folder's callback URLs (<data>/signing.key,
// owner-only), made on first use so URLs stay valid across dev restarts.
std::string ensure_signing_key(const std::string& data) {
  const std::string path = data + "/signing.key";
  if (!std::filesystem::exists(path)) {
    const engine::SigningKey key = engine::generate_signing_key("dev");
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "# steadfast dev: signs callback URLs (serve and workers --signing-key-file)\n"
          << key.id << " " << key.secret << "\n";
      if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::rename(tmp, path);
  }
  return path;
}

// HOST:PORT as a client reaches it: every-interface listens become loopback.
std::string reachable(const std::string& listen) {
  const auto colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? std::string() : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1" + listen.substr(colon == std::string::npos ? 0 : colon);
  if (host == "[::]") return "[::1]" + listen.substr(colon);
  return listen;
}

}  // namespace

void register_dev(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "dev", "Start a private Redis (AOF on), the HTTP API and workers, restarting any that dies; Ctrl-C stops them all");
  struct Args {
    std::string workflows = "examples/document-analysis.yaml";
    std::string listen = "127.0.0.1:8080";
    std::string data = ".steadfast";
    int workers = 2;
    int concurrency = 16;
    int redis_port = 0;
    std::vector<std::string> exec;  // external worker commands
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--workflows", a->workflows, "The YAML workflows file")->capture_default_str();
  cmd->add_option("--listen", a->listen, "HOST:PORT of the HTTP API")->capture_default_str();
  cmd->add_option("--data", a->data, "Folder for Redis' data and the logs (one dev at a time: locked)")
      ->capture_default_str();
  cmd->add_option("--workers", a->workers, "Worker processes")->capture_default_str()->check(CLI::Range(0, 64));
  cmd->add_option("--concurrency", a->concurrency, "Steps at once per worker")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--redis-port", a->redis_port, "Port of the private Redis (0 = a free one)");
  cmd->add_option("--exec", a->exec,
                  "An external worker to run beside the API (task steps: docs/worker-protocol.md), as /bin/sh "
                  "`exec COMMAND` with STEADFAST_URL set to the API's URL; restarted if it dies (repeatable)");
  cmd->final_callback([a] {
    if (!std::filesystem::exists(a->workflows)) {
      throw std::invalid_argument("no workflows file '" + a->workflows + "' (use --workflows FILE)");
    }
    std::filesystem::create_directories(a->data);
    const std::string data = std::filesystem::absolute(a->data).lexically_normal().string();
    // Before any child: a second dev on this folder is refused here.
    const FolderLock lock(data, "dev.lock");
    const int port = a->redis_port != 0 ? a->redis_port : free_port();
    const std::string url = "redis://127.0.0.1:" + std::to_string(port);
    const std::string self = self_path();

    // Ctrl-C and SIGTERM are taken on the event loop, so shutdown runs in
    // order; before it runs they wait (start-up is never cut in half).
    asio::io_context io(1);
    asio::signal_set signals(io, SIGINT, SIGTERM);

    std::vector<Slot> slots;
    slots.reserve(2 + static_cast<std::size_t>(a->workers) + a->exec.size());  // supervised by reference: never moved
    slots.push_back(make_slot("redis-server",
                     {"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", data,
                      "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
                      "--save", "", "--daemonize", "no", "--logfile", ""},
                     data + "/redis.log", false));
    Slot& redis = slots.back();
    start(redis);
    const auto ready_by = Clock::now() + std::chrono::seconds(15);
    while (!redis_answers(port)) {
      if (!redis.child.process.running() || Clock::now() > ready_by) {
        throw std::runtime_error("redis-server did not start; see " + data + "/redis.log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Callback URLs work out of the box: a key made once per data folder,
    // and the API's own address as the public URL.
    const std::string key_file = ensure_signing_key(data);
    const std::string public_url = "http://" + reachable(a->listen);
    slots.push_back(make_slot("api",
                              {self, "serve", "--workflows", a->workflows, "--listen", a->listen, "--redis", url,
                               "--signing-key-file", key_file, "--public-url", public_url},
                              data + "/api.log"));
    for (int i = 1; i <= a->workers; ++i) {
      const std::string n = std::to_string(i);
      slots.push_back(make_slot("worker-" + n,
                       {self, "worker", "--workflows", a->workflows, "--redis", url, "--id", "dev-" + n,
                        "--concurrency", std::to_string(a->concurrency), "--signing-key-file", key_file,
                        "--public-url", public_url},
                       data + "/worker-" + n + ".log"));
    }
    for (std::size_t i = 0; i < a->exec.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      slots.push_back(make_slot("exec-" + n,
                                {"/usr/bin/env", "STEADFAST_URL=" + public_url, "/bin/sh", "-c", "exec " + a->exec[i]},
                                data + "/exec-" + n + ".log"));
    }
    std::string pids = "redis-server " + std::to_string(redis.child.process.pid());
    for (std::size_t i = 1; i < slots.size(); ++i) {
      start(slots[i]);
      pids += ", " + slots[i].name + " " + std::to_string(slots[i].child.process.pid());
    }
    std::cout << "steadfast dev: API on http://" << a->listen << "  (Redis " << url << ", AOF in " << data
              << ")\n"
              << "  dashboard: http://" << a->listen << "/ui/\n"
              << "  " << a->workers << " worker(s)"
              << (a->exec.empty() ? "" : " and " + std::to_string(a->exec.size()) + " external worker(s)")
              << ", restarted if they die; logs in " << data
              << "/*.log; Ctrl-C stops everything\n"
              << "  pids: " << pids << std::endl;

    int exit_code = kExitOk;
    bool stopping = false;
    signals.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      stopping = true;
      std::cout << "\nsteadfast dev: stopping (workers drain first)..." << std::endl;
      io.stop();
    });
    const auto failed = [&] {
      stopping = true;
      exit_code = kExitFailed;
      io.stop();
    };
    for (Slot& s : slots) asio::co_spawn(io, supervise(s, stopping, failed), asio::detached);
    io.run();

    for (auto it = slots.rbegin(); it != slots.rend(); ++it) {
      it->child.process.terminate(it->restart ? std::chrono::seconds(15) : std::chrono::seconds(10));
    }
    std::cout << "steadfast dev: stopped" << std::endl;
    std::exit(exit_code);
  });
}

}  // namespace steadfast::cli
