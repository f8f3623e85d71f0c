// Promised slots: what a claim in flight holds of a worker's concurrency,
// and how much one call beside the partitioned fetch loop may promise.
//
// Free slots promised to a claim in flight (a read, claim.lua, a reclaim
// page): counted in the worker's `reserved` until the claim has handed its
// entries a slot each (Worker::Impl::reserve_slots) or come back without
// them, so that no other claim meanwhile takes the same slots (invariant 6:
// a worker never holds more than its concurrency).
//
// Not thread-safe: used on the worker's event loop only. `reserved` must
// outlive the promise.
#pragma once

#include <algorithm>

namespace steadfast::worker {

class SlotPromise {
 public:
  SlotPromise(int& reserved, int n) : reserved_(reserved), n_(0) { add(n); }
  ~SlotPromise() { release(); }
  SlotPromise(const SlotPromise&) = delete;
  SlotPromise& operator=(const SlotPromise&) = delete;

  // The slots promised now.
  [[nodiscard]] int held() const noexcept { return n_; }
  // Promises `n` more (n <= 0: none).
  void add(int n) {
    n = std::max(n, 0);
    reserved_ += n;
    n_ += n;
  }
  // Gives back `n` of them (at most all).
  void release(int n) {
    n = std::clamp(n, 0, n_);
    reserved_ -= n;
    n_ -= n;
  }
  void release() { release(n_); }

 private:
  int& reserved_;
  int n_;
};

// How many slots a claim beside the fetch loop of a worker with
// `concurrency` slots, on a cluster of `primaries` primaries, promises
// (fetch_loop_partitioned: one claim per primary in flight).
//
// At most all but one primary's share, c − max(1, c/P) (at least 1; all of
// it on one primary, where nothing else could go on anyway): a call written
// to a primary that then hangs holds its promise until it gives up (2 s),
// and the other primaries go on with the rest meanwhile. And, while another
// claim has been in flight for a moment only (its answer due: the caller
// decides), at least one primary's share, max(1, c/P): claims of whatever
// few slots were free made batches half as large — twice the claim.lua
// calls, XACKs and outcome pipelines per step — for no gain.
struct ClaimSize {
  int most = 0;
  int least_beside_another = 0;
};
[[nodiscard]] inline ClaimSize claim_size(int concurrency, int primaries) {
  if (primaries <= 1) return ClaimSize{concurrency, 1};
  const int share = std::max(1, concurrency / primaries);
  return ClaimSize{std::max(1, concurrency - share), share};
}

}  // namespace steadfast::worker
