#include "steadfast/workflow.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "engine/json_schema.h"
#include "engine/quote.h"
#include "engine/template.h"

namespace steadfast {

LimitSpec with_override(const LimitSpec& spec, const LimitOverride& o) {
  LimitSpec out = spec;
  out.overrides.clear();
  if (o.requests_per_minute) out.requests_per_minute = *o.requests_per_minute;
  if (o.burst) out.burst = *o.burst;
  if (o.tokens_per_minute) {
    out.tokens_per_minute = *o.tokens_per_minute;
    out.token_burst = o.token_burst.value_or(0);  // the declared bucket was sized for the declared rate
  } else if (o.token_burst) {
    out.token_burst = *o.token_burst;
  }
  if (o.concurrency) out.concurrency = *o.concurrency;
  return out;
}
namespace {

using engine::quote;

void check_name(std::string_view what, std::string_view name) {
  if (!is_valid_name(name)) {
    throw std::invalid_argument(std::string(what) + " name " + quote(name) +
                                " is invalid: it must match ^[A-Za-z0-9_-]{1,64}$");
  }
}

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

void check_not_negative(std::string_view step, std::string_view what,
                        std::chrono::milliseconds value) {
  if (value.count() < 0) {
    throw std::invalid_argument("step " + quote(step) + ": " + std::string(what) +
                                " must not be negative, got " + ms_text(value));
  }
}

void check_options(std::string_view step, const StepOptions& options) {
  if (options.retry.max_attempts < 1) {
    throw std::invalid_argument("step " + quote(step) + ": max_attempts must be at least 1, got " +
                                std::to_string(options.retry.max_attempts));
  }
  if (options.retry.max_rate_limited < 0) {
    throw std::invalid_argument("step " + quote(step) +
                                ": max_rate_limited must not be negative, got " +
                                std::to_string(options.retry.max_rate_limited));
  }
  check_not_negative(step, "max_wait", options.retry.max_wait);
  const Backoff& backoff = options.retry.backoff;
  check_not_negative(step, "backoff initial", backoff.initial);
  check_not_negative(step, "backoff max", backoff.max);
  if (!std::isfinite(backoff.multiplier) || backoff.multiplier < 1.0) {
    throw std::invalid_argument("step " + quote(step) +
                                ": backoff multiplier must be a finite number >= 1, got " +
                                std::to_string(backoff.multiplier));
  }
  check_not_negative(step, "timeout", options.timeout);
  if (options.lease < kMinLease) {
    throw std::invalid_argument("step " + quote(step) + ": lease must be at least " +
                                ms_text(kMinLease) + ", got " + ms_text(options.lease));
  }
  if (!is_valid_name(options.queue)) {
    throw std::invalid_argument("step " + quote(step) + ": queue name " + quote(options.queue) +
                                " is invalid: it must match ^[A-Za-z0-9_-]{1,64}$");
  }
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Workflow::Workflow(std::string name) : name_(std::move(name)) { check_name("workflow", name_); }

Workflow& Workflow::max_input_bytes(std::size_t bytes) {
  if (bytes < 1 || bytes > kMaxInputBytes) {
    throw std::invalid_argument("workflow " + quote(name_) + ": max_input_bytes must be 1 to " +
                                std::to_string(kMaxInputBytes) + ", got " + std::to_string(bytes));
  }
  max_input_bytes_ = bytes;
  return *this;
}

Workflow& Workflow::deadline(std::chrono::milliseconds deadline) {
  if (deadline.count() < 0 || deadline > kMaxWait) {
    throw std::invalid_argument("workflow " + quote(name_) + ": deadline must be 0 (none) to " +
                                std::to_string(kMaxWait.count() / 3'600'000) + "h");
  }
  deadline_ = deadline;
  return *this;
}

Workflow& Workflow::step(std::string name, StepHandler handler, StepOptions options) {
  const bool empty = !handler;
  StepDefinition def;
  def.name = std::move(name);
  def.handler = std::move(handler);
  def.options = std::move(options);
  return add_step(std::move(def), empty);
}

Workflow& Workflow::async_step(std::string name, AsyncStepHandler handler, StepOptions options) {
  const bool empty = !handler;
  StepDefinition def;
  def.name = std::move(name);
  def.async_handler = std::move(handler);
  def.options = std::move(options);
  return add_step(std::move(def), empty);
}

Workflow& Workflow::task(std::string name, std::string task, StepOptions options) {
  const bool valid = !task.empty() && task.size() <= 64 &&
                     std::all_of(task.begin(), task.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
                     });
  if (!valid) {
    throw std::invalid_argument("step " + quote(name) + ": task name " + quote(task) +
                                " must match ^[A-Za-z0-9_.-]{1,64}$");
  }
  StepDefinition def;
  def.name = std::move(name);
  def.options = std::move(options);
  def.task = std::move(task);
  return add_step(std::move(def), false);
}

Workflow& Workflow::add_step(StepDefinition def, bool empty_handler) {
  check_name("step", def.name);
  if (index_of(def.name) >= 0) {
    throw std::invalid_argument("workflow " + quote(name_) + " already has a step named " +
                                quote(def.name));
  }
  if (empty_handler) {
    throw std::invalid_argument("step " + quote(def.name) + ": the handler is empty");
  }
  check_options(def.name, def.options);
  steps_.push_back(std::move(def));
  return *this;
}

Workflow& Workflow::wait(std::string name, WaitSpec wait, std::string queue) {
  check_name("step", name);
  if (index_of(name) >= 0) {
    throw std::invalid_argument("workflow " + quote(name_) + " already has a step named " + quote(name));
  }
  const std::string what = "wait step " + quote(name);
  const bool has_for = wait.duration.count() != 0;
  const bool has_signal = !wait.signal.empty();
  if (int{has_for} + int{!wait.until.empty()} + int{has_signal} != 1) {
    throw std::invalid_argument(what +
                                ": give exactly one of `for` (a duration), `until` (a time) and `signal` (a name)");
  }
  const std::string at_most = std::to_string(kMaxWait.count() / 3'600'000) + "h";
  if (has_for && (wait.duration.count() < 0 || wait.duration > kMaxWait)) {
    throw std::invalid_argument(what + ": `for` must be more than 0 and at most " + at_most);
  }
  if (!has_signal && (wait.timeout.count() != 0 || wait.on_timeout != OnTimeout::fail)) {
    throw std::invalid_argument(what + ": `timeout` and `on_timeout` belong to a signal wait (`signal`)");
  }
  if (has_signal) {
    try {
      check_name("signal", wait.signal);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(what + ": " + e.what());
    }
    if (wait.timeout.count() < 0 || wait.timeout > kMaxWait) {
      throw std::invalid_argument(what + ": `timeout` must be more than 0 and at most " + at_most);
    }
  }
  if (!wait.until.empty()) {
    try {
      (void)engine::Template::parse(wait.until);
    } catch (const engine::TemplateSyntaxError& e) {
      throw std::invalid_argument(what + ": `until`: " + e.what());
    }
  }
  StepOptions options;
  options.queue = std::move(queue);
  // A wait's own failure (a signal's timeout) is fatal, never retried; its
  // attempts are for claims lost to a crashed worker (each delivery counts).
  options.retry.max_attempts = kClaimsBeforeGivingUp;
  check_options(name, options);
  StepDefinition def;
  def.name = std::move(name);
  def.options = std::move(options);
  def.wait = std::move(wait);
  steps_.push_back(std::move(def));
  return *this;
}

Workflow& Workflow::child(std::string name, ChildSpec spec, StepOptions options) {
  check_name("step", name);
  if (index_of(name) >= 0) {
    throw std::invalid_argument("workflow " + quote(name_) + " already has a step named " + quote(name));
  }
  const std::string what = "child workflow step " + quote(name);
  try {
    check_name("child workflow", spec.workflow);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(what + ": " + e.what());
  }
  try {
    (void)engine::JsonTemplate::parse(spec.input);
  } catch (const engine::TemplateSyntaxError& e) {
    throw std::invalid_argument(what + ": `input`: " + e.what());
  }
  // Its failures (the child's) are fatal, never retried; its attempts are for
  // claims lost to a crashed worker (each delivery counts).
  options.retry.max_attempts = kClaimsBeforeGivingUp;
  check_options(name, options);
  StepDefinition def;
  def.name = std::move(name);
  def.options = std::move(options);
  def.child = std::move(spec);
  steps_.push_back(std::move(def));
  return *this;
}

StepDefinition& Workflow::step_named(std::string_view step) {
  const int i = index_of(step);
  if (i < 0) throw std::invalid_argument("workflow " + quote(name_) + " has no step named " + quote(step));
  return steps_[static_cast<std::size_t>(i)];
}

Workflow& Workflow::needs(std::string_view step, std::vector<std::string> names) {
  StepDefinition& def = step_named(step);
  for (const std::string& n : names) check_name("needed step", n);
  def.needs = std::move(names);
  return *this;
}

Workflow& Workflow::only_if(std::string_view step, std::string condition) {
  StepDefinition& def = step_named(step);
  if (condition.empty()) throw std::invalid_argument("step " + quote(step) + ": `if` is empty");
  try {
    (void)engine::Template::parse(condition);
  } catch (const engine::TemplateSyntaxError& e) {
    throw std::invalid_argument("step " + quote(step) + ": `if`: " + e.what());
  }
  def.condition = std::move(condition);
  return *this;
}

Workflow& Workflow::map(std::string_view step, MapSpec spec) {
  StepDefinition& def = step_named(step);
  const std::string what = "step " + quote(step) + ": `map`";
  if (def.wait) throw std::invalid_argument(what + ": a wait step cannot be a map step");
  if (def.options.on_failure == OnFailure::continue_) {
    throw std::invalid_argument(what + ": a map step says what a failing item does with on_item_failure (fail_run "
                                       "or continue), not on_failure");
  }
  if (spec.over.empty()) throw std::invalid_argument(what + ": `over` is empty");
  try {
    (void)engine::Template::parse(spec.over);
  } catch (const engine::TemplateSyntaxError& e) {
    throw std::invalid_argument(what + ": `over`: " + e.what());
  }
  const std::string range = " must be from 1 to " + std::to_string(kMaxMapItems);
  if (spec.max_parallel < 1 || spec.max_parallel > kMaxMapItems) {
    throw std::invalid_argument(what + ": `max_parallel`" + range + ", got " + std::to_string(spec.max_parallel));
  }
  if (spec.max_items < 1 || spec.max_items > kMaxMapItems) {
    throw std::invalid_argument(what + ": `max_items`" + range + ", got " + std::to_string(spec.max_items));
  }
  if (spec.max_output_bytes < 1 || spec.max_output_bytes > kMaxMapOutputBytes) {
    throw std::invalid_argument(what + ": `max_output_bytes` must be from 1 to " + std::to_string(kMaxMapOutputBytes) +
                                ", got " + std::to_string(spec.max_output_bytes));
  }
  def.map = std::move(spec);
  return *this;
}

Workflow& Workflow::input_schema(Json schema) {
  if (!schema.is_null()) {
    if (const auto problem = engine::JsonSchema::problem_in(schema)) {
      throw std::invalid_argument(
          "workflow " + quote(name_) + ": input_schema is not a valid JSON Schema (draft-04): " +
          (problem->pointer.empty() ? std::string() : "at " + quote(problem->pointer) + ": ") + problem->detail);
    }
  }
  input_schema_ = std::move(schema);
  return *this;
}

int Workflow::index_of(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace steadfast
