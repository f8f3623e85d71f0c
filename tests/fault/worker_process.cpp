#include "fault/worker_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace steadfast::test {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kDirPrefix = "steadfast-fault-";
constexpr const char* kOwnerFile = "owner";     // "<test pid>"
constexpr const char* kChildrenFile = "children";  // one child PID per line

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Kills (by PID) the children of test binaries that are gone, and removes their
// folders. A child is only killed while its working directory is that folder.
void reap_orphans() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kDirPrefix) || !entry.is_directory(ec)) continue;
    std::ifstream owner_in(entry.path() / kOwnerFile);
    long owner = 0;
    if (!(owner_in >> owner) || owner <= 0) continue;  // being set up
    if (process_alive(static_cast<pid_t>(owner))) continue;
    std::ifstream children(entry.path() / kChildrenFile);
    for (long child = 0; children >> child;) {
      if (child <= 0) continue;
      std::error_code link_ec;
      auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(child) + "/cwd", link_ec);
      if (!link_ec && cwd == entry.path()) ::kill(static_cast<pid_t>(child), SIGKILL);
    }
    std::filesystem::remove_all(entry.path(), ec);
  }
}

// posix_spawn attributes and file actions, freed on scope exit.
struct Spawn {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  Spawn(const std::string& cwd, const std::string& out_path, const std::string& err_path) {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    // Default signal dispositions and an empty mask, whatever the test did.
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err_path == out_path) {
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
    } else {
      posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  }
  ~Spawn() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  Spawn(const Spawn&) = delete;
  Spawn& operator=(const Spawn&) = delete;

  pid_t run(const std::vector<std::string>& argv) {
    if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    return pid;
  }
};

// Blocks until pid exits or the deadline passes; the wait status, or nullopt.
std::optional<int> wait_until(pid_t pid, Clock::time_point deadline) {
  auto pause = 1ms;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) throw_errno("waitpid " + std::to_string(pid));
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace

std::string tail_of(const std::string& text, std::size_t max) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// ---- ScratchDir ----

ScratchDir::ScratchDir() {
  reap_orphans();
  // Crashing steps abort() on purpose: no core files from them (children
  // inherit the limit).
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  std::string tmpl = "/tmp/" + std::string(kDirPrefix) + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  path_ = tmpl;
  std::ofstream(path_ + "/" + kOwnerFile) << ::getpid() << "\n";
}

ScratchDir::~ScratchDir() {
  if (keep_ || path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::write_file(const std::string& name, std::string_view content) const {
  const std::string p = path_ + "/" + name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p);
  return p;
}

void ScratchDir::record_child(pid_t pid) const {
  std::ofstream(path_ + "/" + kChildrenFile, std::ios::app) << pid << "\n";
}

// ---- ChildProcess ----

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ScratchDir& dir,
                           std::string log_path)
    : log_path_(std::move(log_path)) {
  Spawn s(dir.path(), log_path_, log_path_);
  pid_ = s.run(argv);
  dir.record_child(pid_);
}

ChildProcess::~ChildProcess() {
  try {
    kill_and_reap();
  } catch (...) {
    // A destructor must not throw; the PID was ours and is SIGKILLed anyway.
  }
}

bool ChildProcess::running() {
  if (exit_code_ || pid_ <= 0) return false;
  if (auto st = wait_until(pid_, Clock::now())) {
    exit_code_ = exit_code_of(*st);
    return false;
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void ChildProcess::kill_and_reap() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  if (auto st = wait_until(pid_, Clock::now() + 10s)) {
    exit_code_ = exit_code_of(*st);
  } else {
    throw std::runtime_error("process " + std::to_string(pid_) + " survived SIGKILL for 10 s");
  }
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (!running()) return exit_code_;
  if (auto st = wait_until(pid_, Clock::now() + timeout)) exit_code_ = exit_code_of(*st);
  return exit_code_;
}

std::string ChildProcess::log() const { return read_file(log_path_); }

int ChildProcess::count_in_log(std::string_view needle) const {
  const std::string text = log();
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

bool ChildProcess::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout, int times) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (count_in_log(needle) >= times) return true;
    if (!running()) return count_in_log(needle) >= times;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// ---- run_command ----

CommandResult run_command(const std::vector<std::string>& argv, const ScratchDir& dir,
                          std::chrono::milliseconds timeout) {
  static int counter = 0;
  const std::string base = dir.path() + "/cmd." + std::to_string(++counter);
  const std::string out_path = base + ".out";
  const std::string err_path = base + ".err";
  std::filesystem::remove(out_path);
  pid_t pid = -1;
  {
    Spawn s(dir.path(), out_path, err_path);
    pid = s.run(argv);
  }
  dir.record_child(pid);
  auto st = wait_until(pid, Clock::now() + timeout);
  if (!st) {
    ::kill(pid, SIGKILL);
    wait_until(pid, Clock::now() + 10s);
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error("'" + cmd + "' did not finish within " + std::to_string(timeout.count()) +
                             " ms; stderr:\n" + tail_of(read_file(err_path)));
  }
  CommandResult r;
  r.exit_code = exit_code_of(*st);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace steadfast::test
