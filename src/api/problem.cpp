#include "api/problem.h"

namespace steadfast::api {

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

namespace {

Json problem_json(int status, std::string_view slug, std::string detail, std::string_view title) {
  return Json{{"type", "tag:steadfast,2025:" + std::string(slug)},
              {"title", title.empty() ? std::string(reason_phrase(status)) : std::string(title)},
              {"status", status},
              {"detail", std::move(detail)}};
}

Response make(int status, const Json& body) {
  Response r;
  r.status = status;
  r.content_type = std::string(kProblemContentType);
  // Invalid UTF-8 from a request (echoed in a detail) is replaced, never thrown.
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace

Response problem(int status, std::string_view slug, std::string detail, std::string_view title) {
  return make(status, problem_json(status, slug, std::move(detail), title));
}

Response validation_problem(std::string detail, const std::vector<FieldError>& errors) {
  Json body = problem_json(422, "invalid-input", std::move(detail), "Input does not match the schema");
  Json list = Json::array();
  for (const FieldError& e : errors) {
    Json item = {{"pointer", e.pointer}, {"detail", e.detail}};
    if (!e.keyword.empty()) item["keyword"] = e.keyword;
    list.push_back(std::move(item));
  }
  body["errors"] = std::move(list);
  return make(422, body);
}

Response json_response(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace steadfast::api
