// Child processes of the CLI (`steadfast dev`, `steadfast bench`): spawned
// with a parent-death signal, stopped by PID, always reaped (proc::Child).
// Never by name. Also the /proc readings the bench takes of them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proc/child.h"

namespace steadfast::cli {

// A child with the name its log and messages use ("api", "worker-2").
struct Child {
  std::string name;
  proc::Child process;
};

// An exclusive lock on a folder, held until this process exits: an flock(2)
// on <folder>/<name> with this process' pid written in it. The kernel
// releases it however the process ends (SIGKILL too), and the descriptor is
// close-on-exec, so no child keeps it. Not reentrant.
class FolderLock {
 public:
  // Throws std::runtime_error naming the folder and the holder's pid when
  // another process holds it, std::system_error when the file cannot be made.
  FolderLock(const std::string& folder, const std::string& name);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// The last `max_lines` lines of what `path` holds from byte `offset` on
// (what a child wrote since it started); empty if nothing.
std::vector<std::string> tail_from(const std::string& path, std::uintmax_t offset, std::size_t max_lines);

// The size of a file in bytes; 0 if it does not exist.
std::uintmax_t file_size_or_zero(const std::string& path);

// A loopback TCP port nobody listens on right now.
int free_port();

// argv (PATH searched) with stdin from /dev/null, stdout and stderr appended
// to `log`, in its own process group (Ctrl-C reaches only the parent), and
// `death_signal` delivered to it if the parent dies. Throws std::system_error.
proc::Child spawn(const std::vector<std::string>& argv, const std::string& log, int death_signal);

// True when a Redis on 127.0.0.1:port answers PING within a second.
bool redis_answers(int port);

// This executable's path (/proc/self/exe), to spawn more of ourselves.
std::string self_path();

// Peak resident set of a live process in bytes (VmHWM of /proc/PID/status); 0 if unknown.
long long peak_rss_bytes(pid_t pid);

// Resident memory of a live process that is its own (RssAnon: heap, stacks),
// not pages of shared libraries; bytes, 0 if unknown.
long long anon_rss_bytes(pid_t pid);

// Threads of a live process now (Threads: of /proc/PID/status); 0 if unknown.
int thread_count(pid_t pid);

// CPU time (user + system) a live process has used so far, in seconds; 0 if unknown.
double cpu_seconds(pid_t pid);

}  // namespace steadfast::cli
