// Bearer tokens for the HTTP API, kept hashed. The tokens file has one token
// per line:
//
//   sha256:<64 hex digits> <role> [name] [rate=<n>/s|<n>/m] [max_live=<n>]
//
// where the hex is SHA-256 of the token's bytes, role is `submit` (submit runs,
// read everything), `admin` (also cancel, dead-letter replay and purge) or
// `worker` (the worker protocol of external workers, and nothing else), and
// name labels the token in logs. The quotas (api/quotas.h) bound what the
// token may submit: `rate` submits per second or minute (bursts of one
// second's worth), `max_live` runs not finished yet; absent = no bound. Blank
// lines and lines starting with # are ignored. Make a token and its line with:
//
//   token=$(openssl rand -hex 32)
//   echo "sha256:$(printf %s "$token" | sha256sum | cut -d' ' -f1) submit ci"
//
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steadfast::api {

enum class Role { submit, admin, worker };

// What a route needs. `worker`: the worker protocol (docs/worker-protocol.md),
// for worker tokens (which may use nothing else) and admin tokens.
enum class Access { read, submit, admin, worker };

[[nodiscard]] bool allows(Role role, Access access) noexcept;
[[nodiscard]] std::string_view to_string(Role role) noexcept;

// A token's submit quotas; zero = no bound.
struct Quota {
  std::int64_t per_minute = 0;  // submits admitted per minute (rate=50/s is 3000)
  std::int64_t burst = 1;       // submits that may go back to back: a second's worth, at least 1
  std::int64_t max_live = 0;    // runs submitted with the token and not finished yet
  [[nodiscard]] bool any() const noexcept { return per_minute > 0 || max_live > 0; }
};

struct Principal {
  Role role = Role::submit;
  std::string name;  // from the tokens file; may be empty
  // The first 16 hex digits of the stored SHA-256 (not of the token): names
  // the token's quota state in Redis, stable across restarts, not a secret.
  std::string id;
  Quota quota;
};

class Tokens {
 public:
  Tokens() = default;  // no tokens: authentication is off

  // Parses the file's text; throws std::invalid_argument "<path>:<line>: ..."
  // for a malformed line, an unknown role or a duplicate hash.
  static Tokens parse(std::string_view text, std::string_view path_for_errors);
  // Reads and parses a file; an unreadable file is std::invalid_argument too.
  static Tokens load(const std::string& path);

  [[nodiscard]] bool enabled() const noexcept { return !entries_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

  // The principal of an `Authorization` header value ("Bearer <token>"), or
  // nullopt for a missing, malformed or unknown token. The token's hash is
  // compared with every entry in constant time (CRYPTO_memcmp, no early exit).
  [[nodiscard]] std::optional<Principal> authenticate(std::optional<std::string_view> authorization) const;

 private:
  struct Entry {
    std::array<unsigned char, 32> hash{};
    Principal principal;
  };
  std::vector<Entry> entries_;
};

}  // namespace steadfast::api
