#include "steps/url_template.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "engine/quote.h"

namespace steadfast::steps {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
struct CurlFree {
  void operator()(char* p) const noexcept { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlFree>;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The part of a URL that text appended to `so_far` lands in.
enum class Part {
  origin,          // the scheme, or a host not begun yet: the value chooses them
  host_continued,  // a host already begun by the template
  component,       // path, query or fragment
};

Part part_after(std::string_view so_far) {
  const std::size_t scheme_end = so_far.find("://");
  if (scheme_end == std::string_view::npos) return Part::origin;
  const std::size_t authority = scheme_end + 3;
  if (so_far.find_first_of("/?#", authority) != std::string_view::npos) return Part::component;
  return authority == so_far.size() ? Part::origin : Part::host_continued;
}

// True when `prefix` holds a scheme and the start of a host.
bool names_origin(std::string_view prefix) {
  const std::size_t scheme_end = prefix.find("://");
  return scheme_end != std::string_view::npos && scheme_end > 0 && prefix.size() > scheme_end + 3;
}

bool is_dot_segment(std::string segment) {
  segment = lower(std::move(segment));
  std::string dots;
  for (std::size_t i = 0; i < segment.size();) {
    if (segment[i] == '.') {
      dots += '.';
      ++i;
    } else if (segment.compare(i, 3, "%2e") == 0) {
      dots += '.';
      i += 3;
    } else {
      return false;
    }
  }
  return dots == "." || dots == "..";
}

// The path of `url` (after the authority, before '?' or '#'), as written.
std::string_view raw_path(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const std::size_t start = url.find_first_of("/?#", scheme_end + 3);
  if (start == std::string_view::npos || url[start] != '/') return {};
  const std::size_t end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

bool has_dot_segment(std::string_view url) {
  std::string_view path = raw_path(url);
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const std::size_t next = path.find('/');
    if (is_dot_segment(std::string(path.substr(0, next)))) return true;
    if (next == std::string_view::npos) break;
    path.remove_prefix(next);
  }
  return false;
}

std::optional<std::string> part(CURLU* u, CURLUPart which, unsigned flags) {
  char* value = nullptr;
  if (curl_url_get(u, which, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
  const CurlString owned(value);
  return lower(value);
}

}  // namespace

std::string percent_encode_component(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

std::string url_origin(const std::string& url) {
  const std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
  const auto scheme = part(u.get(), CURLUPART_SCHEME, 0);
  const auto host = part(u.get(), CURLUPART_HOST, 0);
  const auto port = part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port || host->empty()) return {};
  return *scheme + "://" + *host + ":" + *port;
}

std::string url_host(const std::string& url) {
  const std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
  return part(u.get(), CURLUPART_HOST, 0).value_or("");
}

UrlTemplate UrlTemplate::parse(std::string_view text) {
  UrlTemplate t;
  t.template_ = engine::Template::parse(text);
  return t;
}

RenderedUrl UrlTemplate::render(const engine::TemplateContext& context, engine::Redactor& secrets) const {
  std::optional<std::string> prefix;  // rendered before the first {{...}}
  bool any_raw = false;
  const std::string url = template_.render_with(
      context, secrets, [&](std::string_view so_far, const engine::Template::Insertion& v) {
        if (!prefix) prefix = std::string(so_far);
        std::string text = v.value.is_string() ? v.value.get<std::string>()
                                               : v.value.dump(-1, ' ', false, Json::error_handler_t::replace);
        if (v.raw) any_raw = true;
        if (v.raw || v.encoded || part_after(so_far) == Part::origin) return text;
        return percent_encode_component(text);
      });
  RenderedUrl out{url, true};
  if (!prefix) return out;  // nothing from the run: the file's (or environment's) URL

  if (names_origin(*prefix)) {
    const std::string expected = url_origin(*prefix);
    const std::string got = url_origin(url);
    if (expected.empty() || got != expected) {
      throw engine::TemplateRenderError(
          "url: the rendered URL's scheme, host and port (" +
          (got.empty() ? std::string("not a valid URL") : engine::quote(got, 200)) +
          ") differ from those the template names (" +
          (expected.empty() ? engine::quote(*prefix, 200) + ", an incomplete host" : engine::quote(expected, 200)) +
          "); a value from the run cannot change where the request goes");
    }
  } else {
    out.trusted_origin = false;
  }
  if (!any_raw && has_dot_segment(url)) {
    throw engine::TemplateRenderError(
        "url: the rendered path holds a '.' or '..' segment; a value from the run cannot walk the path "
        "(use raw() if the workflows file means it)");
  }
  return out;
}

}  // namespace steadfast::steps
