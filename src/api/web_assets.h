// The dashboard's built files (web/dist/), embedded in the binary at build
// time by embed_web.cmake: `serve` needs no files on disk and nothing from
// the network to serve /ui/.
#pragma once

#include <string_view>
#include <vector>

namespace steadfast::api {

struct WebAsset {
  std::string_view name;          // file name in web/dist/, e.g. "app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // strong ETag, quoted: "\"0123456789abcdef\""
  std::string_view body;
};

// Every embedded file; index.html among them.
[[nodiscard]] const std::vector<WebAsset>& web_assets();

}  // namespace steadfast::api
