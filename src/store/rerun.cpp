// Store::rerun_source and Store::rerun (rerun.lua): a new run from a step of
// an existing one.
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <vector>

#include "engine/rerun_plan.h"
#include "store/definition.h"
#include "store/run_id.h"
#include "store/scripts.h"
#include "store/store.h"

namespace steadfast::store {

asio::awaitable<std::optional<RerunSource>> Store::rerun_source(std::string_view run_id) {
  const redis::Reply r =
      co_await client_.command("HMGET", keys_.run(run_id), "workflow", "steps", "metadata", "graph", "sched");
  if (r.size() != 5 || r[0].is_nil()) co_return std::nullopt;
  RerunSource s;
  s.run_id = std::string(run_id);
  s.workflow = std::string(r[0].str());
  const Json steps = Json::parse(r[1].is_nil() ? std::string_view("[]") : r[1].str(), nullptr, false);
  if (steps.is_array()) {
    for (const Json& name : steps) {
      if (name.is_string()) s.steps.push_back(name.get<std::string>());
    }
  }
  if (!r[2].is_nil()) s.metadata = engine::stored_metadata(r[2].str());
  if (!r[3].is_nil()) s.graph = std::string(r[3].str());
  if (!r[4].is_nil()) {
    const Json sched = Json::parse(r[4].str(), nullptr, false);
    if (sched.is_object() && sched.contains("p") && sched["p"].is_number_integer()) {
      s.priority = std::clamp(sched["p"].get<int>(), kMinPriority, kMaxPriority);
    }
  }
  co_return s;
}

asio::awaitable<RerunResult> Store::rerun(const RerunRequest& req) {
  const std::optional<engine::WorkflowGraph> graph = parse_run_graph(req.source.run_id, req.source.steps, req.source.graph);
  const engine::RerunPlan plan = engine::plan_rerun(req.source.steps, req.from_step, graph ? &*graph : nullptr);
  // The new run shares the source's partition: one script reads one and writes the other.
  const int partition = keys_.partition_of(req.source.run_id);
  std::string run_id = new_run_id();
  while (keys_.partition_of(run_id) != partition) run_id = new_run_id();
  std::vector<std::string> keys{keys_.run(req.source.run_id), keys_.run(run_id),
                                keys_.queue(partition, req.from_queue), keys_.stats(partition)};
  const std::vector<std::string> indexes =
      run_index_keys(keys_, partition, req.source.workflow, req.source.metadata, "live");
  keys.insert(keys.end(), indexes.begin(), indexes.end());
  const std::vector<std::string> args{req.source.run_id,
                                      run_id,
                                      req.from_step,
                                      req.from_queue,
                                      req.input ? req.input->dump() : std::string(),
                                      Json(plan.keep).dump(),
                                      std::to_string(indexes.size()),
                                      req.sched ? *req.sched : std::string("-")};
  const redis::Reply r = co_await client_.eval(scripts::rerun(), keys, args);
  if (r.is_error()) throw redis::ServerError(std::string(r.str()));
  RerunResult out;
  switch (r[0].as_integer()) {
    case 1:
      out.outcome = RerunResult::Outcome::created;
      out.run_id = std::string(r[1].str());
      break;
    case 0: out.outcome = RerunResult::Outcome::missing; break;
    default:
      out.outcome = RerunResult::Outcome::unfinished;
      out.step = std::string(r[1].str());
      out.step_status = std::string(r[2].str());
  }
  co_return out;
}

}  // namespace steadfast::store
