// Child processes of the CLI (`steadfast dev`, `steadfast bench`): spawned
// with a parent-death signal, stopped by PID, always reaped. Never by name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace steadfast::cli {

struct Child {
  std::string name;
  pid_t pid = -1;  // -1 = not running (never started, or reaped)
};

// A loopback TCP port nobody listens on right now.
int free_port();

// fork + exec of argv (PATH searched) with stdout and stderr appended to
// `log`, in its own process group (Ctrl-C reaches only the parent), and
// `death_signal` delivered to it if the parent dies.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, int death_signal);

// True when a Redis on 127.0.0.1:port answers PING within a second.
bool redis_answers(int port);

// SIGTERM, then SIGKILL after `grace`; always reaped. No-op when not running.
void stop(Child& c, std::chrono::milliseconds grace);

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
