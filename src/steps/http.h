// The `http` step kind: one HTTP request per attempt (libcurl).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/json.h"
#include "steadfast/step.h"

namespace steadfast::steps {

// `with`:
//   method              GET (default), POST, PUT, PATCH, DELETE, HEAD, OPTIONS
//   url                 template, required; http:// or https:// only. Values are
//                       percent-encoded for the part they land in and cannot
//                       change a scheme, host or port the template names
//                       (steps/url_template.h)
//   headers             {Name: template}; Idempotency-Key (<run>:<step>),
//                       Accept (application/json) and, with a body, Content-Type
//                       (application/json) are added unless given here
//   body                any JSON, templated (engine/template.h), sent as JSON
//   timeout             duration of the whole request, default 30s (1ms..24h)
//   extract             JSON pointer into the response; its value is the output
//   max_response_bytes  default 1 MiB (1..64 MiB); a longer body is fatal
//   allow_hosts         [host name, address or range]: what a URL whose host
//                       came from the run may reach although it is loopback,
//                       private, link-local, unique-local or the Redis server
//
// A URL whose host comes from the run's input or an earlier output (not
// named by the template's fixed prefix) connects straight (no proxy), and
// every address it connects to is checked (steps/address_policy.h): a
// refused one fails the attempt (fatal), naming the address and why.
//
// Outcome of an attempt:
//   2xx    output = the JSON response (or the value at `extract`; missing = fatal);
//          a body that is not JSON gives {"text", "status", "content_type"}
//   429    rate_limited, after Retry-After (seconds or HTTP-date; absent = 0)
//   408, 5xx, connection errors, timeouts
//          retryable, after at least Retry-After when the response has one
//   other  fatal: the status and the first 512 bytes of the body
// Values read through ${...} are secrets: they are replaced by *** in every
// error message and in the output. Redirects are not followed (3xx is fatal).
// The transfer stops within about 50 ms of ctx.cancelled().
//
// Every attempt of the process runs on one event loop (steps/curl_loop.h):
// no thread per call, and connections to a host the template names are kept
// and reused (a URL whose host came from the run gets a connection of its own).
[[nodiscard]] AsyncStepHandler http_async_kind(const Json& with);

// The same, blocking the calling thread until the attempt ends.
[[nodiscard]] StepHandler http_kind(const Json& with);

// The worker's part of the request-forgery checks, for every http step of the
// process: `allow_hosts` entries as in the step's allow_hosts (--allow-hosts),
// and the Redis server's host, whose addresses (resolved now) a URL from the
// run never reaches. Throws std::invalid_argument for a bad entry. Call before
// steps run; without a call nothing extra is allowed and no Redis address is known.
void set_http_network_policy(const std::vector<std::string>& allow_hosts, const std::string& redis_host);

// Parses a Retry-After value: delay-seconds ("120") or an HTTP-date, relative
// to `now`. Unparsable, empty or past = zero; capped at 24 hours.
[[nodiscard]] std::chrono::milliseconds parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace steadfast::steps
