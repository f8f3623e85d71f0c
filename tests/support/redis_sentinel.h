// A Redis Sentinel for tests: `redis-server --sentinel` on a free loopback
// port, watching one primary. Used by the client's Sentinel tests and the
// fleet's Sentinel failover tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proc/child.h"

namespace steadfast::test {

// A Sentinel watching the primary on `primary_port` as name() with quorum 1
// and a 1 s down-after, on a free port; SIGKILLed by PID and its folder
// removed on destruction (its log printed first if the test failed). The
// master's name is made of the primary's port: a Sentinel of a test running
// at the same time, on a port this test once took as free, must not answer
// for this test's master.
class RedisSentinel {
 public:
  explicit RedisSentinel(std::uint16_t primary_port);
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // redis+sentinel://127.0.0.1:<port>/<name>
  [[nodiscard]] std::string url() const;
  // redis-cli against the Sentinel; its output, trimmed.
  std::string cli(std::vector<std::string> args) const;
  // The port of the primary the Sentinel names now.
  std::string primary_port() const;
  // Whether the Sentinel lists a replica on `port` for the master.
  bool knows_replica(std::uint16_t port) const;
  std::string log() const;

 private:
  std::string dir_;
  std::uint16_t port_;
  std::string name_;
  proc::Child child_;
};

}  // namespace steadfast::test
