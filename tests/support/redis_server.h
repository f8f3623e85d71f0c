// A private, throwaway redis-server for tests and benchmarks: its own temp
// folder (mkdtemp under /tmp), a free loopback port, stopped by PID (never by
// name) and its folder removed on destruction. Restartable on the same port
// and folder, so AOF data survives a kill + restart.
//
// Also run_process(), the harness' way to run a program to completion.
// Processes are proc::Child: spawned without a shell, signalled by PID only
// while unreaped, always reaped.
//
// Thread-safety: none; use a RedisServer from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proc/child.h"
#include "redis/reply.h"

namespace steadfast::test {

// Certificate and key files (PEM) for a TLS server.
struct TlsServerFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;        // CA that verifies client certificates (--tls-ca-cert-file)
  bool auth_clients = false;  // true = require a client certificate (mutual TLS)
};

struct RedisServerOptions {
  // Append-only file on; appendfsync is "always", "everysec" or "no".
  bool appendonly = false;
  std::string appendfsync = "everysec";
  // Unix socket (unixsocketperm 700); a relative path is inside the server's
  // folder ("redis.sock"). Empty = none, except that a TLS-only server gets
  // <dir>/redis.sock so the harness can PING it in plain text.
  std::string unix_socket;
  // TLS on the server's port, plain TCP off (--port 0 --tls-port P). Empty = plain TCP.
  std::optional<TlsServerFiles> tls;
  // Appended verbatim to the command line, e.g. {"--user", "alice", "on", ">secret",
  // "~*", "&*", "+@all"} or {"--aclfile", path}.
  std::vector<std::string> extra_args;
  // For the harness' own commands (readiness PING, call()) when the default user is off.
  std::string admin_user;
  std::string admin_password;
  // Time for the server to answer PING after a start; zero = 10 s.
  std::chrono::milliseconds start_timeout{0};
  // A one-node Redis Cluster (--cluster-enabled yes) that owns every slot: it
  // refuses a command or script whose keys hash to different slots (CROSSSLOT),
  // which a plain server lets through. Its port is below 55000 (the cluster bus
  // listens on port + 10000). A start waits for cluster_state:ok, about 2 s
  // after the process starts (Redis 7.0 holds a fresh master down for 2 s).
  bool cluster = false;
  // With cluster: false starts a node that owns no slot and is left alone
  // (RedisCluster joins its nodes and deals the slots).
  bool cluster_owns_every_slot = true;
};

// Creates a fresh folder /tmp/<prefix>XXXXXX (mkdtemp) and returns its path.
std::string make_temp_dir(std::string_view prefix = "steadfast-test-");

// A port that was free on 127.0.0.1 a moment ago (bind to port 0, read it back).
std::uint16_t free_port();

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal number
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH), no shell, and waits for it.
// Throws std::runtime_error if it cannot start or runs longer than timeout (it is
// then SIGKILLed by PID).
ProcessResult run_process(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Files made by make_test_certificates(); every certificate is valid for
// 127.0.0.1 and localhost.
struct TestCertificates {
  std::string ca_cert;      // the CA that signed the server and client certificates
  std::string ca_key;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // for mutual TLS
  std::string client_key;
  std::string other_ca_cert;  // an unrelated CA: verifying the server with it must fail
};

// Generates a self-signed CA plus server and client certificates (EC P-256) in
// dir with the openssl CLI. Throws std::runtime_error with openssl's output.
TestCertificates make_test_certificates(const std::string& dir);

class RedisServer {
 public:
  // Creates the folder and starts the server; throws std::runtime_error (with the
  // server's log) if it does not answer PING within the start timeout.
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();  // stop(), then removes the folder
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server again on the same port and folder (after stop() or kill()).
  // No-op if running.
  void start();
  // SIGTERM, then SIGKILL if it has not exited after grace; waits for it (waitpid).
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL, then waitpid: a crash, no AOF rewrite or fsync.
  void kill();
  // stop() then start(), same port and folder.
  void restart();
  // SIGSTOP / SIGCONT: a server that hangs (accepts connections, answers nothing).
  void pause();
  void resume();
  // Started and not yet reaped (a server that crashed counts until stop() or kill()).
  [[nodiscard]] bool running() const noexcept { return server_.pid() > 0 && !server_.reaped(); }
  // -1 when not running.
  [[nodiscard]] pid_t pid() const noexcept { return running() ? server_.pid() : -1; }

  // The TCP port: the TLS port for a TLS server.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // redis://127.0.0.1:PORT, or rediss://127.0.0.1:PORT?ca=<ca_file> for a TLS server.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  // The unix socket path, empty if none.
  [[nodiscard]] const std::string& unix_socket() const noexcept { return unix_socket_; }
  [[nodiscard]] std::string log_path() const { return dir_ + "/redis.log"; }
  // The server's log so far (stdout and stderr), for error messages.
  [[nodiscard]] std::string log() const;

  // Sends one command over a fresh blocking connection (plain TCP, or the unix
  // socket for a TLS server) and returns the reply; error replies are values.
  // For test setup (FLUSHALL, CLIENT PAUSE, CONFIG SET); throws std::runtime_error.
  redis::Reply call(std::initializer_list<std::string_view> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  redis::Reply call(const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  std::vector<std::string> command_line() const;
  void spawn();
  void wait_ready();
  void wait_cluster_ok(std::chrono::steady_clock::time_point deadline);
  bool ping_once() const;
  int connect_control(std::chrono::milliseconds timeout) const;
  void forget_server();

  RedisServerOptions options_;
  std::string dir_;
  std::string unix_socket_;
  std::uint16_t port_ = 0;
  proc::Child server_;
};

}  // namespace steadfast::test
