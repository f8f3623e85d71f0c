#include "api/dashboard.h"

#include <string>

#include "api/problem.h"
#include "api/web_assets.h"

namespace steadfast::api {

namespace {

void add_security_headers(Response& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kDashboardCsp));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
}

// If-None-Match lists ETags separated by commas, or is "*" (RFC 9110 §13.1.2;
// weak comparison: a W/ prefix matches too).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  std::size_t start = 0;
  while (start <= if_none_match.size()) {
    std::size_t comma = if_none_match.find(',', start);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view tag = if_none_match.substr(start, comma - start);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

Response dashboard_file(const Request& request, std::string_view file) {
  if (file.empty()) file = "index.html";
  const WebAsset* found = nullptr;
  for (const WebAsset& asset : web_assets()) {
    if (asset.name == file) found = &asset;
  }
  Response r;
  if (found == nullptr) {
    r = problem(404, "not-found", "no such file of the dashboard");
  } else {
    r.headers.emplace_back("ETag", std::string(found->etag));
    r.headers.emplace_back("Cache-Control", "no-cache");
    const auto if_none_match = request.header("If-None-Match");
    if (if_none_match && etag_matches(*if_none_match, found->etag)) {
      r.status = 304;
    } else {
      r.content_type = std::string(found->content_type);
      r.body = std::string(found->body);
    }
  }
  add_security_headers(r);
  r.route = "/ui/";
  return r;
}

}  // namespace steadfast::api
