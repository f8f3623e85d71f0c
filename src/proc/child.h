// One child process, owned: spawned (posix_spawn, no shell), signalled by PID
// or by process group only while it is ours to signal, and always reaped.
//
// The PID (and the process group it leads) cannot be recycled while the
// child is unreaped, so every signal this class sends reaches the process it
// spawned or that process' group, never a stranger. Once reaped, signals are
// no-ops.
//
// Exit is observed through a pidfd (pidfd_open(2), Linux >= 5.3): it becomes
// readable when the child exits, without reaping it, so a caller can put it
// in its own poll() set or await it on an io_context (proc/async_wait.h).
// Where pidfd_open is refused (old kernels, strict seccomp) the waits fall
// back to polling waitid every few milliseconds.
//
// RAII: destroying a Child that has not been reaped SIGKILLs it (its whole
// process group when it leads one) and reaps it: no zombie, no stray process.
//
// Thread-safety: none for one Child (use it from one thread at a time);
// distinct Children are independent. A waitpid(-1) elsewhere in the process
// may steal the exit status: the Child then reports ExitStatus::unknown.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace steadfast::proc {

// How a child ended.
struct ExitStatus {
  enum class How {
    exited,    // value = its exit status (0..255)
    signaled,  // value = the signal number that killed it
    unknown,   // reaped by someone else (a waitpid(-1) in this process): value = 0
  };
  How how = How::unknown;
  int value = 0;

  [[nodiscard]] bool exited() const noexcept { return how == How::exited; }
  [[nodiscard]] bool signaled() const noexcept { return how == How::signaled; }
  [[nodiscard]] bool success() const noexcept { return exited() && value == 0; }
  // The shell's convention: the exit status, 128 + signal when killed, -1 if unknown.
  [[nodiscard]] int shell_code() const noexcept;
  // "exited with status 3", "killed by signal 9 (SIGKILL)", "exit status unknown (...)".
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

// "signal 9 (SIGKILL)".
std::string describe_signal(int sig);

// Where one of the child's standard streams goes.
struct Stdio {
  enum class Kind { inherit, null, fd, file_append, file_truncate, same_as_stdout };
  Kind kind = Kind::inherit;
  int fd = -1;       // Kind::fd: dup2'ed onto the stream; stays owned (and open) in the caller
  std::string path;  // file_*: opened (created 0644) by the child

  static Stdio inherit() { return {}; }
  static Stdio null() { return {Kind::null, -1, {}}; }
  static Stdio from_fd(int fd) { return {Kind::fd, fd, {}}; }
  static Stdio append_to(std::string path) { return {Kind::file_append, -1, std::move(path)}; }
  static Stdio truncate(std::string path) { return {Kind::file_truncate, -1, std::move(path)}; }
  // stderr only: the same open file as stdout (interleaved output).
  static Stdio to_stdout() { return {Kind::same_as_stdout, -1, {}}; }
};

struct SpawnOptions {
  // argv[0] is a path, or a name looked up in PATH. Must not be empty.
  std::vector<std::string> argv;
  // Added to (or replacing in) this process' environment; the rest is inherited.
  std::vector<std::pair<std::string, std::string>> env;
  // True: `env` is the child's whole environment, nothing is inherited (the
  // caller chose what of ours to pass on).
  bool replace_env = false;
  // Working directory of the child; empty = ours.
  std::string cwd;
  Stdio in = Stdio::null();
  Stdio out = Stdio::inherit();
  Stdio err = Stdio::inherit();
  // The child leads a new process group (pgid = pid): Ctrl-C at our terminal
  // does not reach it, and signal_group() reaches everything it started.
  bool own_process_group = false;
  // Sent to the child when this thread's process dies (PR_SET_PDEATHSIG);
  // 0 = none. Needs fork() instead of posix_spawn: for the CLI, not the worker.
  int parent_death_signal = 0;
};
// Whatever the caller did to its own signals, the child starts with default
// dispositions and an empty signal mask, and with no file descriptor of ours
// but its three standard streams.

class Child {
 public:
  // Starts the program. Throws std::system_error whose code() is the reason
  // (ENOENT, EACCES, EAGAIN, ...) and whose what() names the program (and cwd).
  explicit Child(const SpawnOptions& options);
  Child() = default;  // no process: running() is false, waits return unknown at once
  ~Child();           // SIGKILL (the group too, if it leads one) and reap, if not reaped yet
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The PID; stays readable after reaping (for logs and /proc lookups by the
  // caller, which must then expect it to name another process). -1 = none.
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // True until the child has exited (reaped or not). Does not reap.
  [[nodiscard]] bool running() const;
  [[nodiscard]] bool reaped() const noexcept { return status_.has_value(); }
  // Readable once the child has exited (never reaps); -1 without pidfd support
  // or after reaping. For the caller's poll() set; owned by the Child.
  [[nodiscard]] int pidfd() const noexcept { return pidfd_; }

  // Sends sig to the child; a no-op once it is reaped. False if kill(2) failed.
  bool signal(int sig) const noexcept;
  // Sends sig to the child's process group (own_process_group), else to the
  // child alone. A no-op once reaped: the group id could name a new group then.
  bool signal_group(int sig) const noexcept;
  // True while a process of the child's group is alive (zombies excepted),
  // from /proc; false once reaped or without own_process_group.
  [[nodiscard]] bool group_has_live_members() const;

  // Reaps the child if it has exited; its status, or nullopt while it runs.
  std::optional<ExitStatus> try_wait();
  // Blocks until the child exits, at most `timeout` (zero = just look, like
  // try_wait()); reaps it. nullopt if it still runs.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  // Blocks until the child exits; reaps it.
  ExitStatus wait() noexcept;
  // Blocks until the child is stopped (SIGSTOP) or has exited; reaps nothing.
  void wait_stopped() const;
  // SIGTERM (and SIGCONT, so a stopped child handles it) to the child, then
  // SIGKILL to its group (or to it alone) when it still runs after `grace`
  // (zero = at once); reaps it. Returns the status (at once when already reaped).
  ExitStatus terminate(std::chrono::milliseconds grace);
  // SIGKILL (the group too) and reap. Does not throw.
  ExitStatus kill() noexcept;

  // The status once reaped.
  [[nodiscard]] const std::optional<ExitStatus>& status() const noexcept { return status_; }

 private:
  void reset() noexcept;
  // Reaps with `options` (WNOHANG or 0); true when reaped (status_ set).
  bool reap(int options) noexcept;
  void close_pidfd() noexcept;

  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool own_group_ = false;
  std::optional<ExitStatus> status_;
};

// Of `groups` (process group ids), those with a live member (zombies
// excepted), from one walk of /proc: a system call per process, and a read
// of the stat of each member found. Without /proc, a group holding only
// zombies counts as live. The caller keeps each group id from being reused
// meanwhile (an unreaped leader).
std::vector<pid_t> groups_with_live_members(std::span<const pid_t> groups);

}  // namespace steadfast::proc
