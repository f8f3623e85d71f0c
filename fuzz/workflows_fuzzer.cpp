// The YAML workflows loader (src/config/workflows_file.*, build_workflows.cpp,
// yaml_json.*): the input is the text of a workflows file. It is parsed, its
// workflows are built through the built-in step kinds (templates, http and
// exec parameters), and each spec is described as JSON (what workers
// register). A bad file must be a ConfigError naming file:line, nothing else.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/workflows_file.h"
#include "steps/kind_registry.h"

using namespace steadfast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::WorkflowsFile file;
  try {
    file = config::parse_workflows(text, "fuzz.yaml");
  } catch (const config::ConfigError& e) {
    if (std::string_view(e.what()).substr(0, 10) != "fuzz.yaml:") __builtin_trap();
    return 0;
  }
  for (const config::WorkflowSpec& spec : file.workflows) (void)config::to_json(spec).dump();
  try {
    const auto built = config::build_workflows(file, steps::builtin_kinds());
    if (built.size() != file.workflows.size()) __builtin_trap();
  } catch (const config::ConfigError& e) {
    if (std::string_view(e.what()).substr(0, 10) != "fuzz.yaml:") __builtin_trap();
  }
  return 0;
}
