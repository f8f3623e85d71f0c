// Child processes of the CLI (`steadfast dev`, `steadfast bench`): spawned
// with a parent-death signal, stopped by PID, always reaped (proc::Child).
// Never by name. Also the /proc readings the bench takes of them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "proc/child.h"

namespace steadfast::cli {

// A child with the name its log and messages use ("api", "worker-2").
struct Child {
  std::string name;
  proc::Child process;
};

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

// CPU time (user + system) a live process has used so far, in seconds; 0 if unknown.
double cpu_seconds(pid_t pid);

}  // namespace steadfast::cli
