// The worker's loops use the shared OutageLog (engine/outage_log.h; `serve`
// logs Redis outages with it too).
#pragma once

#include "engine/outage_log.h"

namespace steadfast::worker {

using engine::OutageLog;

}  // namespace steadfast::worker
