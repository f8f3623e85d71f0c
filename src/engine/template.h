// Templates in step parameters (http urls, headers and bodies; exec argv, env
// and cwd). Parsed once when the workflows are built, rendered per attempt.
//
// Syntax:
//   {{input.document_url}}          a value of the run's input
//   {{steps.fetch.output.text}}     a value of an earlier step's output
//   {{steps.a.output.items.0.id}}   array elements by index
//   {{steps.approve.callback_url}}  the signed URL that sends the signal of a
//                                   signal wait of this workflow to this run
//                                   (engine/callback_signing.h); the one
//                                   reference to a step that need not be earlier
//   {{len(input.text) / 4 + 10}}    integers: len(), + - * / and parentheses;
//                                   '/' rounds up (ceil), so estimates never undercount
//   {{urlencode(input.query)}}      percent-encoding (RFC 3986 unreserved kept)
//   {{raw(input.path)}}             the value unchanged; in an http url it opts
//                                   out of the automatic encoding (steps/url_template.h)
//   ${LLM_API_KEY}                  the worker's environment; the value is a secret
//   \{{  \${                        a literal "{{" or "${" (the backslash is dropped)
//
// Path segments are [A-Za-z0-9_] words, with '-' allowed between word
// characters (step names may hold '-'), so write `a - 1`, not `a-1`. A segment
// of digits indexes an array (or names an object key made of digits).
//
// Rendered into a string, a string value is inserted as is and any other value
// as compact JSON. In a JSON template (JsonTemplate), a string that is exactly
// one {{expression}} becomes that value with its type (object, number, ...).
//
// Thread-safety: a parsed Template/JsonTemplate is immutable and may be
// rendered from many threads at once; a Redactor belongs to one attempt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/json.h"
#include "steadfast/step.h"

namespace steadfast::engine {

// A template that does not parse: unclosed "{{", unknown function, bad path,
// ... what() quotes the template and says where.
class TemplateSyntaxError : public std::invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

// A template that parsed but cannot be rendered against this context: a path
// with no value, a missing environment variable, len() of a number, ...
// what() names the path or variable, never a value.
class TemplateRenderError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// The secret values an attempt used (everything read through ${...}), and the
// means to hide them: redact() replaces each occurrence with "***". A server
// may echo a secret in another form, so an occurrence is any spelling of the
// value in which each character is either itself or one of its escapes:
//   * JSON: \" \\ \/ \b \f \n \r \t, and \uXXXX (either case; a surrogate
//     pair above U+FFFF) — nlohmann's, PHP's "\/", an all-ASCII encoder's \u00XX;
//   * URL: %XX for each byte (either case), and "+" for a space.
// Forms may mix within one occurrence. redact_json() also hides a JSON number
// equal to a secret that is a number ("84736251" echoed as 84736251 or
// 8.4736251e7). Not caught: other encodings (base64, HTML entities, a value
// escaped twice, cut in pieces). Empty values are ignored.
class Redactor {
 public:
  void add(std::string secret);
  [[nodiscard]] bool empty() const noexcept { return secrets_.empty(); }
  // The values to hide (as read), longest first.
  [[nodiscard]] const std::vector<std::string>& secrets() const noexcept { return secrets_; }
  // The most bytes one occurrence of a value may span in a text (its longest
  // escaped form: 6 bytes per byte); 0 when none.
  [[nodiscard]] std::size_t longest() const noexcept;

  [[nodiscard]] std::string redact(std::string_view text) const;
  // Every string (and object key) inside `value`, recursively, and every
  // number equal to a numeric secret (it becomes the string "***").
  [[nodiscard]] Json redact_json(const Json& value) const;

 private:
  // One character of a value: its UTF-8 bytes and its code point (a byte
  // that is not valid UTF-8 is its own character, with no \u form).
  struct Char {
    std::string bytes;
    std::uint32_t code_point = 0;
    bool has_code_point = true;
  };
  struct Secret {
    std::vector<Char> chars;
    std::optional<double> number;  // the value as a number, when it is one
  };
  // Where an occurrence of `s` (from its character k) starting at `at` ends,
  // or npos; `budget` bounds the steps of backtracking.
  static std::size_t match(std::string_view text, std::size_t at, const Secret& s, std::size_t k, int& budget);

  std::vector<std::string> secrets_;  // sorted longest first, no duplicates
  std::vector<Secret> parsed_;        // the same order
};

// What templates read. Holds references: `input` and `outputs` must outlive it.
// Not thread-safe (it caches callback URLs): one per attempt.
class TemplateContext {
 public:
  // Returns the variable's value, or nullopt when it is not set.
  using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
  // Returns a wait step's callback URL, or nullopt when none can be made.
  using CallbackLookup = std::function<std::optional<std::string>(const std::string& step)>;

