// Templates (src/engine/template.*): the input is a template and, after the
// first NUL byte, the run's input as JSON (optional). The template is parsed
// and rendered as a string and as a value against that input, a fixed earlier
// step output and a fixed environment; the secrets it read are redacted from
// the result. If the template text is itself JSON, it is also parsed and
// rendered as a JsonTemplate (an http body). Only TemplateSyntaxError and
// TemplateRenderError may come out.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "engine/template.h"

using namespace steadfast;
using engine::TemplateContext;

namespace {

constexpr int kMaxJsonDepth = 64;  // as the API and the YAML loader allow

std::optional<std::string> env(const std::string& name) {
  if (name == "API_KEY") return std::string("s3cr\"et\\key");
  if (name == "EMPTY") return std::string();
  if (name == "STAR") return std::string("*");
  return std::nullopt;
}

bool shallow(std::string_view text) {
  int depth = 0;
  for (char c : text) {
    if ((c == '[' || c == '{') && ++depth > kMaxJsonDepth) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = all.find('\0');
  const std::string_view text = all.substr(0, nul);
  Json input = Json{{"name", "Ada"}, {"n", 10}, {"items", {1, 2, {{"id", "x"}}}}, {"text", "hello world"}};
  if (nul != std::string_view::npos && shallow(all.substr(nul + 1))) {
    Json parsed = Json::parse(all.substr(nul + 1), nullptr, false);
    if (!parsed.is_discarded()) input = std::move(parsed);
  }
  const std::map<std::string, Json> outputs{
      {"fetch", Json{{"text", "body"}, {"status", 200}, {"list", Json::array({"a", "b"})}}},
      {"my-step", Json(42)}};
  const TemplateContext context(input, outputs, env);

  try {
    const auto t = engine::Template::parse(text);
    (void)t.is_literal();
    (void)t.uses_env();
    if (t.source() != text) __builtin_trap();
    engine::Redactor secrets;
    try {
      const std::string out = t.render(context, secrets);
      (void)secrets.redact(out);
      (void)t.render_value(context, secrets).dump(-1, ' ', false, Json::error_handler_t::replace);
    } catch (const engine::TemplateRenderError&) {
    }
  } catch (const engine::TemplateSyntaxError&) {
  }

  if (shallow(text)) {
    const Json value = Json::parse(text, nullptr, false);
    if (!value.is_discarded()) {
      try {
        const auto jt = engine::JsonTemplate::parse(value);
        engine::Redactor secrets;
        const Json out = jt.render(context, secrets);
        (void)secrets.redact_json(out);
      } catch (const engine::TemplateSyntaxError&) {
      } catch (const engine::TemplateRenderError&) {
      }
    }
  }
  return 0;
}
