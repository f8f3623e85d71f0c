// What a parked node waits for (../shared/CONTRACTS.md §2): built by one pure
// function so every surface (status JSON, the HTTP API, the explorer) shows
// the same object.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "steadfast/json.h"

namespace steadfast::engine {

enum class WaitKind {
  retry,         // the next attempt's timer                      until
  sleep,         // a durable sleep                               until
  signal,        // a named signal (optionally with a timeout)    signal, until
  child,         // a child run to finish                         run_id, until (null)
  limiter,       // a limiter refused admission                   limiter, key (keyed limiters only), until
  fairness,      // an ordered queue's backlog                   key (fairness only), queue, until (null)
  max_parallel,  // the step's max_parallel is reached            until (null)
  queue_paused,  // its queue is paused                           queue, until
  no_worker,     // no live worker serves its queue               queue, until (null)
  scheduled,     // the run's future run_at                       until
  needs,         // its `needs` are not all finished              until (null)
};

[[nodiscard]] std::string_view to_string(WaitKind kind) noexcept;
[[nodiscard]] std::optional<WaitKind> parse_wait_kind(std::string_view text) noexcept;

// A node's wait. Fields its kind does not use must stay empty.
struct WaitingFor {
  WaitKind kind = WaitKind::needs;
  std::optional<std::int64_t> until;  // Unix ms (Redis TIME); nullopt = no known end
  std::string signal;                 // signal
  std::string limiter;                // limiter
  std::string key;                    // limiter (keyed), fairness
  std::string run_id;                 // child
  std::string queue;                  // fairness, queue_paused, no_worker
};

// null for nullopt (not waiting), else {"kind", "until" (RFC 3339 ms or null)}
// plus exactly the fields of its kind (see WaitKind). Throws
// std::invalid_argument naming the kind and field when a field its kind needs
// is empty, or one it does not use is set (`until` for retry, sleep and
// scheduled is required).
[[nodiscard]] Json waiting_for_json(const std::optional<WaitingFor>& wait);

// The run's waiting_for: the node wait that ends soonest. Waits with an
// `until` come before those without; ties go to the first in node order;
// nullopt when no node waits.
[[nodiscard]] std::optional<WaitingFor> soonest(std::span<const std::optional<WaitingFor>> nodes);

}  // namespace steadfast::engine
