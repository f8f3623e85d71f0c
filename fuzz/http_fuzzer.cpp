// Raw bytes as what a client sends on one connection (pipelined HTTP/1.1
// requests), through everything `steadfast serve` does with them short of
// Redis:
//   * Beast's request parser with the server's limits, header first (413 from
//     Content-Length before the body), then the body, and the server's answers
//     to read errors (400, 413, 431), as in server.cpp: serve_connection;
//   * Service::handle: the router, methods, bearer tokens and query parsing,
//     once without and once with a tokens file. Its Redis client is never
//     connected, so the routes that need Redis answer 503 after routing;
//   * for a POST, submit_request (what a submit checks before Redis: media
//     type, JSON depth and shape, size, input_schema, Idempotency-Key)
//     against each served workflow;
//   * every answer written as Beast writes it (server.cpp: write).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include "api/problem.h"
#include "api/service.h"
#include "api/tokens.h"
#include "config/workflows_file.h"
#include "redis/client.h"
#include "store/store.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace steadfast;

// The server's header limit (ServerOptions); a body limit small enough for
// the fuzzer to cross.
constexpr std::size_t kMaxHeaderBytes = std::size_t{16} << 10;
constexpr std::size_t kMaxBody = std::size_t{64} << 10;
constexpr int kMaxRequests = 16;  // per input

constexpr std::string_view kWorkflows = R"yaml(
workflows:
  greet:
    input_schema:
      type: object
      required: [name]
      additionalProperties: false
      properties:
        name: {type: string, minLength: 1, maxLength: 64, pattern: "^\\w[\\w -]*$"}
        times: {type: integer, minimum: 1, maximum: 10}
        tags: {type: array, items: {type: string}, uniqueItems: true, maxItems: 5}
        mode: {enum: [fast, slow]}
    steps:
      - {name: hello, kind: noop}
  anything:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: noop, queue: other}
)yaml";

// SHA-256 of "fuzz-submit-token" and "fuzz-admin-token" (in the dictionary).
constexpr std::string_view kTokens =
    "sha256:f0906e4461359e8584585e9f69ad571f7f179e75fec3896dbc99ce765b403556 submit fuzz\n"
    "sha256:fb5f5fe58160617e1487667a8133f89a396f563247c75a8e2824af6e08a810fc admin fuzz\n";

api::ServiceOptions service_options() {
  api::ServiceOptions o;
  o.max_body = kMaxBody;
  return o;
}

struct Fixture {
  config::WorkflowsFile file = config::parse_workflows(kWorkflows, "fuzz.yaml");
  asio::io_context io{1};
  redis::Client redis{io.get_executor(), redis::Config{}};  // never started
  store::Store store{redis, store::KeySpace()};
  api::Service open{redis, store, api::serve_workflows(file), api::Tokens{}, service_options()};
  api::Service guarded{redis, store, api::serve_workflows(file), api::Tokens::parse(kTokens, "tokens"),
                       service_options()};
  std::vector<api::ServedWorkflow> served = api::serve_workflows(file);
};

Fixture& fixture() {
  static Fixture* f = [] {
    spdlog::set_level(spdlog::level::off);
    return new Fixture();
  }();
  return *f;
}

std::string_view method_label(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "other";
}

// As server.cpp's write(): the bytes of the answer.
std::string written(api::Response r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  if (api::reason_phrase(r.status) != "Unknown") res.reason(api::reason_phrase(r.status));
  res.set(http::field::server, "steadfast");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.set(name, value);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.body().clear();
  std::ostringstream out;
  out << res;
  return std::move(out).str();
}

api::Response handle(api::Service& service, const api::Request& request) {
  Fixture& f = fixture();
  api::Response response;
  asio::co_spawn(f.io, service.handle(request), [&](std::exception_ptr e, api::Response r) {
    if (e) std::rethrow_exception(e);  // handle() must never throw
    response = std::move(r);
  });
  f.io.restart();
  f.io.run();
  return response;
}

// As server.cpp's answer_read_error: the answer to a failed read, if any.
std::optional<api::Response> read_error_answer(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return api::problem(413, "payload-too-large", "the body exceeds " + std::to_string(kMaxBody) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return api::problem(431, "header-too-large", "the request line and header fields are too large");
  }
  if (ec.category() == make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return api::problem(400, "bad-request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < kMaxRequests && !rest.empty(); ++i) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    parser.body_limit(kMaxBody);
    beast::error_code ec;
    // The header (async_read_header stops there), then the body (async_read is eager).
    bool header = true;
    while (!parser.is_done()) {
      parser.eager(!header);
      const std::size_t n = parser.put(asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(n);
      if (ec == http::error::need_more) {
        ec = {};
        if (n == 0 || rest.empty()) {
          // The input ends inside the message: the server would see the end
          // of the stream (or its timeout) and close without an answer.
          parser.put_eof(ec);
          break;
        }
        continue;
      }
      if (ec || n == 0) break;
      if (header && parser.is_header_done()) {
        header = false;
        if (!parser.is_done()) {
          if (const auto length = parser.content_length(); length && *length > kMaxBody) {
            (void)written(api::problem(413, "payload-too-large", "too large"), parser.get().version(), false,
                          false);
            return 0;
          }
        }
      }
    }
    if (ec || !parser.is_done()) {
      if (auto answer = read_error_answer(ec)) (void)written(std::move(*answer), 11, false, false);
      return 0;
    }

    auto& message = parser.get();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == http::verb::head;
    api::Request request;
    request.method = head ? "GET" : std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    const std::string method(method_label(message.method_string()));

    for (api::Service* service : {&f.open, &f.guarded}) {
      api::Response response = handle(*service, request);
      service->observe(response.route, method, response.status, 0.001);
      (void)written(std::move(response), version, keep_alive, head);
    }
    if (request.method == "POST") {
      for (const api::ServedWorkflow& wf : f.served) {
        auto checked = api::submit_request(request, wf, service_options());
        if (auto* refused = std::get_if<api::Response>(&checked)) {
          (void)written(std::move(*refused), version, keep_alive, false);
        }
      }
    }
    if (!keep_alive) break;
  }
  return 0;
}
