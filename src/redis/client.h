// The asynchronous Redis client: one connection, auto-pipelined.
//
// Commands issued by any number of coroutines are appended to one output
// buffer and go out in one write per event-loop turn; replies are matched in
// order. Commands issued while (re)connecting wait in the queue, up to their
// timeout. When the connection is lost, every command already written fails
// with IoError (it may or may not have run); the client reconnects with capped
// exponential backoff and jitter and sends the commands that were never written.
//
// With a redis+cluster:// Config, a Client is a router over one such
// connection per cluster node (cluster_router.h): the same calls, commands
// split by slot and replies in order.
//
// Blocking commands (XREADGROUP ... BLOCK, BLPOP) stall every command behind
// them on the same connection: give them a Client of their own.
//
// Thread-safety: a Client is bound to the executor it was made with; call
// every method from that executor's thread (a single-threaded io_context, or a
// strand). The destructor may run anywhere the executor is not running.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/config.h"
#include "redis/error.h"
#include "redis/pipeline.h"
#include "redis/reply.h"
#include "redis/script.h"

namespace steadfast::redis {

namespace asio = boost::asio;

struct CommandOptions {
  // How long to wait for the reply(ies), from the moment of the call.
  // Negative = the client's Config::command_timeout; zero = wait forever.
  std::chrono::milliseconds timeout{-1};
  // false: a command not yet written when the connection is lost waits for
  // the next connection (up to its timeout). true: it fails at once with
  // NotSentError, and so does one issued while a reconnect is failing — for
  // a caller that can send it elsewhere (the cluster router, to the replica
  // that took a dead primary's slots over). Through a cluster router it
  // means the same to its caller: a pipeline for one primary that cannot be
  // reached, or has left a command unanswered for 1 s (hung), or a slot no
  // primary serves, fails at once with NotSentError instead of waiting for a
  // replica's promotion, and nothing was sent.
  bool unsent_fails = false;
};

struct ClientStats {
  std::uint64_t commands = 0;    // commands queued, including script loads
  std::uint64_t writes = 0;      // socket writes (commands / writes = pipelining depth)
  std::uint64_t connects = 0;    // successful connections, the first one included
  std::uint64_t timeouts = 0;    // commands failed with TimeoutError
  // Through Sentinels: connections closed because a +switch-master moved the
  // primary elsewhere.
  std::uint64_t switches = 0;
};

class ClusterRouter;

// A redis+cluster:// client's redirects (Client::cluster_stats).
struct ClusterStats {
  std::uint64_t moved = 0;      // MOVED replies followed
  std::uint64_t ask = 0;        // ASK replies followed
  std::uint64_t retried = 0;    // TRYAGAIN / CLUSTERDOWN replies waited out and sent again
  std::uint64_t map_reads = 0;  // slot maps read (CLUSTER SHARDS / SLOTS answered)
};

class Client {
 public:
  Client(asio::any_io_executor executor, Config config);
  ~Client();  // close()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts connecting in the background; returns at once. Idempotent.
  void start();

  // Waits until connected (starting if needed). Throws the error of the latest
  // attempt (ServerError for a refused AUTH, IoError for an unreachable server)
  // once `timeout` passes without a connection; zero = the connect_timeout.
  asio::awaitable<void> wait_connected(std::chrono::milliseconds timeout = {});

  // Runs the commands in one write; one reply per command, in order. Error
  // replies are returned as Reply::Type::error values, not thrown (other
  // commands of the batch may have run). Throws IoError, TimeoutError,
  // ClosedError, ProtocolError.
  asio::awaitable<std::vector<Reply>> exec(Pipeline pipeline, CommandOptions options = {});

  // Runs one command; an error reply is thrown as ServerError.
  asio::awaitable<Reply> exec_one(Pipeline single, CommandOptions options = {});

  template <typename... A>
  asio::awaitable<Reply> command(const A&... args) {
    Pipeline p;
    p.add(args...);
    return exec_one(std::move(p));
  }
  template <typename... A>
  asio::awaitable<Reply> command_with(CommandOptions options, const A&... args) {
    Pipeline p;
    p.add(args...);
    return exec_one(std::move(p), options);
  }

  // EVALSHA (loading the script first when needed); an error reply is thrown.
  asio::awaitable<Reply> eval(const Script& script, std::span<const std::string> keys,
                              std::span<const std::string> args, CommandOptions options = {});

  // Fails every queued and in-flight command with ClosedError and stops
  // reconnecting. Idempotent.
  void close();

  // On a cluster: connected to every primary of the slot map.
  [[nodiscard]] bool connected() const noexcept;
  // Commands can be served: connected, or on a cluster, the slot map known
  // and some primary connected. A command for a primary that cannot be
  // reached then waits in the router for a replica's promotion (or fails at
  // once with unsent_fails), while the other primaries' commands go on.
  [[nodiscard]] bool reachable() const noexcept;
  // How long the oldest command still waiting for its reply has waited
  // (zero if none; zero for a cluster client — its node clients each know
  // theirs). A server that hangs with the connection open shows here first.
  [[nodiscard]] std::chrono::milliseconds oldest_wait() const noexcept;
  // On a cluster: the primary that serves `key`'s slot is known to be down
  // (its connection lost and not back) or no primary serves it — a failover
  // under way. Always false on one server. For a caller free to put new data
  // elsewhere (a submit without an idempotency key picks another partition).
  [[nodiscard]] bool key_unreachable(std::string_view key) const noexcept;
  // On a cluster: "host:port" of the primary that serves `key`'s slot in the
  // current map; empty before the map is read or while no primary serves
  // it. Always empty on one server. For a caller that spreads its calls over
  // the primaries (a worker's claims: one per primary in flight).
  [[nodiscard]] std::string key_primary(std::string_view key) const;
  // The latest connection error ("Connection refused", "WRONGPASS ..."), empty if none.
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] ClientStats stats() const noexcept;
  [[nodiscard]] const Config& config() const noexcept;
  [[nodiscard]] asio::any_io_executor executor() const noexcept;

  // A redis+cluster:// client.
  [[nodiscard]] bool is_cluster() const noexcept { return cluster_ != nullptr; }
  // Runs the pipeline on every primary (every cluster node that serves slots;
  // the one server otherwise): one vector of replies per primary. For keyless
  // operator commands: INFO, CONFIG, SCAN, SCRIPT FLUSH.
  asio::awaitable<std::vector<std::vector<Reply>>> exec_on_primaries(Pipeline pipeline, CommandOptions options = {});
  // Every key matching the glob `pattern`, by SCAN (COUNT 1000) over every
  // primary in turn. For operator tools (doctor, cleanup, upgrades), never a
  // request path: O(keys in the database).
  asio::awaitable<std::vector<std::string>> scan_keys(std::string pattern);
  // Cluster redirects followed (zero for one server).
  [[nodiscard]] ClusterStats cluster_stats() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;                // one server (null for a cluster)
  std::shared_ptr<ClusterRouter> cluster_;    // a cluster (null for one server)
};

}  // namespace steadfast::redis
