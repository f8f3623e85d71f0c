// The Redis Cluster side of redis::Client (a redis+cluster:// URL): one
// auto-pipelined Client per node, and a slot map read with CLUSTER SHARDS
// (CLUSTER SLOTS before Redis 7).
//
// A pipeline is split by the node that owns each command's slot
// (slot.h: route_of); the parts go out at once, one write per node, and
// the replies are put back in the pipeline's order. A keyless command goes to
// the node of the pipeline's first keyed command, or to the first primary.
// WAIT goes to every node the earlier commands of its pipeline went to
// (again after any of them that a redirect sent elsewhere), and answers the
// smallest count.
//
// Redirects are followed, for commands that did not run: MOVED (the slot is
// remapped at once and the map read again in the background), ASK (ASKING and
// the command once, at the node named), TRYAGAIN and CLUSTERDOWN (waited out
// with backoff, up to the command's timeout), at most kMaxRedirects times per
// command; after that the error reply is the answer. A command for a primary
// whose connection is lost is not handed to it (nor kept by it, unwritten:
// CommandOptions::unsent_fails): it waits the same way, the map read again,
// until a replica has taken the slot over or the connection is back
// (TimeoutError at the deadline, the command unsent) — unless the caller
// asked for unsent_fails itself: then the pipeline fails at once with
// NotSentError, nothing sent, so a worker's loop goes on with the partitions
// of the live primaries and asks again later. For such a caller a primary
// that has left a command unanswered for 1 s (kHungAfter: stopped, or cut
// off with the connection open) counts as unreachable too. A command already
// written when a connection drops fails with IoError and is never sent again
// (the map is read again for the next commands), exactly as with one server.
//
// Thread-safety: as Client (one executor's thread).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "redis/client.h"

namespace steadfast::redis {

// One node of the map, as CLUSTER SHARDS names it.
struct ClusterNode {
  std::string host;
  std::uint16_t port = 0;
  bool primary = false;
  friend bool operator==(const ClusterNode&, const ClusterNode&) = default;
};

// The slot map: for each of the 16384 slots, the index of its primary in
// `nodes` (-1 when no node serves it).
struct SlotMap {
  std::vector<ClusterNode> nodes;
  std::vector<std::int16_t> owner = std::vector<std::int16_t>(16384, -1);
};

// Parses a CLUSTER SHARDS reply (integer or string slot bounds; an empty
// endpoint means `asked_host`; TLS takes the node's tls-port). Pure; throws
// ProtocolError on a reply of another shape.
[[nodiscard]] SlotMap parse_cluster_shards(const Reply& reply, const std::string& asked_host, bool tls);
// Parses a CLUSTER SLOTS reply likewise.
[[nodiscard]] SlotMap parse_cluster_slots(const Reply& reply, const std::string& asked_host);

class ClusterRouter : public std::enable_shared_from_this<ClusterRouter> {
 public:
  static constexpr int kMaxRedirects = 16;

  ClusterRouter(asio::any_io_executor executor, Config config);
  ~ClusterRouter();

  void start();
  asio::awaitable<void> wait_connected(std::chrono::milliseconds timeout);
  asio::awaitable<std::vector<Reply>> exec(const Pipeline& pipeline, CommandOptions options);
  // Runs the pipeline on every primary of the map, in the map's order; one
  // vector of replies per primary.
  asio::awaitable<std::vector<std::vector<Reply>>> exec_on_primaries(const Pipeline& pipeline, CommandOptions options);
  // Client::scan_keys over every primary of the map, one after another.
  asio::awaitable<std::vector<std::string>> scan_keys(std::string pattern);
  void close();

  [[nodiscard]] bool connected() const noexcept;  // to every primary of the map
  [[nodiscard]] bool reachable() const noexcept;  // the map known, some primary connected
  // Known to be down: the slot's primary lost its connection (and a reconnect
  // failed since), or has not answered a command for kHungAfter (1 s), or no
  // primary serves it. False before the map is read.
  [[nodiscard]] bool slot_unreachable(int slot) const noexcept;
  // "host:port" of the slot's primary in the map; empty before the map, or with none.
  [[nodiscard]] std::string slot_primary(int slot) const;
  [[nodiscard]] std::string last_error() const;
  // Summed over the nodes' connections.
  [[nodiscard]] ClientStats stats() const noexcept;
  [[nodiscard]] ClusterStats cluster_stats() const noexcept { return cluster_stats_; }
  [[nodiscard]] const Config& config() const noexcept { return config_; }
  [[nodiscard]] asio::any_io_executor executor() const noexcept { return ex_; }
  // "host:port" of each primary in the current map, sorted; empty before the first map.
  [[nodiscard]] std::vector<std::string> primaries() const;

 private:
  struct Node;
  struct Group;

  Node& node(const std::string& host, std::uint16_t port);
  // Reads the map from a known node or a seed; one read at a time (others wait for it).
  asio::awaitable<void> read_map(std::chrono::steady_clock::time_point deadline);
  asio::awaitable<void> ensure_map(std::chrono::steady_clock::time_point deadline);
  void read_map_soon();
  void apply(const SlotMap& map);
  Node* owner(int slot) noexcept;
  Node* any_primary() noexcept;
  // One group's replies, or why it has none.
  struct GroupResult {
    std::vector<Reply> replies;
    std::exception_ptr error;
  };
  asio::awaitable<std::vector<GroupResult>> run_groups(std::vector<Group>& groups, CommandOptions options);

  asio::any_io_executor ex_;
  Config config_;
  std::vector<std::unique_ptr<Node>> nodes_;     // every node ever seen; never shrinks
  std::array<Node*, 16384> owner_{};             // nullptr: no known primary
  std::vector<Node*> primaries_;                 // of the current map
  bool have_map_ = false;
  bool reading_map_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_map_read_{};
  asio::steady_timer map_read_done_;
  std::string last_error_;
  ClusterStats cluster_stats_;
};

}  // namespace steadfast::redis
