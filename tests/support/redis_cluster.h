// A private Redis Cluster of N primaries (no replicas) on loopback, for tests:
// N RedisServers (cluster-enabled, ports below 55000), joined with CLUSTER
// MEET, the 16384 slots dealt in N equal ranges in node order (as
// `redis-cli --cluster create` does). Stopped by PID, folders removed.
//
// Thread-safety: none; use it from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.h"

namespace steadfast::test {

struct RedisClusterOptions {
  int primaries = 3;
  // Replicas of each primary (CLUSTER REPLICATE): node primaries + r * primaries + i
  // is replica r of primary i.
  int replicas = 0;
  // cluster-node-timeout: how long a primary may not answer before its
  // replica is promoted (failover within about twice this).
  int node_timeout_ms = 15000;
};

class RedisCluster {
 public:
  // Starts the nodes and waits until every node says cluster_state:ok and
  // knows the others (about 2-3 s: Redis 7.0 holds a fresh primary down for
  // 2 s), and every replica's link to its primary is up. Throws
  // std::runtime_error with the nodes' CLUSTER INFO otherwise.
  explicit RedisCluster(int primaries = 3);
  explicit RedisCluster(RedisClusterOptions options);

  [[nodiscard]] int size() const noexcept { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] RedisServer& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
  // CLUSTER MYID of node i.
  [[nodiscard]] const std::string& id(int i) const { return ids_.at(static_cast<std::size_t>(i)); }
  // redis+cluster://127.0.0.1:<node 0's port> (one seed is enough).
  [[nodiscard]] std::string url() const;
  // The node that serves `slot` now (by node 0's CLUSTER SHARDS); -1 if none.
  [[nodiscard]] int owner_of(int slot);
  // Moves an empty slot to node `to` for good: CLUSTER SETSLOT <slot> NODE <id> on every node.
  void move_empty_slot(int slot, int to);
  // Moves `slot` with its keys from primary `from` to primary `to`, as
  // `redis-cli --cluster reshard` does: IMPORTING at `to`, MIGRATING at
  // `from`, MIGRATE of its keys in batches of `batch`, then SETSLOT NODE at
  // both and every other primary. Meanwhile clients get ASK and TRYAGAIN.
  void migrate_slot(int slot, int from, int to, int batch = 10);
  // Waits until node `node` is a primary serving slots by every live node's
  // view (after a failover); throws std::runtime_error after `timeout`.
  void wait_primary(int node, std::chrono::milliseconds timeout);

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::string> ids_;
};

}  // namespace steadfast::test
