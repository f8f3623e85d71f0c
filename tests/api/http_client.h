// A small blocking HTTP/1.1 client on plain sockets for the API tests: it can
// send exactly the bytes a hostile or slow client would (partial headers,
// endless chunked bodies) and read one Content-Length-framed answer.
//
// Thread-safety: none; one connection per thread (send and read may be on two
// threads only as the chunked-body test does: one sender, one reader).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "steadfast/json.h"

namespace steadfast::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  [[nodiscard]] std::string header(const std::string& lower_name) const;
  // The body parsed as JSON; null if it is not JSON.
  [[nodiscard]] Json json() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error.
  explicit HttpConnection(std::uint16_t port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends every byte; false if the peer closed or reset the connection.
  bool send(std::string_view bytes);
  // One answer, framed by Content-Length. Throws std::runtime_error on a
  // timeout or if the connection ends first.
  // `head`: the answer to a HEAD request (no body, whatever Content-Length says).
  HttpResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10), bool head = false);
  // Sends a request (Host and Content-Length added) and reads the answer.
  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = {},
                       const Headers& headers = {}, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True if the peer closes (EOF or reset) within timeout; bytes it sends meanwhile are dropped.
  bool wait_closed(std::chrono::milliseconds timeout);
  // shutdown(2) both ways: a send blocked on another thread returns.
  void shutdown();

 private:
  int fd_ = -1;
  std::string buffer_;  // received, not yet consumed
};

// One request on a fresh connection.
HttpResponse http(std::uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body = {}, const Headers& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A JSON POST (Content-Type: application/json).
HttpResponse post_json(std::uint16_t port, const std::string& target, const Json& body, Headers headers = {});

}  // namespace steadfast::test