  // `env` empty = the process environment (getenv); `callbacks` empty = no
  // callback URLs (a template reading one fails to render, saying why).
  TemplateContext(const Json& input, const std::map<std::string, Json>& outputs,
                  EnvLookup env = {}, CallbackLookup callbacks = {});
  // The run's input and earlier outputs of `ctx`, the process environment,
  // and ctx.callback_url(). `ctx` must outlive this.
  explicit TemplateContext(const StepContext& ctx);

  [[nodiscard]] const Json& input() const noexcept { return input_; }
  [[nodiscard]] const std::map<std::string, Json>& outputs() const noexcept { return outputs_; }
  // A map step's item (`item`, `item_index`); `item` must outlive this.
  TemplateContext& with_item(const Json& item, std::int64_t index);
  // nullptr when the step is no map step's item.
  [[nodiscard]] const Json* item() const noexcept { return item_; }
  [[nodiscard]] const Json* item_index() const noexcept;
  [[nodiscard]] std::optional<std::string> env(const std::string& name) const;
  // The step's callback URL as a JSON string, or nullptr when none can be made.
  [[nodiscard]] const Json* callback_url(const std::string& step) const;

 private:
  const Json& input_;
  const std::map<std::string, Json>& outputs_;
  EnvLookup env_;
  CallbackLookup callbacks_;
  mutable std::map<std::string, Json> callback_urls_;  // made once per step
  const Json* item_ = nullptr;
  Json item_index_;
};

// One parsed template string. Copies share the parsed form.
class Template {
 public:
  // The empty template (renders "").
  Template();
  // Throws TemplateSyntaxError.
  [[nodiscard]] static Template parse(std::string_view text);

  // Renders to a string; values read through ${...} are added to `secrets`.
  // Throws TemplateRenderError.
  [[nodiscard]] std::string render(const TemplateContext& context, Redactor& secrets) const;
  // When the template is exactly one {{expression}}: that value, type kept.
  // Otherwise render() as a JSON string. Throws TemplateRenderError.
  [[nodiscard]] Json render_value(const TemplateContext& context, Redactor& secrets) const;

  // One {{...}} value as render_with() inserts it: the value, and whether the
  // expression is a raw(...) or urlencode(...) call at its top.
  struct Insertion {
    const Json& value;
    bool raw = false;
    bool encoded = false;
  };
  // Returns the text to insert for one value, given everything rendered
  // before it (literal text, ${...} values and earlier insertions).
  using Inserter = std::function<std::string(std::string_view rendered_so_far, const Insertion& value)>;
  // render() with the caller choosing how each {{...}} value is inserted
  // (URLs encode it for the part it lands in). Throws TemplateRenderError.
  [[nodiscard]] std::string render_with(const TemplateContext& context, Redactor& secrets,
                                        const Inserter& insert) const;

  // True when the template has no {{...}} and no ${...} (escapes resolved).
  [[nodiscard]] bool is_literal() const noexcept;
  // True when it holds a {{...}} (reads the run's input or step outputs, or
  // computes a value); ${...} alone does not count.
  [[nodiscard]] bool has_expressions() const noexcept;
  // True when it reads the environment (${...}).
  [[nodiscard]] bool uses_env() const noexcept;
  // The text it was parsed from.
  [[nodiscard]] const std::string& source() const noexcept;
  // The step names it reads (`steps.<name>.output...`), each once, in order of
  // first use; empty when it reads only the input and the environment.
  [[nodiscard]] std::vector<std::string> step_references() const;
  // True when it reads `item` or `item_index` (valid in map steps only).
  [[nodiscard]] bool reads_item() const;
  // The step names whose callback URL it reads (`steps.<name>.callback_url`).
  [[nodiscard]] std::vector<std::string> callback_references() const;

  struct Parsed;

 private:
  explicit Template(std::shared_ptr<const Parsed> parsed);
  std::shared_ptr<const Parsed> parsed_;
};

// Whether a step's `if` holds for `value`, what its template evaluated to:
// false, 0, "", null and [] do not (the step is skipped); anything else does.
[[nodiscard]] bool condition_holds(const Json& value) noexcept;

// A JSON value whose strings (at any depth, not object keys) are templates.
class JsonTemplate {
 public:
  JsonTemplate();  // null
  // Throws TemplateSyntaxError; what() gives the JSON pointer of the bad string.
  [[nodiscard]] static JsonTemplate parse(const Json& value);

  // Throws TemplateRenderError.
  [[nodiscard]] Json render(const TemplateContext& context, Redactor& secrets) const;

  struct Node;

 private:
  explicit JsonTemplate(std::shared_ptr<const Node> root);
  std::shared_ptr<const Node> root_;
};

}  // namespace steadfast::engine
