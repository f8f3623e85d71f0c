// Typed errors of the Redis client. Callers branch on the type (or on kind()):
// an IoError or TimeoutError may be retried on a fresh attempt, a ServerError is
// Redis refusing the command (its message verbatim), a ProtocolError means the
// byte stream is corrupt and the connection was dropped.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace steadfast::redis {

enum class ErrorKind {
  io,        // connect/read/write failed or the connection was lost with the command in flight
  timeout,   // no reply within the command's timeout (the command may still run on the server)
  server,    // an error reply from Redis: "ERR ...", "WRONGTYPE ...", "NOSCRIPT ...", "WRONGPASS ..."
  protocol,  // the server sent bytes that are not RESP; the connection is closed
  closed,    // the client was closed by its owner
};

std::string_view to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(ErrorKind::io, message) {}

 protected:
  IoError(ErrorKind kind, const std::string& message) : Error(kind, message) {}
};

// A command that was never written to the connection, so it did not run: the
// connection was lost, or could not be made, while it waited to be sent
// (only with CommandOptions::unsent_fails). Safe to send again, elsewhere.
class NotSentError : public IoError {
 public:
  explicit NotSentError(const std::string& message) : IoError(message) {}
};

// A timeout is an I/O failure (catching IoError catches it too), with its own kind.
class TimeoutError : public IoError {
 public:
  explicit TimeoutError(const std::string& message) : IoError(ErrorKind::timeout, message) {}
};

class ProtocolError : public Error {
 public:
  explicit ProtocolError(const std::string& message) : Error(ErrorKind::protocol, message) {}
};

class ClosedError : public Error {
 public:
  explicit ClosedError(const std::string& message) : Error(ErrorKind::closed, message) {}
};

// Redis' own error reply. what() is the message as Redis sent it.
class ServerError : public Error {
 public:
  explicit ServerError(const std::string& message) : Error(ErrorKind::server, message) {}
  // The first word of the message: "ERR", "NOSCRIPT", "WRONGPASS", "NOGROUP", "OOM", ...
  [[nodiscard]] std::string_view prefix() const noexcept {
    std::string_view m = what();
    return m.substr(0, m.find(' '));
  }
  // "Not now" rather than "broken": nothing was written, and the same command
  // may succeed later on the same connection. The prefixes, as Redis 7 sends
  // them (a script's error carries the prefix of the command that failed in it):
  //   LOADING      loading its data set after a start
  //   OOM          maxmemory reached with noeviction
  //   BUSY         running a script or function past its time limit
  //   READONLY     a write sent to a replica: a primary demoted by FAILOVER or REPLICAOF
  //   UNBLOCKED    a blocked XREADGROUP/BLPOP/... ended by that demotion
  //   MASTERDOWN   a replica cut off from its primary (replica-serve-stale-data no)
  //   TRYAGAIN     a multi-key command during a cluster slot migration
  //   CLUSTERDOWN  the cluster cannot serve the slot now
  //   NOREPLICAS   fewer good replicas than min-replicas-to-write
  // Not transient: BUSYGROUP, BUSYKEY, NOGROUP, NOSCRIPT, NOAUTH, WRONGPASS, NOPERM, ERR, ...
  [[nodiscard]] bool transient() const noexcept {
    const std::string_view p = prefix();
    return p == "OOM" || p == "LOADING" || p == "BUSY" || p == "READONLY" || p == "UNBLOCKED" ||
           p == "MASTERDOWN" || p == "TRYAGAIN" || p == "CLUSTERDOWN" || p == "NOREPLICAS";
  }
};

}  // namespace steadfast::redis
