#include "proc/child.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_set>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace steadfast::proc {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Without a pidfd, how often a blocking wait looks again, at most.
constexpr auto kPollCeiling = 10ms;

std::system_error spawn_error(int error, const SpawnOptions& o) {
  std::string what = "cannot start '" + o.argv[0] + "'";
  if (!o.cwd.empty()) what += " in cwd '" + o.cwd + "'";
  return {error, std::generic_category(), what};
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  // Race-free: the child is ours and unreaped, so `pid` cannot name another process.
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // close-on-exec by definition
#else
  (void)pid;
  return -1;
#endif
}

// "NAME=value" strings: ours, with `overrides` added or replaced.
std::vector<std::string> environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::set<std::string, std::less<>> names;
  for (const auto& [name, value] : overrides) names.insert(name);
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (!names.contains(entry.substr(0, entry.find('=')))) out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int open_flags(const Stdio& s, int target) {
  switch (s.kind) {
    case Stdio::Kind::null:
      return target == STDIN_FILENO ? O_RDONLY : O_WRONLY;
    case Stdio::Kind::file_append:
      return O_WRONLY | O_CREAT | O_APPEND;
    case Stdio::Kind::file_truncate:
      return O_WRONLY | O_CREAT | O_TRUNC;
    default:
      return 0;
  }
}

const char* open_path(const Stdio& s) {
  return s.kind == Stdio::Kind::null ? "/dev/null" : s.path.c_str();
}

// Files for the child's streams, opened here (not in the child) so that a
// missing folder is an error naming the file, not the program. Closed on
// scope exit, after the spawn.
class OpenedFiles {
 public:
  OpenedFiles() = default;
  ~OpenedFiles() {
    for (const int fd : fds_) ::close(fd);
  }
  OpenedFiles(const OpenedFiles&) = delete;
  OpenedFiles& operator=(const OpenedFiles&) = delete;

  // `s` itself, or Stdio::from_fd of the file it names.
  Stdio resolve(const Stdio& s, int target, const char* stream) {
    if (s.kind != Stdio::Kind::null && s.kind != Stdio::Kind::file_append &&
        s.kind != Stdio::Kind::file_truncate) {
      return s;
    }
    const int fd = ::open(open_path(s), open_flags(s, target) | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw std::system_error(
          errno, std::generic_category(),
          std::string("cannot open '") + open_path(s) + "' for a child's " + stream);
    }
    fds_.push_back(fd);
    return Stdio::from_fd(fd);
  }

 private:
  std::vector<int> fds_;
};

// posix_spawn attributes and file actions, freed on scope exit.
class SpawnSetup {
 public:
  explicit SpawnSetup(const SpawnOptions& o) {
    ::posix_spawn_file_actions_init(&actions_);
    ::posix_spawnattr_init(&attr_);
    const std::array<std::pair<const Stdio*, int>, 3> streams{
        {{&o.in, STDIN_FILENO}, {&o.out, STDOUT_FILENO}, {&o.err, STDERR_FILENO}}};
    for (const auto& [s, target] : streams) {
      switch (s->kind) {
        case Stdio::Kind::inherit:
          break;
        case Stdio::Kind::fd:
          ::posix_spawn_file_actions_adddup2(&actions_, s->fd, target);
          break;
        case Stdio::Kind::same_as_stdout:
          ::posix_spawn_file_actions_adddup2(&actions_, STDOUT_FILENO, target);
          break;
        default:
          break;  // files were opened by OpenedFiles
      }
    }
    ::posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    if (!o.cwd.empty()) ::posix_spawn_file_actions_addchdir_np(&actions_, o.cwd.c_str());
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (o.own_process_group) flags |= POSIX_SPAWN_SETPGROUP;
    ::posix_spawnattr_setflags(&attr_, flags);
    ::posix_spawnattr_setpgroup(&attr_, 0);
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&attr_, &none);
    sigset_t all;
    sigfillset(&all);
    ::posix_spawnattr_setsigdefault(&attr_, &all);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // The PID, or throws.
  pid_t spawn(const SpawnOptions& o, char* const* argv, char* const* envp) {
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &actions_, &attr_, argv, envp);
    if (rc != 0) throw spawn_error(rc, o);
    return pid;
  }

 private:
  posix_spawn_file_actions_t actions_{};
  posix_spawnattr_t attr_{};
};

// In the forked child: tells the parent why exec failed (errno), exits 127.
[[noreturn]] void fail_in_child(int report) {
  const int error = errno;
  (void)!::write(report, &error, sizeof error);
  ::_exit(127);
}

