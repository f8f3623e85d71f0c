// `steadfast serve`: the HTTP/1.1 API server (Boost.Beast, C++20 coroutines).
// One io_context thread owns the listener, every connection and the Redis
// client; handlers never block it (Redis calls and long polls are awaited).
//
// With tls_cert_file and tls_key_file it speaks HTTPS (TLS 1.2+, OpenSSL):
// the handshake must finish within header_timeout.
//
// A request with a body is routed and authenticated from its header alone,
// before any of the body is read (Service::screen).
//
// Limits: a request's header must arrive within header_timeout (this also
// closes keep-alive connections idle that long) and its body within
// body_timeout; headers over max_header_bytes get 431, bodies over max_body
// get 413 (refused from Content-Length before reading, and chunked bodies are
// cut at the limit); connections beyond max_connections get 503 and are
// closed. Memory is bounded by about max_connections * max_body.
//
// Thread-safety: run() on one thread; stop() and wait_listening() from any.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "config/workflows_file.h"

namespace steadfast::api {

struct ServerOptions {
  std::string host = "127.0.0.1";  // address to listen on ("0.0.0.0", "::1", ...)
  std::uint16_t port = 8080;       // zero = any free port (see wait_listening())
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "sf";
  int partitions = 0;  // must match the workers'; 0 = 1 on one Redis, 12 on a Redis Cluster
  // Bearer tokens file (api/tokens.h); empty = no authentication.
  std::string tokens_file;
  // PEM certificate chain and private key: HTTPS. Both empty = plain HTTP
  // (behind a TLS proxy, or on loopback); one without the other is an error.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::size_t max_body = std::size_t{1} << 20;       // bytes
  std::size_t max_header_bytes = std::size_t{16} << 10;  // request line + header fields
  int max_connections = 512;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds max_wait{std::chrono::seconds(60)};  // cap of ?wait=
  // Time a Redis command may take (including waiting for a reconnect) before
  // the request is answered 503. Zero = no limit.
  std::chrono::milliseconds redis_timeout{std::chrono::seconds(3)};
  // On stop: time in-flight requests get to finish before their connections are closed.
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(10)};
  // Cancelled runs expire this long after they end.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  // How long this server holds a bulk job (POST /v1/runs:bulk) without
  // recording a page: if it dies, another `serve` goes on after this long.
  std::chrono::milliseconds bulk_lease{std::chrono::seconds(30)};
  // Callback URLs of signal waits: POST /v1/callbacks/{run}/{step}/{token}
  // is answered only with a signing key file (engine/callback_signing.h),
  // the one the workers sign with; public_url is what the workers put in
  // the URLs (not needed here, checked when given). Empty = no callbacks (404).
  std::string public_url;
  std::string signing_key_file;
  // Acknowledged means replicated: a submit (single or batch) is answered
  // only once this many replicas have its runs (WAIT on the API's one Redis
  // connection, which holds the connection's later commands meanwhile), or
  // with 503 not-replicated naming the run(s) after wait_replicas_timeout
  // (at least 1 ms). 0 = answer once the primary has them.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_replicas_timeout{std::chrono::seconds(1)};
  // Run the cron scheduler (store/scheduler.h) beside the API, as workers do.
  bool run_scheduler = true;
  // Serve even when Redis' maxmemory-policy may evict keys (runs may be lost).
  bool allow_eviction = false;
  bool handle_signals = true;  // stop on SIGTERM/SIGINT while run() runs
};

class Server {
 public:
  // Compiles the workflows' input schemas and reads the tokens file and the
  // TLS certificate and key; throws std::invalid_argument (or
  // config::ConfigError) for bad options or files.
  Server(ServerOptions options, const config::WorkflowsFile& workflows);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens (warning when the address is not loopback and there are no
  // tokens), then connects to Redis (checking maxmemory-policy and
  // appendonly), registers the workflows and loads the scripts — waiting and
  // retrying, with a log line, while Redis is unreachable (meanwhile /readyz
  // and the routes that need Redis answer 503) — and serves until stop() or a
  // signal; then stops accepting, lets in-flight requests finish (up to
  // shutdown_timeout) and returns. Once set up, logs Redis going away and
  // coming back (rate-limited, engine::OutageLog). Throws std::runtime_error when it cannot
  // start (evicting Redis, refused AUTH, address in use).
  void run();

  // Begins the graceful shutdown. Thread-safe; idempotent.
  void stop();

  // Blocks until the server listens and Redis is set up and returns its port, or returns 0 if
  // run() failed or `timeout` passed first. Thread-safe.
  std::uint16_t wait_listening(std::chrono::milliseconds timeout);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steadfast::api
