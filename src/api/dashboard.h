// GET /ui/...: the web dashboard's files, from the binary (web_assets.h).
// The dashboard is a single page using hash routes (/ui/#/runs), so only the
// files themselves are served; /ui/ is index.html.
#pragma once

#include <string_view>

#include "api/http.h"

namespace steadfast::api {

// The policy every /ui/ answer carries: the page loads only its own script
// and style, talks only to this origin, and cannot be framed.
inline constexpr std::string_view kDashboardCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The answer to GET /ui/<file> (`file` is the path after /ui/, undecoded;
// empty = index.html): the file with its content type, ETag, Cache-Control
// no-cache (revalidated each load, a 304 when unchanged: file names carry no
// hash) and the security headers; 304 when If-None-Match names its ETag;
// a problem+json 404 for an unknown file.
[[nodiscard]] Response dashboard_file(const Request& request, std::string_view file);

}  // namespace steadfast::api
