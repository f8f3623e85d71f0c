// JSON Schema (draft-04) validation of run inputs with RapidJSON's validator
// (rapidjson/schema.h), compiled once per workflow at start.
//
// Not supported (measured on the official JSON-Schema-Test-Suite, see the
// README's "HTTP API" section): remote references ($ref to another document),
// `id` changing the base URI of relative references, `format`, and integers
// beyond 64 bits. Patterns run on RapidJSON's own regex engine (no
// backtracking); \d \w \s and their negations are rewritten as classes, and a
// pattern the engine cannot parse is refused at compile time (RapidJSON alone
// would ignore it). RapidJSON stops at the first violation, so one violation
// is reported (several for a `required` with many missing members).
//
// Thread-safety: immutable after construction; validate() may run on any
// number of threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/json.h"

namespace steadfast::engine {

// One violation: where (a JSON pointer into the checked value), what is wrong,
// and the schema keyword that failed ("required", "type"; may be empty).
struct FieldError {
  std::string pointer;
  std::string detail;
  std::string keyword;
};

// One reference token of a JSON pointer: "~" -> "~0", "/" -> "~1".
[[nodiscard]] std::string escape_pointer_token(std::string_view token);

class JsonSchema {
 public:
  // Compiles `schema`; throws std::invalid_argument if it is not a JSON object
  // or holds a pattern the regex engine cannot parse (naming it and where).
  explicit JsonSchema(const Json& schema);
  ~JsonSchema();
  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;

  // What makes `schema` unusable, or nullopt when it is a valid JSON Schema
  // draft-04 this class compiles: first checked against the draft-04
  // meta-schema (`type: objekt`, `required: name` are violations; `pointer`
  // points into `schema`), then compiled (an unsupported pattern; `pointer`
  // empty, the message names the place). Thread-safe.
  [[nodiscard]] static std::optional<FieldError> problem_in(const Json& schema);

  // The violations of `value`; empty when it is valid. Every pointer starts
  // with `base_pointer` ("/input" makes "/input/document_url").
  [[nodiscard]] std::vector<FieldError> validate(const Json& value, std::string_view base_pointer = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steadfast::engine
