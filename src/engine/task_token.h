// The token an external worker holds for a task step it claimed
// (docs/worker-protocol.md): the claim in Redis (stream entry, consumer,
// delivery count) and what the outcome's decision needs, signed with the
// shared signing key (engine/callback_signing.h's key file) so that it
// cannot be forged, altered, or moved to another run or step.
//
// Form: "<key id>.<payload>.<signature>": payload is base64url (no padding)
// of compact JSON; signature 64 lowercase hex digits of
// HMAC-SHA256(secret, "steadfast-task\n<payload>"). The first key signs,
// every key verifies (rotation as for callback URLs).
//
// Immutable once built; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/callback_signing.h"

namespace steadfast::engine {

struct TaskLimit {
  std::string limiter;
  std::string key;
  std::int64_t cost = 0;
  friend bool operator==(const TaskLimit&, const TaskLimit&) = default;
};

struct TaskToken {
  int partition = 0;
  std::string queue;
  std::string entry_id;
  std::string consumer;     // the PEL owner: "remote:<worker>"
  long long deliveries = 0;
  std::string run_id;
  std::string workflow;
  std::string step;         // as in the stream ("s" or a map item "s[3]")
  int attempt = 1;
  int budget_from = 0;
  int rate_limited = 0;
  std::int64_t waited_ms = 0;
  bool graph = false;
  std::int64_t item_index = -1;
  std::int64_t lease_ms = 0;
  // When the attempt times out (the step's timeout from its handover; Unix
  // ms by the handing `serve`'s clock); 0 = no timeout.
  std::int64_t deadline_ms = 0;
  std::string limit_holder;
  std::vector<TaskLimit> limits;
  friend bool operator==(const TaskToken&, const TaskToken&) = default;
};

class TaskTokenSigner {
 public:
  // Throws std::invalid_argument for no keys.
  explicit TaskTokenSigner(std::vector<SigningKey> keys);
  [[nodiscard]] std::string sign(const TaskToken& token) const;
  // The token's content when a key verifies its signature and the payload
  // is well formed; nullopt otherwise (the comparison takes the same time
  // wherever the first difference is).
  [[nodiscard]] std::optional<TaskToken> verify(std::string_view text) const;

 private:
  std::vector<SigningKey> keys_;
};

// base64url without padding, and back (nullopt for a character outside the
// alphabet or an impossible length).
[[nodiscard]] std::string base64url(std::string_view bytes);
[[nodiscard]] std::optional<std::string> from_base64url(std::string_view text);

}  // namespace steadfast::engine
