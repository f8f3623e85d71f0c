// JSON Schema validation (src/engine/json_schema.*): the input is a schema and an
// instance, separated by the first NUL byte (JSON text holds no raw NUL).
// The schema is compiled as `steadfast serve` compiles a workflow's
// input_schema (nested at most config::kMaxJsonDepth deep, as the YAML loader
// allows); the instance is checked as a submit checks a run's input (at most
// ServiceOptions::max_json_depth deep), and the violations are rendered as
// the 422 problem the API answers.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "api/problem.h"
#include "engine/json_depth.h"
#include "engine/json_schema.h"
#include "api/service.h"
#include "config/workflows_file.h"

using namespace steadfast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view schema_text = input.substr(0, nul);
  const std::string_view instance_text = nul == std::string_view::npos ? "{}" : input.substr(nul + 1);

  if (!engine::json_text_depth_within(schema_text, config::kMaxJsonDepth)) return 0;
  const Json schema = Json::parse(schema_text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return 0;
  std::optional<engine::JsonSchema> compiled;
  try {
    compiled.emplace(schema);
  } catch (const std::invalid_argument&) {
    return 0;  // refused at start, with a message: fine
  }

  if (!engine::json_text_depth_within(instance_text, api::ServiceOptions{}.max_json_depth)) return 0;
  const Json instance = Json::parse(instance_text, nullptr, /*allow_exceptions=*/false);
  if (instance.is_discarded()) return 0;
  const auto errors = compiled->validate(instance, "/input");
  if (!errors.empty()) (void)api::validation_problem("the input does not match", errors);
  // Compiled once, validated many times: a second run must agree.
  if (compiled->validate(instance, "/input").size() != errors.size()) __builtin_trap();
  return 0;
}