// In the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_in_child(const SpawnOptions& o, char* const* argv, char* const* envp,
                                pid_t parent, int report) {
  auto fail = [report]() { fail_in_child(report); };
  if (o.parent_death_signal != 0) {
    if (::prctl(PR_SET_PDEATHSIG, o.parent_death_signal) != 0) fail();
    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
  }
  struct sigaction default_action {};  // sa_handler null = SIG_DFL
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, &default_action, nullptr);  // EINVAL for KILL, STOP
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (o.own_process_group && ::setpgid(0, 0) != 0) fail();
  const std::array<std::pair<const Stdio*, int>, 3> streams{
      {{&o.in, STDIN_FILENO}, {&o.out, STDOUT_FILENO}, {&o.err, STDERR_FILENO}}};
  for (const auto& [s, target] : streams) {
    int from = -1;
    switch (s->kind) {
      case Stdio::Kind::inherit:
        continue;
      case Stdio::Kind::fd:
        from = s->fd;
        break;
      case Stdio::Kind::same_as_stdout:
        from = STDOUT_FILENO;
        break;
      default:
        continue;  // files were opened by OpenedFiles
    }
    if (from == target) {
      ::fcntl(target, F_SETFD, 0);  // keep it open across exec
    } else if (::dup2(from, target) < 0) {
      fail();
    }
  }
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) fail();
  // Nothing of ours but the three streams (and the report pipe, close-on-exec).
  if (report > 3) ::syscall(SYS_close_range, 3U, static_cast<unsigned>(report - 1), 0U);
  ::syscall(SYS_close_range, static_cast<unsigned>(report + 1), ~0U, 0U);
  ::execvpe(argv[0], argv, envp);
  fail_in_child(report);
}

// fork + exec, for what posix_spawn cannot do (a parent-death signal).
pid_t fork_exec(const SpawnOptions& o, char* const* argv, char* const* envp) {
  std::array<int, 2> report{};
  if (::pipe2(report.data(), O_CLOEXEC) != 0) throw spawn_error(errno, o);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw spawn_error(error, o);
  }
  if (pid == 0) {
    ::close(report[0]);
    exec_in_child(o, argv, envp, parent, report[1]);
  }
  ::close(report[1]);
  // The child does the same: whichever runs first, the group exists before
  // the caller can signal it.
  if (o.own_process_group) ::setpgid(pid, pid);
  int error = 0;
  ssize_t n = 0;
  while ((n = ::read(report[0], &error, sizeof error)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof error)) {  // exec failed: the child exits 127 at once
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw spawn_error(error, o);
  }
  return pid;
}

ExitStatus status_of(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return {ExitStatus::How::exited, info.si_status};
  return {ExitStatus::How::signaled, info.si_status};  // CLD_KILLED, CLD_DUMPED
}

}  // namespace

// ---------------------------------------------------------------- ExitStatus

int ExitStatus::shell_code() const noexcept {
  switch (how) {
    case How::exited:
      return value;
    case How::signaled:
      return 128 + value;
    case How::unknown:
      break;
  }
  return -1;
}

std::string describe_signal(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return "signal " + std::to_string(sig) +
         (abbrev != nullptr ? std::string(" (SIG") + abbrev + ")" : "");
}

std::string ExitStatus::describe() const {
  switch (how) {
    case How::exited:
      return "exited with status " + std::to_string(value);
    case How::signaled:
      return "killed by " + describe_signal(value);
    case How::unknown:
      break;
  }
  return "exit status unknown (collected by another part of the process)";
}

// ---------------------------------------------------------------- Child

Child::Child(const SpawnOptions& options) : own_group_(options.own_process_group) {
  if (options.argv.empty() || options.argv[0].empty()) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot start a child: the program is empty");
  }
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv = pointers(args);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  const bool own_env = options.replace_env || !options.env.empty();
  if (options.replace_env) {
    for (const auto& [name, value] : options.env) env_strings.push_back(name + "=" + value);
  } else if (!options.env.empty()) {
    env_strings = environment(options.env);
  }
  if (own_env) envp = pointers(env_strings);
  char* const* env = own_env ? envp.data() : environ;
  OpenedFiles files;
  SpawnOptions resolved;  // argv and env are taken from `options`
  resolved.cwd = options.cwd;
  resolved.in = files.resolve(options.in, STDIN_FILENO, "stdin");
  resolved.out = files.resolve(options.out, STDOUT_FILENO, "stdout");
  resolved.err = files.resolve(options.err, STDERR_FILENO, "stderr");
  resolved.own_process_group = options.own_process_group;
  resolved.parent_death_signal = options.parent_death_signal;
  resolved.argv = {options.argv[0]};  // for error messages
  if (options.parent_death_signal != 0) {
    pid_ = fork_exec(resolved, argv.data(), env);
  } else {
    SpawnSetup setup(resolved);
    pid_ = setup.spawn(resolved, argv.data(), env);
  }
  pidfd_ = open_pidfd(pid_);  // -1 (ENOSYS, EPERM under seccomp): the waits poll instead
}

