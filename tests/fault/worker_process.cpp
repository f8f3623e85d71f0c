#include "fault/worker_process.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

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

// argv in the scratch folder, stdin from /dev/null, stdout and stderr to files
// (the same file when the paths are equal), truncated or appended to.
proc::Child spawn_in(const std::vector<std::string>& argv, const ScratchDir& dir, const std::string& out_path,
                     const std::string& err_path, bool append) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  proc::SpawnOptions options;
  options.argv = argv;
  options.cwd = dir.path();
  options.out = append ? proc::Stdio::append_to(out_path) : proc::Stdio::truncate(out_path);
  options.err = err_path == out_path ? proc::Stdio::to_stdout() : proc::Stdio::truncate(err_path);
  proc::Child child(options);
  dir.record_child(child.pid());
  return child;
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
  child_ = spawn_in(argv, dir, log_path_, log_path_, /*append=*/true);
}

// SIGKILLed and reaped by ~proc::Child.
ChildProcess::~ChildProcess() = default;

bool ChildProcess::running() {
  if (child_.pid() <= 0) return false;
  return !child_.try_wait().has_value();
}

void ChildProcess::signal(int sig) {
  if (running()) child_.signal(sig);
}

void ChildProcess::kill_and_reap() { child_.kill(); }

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (const auto status = child_.wait_for(timeout)) return status->shell_code();
  return std::nullopt;
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
  proc::Child child = spawn_in(argv, dir, out_path, err_path, /*append=*/false);
  const auto status = child.wait_for(timeout);
  if (!status) {
    child.kill();
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw std::runtime_error("'" + cmd + "' did not finish within " + std::to_string(timeout.count()) +
                             " ms; stderr:\n" + tail_of(read_file(err_path)));
  }
  CommandResult r;
  r.exit_code = status->shell_code();
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace steadfast::test
