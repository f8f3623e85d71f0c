#include "steadfast/step.h"

#include <spdlog/spdlog.h>

namespace steadfast {

void StepContext::heartbeat(Json progress) {
  if (heartbeat_sink_) heartbeat_sink_(std::move(progress));
}

void StepContext::log(std::string_view message) const {
  spdlog::info("run={} workflow={} step={} attempt={}: {}", run_id_, workflow_, step_, attempt_,
               message);
}

}  // namespace steadfast
