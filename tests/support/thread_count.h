// The threads of this process now ("Threads:" of /proc/self/status; -1 if
// unreadable): for tests that show work runs without a thread each.
#pragma once

#include <fstream>
#include <string>

namespace steadfast::test {

inline int thread_count() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

}  // namespace steadfast::test
