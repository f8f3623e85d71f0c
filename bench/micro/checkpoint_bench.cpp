// JSON of a checkpoint: a step's output (an LLM-style response of ~1 KB)
// dumped to the string complete.lua receives (Worker::settle: output->dump()),
// and parsed back as the next step's StepContext does (Json::parse without
// exceptions, as worker.cpp's parse_json).
#include <benchmark/benchmark.h>

#include <string>

#include "fixtures.h"
#include "steadfast/json.h"

namespace steadfast::bench {
namespace {

void BM_Checkpoint_Dump(benchmark::State& state) {
  const Json output = llm_output();
  const std::string expected = output.dump();
  if (expected.size() < 900 || Json::parse(expected) != output) {
    state.SkipWithError("the dumped output is not the ~1 KB object");
    return;
  }
  for (auto _ : state) {
    std::string s = output.dump();
    if (s.size() != expected.size()) {
      state.SkipWithError("dump changed size");
      break;
    }
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(expected.size()));
  state.SetLabel(std::to_string(expected.size()) + " B");
}
BENCHMARK(BM_Checkpoint_Dump);

void BM_Checkpoint_Parse(benchmark::State& state) {
  const Json output = llm_output();
  const std::string text = output.dump();
  if (Json::parse(text, nullptr, false) != output) {
    state.SkipWithError("parsing the dump does not give the output back");
    return;
  }
  for (auto _ : state) {
    Json j = Json::parse(text, nullptr, false);
    if (!j.is_object()) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(j);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.SetLabel(std::to_string(text.size()) + " B");
}
BENCHMARK(BM_Checkpoint_Parse);

}  // namespace
}  // namespace steadfast::bench
