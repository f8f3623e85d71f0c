// One event loop that drives every HTTP transfer of the process: libcurl's
// multi-socket interface on a level-triggered epoll set, on one thread of its
// own. A transfer holds a curl easy handle and two callbacks, never a thread,
// so a worker keeps thousands in flight; connections to the same host are
// reused across transfers (a transfer opts out with CURLOPT_FRESH_CONNECT and
// CURLOPT_FORBID_REUSE). Transfers are spread over 16 multi handles, each
// with a pool of its own: libcurl finds an idle connection by walking the
// host's pooled ones, which one pool of 5,000 made the loop's main cost.
//
// Why epoll and not the worker's Asio reactor: Asio registers descriptors
// edge-triggered and completes a wait only on an edge that comes while the
// wait is queued, so readiness seen while curl was waiting for the other
// direction (the response arriving in the same epoll round as the request's
// last write) would be lost and the transfer would hang until its timeout.
// Level-triggered epoll asks the kernel each round instead.
#pragma once

#include <curl/curl.h>

#include <functional>

namespace steadfast::steps {

class CurlLoop {
 public:
  // Called once, on the loop's thread, with the transfer's result
  // (CURLE_ABORTED_BY_CALLBACK when `cancelled` said so). The easy handle is
  // back with its owner by then (removed from the loop). Must not block.
  using Done = std::function<void(CURLcode)>;
  // Polled on the loop's thread about every 50 ms while the transfer runs;
  // true stops it. Must not block.
  using Cancelled = std::function<bool()>;

  // The process's loop, started on first use; it lives until the process
  // exits. Throws std::runtime_error if it cannot be made (no curl multi
  // handle, no epoll or eventfd descriptor).
  static CurlLoop& shared();

  // Starts a transfer. Thread-safe. `easy` is fully set up and stays valid
  // and untouched by the caller until `done` runs.
  void start(CURL* easy, Cancelled cancelled, Done done);

  // Transfers started and not yet done. Thread-safe.
  [[nodiscard]] int active() const noexcept;

  CurlLoop(const CurlLoop&) = delete;
  CurlLoop& operator=(const CurlLoop&) = delete;

 private:
  struct State;
  explicit CurlLoop(State* state) : state_(state) {}
  ~CurlLoop() = default;  // never destroyed: transfers may end while the process exits

  State* state_;
};

}  // namespace steadfast::steps
