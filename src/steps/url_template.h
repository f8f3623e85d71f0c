// The `url` of an http step: a template whose {{...}} values cannot walk the
// request to another path or host (run input is untrusted, docs/security.md).
//
// Each {{...}} value is percent-encoded for the part of the URL it lands in,
// judged by everything rendered before it:
//   path, query, fragment   every byte but A-Z a-z 0-9 - . _ ~ is encoded, so
//                           '/', '?', '#', '&', '=', '@' cannot start another part
//   after a host already begun ("http://api.example.com{{x}}")
//                           encoded the same way: it cannot add '@', ':' or '/'
//   the scheme or host itself ("{{input.url}}", "https://{{input.host}}/")
//                           inserted as is: the host then comes from the run,
//                           and the request is checked where it connects
//                           (steps/address_policy.h)
// `{{raw(x)}}` is inserted as is anywhere; `{{urlencode(x)}}` is already
// encoded and is not encoded twice.
//
// After rendering:
//   - when the template's fixed prefix (its text and ${...} values before the
//     first {{...}}) names a scheme and host ("${DOCS_URL}/docs/{{id}}"), the
//     rendered URL's scheme, host and port must equal the prefix's;
//   - a path segment "." or ".." (or its %2E forms) is refused unless the
//     template uses raw(): servers and curl would remove it and walk up.
#pragma once

#include <string>
#include <string_view>

#include "engine/template.h"

namespace steadfast::steps {

struct RenderedUrl {
  std::string url;
  // True when the scheme, host and port come from the workflows file or the
  // worker's environment (no {{...}}, or a prefix naming them that the
  // rendered URL kept); false when run input or step outputs chose the host.
  bool trusted_origin = true;
};

class UrlTemplate {
 public:
  UrlTemplate() = default;
  // Throws engine::TemplateSyntaxError.
  [[nodiscard]] static UrlTemplate parse(std::string_view text);

  // Throws engine::TemplateRenderError naming what is wrong (never a secret's
  // value: the caller redacts messages with `secrets`).
  [[nodiscard]] RenderedUrl render(const engine::TemplateContext& context, engine::Redactor& secrets) const;

  [[nodiscard]] const engine::Template& text() const noexcept { return template_; }

 private:
  engine::Template template_;
};

// Percent-encodes every byte but the RFC 3986 unreserved A-Z a-z 0-9 - . _ ~.
[[nodiscard]] std::string percent_encode_component(std::string_view text);

// The scheme, host and port of `url` as libcurl reads it, "scheme://host:port"
// lower-cased with the default port filled in; empty when curl cannot parse it.
[[nodiscard]] std::string url_origin(const std::string& url);

// The host of `url` as libcurl reads it (lower-cased; an IPv6 address in
// brackets); empty when curl cannot parse it.
[[nodiscard]] std::string url_host(const std::string& url);

}  // namespace steadfast::steps
