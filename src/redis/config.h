// Where and how to connect to Redis; parsed from a URL or filled in by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steadfast::redis {

struct TlsOptions {
  std::string ca_file;      // PEM bundle to verify the server with; empty = the system's store
  std::string cert_file;    // client certificate (PEM) for mutual TLS; empty = none
  std::string key_file;     // the client certificate's private key (PEM)
  bool verify_peer = true;  // false skips certificate verification (tests only)
  std::string server_name;  // SNI and the name checked in the certificate; empty = host
};

// A Redis Sentinel to ask for the current primary, or a cluster node to ask for the slot map.
struct SentinelAddress {
  std::string host;
  std::uint16_t port = 26379;
  friend bool operator==(const SentinelAddress&, const SentinelAddress&) = default;
};

struct Config {
  enum class Scheme { tcp, tls, unix_socket };

  Scheme scheme = Scheme::tcp;
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string path;      // unix socket path (Scheme::unix_socket)
  int db = 0;            // SELECTed after connecting when non-zero
  std::string user;      // ACL user; empty = "default" (AUTH with the password alone)
  std::string password;  // empty = no AUTH
  TlsOptions tls;        // used with Scheme::tls
  std::string client_name;  // CLIENT SETNAME after connecting; empty = none
  // Non-empty: host and port are not used; every connection first asks these
  // Sentinels, in order, for the primary of `master_name` (SENTINEL
  // get-master-addr-by-name), and a server whose ROLE is not master is not
  // used. A READONLY answer (the primary was demoted under us) closes the
  // connection, so the next one asks again. The Sentinels are asked in
  // plain TCP or TLS like the data connection, without AUTH.
  std::vector<SentinelAddress> sentinels;
  std::string master_name;
  // Non-empty: a Redis Cluster, found from these nodes (any of them; the
  // client reads the slot map from the first that answers CLUSTER SHARDS).
  // host, port and db are not used (a cluster has database 0 only).
  std::vector<SentinelAddress> cluster_nodes;

  // Time to establish TCP/TLS and finish the handshake (AUTH, SELECT). Zero = no limit.
  std::chrono::milliseconds connect_timeout{2000};
  // Default time a command may wait for its reply, including time spent queued
  // while (re)connecting. Zero = wait forever. Per-command options override it.
  std::chrono::milliseconds command_timeout{5000};
  // Reconnect backoff: the n-th consecutive failed attempt waits a random time in
  // [d/2, d] with d = min(reconnect_max, reconnect_initial * 2^n).
  std::chrono::milliseconds reconnect_initial{50};
  std::chrono::milliseconds reconnect_max{2000};

  // Parses redis://[user:password@]host[:port][/db], rediss://... (TLS),
  // unix:///path/to/socket[?db=N] and
  // redis+sentinel://[user:password@]host[:port][,host[:port]...]/MASTER_NAME[?db=N]
  // (rediss+sentinel://... with TLS; a Sentinel's port defaults to 26379) and
  // redis+cluster://[user:password@]host[:port][,host[:port]...] (rediss+cluster://
  // with TLS; a node's port defaults to 6379; no database).
  // Query options: db, ca, cert, key, insecure=1 (TLS only: skip
  // verification), sni, name.
  // Throws std::invalid_argument naming what is wrong, with the URL quoted
  // and never any part of its password (everything between "://" and the
  // last '@' shows as "***"; with userinfo, no part of the URL is echoed).
  static Config from_url(std::string_view url);

  // The URL with the password replaced by "***" (for logs and errors);
  // " (certificate verification off)" follows it for rediss://...?insecure=1.
  [[nodiscard]] std::string redacted_url() const;

  // The warning a process logs at start when TLS verification is off
  // (insecure=1), or nullopt.
  [[nodiscard]] std::optional<std::string> insecure_warning() const;
};

}  // namespace steadfast::redis
