// The three-step workflow of the cluster tests: double the input's n, add 1,
// report it (the last step's output n is 2 n + 1).
#pragma once

#include "steadfast/workflow.h"

namespace steadfast::test {

inline Workflow three_steps() {
  Workflow wf("three");
  wf.step("double", [](StepContext& ctx) -> StepResult { return Json{{"n", ctx.input().at("n").get<int>() * 2}}; });
  wf.step("add", [](StepContext& ctx) -> StepResult {
    return Json{{"n", ctx.outputs().at("double").at("n").get<int>() + 1}};
  });
  wf.step("report", [](StepContext& ctx) -> StepResult { return Json{{"n", ctx.outputs().at("add").at("n")}}; });
  return wf;
}

}  // namespace steadfast::test
