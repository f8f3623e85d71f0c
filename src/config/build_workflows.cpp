#include <exception>
#include <string>
#include <vector>

#include "config/workflows_file.h"
#include "engine/quote.h"

namespace steadfast::config {
namespace {

using engine::quote;

[[noreturn]] void fail(const WorkflowsFile& file, int line, std::string_view key,
                       const std::string& what, const std::string& where) {
  throw ConfigError(file.path + ":" + std::to_string(line) + ": key " + quote(key) + ": " + what +
                    " (in " + where + ")");
}

}  // namespace

std::vector<Workflow> build_workflows(const WorkflowsFile& file, const steps::KindRegistry& kinds) {
  std::vector<Workflow> workflows;
  workflows.reserve(file.workflows.size());
  for (const WorkflowSpec& spec : file.workflows) {
    const std::string in_workflow = "workflow " + quote(spec.name);
    std::optional<Workflow> workflow;
    try {
      workflow.emplace(spec.name);
      workflow->max_input_bytes(spec.max_input_bytes);
      workflow->deadline(spec.deadline);
    } catch (const std::invalid_argument& e) {
      fail(file, spec.line, spec.name, e.what(), in_workflow);
    }
    for (std::size_t i = 0; i < spec.steps.size(); ++i) {
      const StepSpec& step = spec.steps[i];
      const std::string where =
          in_workflow + ", step #" + std::to_string(i + 1) + " " + quote(step.name);
      // `needs` and `if`, once the step exists (both checked when parsed).
      const auto apply_graph = [&](const StepSpec& s) {
        try {
          if (s.needs) workflow->needs(s.name, *s.needs);
          if (!s.condition.empty()) workflow->only_if(s.name, s.condition);
        } catch (const std::invalid_argument& e) {
          fail(file, s.needs ? s.needs_line : s.if_line, s.needs ? "needs" : "if", e.what(), where);
        }
        try {
          if (s.map) workflow->map(s.name, *s.map);
        } catch (const std::invalid_argument& e) {
          fail(file, s.map_line, "map", e.what(), where);
        }
      };
      if (step.kind == "wait") {
        const int line = step.with_line > 0 ? step.with_line : step.kind_line;
        // A duration parameter of the wait, more than 0, or a refusal naming it.
        const auto positive_duration = [&](const std::string& key, const char* example, const Json& value) {
          if (!value.is_string()) {
            fail(file, line, "with", "`" + key + "` must be a duration like " + example + ", got " + value.dump(), where);
          }
          std::chrono::milliseconds d{0};
          try {
            d = parse_duration(value.get<std::string>());
          } catch (const std::exception& e) {
            fail(file, line, "with", "`" + key + "`: " + e.what(), where);
          }
          if (d.count() <= 0) fail(file, line, "with", "`" + key + "` must be more than 0", where);
          return d;
        };
        WaitSpec wait;
        for (const auto& [key, value] : step.with.items()) {
          if (key == "for") {
            wait.duration = positive_duration("for", "2h", value);
          } else if (key == "until") {
            if (!value.is_string() && !value.is_number_integer()) {
              fail(file, line, "with", "`until` must be a template or a time, got " + value.dump(), where);
            }
            wait.until = value.is_string() ? value.get<std::string>() : value.dump();
          } else if (key == "signal") {
            if (!value.is_string() || value.get<std::string>().empty()) {
              fail(file, line, "with", "`signal` must be a name like approved, got " + value.dump(), where);
            }
            wait.signal = value.get<std::string>();
          } else if (key == "timeout") {
            wait.timeout = positive_duration("timeout", "24h", value);
          } else if (key == "on_timeout") {
            if (value == "fail") {
              wait.on_timeout = OnTimeout::fail;
            } else if (value == "continue") {
              wait.on_timeout = OnTimeout::continue_;
            } else {
              fail(file, line, "with", "`on_timeout` must be fail or continue, got " + value.dump(), where);
            }
          } else {
            fail(file, line, "with",
                 "unknown parameter " + quote(key) +
                     " of a wait step (expected for, until, or signal with timeout and on_timeout)",
                 where);
          }
        }
        try {
          workflow->wait(step.name, wait, step.options.queue);
        } catch (const std::invalid_argument& e) {
          fail(file, line, "with", e.what(), where);
        }
        apply_graph(step);
        continue;
      }
      if (step.kind == "workflow") {
        const int line = step.with_line > 0 ? step.with_line : step.kind_line;
        try {
          ChildSpec child{step.with.at("workflow").get<std::string>(), step.with.value("input", Json::object())};
          workflow->child(step.name, std::move(child), step.options);
        } catch (const std::invalid_argument& e) {
          fail(file, line, "with", e.what(), where);
        }
        apply_graph(step);
        continue;
      }
      if (step.kind == "task") {
        const int line = step.with_line > 0 ? step.with_line : step.kind_line;
        const Json* task = step.with.contains("task") ? &step.with.at("task") : nullptr;
        if (task == nullptr || !task->is_string()) {
          fail(file, line, "with",
               "a task step needs `task`: the name its external workers register, like `with: {task: summarize}`",
               where);
        }
        for (const auto& [key, value] : step.with.items()) {
          if (key != "task") fail(file, line, "with", "unknown parameter " + quote(key) + " of a task step (expected task)", where);
        }
        try {
          workflow->task(step.name, task->get<std::string>(), step.options);
        } catch (const std::invalid_argument& e) {
          fail(file, line, "with", e.what(), where);
        }
        apply_graph(step);
        continue;
      }
      const steps::Factory* factory = kinds.find(step.kind);
      if (factory == nullptr) {
        std::string known;
        for (const std::string& kind : kinds.kinds()) known += (known.empty() ? "" : ", ") + kind;
        fail(file, step.kind_line, "kind",
             "unknown step kind " + quote(step.kind) + " (known: " + known + ")", where);
      }
      const steps::AsyncFactory* async_factory = kinds.find_async(step.kind);
      StepHandler handler;
      AsyncStepHandler async_handler;
      try {
        if (async_factory != nullptr) {
          async_handler = (*async_factory)(step.with);
        } else {
          handler = (*factory)(step.with);
        }
      } catch (const std::exception& e) {
        fail(file, step.with_line > 0 ? step.with_line : step.kind_line, "with", e.what(), where);
      }
      try {
        StepOptions options = step.options;
        options.nonblocking = kinds.nonblocking(step.kind);
        if (async_handler) {
          workflow->async_step(step.name, std::move(async_handler), options);
        } else {
          workflow->step(step.name, std::move(handler), options);
        }
      } catch (const std::invalid_argument& e) {
        fail(file, step.line, "name", e.what(), where);
      }
      apply_graph(step);
    }
    try {
      workflow->input_schema(spec.input_schema);  // checked when parsed: cannot fail here
    } catch (const std::invalid_argument& e) {
      fail(file, spec.line, "input_schema", e.what(), in_workflow);
    }
    workflows.push_back(std::move(*workflow));
  }
  return workflows;
}

Json to_json(const WorkflowSpec& spec) {
  Json steps = Json::array();
  for (const StepSpec& step : spec.steps) {
    const StepOptions& options = step.options;
    const Backoff& backoff = options.retry.backoff;
    Json graph = Json::object();  // only when written: earlier registrations keep their JSON
    if (step.needs) graph["needs"] = *step.needs;
    if (!step.condition.empty()) graph["if"] = step.condition;
    if (step.options.on_failure == OnFailure::continue_) graph["on_failure"] = "continue";
    if (step.map) {
      graph["map"] = {{"over", step.map->over},
                      {"max_parallel", step.map->max_parallel},
                      {"on_item_failure", step.map->on_item_failure == OnItemFailure::continue_ ? "continue" : "fail_run"},
                      {"max_items", step.map->max_items},
                      {"max_output_bytes", step.map->max_output_bytes}};
    }
    steps.push_back({
        {"name", step.name},
        {"kind", step.kind},
        {"with", step.with.is_null() ? Json::object() : step.with},
        {"options",
         {{"queue", options.queue},
          {"timeout_ms", options.timeout.count()},
          {"lease_ms", options.lease.count()},
          {"retry",
           {{"max_attempts", options.retry.max_attempts},
            {"backoff",
             {{"initial_ms", backoff.initial.count()},
              {"multiplier", backoff.multiplier},
              {"max_ms", backoff.max.count()},
              {"full_jitter", backoff.full_jitter}}}}}}},
    });
    steps.back().update(graph);
  }
  return Json{{"name", spec.name}, {"input_schema", spec.input_schema}, {"steps", steps}};
}

std::vector<Schedule> build_schedules(const WorkflowsFile& file) {
  std::vector<Schedule> out;
  out.reserve(file.schedules.size());
  for (const ScheduleSpec& spec : file.schedules) {
    Schedule s;
    s.name = spec.name;
    s.workflow = spec.workflow;
    s.cron = spec.cron.text;
    s.timezone = spec.timezone;
    s.input = spec.input;
    s.catch_up = std::string(engine::to_string(spec.catch_up));
    s.overlap = std::string(engine::to_string(spec.overlap));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace steadfast::config
