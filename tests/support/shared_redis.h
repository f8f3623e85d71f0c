// The Redis a whole test binary shares (RedisTest::server()): by the
// environment's STEADFAST_TEST_CLUSTER, one of
//   unset / other  a plain redis-server;
//   1              a one-node Redis Cluster that owns every slot: it refuses a
//                  script whose keys hash to different slots (CROSSSLOT),
//                  which a plain server lets through; url() is a plain
//                  redis:// URL, so clients do not route;
//   3              a Redis Cluster of three primaries (RedisCluster, no
//                  replicas): url() is redis+cluster://, so every client,
//                  worker and store of the test routes by slot and the
//                  engine's partitions spread over three nodes.
// call() sends a test's own command to the node that serves its key.
//
// Thread-safety: none; the test's own thread only.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"

namespace steadfast::test {

class SharedRedis {
 public:
  enum class Kind { single, one_node_cluster, three_primaries };

  // Starts the server or the cluster; throws std::runtime_error if it does
  // not come up.
  explicit SharedRedis(Kind kind);
  // By STEADFAST_TEST_CLUSTER, as above.
  [[nodiscard]] static Kind kind_from_environment();

  [[nodiscard]] Kind kind() const noexcept { return kind_; }
  // The URL every client of the test connects with.
  [[nodiscard]] std::string url() const;

  // One command; error replies are values. Routed on three primaries: sent
  // to the first node, then to the node a MOVED reply names (a MOVED
  // command did nothing, so the resend is safe); FLUSHALL, FLUSHDB and
  // SCRIPT FLUSH go to every primary (the first reply answers). Keyless
  // commands other than those (INFO, CONFIG) reach the first node only.
  redis::Reply call(std::initializer_list<std::string_view> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  redis::Reply call(const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // The one redis-server: a plain server's or the one-node cluster's
  // (std::logic_error on three primaries), for helpers that take a
  // RedisServer.
  [[nodiscard]] RedisServer& only_server() const;

  // Started, and not killed since: every node of a cluster.
  [[nodiscard]] bool running() const;
  // SIGKILL, and start again on the same port and folder: a plain server or
  // the one-node cluster only (std::logic_error on three primaries, whose
  // fault tests start a RedisCluster of their own).
  void kill();
  void start();

 private:
  [[nodiscard]] RedisServer& first() const;

  Kind kind_;
  std::unique_ptr<RedisServer> server_;    // single, one_node_cluster
  std::unique_ptr<RedisCluster> cluster_;  // three_primaries
};

}  // namespace steadfast::test
