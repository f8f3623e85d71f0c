// A map step (MapSpec) at its own token's claim: no handler runs. `over` is
// evaluated on the run's data and handed on as the step's "output"; the
// completion's script expands it into the items (complete.lua, 'expand'),
// each then claimed, run, retried and dead-lettered like a step of its own.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "engine/quote.h"
#include "engine/template.h"
#include "worker/worker_impl.h"

namespace steadfast {

void Worker::Impl::expand_map(const std::string& key, Inflight& slot, const StepDefinition& step, const Json& input,
                              const std::map<std::string, Json>& outputs) {
  slot.run.clear();
  slot.started_at = Clock::now();
  bump(&WorkerStats::started);
  const MapSpec& map = *step.map;
  std::optional<StepError> failed;
  Json items;
  try {
    engine::Redactor unused;
    items = engine::Template::parse(map.over).render_value(engine::TemplateContext(input, outputs), unused);
  } catch (const std::exception& e) {  // TemplateRenderError; a syntax error was refused at load
    failed = StepError::fatal("`map.over` " + engine::quote(map.over, 120) + " could not be evaluated: " + e.what());
  }
  if (!failed && !items.is_array()) {
    failed = StepError::fatal("`map.over` " + engine::quote(map.over, 120) + " gave " +
                              engine::quote(items.dump(), 120) + ", not an array to map over");
  }
  if (!failed && items.size() > static_cast<std::size_t>(map.max_items)) {
    failed = StepError::fatal("`map.over` " + engine::quote(map.over, 120) + " gave " +
                              std::to_string(items.size()) + " items, over the step's max_items of " +
                              std::to_string(map.max_items));
  }
  if (failed) {
    asio::post(*io_, [this, key, e = std::move(*failed)] { on_finished(key, e); });
    return;
  }
  spdlog::debug("worker {}: run {} step {} maps over {} items", options_.id, slot.item.run_id, step.name,
                items.size());
  asio::post(*io_, [this, key, items = std::move(items)]() mutable { on_finished(key, StepResult(std::move(items))); });
}

}  // namespace steadfast
