// Child processes for the fault tests: `steadfast worker` processes (and any
// other program) spawned as proc::Child, no shell, their stdout and stderr
// appended to a log file, signalled and reaped by PID only.
//
// Every child is started in a scratch folder (ScratchDir) whose owner file
// names the test process and lists the children's PIDs, so that a later test
// run can kill, by PID, the children of a test binary that died without
// cleaning up (SIGKILL by a ctest timeout). A PID is only killed if that
// process' working directory is still the scratch folder: a recycled PID is
// never hit.
//
// Thread-safety: none; use these from the test's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proc/child.h"

namespace steadfast::test {

// A fresh folder /tmp/steadfast-fault-XXXXXX, removed (with its files) on
// destruction. The constructor first reaps the leftovers of dead test binaries.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  // Writes `content` to <path>/<name> and returns the full path.
  std::string write_file(const std::string& name, std::string_view content) const;
  // Records a child's PID for the orphan reaper.
  void record_child(pid_t pid) const;
  // Keep the folder on destruction (to look at the logs of a failed test).
  void keep() noexcept { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// One child process. The destructor SIGKILLs it (if it still runs) and reaps it.
class ChildProcess {
 public:
  // Starts argv (argv[0] is a path, or looked up in PATH) in `cwd`, stdin from
  // /dev/null, stdout and stderr appended to log_path. Throws std::runtime_error
  // if it cannot start.
  ChildProcess(const std::vector<std::string>& argv, const ScratchDir& dir, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return child_.pid(); }
  // True until the process has exited (reaps it without blocking).
  bool running();
  // Sends sig by PID if the process is still running (never to a reaped PID).
  void signal(int sig);
  void sigkill() { signal(SIGKILL); }
  void sigstop() { signal(SIGSTOP); }
  void sigcont() { signal(SIGCONT); }
  void sigterm() { signal(SIGTERM); }
  // SIGKILL, then waits for it: after this the PID is reaped (so a restart
  // under the same worker id sees it gone).
  void kill_and_reap();
  // Waits up to timeout for the process to exit; its exit code (128 + signal
  // number when killed by a signal), or nullopt if it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // The exit code once reaped.
  [[nodiscard]] std::optional<int> exit_code() const noexcept {
    if (!child_.status()) return std::nullopt;
    return child_.status()->shell_code();
  }

  [[nodiscard]] const std::string& log_path() const noexcept { return log_path_; }
  // The log so far.
  [[nodiscard]] std::string log() const;
  // How many times `needle` occurs in the log so far.
  [[nodiscard]] int count_in_log(std::string_view needle) const;
  // Waits until the log holds `needle` at least `times` times; false on timeout
  // or when the process exited without writing it.
  bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout, int times = 1);

 private:
  proc::Child child_;
  std::string log_path_;
};

struct CommandResult {
  int exit_code = -1;   // the exit status, or 128 + signal number
  std::string out;      // stdout
  std::string err;      // stderr
};

// Runs argv to completion with stdout and stderr kept apart (through files in
// dir). Throws std::runtime_error if it cannot start or outlives timeout (it is
// then SIGKILLed by PID and reaped).
CommandResult run_command(const std::vector<std::string>& argv, const ScratchDir& dir,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The last `max` characters of text, for failure messages.
std::string tail_of(const std::string& text, std::size_t max = 3000);

}  // namespace steadfast::test
