// Plain HTTP request and response values: what the routes see and return.
// No Beast types here, so the routes compile without Beast's templates (they
// stay in server.cpp).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace steadfast::api {

// Whether the client of a request hung up while the request is handled (a
// long poll's answer would go nowhere). The server sets `gone` on its I/O
// thread and then calls `notify`, which a handler may set meanwhile.
struct ClientWatch {
  bool gone = false;
  std::function<void()> notify;
};

struct Request {
  std::string method;  // as received, e.g. "GET"
  std::string target;  // origin form as received: "/v1/runs?status=failed"
  // Header fields as received (names compared case-insensitively by header()).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set by the server for the routes whose answer may wait (a claim's long
  // poll); null otherwise.
  std::shared_ptr<ClientWatch> client;

  // The first field named `name` (case-insensitive), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::string body;
  // Label of the route that answered, for metrics ("/v1/runs/{id}"); bounded set.
  std::string route = "other";
};

}  // namespace steadfast::api