Child::~Child() { reset(); }

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      own_group_(other.own_group_),
      status_(std::exchange(other.status_, std::nullopt)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    own_group_ = other.own_group_;
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

void Child::reset() noexcept {
  if (pid_ > 0 && !status_) {
    kill();
  }
  close_pidfd();
  pid_ = -1;
  status_.reset();
}

void Child::close_pidfd() noexcept {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

bool Child::running() const {
  if (pid_ <= 0 || status_) return false;
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    while (::poll(&p, 1, 0) < 0) {
      if (errno != EINTR) return true;
    }
    return (p.revents & POLLIN) == 0;
  }
  siginfo_t info{};
  const int w = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  if (w < 0) return errno != ECHILD;  // ECHILD: reaped by someone else
  return info.si_pid != pid_;
}

bool Child::reap(int options) noexcept {
  if (status_) return true;
  if (pid_ <= 0) {
    status_ = ExitStatus{};
    return true;
  }
  siginfo_t info{};
  int w = 0;
  while ((w = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | options)) < 0 &&
         errno == EINTR) {
  }
  if (w < 0) {
    status_ = ExitStatus{};  // ECHILD: a waitpid(-1) elsewhere took it
  } else if (info.si_pid == pid_) {
    status_ = status_of(info);
  } else {
    return false;  // WNOHANG: still running
  }
  close_pidfd();
  return true;
}

bool Child::signal(int sig) const noexcept {
  if (pid_ <= 0 || status_) return false;
  return ::kill(pid_, sig) == 0;
}

bool Child::signal_group(int sig) const noexcept {
  if (!own_group_) return signal(sig);
  if (pid_ <= 0 || status_) return false;
  // The leader is unreaped, so the group id is still ours even if it exited.
  return ::kill(-pid_, sig) == 0;
}

bool Child::group_has_live_members() const {
  if (!own_group_ || pid_ <= 0 || status_) return false;
  const pid_t group = pid_;
  return !groups_with_live_members({&group, 1}).empty();
}

std::vector<pid_t> groups_with_live_members(std::span<const pid_t> groups) {
  std::vector<pid_t> live;
  if (groups.empty()) return live;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {  // no /proc: zombies count too
    for (const pid_t g : groups) {
      if (::kill(-g, 0) == 0) live.push_back(g);
    }
    return live;
  }
  const std::unordered_set<pid_t> asked(groups.begin(), groups.end());
  std::unordered_set<pid_t> known;
  while (dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] < '0' || name[0] > '9') continue;
    // One system call per process rules out nearly all of them; only a
    // member's stat is read (to leave zombies out). A process gone in
    // between fails getpgid (ESRCH) or its read below.
    const pid_t group = ::getpgid(static_cast<pid_t>(std::atol(name)));
    if (group <= 0 || !asked.contains(group) || known.contains(group)) continue;
    std::ifstream stat(std::string("/proc/") + name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
    const std::size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    long pgrp = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == group && state != 'Z' && state != 'X' && known.insert(group).second) live.push_back(group);
  }
  ::closedir(dir);
  return live;
}

std::optional<ExitStatus> Child::try_wait() {
  if (reap(WNOHANG)) return status_;
  return std::nullopt;
}

std::optional<ExitStatus> Child::wait_for(std::chrono::milliseconds timeout) {
  if (reap(WNOHANG)) return status_;
  const auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
      if (ready < 0 && errno != EINTR)
        throw std::system_error(errno, std::generic_category(), "poll on a pidfd");
      if (ready > 0) {
        reap(0);  // it has exited: no wait
        return status_;
      }
    } else {
      std::this_thread::sleep_for(std::min(pause, left));
      pause = std::min(pause * 2, std::chrono::milliseconds(kPollCeiling));
      if (reap(WNOHANG)) return status_;
    }
  }
}

ExitStatus Child::wait() noexcept {
  reap(0);
  return *status_;
}

void Child::wait_stopped() const {
  if (pid_ <= 0 || status_) return;
  siginfo_t info{};
  // WNOWAIT: an exit is left for the reaping waits.
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WEXITED | WNOWAIT) < 0 &&
         errno == EINTR) {
  }
}

ExitStatus Child::terminate(std::chrono::milliseconds grace) {
  if (status_ || pid_ <= 0) return wait();
  // To the child itself: it is the one that knows how to stop what it started.
  signal(SIGTERM);
  signal(SIGCONT);
  if (auto st = wait_for(grace)) return *st;
  return kill();
}

ExitStatus Child::kill() noexcept {
  if (status_ || pid_ <= 0) return wait();
  signal_group(SIGKILL);
  signal(SIGKILL);  // in case it left its group
  return wait();
}

}  // namespace steadfast::proc
