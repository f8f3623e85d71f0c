// http step URL templates (src/steps/url_template.*): the input is a URL
// template and, after the first NUL byte, the run's input as JSON (optional).
// The template is rendered as it is and behind a fixed origin
// ("https://fixed.example/p/" + text, and ${ORIGIN} + text). Only
// TemplateSyntaxError and TemplateRenderError may come out, and a URL that
// renders behind a fixed origin keeps that origin: no value moves the host.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "steps/url_template.h"

using namespace steadfast;

namespace {

constexpr int kMaxJsonDepth = 64;  // as the API and the YAML loader allow

std::optional<std::string> env(const std::string& name) {
  if (name == "ORIGIN") return std::string("http://127.0.0.1:8080");
  if (name == "API_KEY") return std::string("s3cr\"et/key");
  if (name == "EMPTY") return std::string();
  return std::nullopt;
}

bool shallow(std::string_view text) {
  int depth = 0;
  for (char c : text) {
    if ((c == '[' || c == '{') && ++depth > kMaxJsonDepth) return false;
  }
  return true;
}

// Renders `text`; when it renders, checks it kept `origin` (empty = any).
void check(const std::string& text, const engine::TemplateContext& context, const std::string& origin) {
  try {
    const auto t = steps::UrlTemplate::parse(text);
    engine::Redactor secrets;
    try {
      const steps::RenderedUrl r = t.render(context, secrets);
      if (!origin.empty()) {
        // A URL curl cannot parse (the fixed text itself holds a control
        // character, say) is never requested: curl refuses it. Any URL it
        // can parse must keep the origin.
        const std::string kept = steps::url_origin(r.url);
        if (!r.trusted_origin || (!kept.empty() && kept != origin)) __builtin_trap();
      }
      (void)secrets.redact(r.url);
      (void)steps::url_host(r.url);
    } catch (const engine::TemplateRenderError&) {
    }
  } catch (const engine::TemplateSyntaxError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = all.find('\0');
  const std::string text(all.substr(0, nul));
  Json input = Json{{"id", "../admin?x=1#"}, {"host", "@evil.example:1/"}, {"n", 10}, {"list", {"a/b", "c"}}};
  if (nul != std::string_view::npos && shallow(all.substr(nul + 1))) {
    Json parsed = Json::parse(all.substr(nul + 1), nullptr, false);
    if (!parsed.is_discarded()) input = std::move(parsed);
  }
  const std::map<std::string, Json> outputs{{"fetch", Json{{"url", "http://10.0.0.1/x"}, {"text", "a b"}}}};
  const engine::TemplateContext context(input, outputs, env);

  check(text, context, "");
  // The literal prefix ends the host: the rendered URL must keep it. (Only
  // when the fuzzed text cannot re-open the prefix's authority: it follows a
  // '/', so it can only be path, query or fragment.)
  check("https://fixed.example/p/" + text, context, "https://fixed.example:443");
  // The environment names the origin and the text continues it directly.
  check("${ORIGIN}" + text, context, "");
  return 0;
}
