// A keep-alive HTTP/1.1 load generator for `steadfast bench http`: the same
// POST over `connections` connections, either as fast as answers come back
// (closed loop: saturation) or at a fixed offered rate (open loop).
//
// Open-loop latency is measured from each request's *scheduled* send time, so
// a slow server is charged for the requests it delayed (no coordinated
// omission).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace steadfast::cli {

struct LoadSpec {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string target;        // "/v1/workflows/x/runs"
  std::string body;          // sent as application/json
  int connections = 32;
  std::chrono::milliseconds duration{5000};
  double rate_per_s = 0;     // 0 = closed loop (saturation)
};

struct LoadResult {
  std::int64_t requests = 0;     // answered (any status)
  std::int64_t ok = 0;           // 2xx
  std::int64_t errors = 0;       // non-2xx answers and broken connections
  double seconds = 0;            // wall time of the phase
  std::vector<double> latencies_ms;  // one per answered request
};

// Runs one phase on its own io_context (single thread). Throws
// std::runtime_error if no connection can be made.
LoadResult run_http_load(const LoadSpec& spec);

}  // namespace steadfast::cli
