#include "cli/batch_file.h"

#include <stdexcept>

#include "engine/quote.h"
#include "engine/run_metadata.h"
#include "engine/start_time.h"

namespace steadfast::cli {

namespace {

SubmitItem item_of(const Json& j) {
  if (!j.is_object()) throw std::invalid_argument("is not a JSON object {\"input\": ...}");
  for (const auto& [key, value] : j.items()) {
    if (key != "input" && key != "metadata" && key != "delay" && key != "run_at" && key != "idempotency_key" &&
        key != "priority") {
      throw std::invalid_argument("unknown member " + engine::quote(key, 64) +
                                  " (known: input, metadata, priority, delay, run_at, idempotency_key)");
    }
  }
  SubmitItem item;
  item.input = j.contains("input") ? j["input"] : Json::object();
  if (j.contains("metadata")) item.options.metadata = engine::run_metadata_from_json(j["metadata"]);
  const engine::StartTime start = engine::start_time_from_json(j);
  item.options.delay = start.delay;
  if (start.run_at_ms > 0) {
    item.options.run_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(start.run_at_ms));
  }
  if (j.contains("priority")) {
    const Json& p = j["priority"];
    if (!p.is_number_integer() || p.get<std::int64_t>() < kMinPriority || p.get<std::int64_t>() > kMaxPriority) {
      throw std::invalid_argument("priority must be a whole number from 0 (lowest) to 9 (highest), got " + p.dump());
    }
    item.options.priority = p.get<int>();
  }
  if (j.contains("idempotency_key")) {
    if (!j["idempotency_key"].is_string()) throw std::invalid_argument("idempotency_key must be a string");
    item.options.idempotency_key = j["idempotency_key"].get<std::string>();
  }
  return item;
}

}  // namespace

std::vector<BatchLine> read_batch(std::istream& in, const std::string& name) {
  std::vector<BatchLine> out;
  std::string text;
  for (std::size_t n = 1; std::getline(in, text); ++n) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.push_back({n, item_of(Json::parse(text))});
    } catch (const Json::parse_error& e) {
      throw std::invalid_argument("--batch " + name + " line " + std::to_string(n) + " is not JSON: " + e.what());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("--batch " + name + " line " + std::to_string(n) + ": " + e.what());
    }
  }
  if (out.empty()) throw std::invalid_argument("--batch " + name + " holds no runs (one JSON object per line)");
  return out;
}

}  // namespace steadfast::cli
