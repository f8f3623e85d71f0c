#include "store/run_order.h"

#include <stdexcept>

#include "engine/template.h"
#include "redis/script.h"

namespace steadfast::store {

Json queue_order_json(const QueueOrder& order) {
  Json j = {{"aging_ms", order.aging.count()}};
  if (!order.fairness_key.empty()) j["fairness_key"] = order.fairness_key;
  if (!order.weights.empty()) j["weights"] = order.weights;
  return j;
}

QueueOrder queue_order_from_json(const Json& j) {
  if (!j.is_object()) throw std::invalid_argument("a queue order must be an object, got " + j.dump());
  QueueOrder order;
  if (j.contains("fairness_key")) order.fairness_key = j.at("fairness_key").get<std::string>();
  if (j.contains("weights")) order.weights = j.at("weights").get<std::map<std::string, int>>();
  order.aging = std::chrono::milliseconds(j.value("aging_ms", order.aging.count()));
  return order;
}

void check_queue_order(const std::string& queue, const QueueOrder& order) {
  if (!order.fairness_key.empty()) {
    try {
      (void)engine::Template::parse(order.fairness_key);
    } catch (const std::exception& e) {
      throw std::invalid_argument("queue '" + queue + "': fairness key '" + order.fairness_key + "': " + e.what());
    }
  }
  for (const auto& [value, weight] : order.weights) {
    if (weight < 1 || weight > kMaxFairnessWeight) {
      throw std::invalid_argument("queue '" + queue + "': weight of '" + value + "' is " + std::to_string(weight) +
                                  "; weights are whole numbers from 1 to " + std::to_string(kMaxFairnessWeight));
    }
  }
  if (order.aging.count() < 0) throw std::invalid_argument("queue '" + queue + "': aging must not be negative");
}

std::string fairness_value(const std::string& fairness_key, const Json& input) {
  if (fairness_key.empty()) return "";
  try {
    const engine::Template t = engine::Template::parse(fairness_key);
    const std::map<std::string, Json> no_outputs;
    const engine::TemplateContext context(input, no_outputs);
    engine::Redactor unused;
    const Json v = t.render_value(context, unused);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "";
    return v.dump();
  } catch (const std::exception&) {
    return "";  // a missing field: the shared key "" (run_sched)
  }
}

namespace {

// At most `n` bytes of `s`, not cutting a UTF-8 sequence.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

std::string run_sched(const Json& definition, const Json& input, int priority) {
  if (priority < kMinPriority || priority > kMaxPriority) {
    throw std::invalid_argument("priority must be a whole number from " + std::to_string(kMinPriority) + " to " +
                                std::to_string(kMaxPriority) + ", got " + std::to_string(priority));
  }
  const bool ordered = definition.is_object() && definition.contains("order") && definition["order"].is_object() &&
                       !definition["order"].empty();
  if (!ordered && priority == kDefaultPriority) return "";
  Json queues = Json::object();
  if (ordered) {
    for (const auto& [queue, j] : definition["order"].items()) {
      const QueueOrder order = queue_order_from_json(j);
      const std::string value = fairness_value(order.fairness_key, input);
      const auto w = order.weights.find(value);
      queues[queue] = Json::array({value.empty() ? std::string() : redis::sha1_hex(value).substr(0, 20),
                                   w == order.weights.end() ? 1 : w->second, utf8_prefix(value, kFairnessKeyShown),
                                   order.aging.count()});
    }
  }
  return Json{{"p", priority}, {"q", queues}}.dump();
}

}  // namespace steadfast::store
