// The checks behind `steadfast doctor`: invariant 1 (every live run holds
// exactly one token — a stream entry, a delayed-set member, or, for a failed
// run, a dead-letter entry), every live run's stream entry deliverable, and
// no stream entry left without its run; with repair, the safe fixes. Plain
// results; printing is the CLI's.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "store/store.h"

namespace steadfast::store {

// One broken invariant.
struct Offender {
  enum class Kind {
    run,           // a run holding the wrong number of tokens: `tokens` tells where they are
    orphan_entry,  // a stream entry its run does not point at: `stream`, `entry`
    // a live run whose token is a stream entry (`stream`, `entry`) at or below
    // the group's last-delivered id and claimed by no worker: XREADGROUP never
    // returns it again (a second Redis on the same AOF, an XGROUP SETID)
    undeliverable,
    // a step (`entry`: its name, or "step[k]") waiting for its child run
    // (`stream`: the child's id) that has ended or is gone, with no wake-up
    // due (lib.lua's "Child runs"): it would wait for ever
    child_wait
  };
  Kind kind = Kind::run;
  // The run (for an orphan entry, the run the entry names; empty if it names none).
  std::string run_id;
  // What is wrong, one sentence ("live run has no token (it would never finish)").
  std::string problem;
  RunTokens tokens;    // Kind::run, Kind::undeliverable
  std::string stream;  // Kind::orphan_entry, Kind::undeliverable: the stream key; Kind::child_wait: the child
  std::string entry;   // Kind::orphan_entry, Kind::undeliverable: the entry id; Kind::child_wait: the step
  // What repair did, one sentence; empty when nothing was repaired.
  std::string repaired;
};

struct DoctorReport {
  std::size_t runs = 0;  // run hashes examined (those expiring mid-scan not counted)
  std::vector<Offender> offenders;
};

// Examines every run and every queue stream under the store's key prefix.
// With repair, applies the safe fixes and says so in Offender::repaired:
//   * a live run (queued, running, retrying) with no token at all, or whose
//     only token is undeliverable, is given one new token at its current step
//     (re_enqueue; at-least-once, so the step may run again) and set to queued;
//   * an orphan entry no worker has claimed (not in the PEL) is deleted.
// Nothing else is changed: the other offenders need a person.
asio::awaitable<DoctorReport> examine(Store& store, bool repair);

// At most this many runs per repair script call: one call never holds Redis
// for long, however many runs need repair.
inline constexpr std::size_t kRepairBatch = 500;

// Gives each run (all of `partition`) a new token at its current step if it
// still needs one when the script runs (repair.lua re-checks: live, no timer,
// no dead-letter entry, no claimed or deliverable stream entry), so two
// repairs at once give a run one token. Per run, in order: "repaired:<step>"
// or "skipped:<why>" (gone, finished, has_token, moved).
asio::awaitable<std::vector<std::string>> re_enqueue(Store& store, int partition,
                                                     const std::vector<std::string>& run_ids);

}  // namespace steadfast::store
