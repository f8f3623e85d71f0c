#include "engine/bulk.h"

#include <algorithm>
#include <stdexcept>

namespace steadfast::engine {

std::string_view to_string(BulkAction action) noexcept {
  return action == BulkAction::cancel ? "cancel" : "replay";
}

BulkRequest parse_bulk_request(const Json& body) {
  if (!body.is_object()) {
    throw std::invalid_argument("the body must be a JSON object {\"action\": \"cancel\"|\"replay\", \"filter\": {...}}");
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "action" && key != "filter") {
      throw std::invalid_argument("unknown member '" + key.substr(0, 64) + "' (known: action, filter)");
    }
  }
  if (!body.contains("action")) throw std::invalid_argument("action is required: \"cancel\" or \"replay\"");
  const Json& action = body["action"];
  BulkRequest request;
  if (action == "cancel") {
    request.action = BulkAction::cancel;
  } else if (action == "replay") {
    request.action = BulkAction::replay;
  } else {
    throw std::invalid_argument("action must be \"cancel\" or \"replay\", not " + action.dump().substr(0, 64));
  }
  if (body.contains("filter")) {
    const Json& filter = body["filter"];
    if (!filter.is_object()) throw std::invalid_argument("filter must be an object");
    for (const auto& [key, value] : filter.items()) {
      if (key != "workflow" && key != "status" && key != "meta" && key != "created_after" && key != "created_before") {
        throw std::invalid_argument("filter: unknown member '" + key.substr(0, 64) +
                                    "' (known: workflow, status, meta, created_after, created_before)");
      }
    }
    request.filter = run_filter_from_json(filter);
  }
  if (request.action == BulkAction::cancel && request.filter.empty()) {
    throw std::invalid_argument("filter: a cancel needs at least one condition (workflow, status, meta, "
                                "created_after, created_before); it would cancel every run");
  }
  if (request.action == BulkAction::replay && !request.filter.status.empty() && request.filter.status != "failed") {
    throw std::invalid_argument("filter: replay applies to failed runs only, not to status '" + request.filter.status +
                                "' (leave status out, or write failed)");
  }
  return request;
}

RunFilter bulk_walk_filter(const BulkRequest& request, std::int64_t created_at_ms) {
  RunFilter f = request.filter;
  if (request.action == BulkAction::replay) f.status = "failed";
  const std::int64_t bound = created_at_ms + 1;
  f.created_before_ms = f.created_before_ms ? std::min(*f.created_before_ms, bound) : bound;
  return f;
}

BulkOutcome cancel_outcome(std::string_view result) {
  if (result == "cancelled" || result == "cancelling") return BulkOutcome::succeeded;
  if (result == "missing" || result.starts_with("terminal:")) return BulkOutcome::skipped;
  throw std::invalid_argument("unexpected cancel result '" + std::string(result.substr(0, 64)) + "'");
}

bool replay_refusal_is_skip(std::string_view message) noexcept {
  for (std::string_view why : {"not in the dead-letter queue", "not failed", "no longer exists", "no dead-letter entry"}) {
    if (message.find(why) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace steadfast::engine
