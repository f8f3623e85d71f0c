// The YAML workflows file: the example of the issue, every error with file,
// line and key, the durations table, scalar typing and the size limits.
#include "config/workflows_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "engine/time_zone.h"
#include "engine/workflow_graph.h"
#include "store/definition.h"

namespace steadfast::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPath = "flows.yaml";

// Lines 1-3; the first step is on line 4.
const std::string kHead = "workflows:\n  w:\n    steps:\n";

std::string config_error(const std::string& yaml) {
  try {
    (void)parse_workflows(yaml, kPath);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "parsed without error:\n" << yaml;
  return {};
}

std::string build_error(const std::string& yaml) {
  const WorkflowsFile file = parse_workflows(yaml, kPath);
  try {
    (void)build_workflows(file, steps::builtin_kinds());
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "built without error:\n" << yaml;
  return {};
}

std::string prefix(int line, const std::string& key) {
  return std::string(kPath) + ":" + std::to_string(line) + ": key '" + key + "': ";
}

#define EXPECT_STARTS_WITH(text, start)            \
  EXPECT_EQ(std::string(text).rfind(start, 0), 0u) \
      << "'" << (text) << "' should start with '" << (start) << "'"
#define EXPECT_CONTAINS(text, needle)                          \
  EXPECT_NE(std::string(text).find(needle), std::string::npos) \
      << "'" << (text) << "' should contain '" << (needle) << "'"

// --- the issue's example ---

const std::string kExample = R"(workflows:
  three-steps:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: sleep, with: {ms: 200}, lease: 5s, timeout: 60s}
      - name: c
        kind: fail
        with: {times: 2}
        queue: default
        retry: {max_attempts: 3, backoff: {initial: 100ms, multiplier: 2, max: 10s, jitter: full}}
)";

TEST(ParseWorkflows, TheExampleGivesTheRightSpecs) {
  const WorkflowsFile file = parse_workflows(kExample, kPath);
  EXPECT_EQ(file.path, kPath);
  EXPECT_TRUE(file.limits.is_null());
  ASSERT_EQ(file.workflows.size(), 1u);
  const WorkflowSpec& w = file.workflows[0];
  EXPECT_EQ(w.name, "three-steps");
  EXPECT_EQ(w.line, 2);
  EXPECT_TRUE(w.input_schema.is_null());
  ASSERT_EQ(w.steps.size(), 3u);

  const StepOptions defaults;
  const StepSpec& a = w.steps[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.kind, "noop");
  EXPECT_EQ(a.with, Json::object());
  EXPECT_EQ(a.line, 4);
  EXPECT_EQ(a.kind_line, 4);
  EXPECT_EQ(a.with_line, 0);
  EXPECT_EQ(a.options.lease, defaults.lease);
  EXPECT_EQ(a.options.timeout, defaults.timeout);
  EXPECT_EQ(a.options.queue, "default");
  EXPECT_EQ(a.options.retry.max_attempts, defaults.retry.max_attempts);

  const StepSpec& b = w.steps[1];
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(b.kind, "sleep");
  EXPECT_EQ(b.with, (Json{{"ms", 200}}));
  EXPECT_TRUE(b.with["ms"].is_number_integer());
  EXPECT_EQ(b.options.lease, 5s);
  EXPECT_EQ(b.options.timeout, 60s);
  EXPECT_EQ(b.line, 5);
  EXPECT_EQ(b.with_line, 5);

  const StepSpec& c = w.steps[2];
  EXPECT_EQ(c.name, "c");
  EXPECT_EQ(c.kind, "fail");
  EXPECT_EQ(c.with, (Json{{"times", 2}}));
  EXPECT_EQ(c.line, 6);
  EXPECT_EQ(c.kind_line, 7);
  EXPECT_EQ(c.with_line, 8);
  EXPECT_EQ(c.options.queue, "default");
  EXPECT_EQ(c.options.retry.max_attempts, 3);
  EXPECT_EQ(c.options.retry.backoff.initial, 100ms);
  EXPECT_EQ(c.options.retry.backoff.multiplier, 2.0);
  EXPECT_EQ(c.options.retry.backoff.max, 10s);
  EXPECT_TRUE(c.options.retry.backoff.full_jitter);
  EXPECT_EQ(c.options.lease, defaults.lease);
}

TEST(ParseWorkflows, RetryBoundsOnWaitingForAdmission) {
  const WorkflowsFile file = parse_workflows(R"(workflows:
  w:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: noop, retry: {max_rate_limited: 5, max_wait: 90s}}
      - {name: c, kind: noop, retry: {max_rate_limited: 0, max_wait: 0s}}
)",
                                             kPath);
  const auto& steps = file.workflows.at(0).steps;
  EXPECT_EQ(steps[0].options.retry.max_rate_limited, 100);
  EXPECT_EQ(steps[0].options.retry.max_wait, 1h);
  EXPECT_EQ(steps[1].options.retry.max_rate_limited, 5);
  EXPECT_EQ(steps[1].options.retry.max_wait, 90s);
  EXPECT_EQ(steps[1].options.retry.max_attempts, StepOptions{}.retry.max_attempts);
  EXPECT_EQ(steps[2].options.retry.max_rate_limited, 0);
  EXPECT_EQ(steps[2].options.retry.max_wait, 0ms);
}

TEST(BuildWorkflows, TheExampleBuildsRunnableWorkflows) {
  const std::vector<Workflow> workflows =
      build_workflows(parse_workflows(kExample, kPath), steps::builtin_kinds());
  ASSERT_EQ(workflows.size(), 1u);
  const Workflow& w = workflows[0];
  EXPECT_EQ(w.name(), "three-steps");
  ASSERT_EQ(w.steps().size(), 3u);
  EXPECT_EQ(w.index_of("c"), 2);
  EXPECT_EQ(w.steps()[1].options.lease, 5s);
  EXPECT_EQ(w.steps()[2].options.retry.max_attempts, 3);

  StepContext first("r", "three-steps", "a", 1, nullptr, {});
  const StepResult a = w.steps()[0].handler(first);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.output(), Json::object());

  StepContext c1("r", "three-steps", "c", 1, nullptr, {});
  const StepResult failed = w.steps()[2].handler(c1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message(), "injected failure 1 of 2");
  StepContext c3("r", "three-steps", "c", 3, nullptr, {});
  EXPECT_TRUE(w.steps()[2].handler(c3).ok());
}

TEST(ToJson, IsCanonical) {
  const WorkflowsFile file = parse_workflows(kExample, kPath);
  const Json expected = Json::parse(R"({
    "name": "three-steps",
    "input_schema": null,
    "steps": [
      {"name": "a", "kind": "noop", "with": {},
       "options": {"queue": "default", "timeout_ms": 0, "lease_ms": 30000,
                   "retry": {"max_attempts": 3,
                             "backoff": {"initial_ms": 1000, "multiplier": 2.0, "max_ms": 60000,
                                         "full_jitter": false}}}},
      {"name": "b", "kind": "sleep", "with": {"ms": 200},
       "options": {"queue": "default", "timeout_ms": 60000, "lease_ms": 5000,
                   "retry": {"max_attempts": 3,
                             "backoff": {"initial_ms": 1000, "multiplier": 2.0, "max_ms": 60000,
                                         "full_jitter": false}}}},
      {"name": "c", "kind": "fail", "with": {"times": 2},
       "options": {"queue": "default", "timeout_ms": 0, "lease_ms": 30000,
                   "retry": {"max_attempts": 3,
                             "backoff": {"initial_ms": 100, "multiplier": 2.0, "max_ms": 10000,
                                         "full_jitter": true}}}}
    ]})");
  EXPECT_EQ(to_json(file.workflows[0]), expected);
}

TEST(ToJson, SameSpecsGiveTheSameText) {
  // The same workflow written in another style serializes byte for byte the same.
  const std::string other = R"(workflows:
  three-steps:
    steps:
      - name: a
        kind: noop
      - kind: sleep
        name: b
        timeout: 1m
        lease: 5000ms
        with:
          ms: 200
      - {name: c, kind: fail, with: {times: 2},
         retry: {backoff: {jitter: full, max: 10s, initial: 0.1s}}}
)";
  EXPECT_EQ(to_json(parse_workflows(kExample, kPath).workflows[0]).dump(),
            to_json(parse_workflows(other, kPath).workflows[0]).dump());
}

TEST(ParseWorkflows, KeepsWorkflowsInFileOrderWithSchemasAndLimits) {
  const WorkflowsFile file = parse_workflows(R"(limits:
  llm: {requests_per_minute: 120, tokens_per_minute: 90000, concurrency: 8}
workflows:
  zeta:
    input_schema:
      type: object
      required: [text]
      properties: {text: {type: string, maxLength: 100}}
    steps: [{name: only, kind: noop}]
  alpha:
    steps: [{name: only, kind: noop}]
)",
                                             kPath);
  ASSERT_EQ(file.workflows.size(), 2u);
  EXPECT_EQ(file.workflows[0].name, "zeta");
  EXPECT_EQ(file.workflows[0].line, 4);
  EXPECT_EQ(file.workflows[1].name, "alpha");
  EXPECT_EQ(file.workflows[0].input_schema, Json::parse(R"({"type": "object", "required": ["text"],
                            "properties": {"text": {"type": "string", "maxLength": 100}}})"));
  EXPECT_TRUE(file.workflows[1].input_schema.is_null());
  EXPECT_EQ(file.limits,
            Json::parse(R"({"llm": {"requests_per_minute": 120, "tokens_per_minute": 90000,
                                    "concurrency": 8}})"));
}

TEST(ParseWorkflows, AStepGoesThroughSeveralLimitersKeyedOrNot) {
  const WorkflowsFile file = parse_workflows(R"(limits:
  llm: {tokens_per_minute: 90000}
  llm-tenant: {concurrency: 4, overrides: {acme: {tokens_per_minute: 50000, concurrency: 8}}}
workflows:
  w:
    steps:
      - name: call
        kind: noop
        limit:
          - {name: llm, tokens: "{{len(input.text) / 4 + 500}}", usage: /usage/total_tokens}
          - {name: llm-tenant, key: "{{input.tenant}}", pause_on_429: limiter}
      - {name: single, kind: noop, limit: {name: llm, tokens: 5}}
)",
                                             kPath);
  const StepOptions& call = file.workflows[0].steps[0].options;
  EXPECT_TRUE(call.limit.name.empty());
  ASSERT_EQ(call.limits.size(), 2u);
  EXPECT_EQ(call.limits[0].name, "llm");
  EXPECT_EQ(call.limits[0].tokens_template, "{{len(input.text) / 4 + 500}}");
  EXPECT_EQ(call.limits[0].usage_pointer, "/usage/total_tokens");
  EXPECT_TRUE(call.limits[0].key_template.empty());
  EXPECT_EQ(call.limits[1].key_template, "{{input.tenant}}");
  EXPECT_EQ(call.limits[1].pause_on_429, PauseScope::limiter);
  const StepOptions& single = file.workflows[0].steps[1].options;
  EXPECT_EQ(single.limit.name, "llm");
  EXPECT_EQ(single.limit.tokens, 5);
  EXPECT_TRUE(single.limits.empty());
  ASSERT_EQ(file.limiters.size(), 2u);
  ASSERT_EQ(file.limiters[1].overrides.size(), 1u);
  const LimitOverride& acme = file.limiters[1].overrides.at("acme");
  EXPECT_EQ(acme.tokens_per_minute, 50000);
  EXPECT_EQ(acme.concurrency, 8);
  EXPECT_FALSE(acme.burst);
  ASSERT_EQ(limit_uses(call).size(), 2u);
  EXPECT_EQ(limit_uses(single).size(), 1u);
}

TEST(ParseWorkflows, ScalarsKeepTheirYamlTypes) {
  const WorkflowsFile file = parse_workflows(kHead + R"(      - name: a
        kind: noop
        with:
          int: 123
          quoted: "123"
          single: '123'
          negative: -5
          plus: +7
          hex: 0x1F
          octal: 0o17
          float: 1.5
          exponent: 1e3
          dot: .5
          yes_is_text: yes
          on_is_text: on
          t: true
          f: False
          n: null
          tilde: ~
          empty:
          quoted_null: "null"
          quoted_true: "true"
          tagged: !!str 42
          tagged_float: !!float 3
          text: hello world
          version: 1.2.3
          big: 18446744073709551615
          list: [1, "2", {k: v}]
          block: |
            two
            lines
)",
                                             kPath);
  const Json expected = Json::parse(R"({
    "int": 123, "quoted": "123", "single": "123", "negative": -5, "plus": 7,
    "hex": 31, "octal": 15, "float": 1.5, "exponent": 1000.0, "dot": 0.5,
    "yes_is_text": "yes", "on_is_text": "on", "t": true, "f": false, "n": null, "tilde": null,
    "empty": null, "quoted_null": "null", "quoted_true": "true", "tagged": "42",
    "tagged_float": 3.0, "text": "hello world", "version": "1.2.3",
    "big": 18446744073709551615, "list": [1, "2", {"k": "v"}], "block": "two\nlines\n"})");
  const Json& with = file.workflows[0].steps[0].with;
  EXPECT_EQ(with, expected);
  EXPECT_TRUE(with["int"].is_number_integer());
  EXPECT_TRUE(with["float"].is_number_float());
  EXPECT_TRUE(with["tagged_float"].is_number_float());
  EXPECT_TRUE(with["quoted"].is_string());
}

// --- errors: each names the file, the line and the key ---

struct ErrorCase {
  std::string name;
  std::string yaml;
  int line;
  std::string key;
  std::string also;  // another part the message must contain
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ParseError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseError, NamesFileLineAndKey) {
  const ErrorCase& c = GetParam();
  const std::string message = config_error(c.yaml);
  EXPECT_STARTS_WITH(message, prefix(c.line, c.key));
  EXPECT_CONTAINS(message, c.also);
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

std::string step(const std::string& flow) { return kHead + "      - " + flow + "\n"; }

INSTANTIATE_TEST_SUITE_P(
    Table, ParseError,
    ::testing::Values(
        // Unknown keys, at every level.
        ErrorCase{"unknown_top_key", "workflow:\n  w: {}\n", 1, "workflow", "unknown key"},
        ErrorCase{"unknown_top_key_after_workflows",
                  kHead + "      - {name: a, kind: noop}\nversion: 2\n", 5, "version",
                  "unknown key"},
        ErrorCase{"unknown_workflow_key", kHead + "      - {name: a, kind: noop}\n    step: []\n",
                  5, "step", "expected one of: steps, input_schema"},
        ErrorCase{"unknown_step_key", step("{name: a, kind: noop, retries: 3}"), 4, "retries",
                  "unknown key"},
        ErrorCase{"unknown_step_key_block",
                  kHead + "      - name: a\n        kind: noop\n        labels: {team: x}\n", 6,
                  "labels", "step #1 'a'"},
        ErrorCase{"undeclared_limiter",
                  kHead + "      - name: a\n        kind: noop\n        limit: {name: llm}\n", 6,
                  "limit", "unknown limiter 'llm'"},
        // Several limiters, keyed ones (issue 16).
        ErrorCase{"undeclared_limiter_in_a_list",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead +
                      "      - name: a\n        kind: noop\n        limit: [{name: llm}, {name: nope}]\n",
                  8, "limit", "unknown limiter 'nope'"},
        ErrorCase{"limiter_listed_twice",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead +
                      "      - name: a\n        kind: noop\n        limit:\n          - {name: llm}\n"
                      "          - {name: llm, key: \"{{input.t}}\"}\n",
                  10, "limit", "limiter 'llm' is listed twice"},
        ErrorCase{"limit_empty_list",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead + "      - {name: a, kind: noop, limit: []}\n", 6,
                  "limit", "at least one limiter"},
        ErrorCase{"limit_key_not_a_template",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead +
                      "      - {name: a, kind: noop, limit: {name: llm, key: acme}}\n",
                  6, "key", "a template naming the run's key, like \"{{input.tenant}}\", got 'acme'"},
        ErrorCase{"limit_key_reads_a_later_step",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead +
                      "      - name: a\n        kind: noop\n        limit: {name: llm, key: \"{{steps.b.output.t}}\"}\n"
                      "      - {name: b, kind: noop}\n",
                  8, "limit", "step 'b', which comes later"},
        ErrorCase{"pause_on_429_unknown",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead +
                      "      - {name: a, kind: noop, limit: {name: llm, key: \"{{input.t}}\", pause_on_429: all}}\n",
                  6, "pause_on_429", "expected key (a 429 pauses this run's key only) or limiter (every key), got 'all'"},
        ErrorCase{"override_unknown_bound",
                  "limits:\n  llm: {concurrency: 1, overrides: {acme: {speed: 3}}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "speed", "unknown key"},
        ErrorCase{"override_empty",
                  "limits:\n  llm: {concurrency: 1, overrides: {acme: {}}}\n" + kHead + "      - {name: a, kind: noop}\n",
                  2, "acme", "at least one bound"},
        ErrorCase{"override_zero",
                  "limits:\n  llm: {concurrency: 1, overrides: {acme: {concurrency: 0}}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "concurrency", ""},
        ErrorCase{"pause_on_429_without_key",
                  "limits:\n  llm: {concurrency: 1}\n" + kHead +
                      "      - {name: a, kind: noop, limit: {name: llm, pause_on_429: limiter}}\n",
                  6, "limit", "give it with a 'key'"},
        ErrorCase{"unknown_retry_key", step("{name: a, kind: noop, retry: {attempts: 3}}"), 4,
                  "attempts", "max_attempts, backoff"},
        ErrorCase{"unknown_backoff_key",
                  kHead +
                      "      - name: a\n        kind: noop\n        retry:\n          backoff:\n"
                      "            initial: 1s\n            factor: 2\n",
                  9, "factor", "unknown key"},
        // Durations.
        ErrorCase{"bare_number_lease", step("{name: a, kind: noop, lease: 5}"), 4, "lease",
                  "needs a unit"},
        ErrorCase{"unknown_unit_timeout", step("{name: a, kind: noop, timeout: 5sec}"), 4,
                  "timeout", "'5sec'"},
        ErrorCase{"negative_initial",
                  step("{name: a, kind: noop, retry: {backoff: {initial: -1s}}}"), 4, "initial",
                  "negative"},
        ErrorCase{"fractional_ms_max",
                  step("{name: a, kind: noop, retry: {backoff: {max: 1.5ms}}}"), 4, "max",
                  "whole number of milliseconds"},
        ErrorCase{"lease_too_short", step("{name: a, kind: noop, lease: 50ms}"), 4, "lease",
                  "at least 100ms"},
        ErrorCase{"duration_as_list", step("{name: a, kind: noop, timeout: [5s]}"), 4, "timeout",
                  "a list"},
        ErrorCase{"empty_duration", step("{name: a, kind: noop, lease: }"), 4, "lease",
                  "expected a single value"},
        // Retry values.
        ErrorCase{"zero_attempts", step("{name: a, kind: noop, retry: {max_attempts: 0}}"), 4,
                  "max_attempts", "got 0"},
        ErrorCase{"negative_max_rate_limited",
                  step("{name: a, kind: noop, retry: {max_rate_limited: -1}}"), 4,
                  "max_rate_limited", "from 0 (no bound) to 1000000, got -1"},
        ErrorCase{"fractional_max_rate_limited",
                  step("{name: a, kind: noop, retry: {max_rate_limited: 1.5}}"), 4,
                  "max_rate_limited", "whole number"},
        ErrorCase{"bare_number_max_wait", step("{name: a, kind: noop, retry: {max_wait: 60}}"), 4,
                  "max_wait", "needs a unit"},
        ErrorCase{"negative_max_wait", step("{name: a, kind: noop, retry: {max_wait: -1h}}"), 4,
                  "max_wait", "negative"},
        ErrorCase{"negative_attempts", step("{name: a, kind: noop, retry: {max_attempts: -2}}"), 4,
                  "max_attempts", "got -2"},
        ErrorCase{"fractional_attempts", step("{name: a, kind: noop, retry: {max_attempts: 2.5}}"),
                  4, "max_attempts", "whole number"},
        ErrorCase{"quoted_attempts", step("{name: a, kind: noop, retry: {max_attempts: \"3\"}}"), 4,
                  "max_attempts", "\"3\""},
        ErrorCase{"huge_attempts",
                  step("{name: a, kind: noop, retry: {max_attempts: 99999999999999999999}}"), 4,
                  "max_attempts", "out of range"},
        ErrorCase{"too_many_attempts",
                  step("{name: a, kind: noop, retry: {max_attempts: 1000001}}"), 4, "max_attempts",
                  "1000000"},
        ErrorCase{"multiplier_below_one",
                  step("{name: a, kind: noop, retry: {backoff: {multiplier: 0.5}}}"), 4,
                  "multiplier", ">= 1"},
        ErrorCase{"multiplier_text",
                  step("{name: a, kind: noop, retry: {backoff: {multiplier: fast}}}"), 4,
                  "multiplier", "fast"},
        ErrorCase{"multiplier_inf",
                  step("{name: a, kind: noop, retry: {backoff: {multiplier: .inf}}}"), 4,
                  "multiplier", "JSON"},
        ErrorCase{"jitter_yes", step("{name: a, kind: noop, retry: {backoff: {jitter: yes}}}"), 4,
                  "jitter", "'full' or 'none'"},
        ErrorCase{"retry_not_map", step("{name: a, kind: noop, retry: 3}"), 4, "retry",
                  "expected a map"},
        // Steps.
        ErrorCase{"step_not_map", kHead + "      - a\n", 4, "steps", "must be a map"},
        ErrorCase{"step_is_list", kHead + "      - {name: a, kind: noop}\n      - [b, noop]\n", 5,
                  "steps", "a list"},
        ErrorCase{"missing_name", step("{kind: noop}"), 4, "name", "missing"},
        ErrorCase{"missing_kind", kHead + "      - {name: a, kind: noop}\n      - name: b\n", 5,
                  "kind", "missing"},
        ErrorCase{"empty_name", step("{name: \"\", kind: noop}"), 4, "name", "invalid step name"},
        ErrorCase{"name_with_star", step("{name: \"a*\", kind: noop}"), 4, "name", "'a*'"},
        ErrorCase{"name_with_colon", step("{name: \"a:b\", kind: noop}"), 4, "name", "'a:b'"},
        ErrorCase{"name_with_brace", step("{name: \"{a}\", kind: noop}"), 4, "name", "'{a}'"},
        ErrorCase{"name_with_newline", step("{name: \"a\\nb\", kind: noop}"), 4, "name",
                  "'a\\x0ab'"},
        ErrorCase{"name_65_chars", step("{name: " + std::string(65, 's') + ", kind: noop}"), 4,
                  "name", "{1,64}"},
        ErrorCase{"name_is_list", step("{name: [a], kind: noop}"), 4, "name", "a list"},
        ErrorCase{"empty_kind", step("{name: a, kind: \"\"}"), 4, "kind", "empty"},
        ErrorCase{"kind_is_map", step("{name: a, kind: {x: 1}}"), 4, "kind", "a map"},
        ErrorCase{"duplicate_step",
                  kHead + "      - {name: a, kind: noop}\n      - {name: b, kind: noop}\n"
                          "      - {name: a, kind: noop}\n",
                  6, "name", "first on line 4"},
        ErrorCase{"duplicate_key_in_step", step("{name: a, kind: noop, name: b}"), 4, "name",
                  "duplicate key"},
        ErrorCase{"bad_queue", step("{name: a, kind: noop, queue: \"q:1\"}"), 4, "queue", "'q:1'"},
        ErrorCase{"with_is_list", step("{name: a, kind: noop, with: [1]}"), 4, "with",
                  "expected a map"},
        ErrorCase{"with_is_null", step("{name: a, kind: noop, with: }"), 4, "with",
                  "expected a map"},
        ErrorCase{"duplicate_key_in_with",
                  kHead + "      - name: a\n        kind: sleep\n        with:\n          ms: 1\n"
                          "          ms: 2\n",
                  8, "ms", "duplicate key"},
        ErrorCase{"unsupported_tag_in_with",
                  step("{name: a, kind: noop, with: {x: !!binary aGk=}}"), 4, "x",
                  "unsupported tag"},
        ErrorCase{"bad_int_tag_in_with", step("{name: a, kind: noop, with: {x: !!int abc}}"), 4,
                  "x", "!!int"},
        ErrorCase{"integer_out_of_range_in_with",
                  step("{name: a, kind: noop, with: {x: 99999999999999999999}}"), 4, "x",
                  "out of range"},
        ErrorCase{"nan_in_with", step("{name: a, kind: noop, with: {x: .nan}}"), 4, "x", "NaN"},
        // Workflows.
        ErrorCase{"empty_steps", "workflows:\n  w:\n    steps: []\n", 3, "steps", "empty"},
        ErrorCase{"steps_is_map", "workflows:\n  w:\n    steps: {a: noop}\n", 3, "steps",
                  "expected a list"},
        ErrorCase{"missing_steps", "workflows:\n  w:\n    input_schema: {type: object}\n", 2,
                  "steps", "missing"},
        ErrorCase{"workflow_not_map", "workflows:\n  w: 3\n", 2, "w", "expected a map"},
        ErrorCase{"workflow_null", "workflows:\n  w:\n", 2, "w", "expected a map"},
        ErrorCase{"duplicate_workflow",
                  "workflows:\n  w:\n    steps: [{name: a, kind: noop}]\n  w:\n"
                  "    steps: [{name: a, kind: noop}]\n",
                  4, "w", "duplicate key"},
        ErrorCase{"workflow_name_colon",
                  "workflows:\n  \"w:1\":\n    steps: [{name: a, kind: noop}]\n", 2, "w:1",
                  "invalid workflow name"},
        ErrorCase{
            "workflow_name_65",
            "workflows:\n  " + std::string(65, 'w') + ":\n    steps: [{name: a, kind: noop}]\n", 2,
            std::string(65, 'w'), "{1,64}"},
        ErrorCase{
            "input_schema_not_map",
            "workflows:\n  w:\n    input_schema: object\n    steps: [{name: a, kind: noop}]\n", 3,
            "input_schema", "expected a JSON Schema"},
        ErrorCase{"workflows_is_list", "workflows: [w]\n", 1, "workflows", "a list"},
        ErrorCase{"workflows_empty", "workflows: {}\n", 1, "workflows", "no workflows"},
        ErrorCase{"no_workflows_key", "limits: {}\n", 1, "workflows", "missing"},
        ErrorCase{"limits_not_map", "limits: 3\n" + kHead + "      - {name: a, kind: noop}\n", 1,
                  "limits", "expected a map"},
        // Templates may read only earlier steps' outputs.
        ErrorCase{"template_reads_a_missing_step",
                  kHead + "      - {name: a, kind: noop}\n      - name: b\n        kind: http\n"
                          "        with: {url: \"http://x/{{steps.nope.output.id}}\"}\n",
                  7, "with", "step 'nope', which is not a step of workflow 'w'"},
        ErrorCase{"template_reads_a_later_step",
                  kHead + "      - name: a\n        kind: http\n"
                          "        with: {url: \"http://x/{{steps.b.output.id}}\"}\n"
                          "      - {name: b, kind: noop}\n",
                  6, "with", "step 'b', which comes later in workflow 'w'"},
        ErrorCase{"template_reads_its_own_step",
                  kHead + "      - {name: a, kind: noop}\n      - name: b\n        kind: exec\n"
                          "        with: {command: [echo, \"{{len(steps.b.output) + 1}}\"]}\n",
                  7, "with", "step 'b', which is this step itself; a template may read only the outputs of the steps that finish before it (earlier: a)"},
        ErrorCase{"limit_tokens_read_a_later_step",
                  "limits: {l: {tokens_per_minute: 100}}\n" + kHead +
                      "      - name: a\n        kind: noop\n"
                      "        limit: {name: l, tokens: \"{{len(steps.b.output)}}\"}\n"
                      "      - {name: b, kind: noop}\n",
                  7, "limit", "comes later"},
        // `needs` (the steps' graph) and `if`.
        ErrorCase{"needs_not_a_list", kHead + "      - {name: a, kind: noop}\n      - {name: b, kind: noop, needs: a}\n",
                  5, "needs", "expected a list of step names like [split, fetch]"},
        ErrorCase{"needs_bad_name", kHead + "      - {name: a, kind: noop}\n      - name: b\n        kind: noop\n"
                                           "        needs: [a, \"b c\"]\n",
                  7, "needs", "expected a step name (^[A-Za-z0-9_-]{1,64}$), got 'b c'"},
        ErrorCase{"needs_unknown_step", kHead + "      - {name: a, kind: noop}\n      - name: b\n        kind: noop\n"
                                               "        needs: [nope]\n",
                  7, "needs", "step 'b' needs 'nope', which is no step of the workflow"},
        ErrorCase{"needs_a_cycle", kHead + "      - name: a\n        kind: noop\n        needs: [b]\n"
                                          "      - {name: b, kind: noop}\n",
                  6, "needs", "the steps' needs form a cycle (a -> b -> a)"},
        ErrorCase{"needs_twice", kHead + "      - {name: a, kind: noop}\n      - {name: b, kind: noop, needs: [a, a]}\n",
                  5, "needs", "step 'b' needs 'a' twice"},
        ErrorCase{"needs_branches_on_two_queues",
                  kHead + "      - {name: fetch, kind: noop}\n      - name: split\n        kind: noop\n"
                          "        queue: other\n        needs: []\n",
                  8, "needs",
                  "step 'split' runs on queue 'other' and step 'fetch' on 'default': this version runs every "
                  "step of a workflow with parallel branches, fan-in, a map step or a child workflow step on one queue"},
        ErrorCase{"map_on_another_queue",
                  kHead + "      - {name: split, kind: noop}\n      - name: each\n        kind: noop\n"
                          "        queue: other\n        map: {over: \"{{steps.split.output}}\"}\n",
                  5, "needs", "a map step or a child workflow step on one queue"},
        ErrorCase{"map_not_a_map", step("{name: a, kind: noop, map: \"{{input.xs}}\"}"), 4, "map",
                  "expected a map like {over: \"{{steps.split.output.chunks}}\", max_parallel: 20}"},
        ErrorCase{"map_without_over", step("{name: a, kind: noop, map: {max_parallel: 2}}"), 4, "map",
                  "missing `over`"},
        ErrorCase{"map_over_not_a_template", step("{name: a, kind: noop, map: {over: [1, 2]}}"), 4, "over",
                  "expected a template giving an array"},
        ErrorCase{"map_over_reads_item", step("{name: a, kind: noop, map: {over: \"{{item}}\"}}"), 4, "over",
                  "cannot read `item` or `item_index`"},
        ErrorCase{"map_max_parallel_zero", step("{name: a, kind: noop, map: {over: \"{{input.xs}}\", max_parallel: 0}}"),
                  4, "max_parallel", "expected a whole number from 1 to 100000, got 0"},
        ErrorCase{"map_max_items_over", step("{name: a, kind: noop, map: {over: \"{{input.xs}}\", max_items: 100001}}"),
                  4, "max_items", "expected a whole number from 1 to 100000, got 100001"},
        ErrorCase{"map_max_output_bytes_zero",
                  step("{name: a, kind: noop, map: {over: \"{{input.xs}}\", max_output_bytes: 0}}"), 4,
                  "max_output_bytes", "expected a number of bytes from 1 to 268435456, got 0"},
        ErrorCase{"map_on_item_failure_unknown",
                  step("{name: a, kind: noop, map: {over: \"{{input.xs}}\", on_item_failure: skip}}"), 4,
                  "on_item_failure", "expected fail_run"},
        ErrorCase{"map_unknown_key", step("{name: a, kind: noop, map: {over: \"{{input.xs}}\", paralel: 2}}"), 4,
                  "paralel", "unknown key"},
        ErrorCase{"map_with_on_failure",
                  step("{name: a, kind: noop, on_failure: continue, map: {over: \"{{input.xs}}\"}}"), 4,
                  "on_failure", "says what a failing item does with `on_item_failure`"},
        ErrorCase{"map_on_a_wait", step("{name: a, kind: wait, with: {for: 1s}, map: {over: \"{{input.xs}}\"}}"), 4,
                  "map", "a wait step cannot be a map step"},
        ErrorCase{"map_over_reads_a_later_step",
                  kHead + "      - {name: a, kind: noop, map: {over: \"{{steps.b.output}}\"}}\n"
                          "      - {name: b, kind: noop}\n",
                  4, "map", "reads step 'b', which comes later"},
        ErrorCase{"child_unknown_workflow", step("{name: a, kind: workflow, with: {workflow: nope}}"), 4, "with",
                  "unknown workflow 'nope'"},
        ErrorCase{"child_without_workflow", step("{name: a, kind: workflow, with: {input: {}}}"), 4, "with",
                  "a child workflow step names its workflow"},
        ErrorCase{"child_bad_workflow_name", step("{name: a, kind: workflow, with: {workflow: [v]}}"), 4, "with",
                  "a child workflow step names its workflow"},
        ErrorCase{"child_unknown_parameter", step("{name: a, kind: workflow, with: {workflow: w, inputs: {}}}"), 4,
                  "with", "unknown parameter 'inputs' of a child workflow step"},
        ErrorCase{"child_with_retry",
                  step("{name: a, kind: workflow, with: {workflow: w}, retry: {max_attempts: 2}}"), 4, "retry",
                  "a child workflow step holds no worker while its child runs"},
        ErrorCase{"child_of_itself", step("{name: a, kind: workflow, with: {workflow: w}}"), 4, "with",
                  "workflow 'w' would start itself: w -> w"},
        ErrorCase{"child_cycle",
                  kHead + "      - {name: a, kind: workflow, with: {workflow: v}}\n"
                          "  v:\n    steps:\n      - {name: b, kind: workflow, with: {workflow: w}}\n",
                  4, "with", "workflow 'w' would start itself: w -> v -> w"},
        ErrorCase{"child_input_reads_a_later_step",
                  kHead + "      - {name: a, kind: workflow, with: {workflow: v, input: {x: \"{{steps.b.output}}\"}}}\n"
                          "      - {name: b, kind: noop}\n"
                          "  v:\n    steps:\n      - {name: c, kind: noop}\n",
                  4, "with", "reads step 'b', which comes later"},
        ErrorCase{"child_input_reads_item_outside_a_map",
                  kHead + "      - {name: a, kind: workflow, with: {workflow: v, input: {x: \"{{item}}\"}}}\n"
                          "  v:\n    steps:\n      - {name: c, kind: noop}\n",
                  4, "with", "only a map step has"},
        ErrorCase{"item_outside_a_map", step("{name: a, kind: http, with: {url: \"http://x/{{item}}\"}}"), 4, "with",
                  "only a map step has"},
        // Task steps (external workers): their own queue, a task name.
        ErrorCase{"task_without_queue", step("{name: a, kind: task, with: {task: t}}"), 4, "queue",
                  "a task step must name its queue"},
        ErrorCase{"task_queue_shared_with_other_kinds",
                  kHead + "      - {name: a, kind: noop}\n      - {name: b, kind: task, queue: default, with: {task: t}}\n", 5,
                  "queue", "queue 'default' would hold a task step and, from workflow 'w' step 'a', steps of other kinds"},
        ErrorCase{"item_in_a_maps_if",
                  step("{name: a, kind: noop, if: \"{{item}}\", map: {over: \"{{input.xs}}\"}}"), 4, "if",
                  "a map step's `if` cannot"},
        ErrorCase{"on_failure_unknown", step("{name: a, kind: noop, on_failure: ignore}"), 4, "on_failure",
                  "expected fail_run (the run fails into the dead-letter queue) or continue"},
        ErrorCase{"on_failure_on_a_wait", step("{name: a, kind: wait, with: {for: 1s}, on_failure: continue}"), 4,
                  "on_failure", "a wait step fails only at a signal's timeout"},
        ErrorCase{"if_empty", kHead + "      - {name: a, kind: noop, if: \"\"}\n", 4, "if",
                  "expected a template like \"{{len(steps.search.output.hits)}}\""},
        ErrorCase{"if_bad_syntax", kHead + "      - name: a\n        kind: noop\n        if: \"{{input.x\"\n", 6, "if",
                  "{{"},
        ErrorCase{"if_reads_a_later_step",
                  kHead + "      - name: a\n        kind: noop\n        if: \"{{steps.b.output}}\"\n"
                          "      - {name: b, kind: noop}\n",
                  6, "if", "step 'b', which comes later in workflow 'w'"},
        // yaml-cpp writes the escapes \_ and \N of a double-quoted string as one raw byte.
        ErrorCase{"escape_not_utf8",
                  "workflows:\n  w:\n    input_schema:\n      type: object\n      description: \"a\\_b\"\n"
                  "    steps: [{name: a, kind: noop}]\n",
                  5, "description", "a string that is not UTF-8 once its escapes are read"},
        // input_schema must be a valid JSON Schema draft-04 (the line of the bad keyword).
        ErrorCase{"input_schema_unknown_type",
                  "workflows:\n  w:\n    input_schema:\n      type: objekt\n    steps: [{name: a, kind: noop}]\n",
                  4, "input_schema", "not a valid JSON Schema (draft-04): at '/type': must be one of array"},
        ErrorCase{"input_schema_required_not_a_list",
                  "workflows:\n  w:\n    input_schema:\n      type: object\n      required: name\n"
                  "    steps: [{name: a, kind: noop}]\n",
                  5, "input_schema", "at '/required': must be a list of one or more distinct member names"},
        ErrorCase{"input_schema_nested_bad_type",
                  "workflows:\n  w:\n    input_schema:\n      type: object\n      properties:\n"
                  "        url: {type: strin}\n    steps: [{name: a, kind: noop}]\n",
                  6, "input_schema", "at '/properties/url/type'"},
        ErrorCase{"input_schema_negative_min_length",
                  "workflows:\n  w:\n    input_schema:\n      type: string\n      minLength: -1\n"
                  "    steps: [{name: a, kind: noop}]\n",
                  5, "input_schema", "at '/minLength'"},
        ErrorCase{"input_schema_unsupported_pattern",
                  "workflows:\n  w:\n    input_schema:\n      type: string\n      pattern: \"(?<=a)b\"\n"
                  "    steps: [{name: a, kind: noop}]\n",
                  3, "input_schema", "pattern"},
        // Ordered queues.
        ErrorCase{"queue_unknown_option", "queues:\n  q: {fifo: true}\n" + kHead + "      - {name: a, kind: noop}\n",
                  2, "fifo", "expected one of: max_backlog, fairness, priorities, aging"},
        ErrorCase{"queue_fairness_without_key", "queues:\n  q: {fairness: {weights: {a: 2}}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "fairness", "missing `key`"},
        ErrorCase{"queue_fairness_key_not_a_template", "queues:\n  q: {fairness: {key: tenant}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "key", "the same for every run"},
        ErrorCase{"queue_fairness_key_bad_template", "queues:\n  q: {fairness: {key: \"{{input.}}\"}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "key", "input."},
        ErrorCase{"queue_weight_zero", "queues:\n  q: {fairness: {key: \"{{input.t}}\", weights: {a: 0}}}\n" +
                      kHead + "      - {name: a, kind: noop}\n",
                  2, "a", "from 1 to 1000, got 0"},
        ErrorCase{"queue_weight_over_the_bound",
                  "queues:\n  q: {fairness: {key: \"{{input.t}}\", weights: {a: 1001}}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "a", "got 1001"},
        ErrorCase{"queue_weight_not_a_number",
                  "queues:\n  q: {fairness: {key: \"{{input.t}}\", weights: {a: lots}}}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "a", "\"lots\""},
        ErrorCase{"queue_priorities_not_a_boolean", "queues:\n  q: {priorities: yes please}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "priorities", "expected true or false"},
        ErrorCase{"queue_aging_on_a_fifo_queue", "queues:\n  q: {aging: 1m}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "aging", "declare `priorities: true` or `fairness`"},
        ErrorCase{"queue_aging_too_short", "queues:\n  q: {priorities: true, aging: 10ms}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "aging", "at least 1s"},
        ErrorCase{"queue_aging_not_a_duration", "queues:\n  q: {priorities: true, aging: soon}\n" + kHead +
                      "      - {name: a, kind: noop}\n",
                  2, "aging", "soon"},
        ErrorCase{"empty_file", "", 1, "workflows", "empty"},
        ErrorCase{"only_comments", "# nothing here\n", 1, "workflows", "empty"}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(ParseWorkflows, OrderedQueuesReachTheFileAndTheDefinitions) {
  const WorkflowsFile f = parse_workflows(
      "queues:\n"
      "  fair: {fairness: {key: \"{{input.tenant}}\", weights: {gold: 3, \"a b\": 1000}}, aging: 10m, max_backlog: 9}\n"
      "  urgent: {priorities: true}\n"
      "  never: {priorities: true, aging: 0}\n"
      "  plain: {max_backlog: 5}\n"
      "  off: {priorities: false}\n"
      "workflows:\n"
      "  w:\n"
      "    steps:\n"
      "      - {name: a, kind: noop, queue: fair}\n"
      "      - {name: b, kind: noop, queue: plain}\n",
      "f.yaml");
  ASSERT_EQ(f.queue_order.size(), 3u) << "plain and off are FIFO";
  const QueueOrder& fair = f.queue_order.at("fair");
  EXPECT_EQ(fair.fairness_key, "{{input.tenant}}");
  EXPECT_EQ(fair.weights, (std::map<std::string, int>{{"gold", 3}, {"a b", 1000}}));
  EXPECT_EQ(fair.aging, std::chrono::minutes(10));
  EXPECT_EQ(f.max_backlog.at("fair"), 9);
  EXPECT_TRUE(f.queue_order.at("urgent").fairness_key.empty());
  EXPECT_EQ(f.queue_order.at("urgent").aging, std::chrono::minutes(5)) << "the default";
  EXPECT_EQ(f.queue_order.at("never").aging, std::chrono::milliseconds(0));
  const std::vector<Workflow> built = build_workflows(f, steps::builtin_kinds());
  const Json def = store::definition_of(built.at(0), f.max_backlog, f.queue_order);
  EXPECT_EQ(def["order"], (Json{{"fair", {{"fairness_key", "{{input.tenant}}"},
                                          {"weights", {{"a b", 1000}, {"gold", 3}}},
                                          {"aging_ms", 600000}}}}))
      << "only the queues the workflow uses";
  EXPECT_FALSE(store::definition_of(built.at(0)).contains("order")) << "definitions without it stay equal";
}

// Client::register_workflow makes a definition without the queue settings
// (they are the workers'): it keeps those recorded for the queues it still uses.
TEST(RecordedQueueSettings, AreKeptForTheQueuesTheDefinitionStillUses) {
  const Json order = {{"fairness_key", "{{input.tenant}}"}, {"aging_ms", 300000}};
  const Json recorded = {{"steps", {{{"name", "a"}, {"queue", "fair"}}, {{"name", "b"}, {"queue", "gone"}}}},
                         {"max_backlog", 9},
                         {"order", {{"fair", order}, {"gone", order}}}};
  const auto def = [](std::vector<std::string> queues) {
    Json steps = Json::array();
    for (const std::string& q : queues) steps.push_back({{"name", "s" + q}, {"queue", q}});
    return Json{{"name", "w"}, {"steps", steps}};
  };
  struct Row {
    const char* name;
    Json definition;
    Json recorded;
    Json want_order;  // null = none
    Json want_max_backlog;
  };
  const Row rows[] = {
      {"both kept", def({"fair"}), recorded, {{"fair", order}}, 9},
      {"a queue no longer used is dropped", def({"fair", "other"}), recorded, {{"fair", order}}, 9},
      {"another first queue: no backlog bound", def({"other", "fair"}), recorded, {{"fair", order}}, nullptr},
      {"nothing recorded", def({"fair"}), nullptr, nullptr, nullptr},
      {"recorded without settings", def({"fair"}), Json{{"steps", Json::array()}}, nullptr, nullptr},
  };
  for (const Row& r : rows) {
    const Json got = store::with_recorded_queue_settings(r.definition, r.recorded);
    EXPECT_EQ(got.contains("order") ? got["order"] : Json(nullptr), r.want_order) << r.name;
    EXPECT_EQ(got.contains("max_backlog") ? got["max_backlog"] : Json(nullptr), r.want_max_backlog) << r.name;
    EXPECT_EQ(got["steps"], r.definition["steps"]) << r.name;
  }
  Json own = def({"fair"});
  own["order"] = {{"fair", {{"aging_ms", 0}}}};
  own["max_backlog"] = 3;
  const Json kept = store::with_recorded_queue_settings(own, recorded);
  EXPECT_EQ(kept["order"]["fair"], (Json{{"aging_ms", 0}})) << "a definition's own settings win";
  EXPECT_EQ(kept["max_backlog"], 3);
}

TEST(ParseWorkflows, TemplatesMayReadEarlierStepsAndTheInput) {
  const WorkflowsFile file = parse_workflows(
      kHead + "      - {name: a, kind: noop}\n      - name: b\n        kind: http\n"
              "        with: {url: \"http://x/{{steps.a.output.id}}/{{input.q}}\", headers: {X: \"${HOME}\"}}\n",
      kPath);
  ASSERT_EQ(file.workflows.at(0).steps.size(), 2u);
}

// `needs` that spell out the chain, `if` conditions and `on_failure` load, reach the built
// Workflow and the canonical JSON (only when written: a file without them
// registers the same JSON as before).
TEST(ParseWorkflows, NeedsIfAndOnFailureReachTheWorkflowAndItsJson) {
  const WorkflowsFile file = parse_workflows(
      kHead + "      - {name: search, kind: noop, needs: [], on_failure: continue}\n"
              "      - name: summarize\n        kind: noop\n        needs: [search]\n"
              "        if: \"{{len(steps.search.output.hits)}}\"\n"
              "      - {name: report, kind: noop}\n",
      kPath);
  const std::vector<StepSpec>& steps = file.workflows.at(0).steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].needs, std::vector<std::string>{});
  EXPECT_EQ(steps[1].needs, std::vector<std::string>{"search"});
  EXPECT_EQ(steps[1].condition, "{{len(steps.search.output.hits)}}");
  EXPECT_EQ(steps[1].if_line, 8);
  EXPECT_FALSE(steps[2].needs.has_value());
  EXPECT_EQ(steps[0].options.on_failure, OnFailure::continue_);
  EXPECT_EQ(steps[2].options.on_failure, OnFailure::fail_run);
  const std::vector<Workflow> built = build_workflows(file, steps::builtin_kinds());
  EXPECT_EQ(built.at(0).steps()[1].condition, "{{len(steps.search.output.hits)}}");
  EXPECT_EQ(built.at(0).steps()[1].needs, std::vector<std::string>{"search"});
  const Json json = to_json(file.workflows.at(0));
  EXPECT_EQ(json["steps"][1]["needs"], Json::array({"search"}));
  EXPECT_EQ(json["steps"][1]["if"], "{{len(steps.search.output.hits)}}");
  EXPECT_FALSE(json["steps"][2].contains("needs"));
  EXPECT_FALSE(json["steps"][2].contains("if"));
  EXPECT_EQ(json["steps"][0]["on_failure"], "continue");
  EXPECT_FALSE(json["steps"][2].contains("on_failure"));
}

// The issue's map step: `over` reads an earlier output, `item` is read in
// `with`, the defaults fill what is not written, and the built workflow and
// its JSON carry it.
TEST(ParseWorkflows, AMapStepReachesTheWorkflowAndItsJson) {
  const WorkflowsFile file = parse_workflows(
      kHead + "      - {name: split, kind: noop}\n"
              "      - name: summarize\n        kind: http\n"
              "        map: {over: \"{{steps.split.output.chunks}}\", max_parallel: 20, on_item_failure: continue}\n"
              "        with: {method: POST, url: \"http://127.0.0.1:9/{{item_index}}\", body: {prompt: \"{{item}}\"}}\n"
              "      - {name: merge, kind: noop, needs: [summarize]}\n",
      kPath);
  const std::vector<StepSpec>& steps = file.workflows.at(0).steps;
  ASSERT_TRUE(steps[1].map.has_value());
  EXPECT_EQ(steps[1].map->over, "{{steps.split.output.chunks}}");
  EXPECT_EQ(steps[1].map->max_parallel, 20);
  EXPECT_EQ(steps[1].map->on_item_failure, OnItemFailure::continue_);
  EXPECT_EQ(steps[1].map->max_items, 10'000) << "the default";
  EXPECT_EQ(steps[1].map->max_output_bytes, std::int64_t{64} << 20) << "the default";
  EXPECT_EQ(steps[1].map_line, 7);
  EXPECT_FALSE(steps[0].map.has_value());
  const std::vector<Workflow> built = build_workflows(file, steps::builtin_kinds());
  ASSERT_TRUE(built.at(0).steps()[1].map.has_value());
  EXPECT_EQ(built.at(0).steps()[1].map->max_parallel, 20);
  const Json json = to_json(file.workflows.at(0));
  EXPECT_EQ(json["steps"][1]["map"]["over"], "{{steps.split.output.chunks}}");
  EXPECT_EQ(json["steps"][1]["map"]["on_item_failure"], "continue");
  EXPECT_FALSE(json["steps"][0].contains("map"));
}

TEST(ParseWorkflows, AChildWorkflowStepReachesTheWorkflowAsAGraph) {
  const WorkflowsFile file = parse_workflows(
      kHead + "      - {name: split, kind: noop}\n"
              "      - name: each\n        kind: workflow\n"
              "        map: {over: \"{{steps.split.output.chunks}}\", max_parallel: 5}\n"
              "        with: {workflow: v, input: {chunk: \"{{item}}\", from: \"{{steps.split.output.id}}\"}}\n"
              "  v:\n    steps:\n      - {name: c, kind: noop}\n",
      kPath);
  const std::vector<Workflow> built = build_workflows(file, steps::builtin_kinds());
  const StepDefinition& each = built.at(0).steps().at(1);
  ASSERT_TRUE(each.child.has_value());
  EXPECT_EQ(each.child->workflow, "v");
  EXPECT_EQ(each.child->input, (Json{{"chunk", "{{item}}"}, {"from", "{{steps.split.output.id}}"}}));
  EXPECT_EQ(each.map->max_parallel, 5);
  EXPECT_EQ(each.options.retry.max_attempts, kClaimsBeforeGivingUp) << "its failures are fatal; attempts are for lost claims";
  EXPECT_FALSE(built.at(0).steps().at(0).child.has_value());
  EXPECT_TRUE(engine::runs_as_graph(engine::graph_of(built.at(0)),
                                    {{"split", "default", false, false}, {"each", "default", true, true}}));
}

TEST(ParseWorkflows, ATaskStepReachesTheWorkflowWithItsTaskAndOptions) {
  const WorkflowsFile file = parse_workflows(
      kHead + "      - {name: prep, kind: noop}\n"
              "      - name: summarize\n        kind: task\n        queue: py\n        timeout: 2m\n"
              "        retry: {max_attempts: 5}\n        with: {task: summarize.v2}\n",
      kPath);
  const std::vector<Workflow> built = build_workflows(file, steps::builtin_kinds());
  const StepDefinition& task = built.at(0).steps().at(1);
  EXPECT_EQ(task.task, "summarize.v2");
  EXPECT_EQ(task.options.queue, "py");
  EXPECT_EQ(task.options.timeout, std::chrono::minutes(2));
  EXPECT_EQ(task.options.retry.max_attempts, 5);
  EXPECT_FALSE(task.handler) << "no handler here: an external worker runs it";
  EXPECT_TRUE(built.at(0).steps().at(0).task.empty());
  EXPECT_EQ(to_json(file.workflows.at(0))["steps"][1]["kind"], "task") << "the registered definition says so";
}

TEST(BuildWorkflows, ATaskStepNeedsAValidTaskNameAndNothingElse) {
  EXPECT_STARTS_WITH(build_error(step("{name: a, kind: task, queue: py}")), prefix(4, "with"));
  EXPECT_CONTAINS(build_error(step("{name: a, kind: task, queue: py}")), "a task step needs `task`");
  EXPECT_CONTAINS(build_error(step("{name: a, kind: task, queue: py, with: {task: \"a b\"}}")),
                  "task name 'a b' must match ^[A-Za-z0-9_.-]{1,64}$");
  EXPECT_CONTAINS(build_error(step("{name: a, kind: task, queue: py, with: {task: t, tsk: u}}")),
                  "unknown parameter 'tsk' of a task step (expected task)");
}

TEST(Workflow, TaskRefusesABadTaskName) {
  Workflow w("w");
  StepOptions o;
  o.queue = "py";
  EXPECT_THROW(w.task("a", "", o), std::invalid_argument);
  EXPECT_THROW(w.task("a", "a/b", o), std::invalid_argument);
  EXPECT_THROW(w.task("a", std::string(65, 'x'), o), std::invalid_argument);
  EXPECT_NO_THROW(w.task("a", std::string(64, 'x'), o));
  EXPECT_THROW(w.task("a", "t", o), std::invalid_argument) << "a duplicate step name";
}

TEST(Workflow, ChildMakesAChildWorkflowStepAndRefusesWhatCannotWork) {
  Workflow w("w");
  w.child("c", ChildSpec{"other", Json{{"x", "{{input.x}}"}}});
  EXPECT_EQ(w.steps()[0].child->workflow, "other");
  EXPECT_THROW(w.child("c", ChildSpec{"other", Json()}), std::invalid_argument) << "a duplicate name";
  EXPECT_THROW(w.child("d", ChildSpec{"no such", Json()}), std::invalid_argument) << "a bad workflow name";
  EXPECT_THROW(w.child("e", ChildSpec{"other", Json{{"x", "{{input.x"}}}), std::invalid_argument)
      << "an input template that does not parse";
  Workflow chain("chain");
  chain.step("a", [](StepContext&) -> StepResult { return Json(); }).child("b", ChildSpec{"w", Json()});
  EXPECT_TRUE(engine::runs_as_graph(engine::graph_of(chain), {{"a", "default", false, false}, {"b", "default", false, true}}))
      << "a chain with a child workflow step runs as a graph";
}

TEST(ParseWorkflowsErrors, SyntaxErrorNamesFileAndLine) {
  const std::string message = config_error(kHead + "      - {name: a, kind: noop\n      - b\n");
  EXPECT_STARTS_WITH(message, std::string(kPath) + ":");
  EXPECT_CONTAINS(message, "invalid YAML");
}

TEST(ParseWorkflowsErrors, SyntaxErrorLine) {
  const std::string message = config_error("workflows:\n  w:\n    steps: [a\n  x: 1\n");
  EXPECT_CONTAINS(message, "invalid YAML");
  EXPECT_STARTS_WITH(message, std::string(kPath) + ":4:");
}

TEST(ParseWorkflowsErrors, TheRootMustBeAMap) {
  EXPECT_STARTS_WITH(config_error("- a\n- b\n"), std::string(kPath) + ":1: ");
  EXPECT_CONTAINS(config_error("just text\n"), "expected a map");
}

TEST(ParseWorkflowsErrors, MoreThanOneDocument) {
  const std::string message = config_error(kHead + "      - {name: a, kind: noop}\n---\n" + kHead +
                                           "      - {name: a, kind: noop}\n");
  EXPECT_CONTAINS(message, "more than one YAML document");
  EXPECT_STARTS_WITH(message, std::string(kPath) + ":6:");
}

// Found by fuzz/workflows_fuzzer: on a ',' at the top level yaml-cpp 0.7
// yields empty documents forever, and YAML::LoadAll never returned (the
// process hung, growing).
TEST(ParseWorkflowsErrors, AStrayCommaAtTheTopLevelEnds) {
  for (const char* yaml : {",\n", ",: >\n", ",orkflo0ropert:\n    >-ooop\n", "workflows: {}\n,\n"}) {
    const std::string message = config_error(yaml);
    EXPECT_STARTS_WITH(message, std::string(kPath) + ":") << yaml;
  }
}

TEST(ParseWorkflowsErrors, ErrorsSayWhichWorkflowAndStep) {
  const std::string message = config_error(
      "workflows:\n  ok:\n    steps: [{name: a, kind: noop}]\n  bad:\n    steps:\n"
      "      - {name: a, kind: noop}\n      - {name: b, kind: noop, lease: 1}\n");
  EXPECT_STARTS_WITH(message, prefix(7, "lease"));
  EXPECT_CONTAINS(message, "(in workflow 'bad', step #2 'b')");
}

TEST(ParseWorkflowsErrors, HugeValuesAreCutInMessages) {
  const std::string huge(100'000, 'q');
  const std::string message = config_error(step("{name: a, kind: noop, queue: " + huge + "}"));
  EXPECT_STARTS_WITH(message, prefix(4, "queue"));
  EXPECT_LT(message.size(), 1000u);
}

TEST(ParseWorkflowsErrors, DeepNestingIsRefused) {
  std::string nested = "1";
  for (int i = 0; i < kMaxJsonDepth + 1; ++i) nested = "[" + nested + "]";
  const std::string message =
      config_error(step("{name: a, kind: noop, with: {x: " + nested + "}}"));
  EXPECT_STARTS_WITH(message, prefix(4, "x"));
  EXPECT_CONTAINS(message, "nested deeper");
}

// Found by fuzz/workflows_fuzzer: yaml-cpp passes bytes that are not UTF-8
// through, and describing the workflow as JSON (what workers register) threw
// nlohmann's type_error, with no file or line.
TEST(ParseWorkflowsErrors, TextThatIsNotUtf8IsRefusedWithItsLine) {
  const std::string message =
      config_error(kHead + "      - {name: a, kind: noop}\n      - {name: b, kind: noop, queue: q\xe3}\n");
  EXPECT_EQ(message, std::string(kPath) + ":5: invalid UTF-8 (byte 0xE3); the file must be UTF-8 text");
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff", "\x80"}) {
    EXPECT_CONTAINS(config_error(step(std::string("{name: a, kind: noop, queue: \"") + bad + "\"}")),
                    ":4: invalid UTF-8");
  }
  // Nor may it hold control characters (YAML allows printable text only): a
  // NUL in a key came out of yaml-cpp as bytes that are not UTF-8.
  EXPECT_EQ(config_error(step(std::string("{name: a, kind: noop, with: {") + '\0' + "N: 1}}")),
            std::string(kPath) + ":4: control character 0x00; the file must be UTF-8 text");
  for (const char* bad : {"\x01", "\x1b[2J", "\x7f", "\x0b"}) {
    EXPECT_CONTAINS(config_error(step(std::string("{name: a, kind: noop, queue: q") + bad + "}")),
                    ":4: control character");
  }
  // Tabs, line feeds and carriage returns are text.
  EXPECT_NO_THROW((void)parse_workflows(kHead + "      - {name: a,\tkind: noop}\r\n", kPath));
  // Well-formed multi-byte text is fine, up to U+10FFFF.
  const WorkflowsFile file = parse_workflows(
      kHead + "      - {name: a, kind: noop, with: {x: \"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}}\n",
      kPath);
  EXPECT_EQ(file.workflows[0].steps[0].with["x"], "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
  EXPECT_NO_THROW((void)to_json(file.workflows[0]).dump());
}

TEST(ParseWorkflowsErrors, AliasExpansionIsBounded) {
  // Ten anchors, each ten uses of the previous: 10^10 values if expanded.
  std::string anchors = "          l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int i = 1; i < 10; ++i) {
    std::string uses;
    for (int j = 0; j < 10; ++j) uses += std::string(j ? ", " : "") + "*l" + std::to_string(i - 1);
    anchors += "          l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + uses + "]\n";
  }
  const std::string message =
      config_error(kHead + "      - name: a\n        kind: noop\n        with:\n" + anchors);
  EXPECT_CONTAINS(message, "too many values");
}

TEST(ParseWorkflowsErrors, AliasesWithinBudgetExpand) {
  const WorkflowsFile file = parse_workflows(
      kHead +
          "      - name: a\n        kind: noop\n        with:\n          base: &b {k: 1}\n"
          "          copy: *b\n",
      kPath);
  EXPECT_EQ(file.workflows[0].steps[0].with,
            Json::parse(R"({"base": {"k": 1}, "copy": {"k": 1}})"));
}

// --- build errors: kinds and their parameters ---

TEST(BuildWorkflowsErrors, UnknownKindNamesTheKindLineAndKnownKinds) {
  const std::string message =
      build_error(kHead + "      - {name: a, kind: noop}\n      - name: b\n        kind: nope\n");
  EXPECT_STARTS_WITH(message, prefix(6, "kind"));
  EXPECT_CONTAINS(message, "'nope'");
  EXPECT_CONTAINS(message, "crash, exec, fail, http, noop, sleep, stamp");
  EXPECT_CONTAINS(message, "step #2 'b'");
}

TEST(BuildWorkflowsErrors, BadParameterNamesTheWithLineAndTheParameter) {
  const std::string message =
      build_error(kHead + "      - name: a\n        kind: sleep\n        with: {ms: \"200\"}\n");
  EXPECT_STARTS_WITH(message, prefix(6, "with"));
  EXPECT_CONTAINS(message, "'ms'");
}

TEST(BuildWorkflowsErrors, UnknownParameter) {
  const std::string message = build_error(step("{name: a, kind: noop, with: {ms: 1}}"));
  EXPECT_STARTS_WITH(message, prefix(4, "with"));
  EXPECT_CONTAINS(message, "'ms'");
  EXPECT_CONTAINS(message, "unknown parameter");
}

TEST(BuildWorkflowsErrors, MissingParametersPointAtTheKind) {
  const std::string message =
      build_error(kHead + "      - name: a\n        kind: sleep\n        lease: 1s\n");
  EXPECT_STARTS_WITH(message, prefix(5, "with"));
  EXPECT_CONTAINS(message, "'ms'");
  EXPECT_CONTAINS(message, "required");
}

TEST(BuildWorkflows, UsesTheGivenRegistry) {
  steps::KindRegistry kinds;
  kinds.add("echo", [](const Json& with) -> StepHandler {
    return [with](StepContext&) -> StepResult { return with; };
  });
  const std::vector<Workflow> workflows = build_workflows(
      parse_workflows(step("{name: a, kind: echo, with: {x: [1, 2]}}"), kPath), kinds);
  StepContext ctx("r", "w", "a", 1, nullptr, {});
  const StepResult result = workflows.at(0).steps().at(0).handler(ctx);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.output(), Json::parse(R"({"x": [1, 2]})"));
  EXPECT_THROW((void)build_workflows(parse_workflows(step("{name: a, kind: noop}"), kPath), kinds),
               ConfigError);
}

// --- durations ---

TEST(ParseDuration, Valid) {
  const std::vector<std::pair<std::string, std::chrono::milliseconds>> table = {
      {"0s", 0ms},      {"0ms", 0ms},         {"0m", 0ms},
      {"0h", 0ms},      {"1ms", 1ms},         {"250ms", 250ms},
      {"5s", 5s},       {"2m", 2min},         {"1h", 1h},
      {"1.5s", 1500ms}, {"0.5m", 30s},        {"1.25h", 75min},
      {"0.001s", 1ms},  {"007s", 7s},         {"10.000s", 10s},
      {"24h", 24h},     {"100000h", 100000h}, {"999999999999999999ms", 999999999999999999ms},
  };
  for (const auto& [text, expected] : table) {
    EXPECT_EQ(parse_duration(text), expected) << text;
  }
}

TEST(ParseDuration, InvalidOnesNameTheText) {
  for (const std::string text : {"",
                                 "5",
                                 "0",
                                 "1.5",
                                 "-5s",
                                 "-0s",
                                 "+5s",
                                 "5 s",
                                 " 5s",
                                 "5s ",
                                 "5sec",
                                 "5S",
                                 "5MS",
                                 "5ms5",
                                 "1.5ms",
                                 "0.0001s",
                                 ".5s",
                                 "5.s",
                                 "s",
                                 "ms",
                                 "1e3ms",
                                 "5d",
                                 "1,5s",
                                 "inf",
                                 "NaNs",
                                 "5s5s",
                                 "1.2.3s",
                                 "0x10s",
                                 "1234567890123456789ms",
                                 "999999999999999999h",
                                 "5m\n"}) {
    try {
      (void)parse_duration(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_CONTAINS(message, "invalid duration");
      if (text.find('\n') == std::string::npos) {
        EXPECT_CONTAINS(message, "'" + text + "'");
      }
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

// --- limits ---

std::string workflows_yaml(std::size_t count) {
  std::string yaml = "workflows:\n";
  for (std::size_t i = 0; i < count; ++i) {
    yaml += "  w" + std::to_string(i) + ": {steps: [{name: a, kind: noop}]}\n";
  }
  return yaml;
}

TEST(Limits, AThousandWorkflowsAreFine) {
  EXPECT_EQ(parse_workflows(workflows_yaml(kMaxWorkflows), kPath).workflows.size(), kMaxWorkflows);
}

TEST(Limits, OneMoreWorkflowIsTooMany) {
  const std::string message = config_error(workflows_yaml(kMaxWorkflows + 1));
  // Workflow i is on line i + 2.
  EXPECT_STARTS_WITH(message, prefix(static_cast<int>(kMaxWorkflows) + 2, "w1000"));
  EXPECT_CONTAINS(message, "more than 1000 workflows");
}

std::string steps_yaml(std::size_t count) {
  std::string yaml = kHead;
  for (std::size_t i = 0; i < count; ++i) {
    yaml += "      - {name: s" + std::to_string(i) + ", kind: noop}\n";
  }
  return yaml;
}

TEST(Limits, AHundredStepsAreFine) {
  const WorkflowsFile file = parse_workflows(steps_yaml(kMaxStepsPerWorkflow), kPath);
  EXPECT_EQ(file.workflows[0].steps.size(), kMaxStepsPerWorkflow);
  EXPECT_EQ(build_workflows(file, steps::builtin_kinds())[0].steps().size(), kMaxStepsPerWorkflow);
}

TEST(Limits, OneMoreStepIsTooMany) {
  const std::string message = config_error(steps_yaml(kMaxStepsPerWorkflow + 1));
  EXPECT_STARTS_WITH(message, prefix(static_cast<int>(kMaxStepsPerWorkflow) + 4, "steps"));
  EXPECT_CONTAINS(message, "more than 100 steps");
}

TEST(Limits, NamesAtSixtyFourCharacters) {
  const std::string name(64, 'n');
  const WorkflowsFile file =
      parse_workflows("workflows:\n  " + name + ":\n    steps: [{name: " + name +
                          ", kind: noop, queue: " + name + "}]\n",
                      kPath);
  EXPECT_EQ(file.workflows[0].name, name);
  EXPECT_EQ(file.workflows[0].steps[0].name, name);
  EXPECT_EQ(file.workflows[0].steps[0].options.queue, name);
}

// --- files ---

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    path_ = (std::filesystem::temp_directory_path() /
             ("steadfast-workflows-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter_++) + ".yaml"))
                .string();
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(LoadWorkflowsFile, ReadsAFile) {
  const TempFile file(kExample);
  const WorkflowsFile loaded = load_workflows_file(file.path());
  EXPECT_EQ(loaded.path, file.path());
  ASSERT_EQ(loaded.workflows.size(), 1u);
  EXPECT_EQ(loaded.workflows[0].steps.size(), 3u);
}

TEST(LoadWorkflowsFile, ErrorsNameTheRealPath) {
  const TempFile file(kHead + "      - {name: a, kind: noop, lease: 1}\n");
  try {
    (void)load_workflows_file(file.path());
    FAIL() << "loaded a bad file";
  } catch (const ConfigError& e) {
    EXPECT_STARTS_WITH(e.what(), file.path() + ":4: key 'lease': ");
  }
}

TEST(LoadWorkflowsFile, MissingFileIsAConfigErrorNamingIt) {
  const std::string path = "/nonexistent/steadfast/flows.yaml";
  try {
    (void)load_workflows_file(path);
    FAIL() << "loaded a missing file";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), path);
  }
}

TEST(LoadWorkflowsFile, DirectoryIsAConfigError) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  try {
    (void)load_workflows_file(dir);
    FAIL() << "loaded a directory";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), dir);
    EXPECT_CONTAINS(e.what(), "not a regular file");
  }
}

TEST(LoadWorkflowsFile, OversizedFileIsRefused) {
  const TempFile file(kExample + "#" + std::string(kMaxFileBytes, ' ') + "\n");
  try {
    (void)load_workflows_file(file.path());
    FAIL() << "loaded an oversized file";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "larger than");
  }
}


// --- schedules: ---

namespace schedules {

// Lines 1-8: two workflows, `digest` with an input_schema; schedules from line 9.
const std::string kWorkflows = R"(workflows:
  digest:
    input_schema: {type: object, properties: {scope: {enum: [all, mine]}}}
    max_input_bytes: 64
    steps: [{name: a, kind: noop}]
  cleanup:
    steps: [{name: a, kind: noop}]
schedules:
)";

std::string with_schedules(const std::string& entries) { return kWorkflows + entries; }

TEST(ParseSchedules, TheIssuesExampleAndTheDefaults) {
  const WorkflowsFile file = parse_workflows(
      with_schedules("  nightly-digest: {workflow: digest, cron: \"0 3 * * *\", timezone: Europe/Berlin,\n"
                     "                   input: {scope: all}, catch_up: one, overlap: skip}\n"
                     "  hourly:\n"
                     "    workflow: cleanup\n"
                     "    cron: '@hourly'\n"),
      kPath);
  ASSERT_EQ(file.schedules.size(), 2U);
  const ScheduleSpec& nightly = file.schedules[0];
  EXPECT_EQ(nightly.name, "nightly-digest");
  EXPECT_EQ(nightly.workflow, "digest");
  EXPECT_EQ(nightly.cron.text, "0 3 * * *");
  EXPECT_EQ(nightly.cron.hours, 1U << 3);
  EXPECT_EQ(nightly.timezone, "Europe/Berlin");
  EXPECT_EQ(nightly.zone, engine::locate_time_zone("Europe/Berlin"));
  EXPECT_EQ(nightly.input, (Json{{"scope", "all"}}));
  EXPECT_EQ(nightly.catch_up, engine::CatchUp::one);
  EXPECT_EQ(nightly.overlap, engine::Overlap::skip);
  EXPECT_EQ(nightly.line, 9);
  // the first tick after the summer midnight: 03:00 CEST
  const auto midnight = std::chrono::sys_days{std::chrono::year{2026} / 7 / 1};
  EXPECT_EQ(engine::next_tick(nightly.cron, nightly.zone, engine::CronInstant{midnight}),
            engine::CronInstant{midnight + std::chrono::hours{1}});

  const ScheduleSpec& hourly = file.schedules[1];
  EXPECT_EQ(hourly.name, "hourly");
  EXPECT_EQ(hourly.cron.text, "@hourly");
  EXPECT_EQ(hourly.timezone, "UTC");
  EXPECT_EQ(hourly.zone, engine::locate_time_zone("UTC"));
  EXPECT_EQ(hourly.input, Json::object());
  EXPECT_EQ(hourly.catch_up, engine::CatchUp::none);
  EXPECT_EQ(hourly.overlap, engine::Overlap::allow);
  EXPECT_EQ(hourly.line, 11);
}

TEST(ParseSchedules, AbsentOrEmptyMeansNone) {
  EXPECT_TRUE(parse_workflows(kHead + "      - {name: a, kind: noop}\n", kPath).schedules.empty());
  EXPECT_TRUE(parse_workflows(kWorkflows.substr(0, kWorkflows.size() - 1) + " {}\n", kPath).schedules.empty());
}

TEST(ParseSchedules, MayComeBeforeTheWorkflows) {
  const WorkflowsFile file = parse_workflows(
      "schedules:\n  s: {workflow: w, cron: '*/5 * * * *'}\n" + kHead + "      - {name: a, kind: noop}\n", kPath);
  ASSERT_EQ(file.schedules.size(), 1U);
  EXPECT_EQ(file.schedules[0].workflow, "w");
}

class ScheduleError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ScheduleError, NamesFileLineKeyAndValue) {
  const ErrorCase& c = GetParam();
  const std::string message = config_error(c.yaml);
  EXPECT_STARTS_WITH(message, prefix(c.line, c.key));
  EXPECT_CONTAINS(message, c.also);
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ScheduleError,
    ::testing::Values(
        ErrorCase{"not_a_map", with_schedules("  - digest\n"), 8, "schedules", "expected a map of schedule names"},
        ErrorCase{"schedule_not_a_map", with_schedules("  s: daily\n"), 9, "s",
                  "expected a map with keys 'workflow' and 'cron'"},
        ErrorCase{"bad_name", with_schedules("  \"a b\": {workflow: digest, cron: '@daily'}\n"), 9, "a b",
                  "invalid schedule name 'a b'"},
        ErrorCase{"unknown_key", with_schedules("  s: {workflow: digest, cron: '@daily', every: 5m}\n"), 9, "every",
                  "expected one of: workflow, cron, timezone, input, catch_up, overlap"},
        ErrorCase{"missing_workflow", with_schedules("  s: {cron: '@daily'}\n"), 9, "workflow",
                  "missing: every schedule names the workflow it starts (in schedule 's')"},
        ErrorCase{"unknown_workflow", with_schedules("  s: {workflow: digets, cron: '@daily'}\n"), 9, "workflow",
                  "unknown workflow 'digets' (declare it under 'workflows:') (in schedule 's')"},
        ErrorCase{"missing_cron", with_schedules("  s: {workflow: digest}\n"), 9, "cron",
                  "missing: every schedule needs a cron expression"},
        ErrorCase{"bad_cron", with_schedules("  s:\n    workflow: digest\n    cron: 0 25 * * *\n"), 11, "cron",
                  "cron '0 25 * * *': hour: 25 is out of range 0-23 (in schedule 's')"},
        ErrorCase{"cron_not_a_string", with_schedules("  s: {workflow: digest, cron: [0, 3]}\n"), 9, "cron",
                  "expected a single value, got a list"},
        ErrorCase{"unknown_zone",
                  with_schedules("  s:\n    workflow: digest\n    cron: '@daily'\n    timezone: Europe/Berln\n"), 12,
                  "timezone", "unknown time zone 'Europe/Berln'"},
        ErrorCase{"bad_catch_up", with_schedules("  s: {workflow: digest, cron: '@daily', catch_up: some}\n"), 9,
                  "catch_up", "catch_up 'some': expected none, one or all"},
        ErrorCase{"bad_overlap", with_schedules("  s: {workflow: digest, cron: '@daily', overlap: queue}\n"), 9,
                  "overlap", "overlap 'queue': expected allow, skip or cancel_previous"},
        ErrorCase{"input_not_a_map", with_schedules("  s: {workflow: digest, cron: '@daily', input: all}\n"), 9,
                  "input", "expected a map (the run's input), got a single value 'all'"},
        ErrorCase{"input_against_the_schema",
                  with_schedules("  s: {workflow: digest, cron: '@daily', input: {scope: everything}}\n"), 9,
                  "input", "does not match the input_schema of workflow 'digest': /input/scope"},
        ErrorCase{"input_too_large",
                  with_schedules("  s: {workflow: digest, cron: '@daily', input: {scope: all, pad: "
                                 "'0123456789012345678901234567890123456789012345678901234567890123'}}\n"),
                  9, "input", "larger than the workflow's max_input_bytes (64)"},
        ErrorCase{"duplicate_schedule",
                  with_schedules("  s: {workflow: digest, cron: '@daily'}\n  s: {workflow: cleanup, cron: '@daily'}\n"),
                  10, "s", "duplicate key"}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

}  // namespace schedules

}  // namespace
}  // namespace steadfast::config

namespace steadfast::config {
namespace {

// Durable waits (kind: wait): for or until, nothing a worker-held step takes.
TEST(WaitSteps, ForOrUntilBuildAWaitStepWithoutAHandler) {
  const WorkflowsFile file = parse_workflows(kHead +
                                                 "      - {name: nap, kind: wait, with: {for: 2h}, queue: slow}\n"
                                                 "      - {name: until, kind: wait, with: {until: \"{{input.at}}\"}}\n",
                                             kPath);
  const std::vector<Workflow> built = build_workflows(file, steps::builtin_kinds());
  const auto& steps = built.at(0).steps();
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_TRUE(steps[0].wait.has_value());
  EXPECT_EQ(steps[0].wait->duration, std::chrono::hours(2));
  EXPECT_EQ(steps[0].options.queue, "slow");
  EXPECT_FALSE(static_cast<bool>(steps[0].handler));
  ASSERT_TRUE(steps[1].wait.has_value());
  EXPECT_EQ(steps[1].wait->until, "{{input.at}}");
}

TEST(WaitSteps, SignalWithTimeoutAndOnTimeoutBuildsASignalWait) {
  const WorkflowsFile file = parse_workflows(
      kHead +
          "      - {name: approve, kind: wait, with: {signal: approved, timeout: 24h, on_timeout: continue}}\n"
          "      - {name: ping, kind: wait, with: {signal: ping}}\n",
      kPath);
  const std::vector<Workflow> built = build_workflows(file, steps::builtin_kinds());
  const auto& steps = built.at(0).steps();
  ASSERT_TRUE(steps.at(0).wait.has_value());
  EXPECT_EQ(steps[0].wait->signal, "approved");
  EXPECT_EQ(steps[0].wait->timeout, std::chrono::hours(24));
  EXPECT_EQ(steps[0].wait->on_timeout, OnTimeout::continue_);
  EXPECT_EQ(steps.at(1).wait->signal, "ping");
  EXPECT_EQ(steps[1].wait->timeout.count(), 0) << "no timeout: it waits until the signal comes";
  EXPECT_EQ(steps[1].wait->on_timeout, OnTimeout::fail);
}

// {{steps.<wait>.callback_url}} may name a later step, but only a signal wait.
TEST(WaitSteps, ACallbackUrlNamesASignalWaitOfTheWorkflowEvenALaterOne) {
  const std::string notify =
      "      - {name: notify, kind: exec, with: {command: [echo, \"{{steps.approve.callback_url}}\"]}}\n";
  EXPECT_NO_THROW((void)build_workflows(
      parse_workflows(kHead + notify + "      - {name: approve, kind: wait, with: {signal: approved}}\n", kPath),
      steps::builtin_kinds()));
  const std::string timed = config_error(kHead + notify + "      - {name: approve, kind: wait, with: {for: 1h}}\n");
  EXPECT_STARTS_WITH(timed, prefix(4, "with"));
  EXPECT_CONTAINS(timed, "reads the callback URL of step 'approve', which is no signal wait of workflow 'w'");
  EXPECT_CONTAINS(config_error(kHead + notify), "which is no signal wait of workflow 'w'");
}

TEST(WaitSteps, EveryBadWaitIsRefusedNamingTheLineAndWhat) {
  EXPECT_EQ(config_error(step("{name: nap, kind: wait, with: {for: 2h}, timeout: 5s}")),
            prefix(4, "timeout") +
                "a wait step holds no worker while it waits: it takes no lease, timeout, retry or limit (in workflow "
                "'w', step #1 'nap')");
  for (const char* key : {"lease: 5s", "retry: {max_attempts: 2}", "limit: {name: llm}"}) {
    EXPECT_CONTAINS(config_error(step(std::string("{name: nap, kind: wait, with: {for: 2h}, ") + key + "}")),
                    "a wait step holds no worker while it waits");
  }
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {}}")),
                  "give exactly one of `for` (a duration), `until` (a time) and `signal` (a name)");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {for: 2h, until: \"{{input.at}}\"}}")),
                  "give exactly one of `for` (a duration), `until` (a time) and `signal` (a name)");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {for: 2h, signal: approved}}")),
                  "give exactly one of `for` (a duration), `until` (a time) and `signal` (a name)");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {for: soon}}")), "`for`: ");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {for: 9000h}}")), "at most 8760h");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {until: \"{{input.at\"}}")), "`until`: ");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {signal: approved, timeout: 0s}}")),
                  "`timeout` must be more than 0");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {signal: approved, timeout: 9000h}}")),
                  "at most 8760h");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {signal: approved, timeout: soon}}")),
                  "`timeout`: ");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {signal: approved, on_timeout: retry}}")),
                  "`on_timeout` must be fail or continue, got \"retry\"");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {signal: \"not ok\"}}")),
                  "signal name 'not ok' is invalid");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {signal: 3}}")),
                  "`signal` must be a name like approved, got 3");
  EXPECT_CONTAINS(build_error(step("{name: nap, kind: wait, with: {for: 2h, timeout: 5s}}")),
                  "`timeout` and `on_timeout` belong to a signal wait");
  const std::string unknown = build_error(step("{name: nap, kind: wait, with: {for: 1s, ms: 3}}"));
  EXPECT_STARTS_WITH(unknown, prefix(4, "with"));
  EXPECT_CONTAINS(unknown, "unknown parameter 'ms' of a wait step");
}

}  // namespace
}  // namespace steadfast::config

namespace steadfast::config {
namespace {

// A workflow's deadline: a duration, more than 0 and at most a year.
TEST(WorkflowDeadline, IsADurationWithinAYear) {
  const WorkflowsFile file =
      parse_workflows("workflows:\n  w:\n    deadline: 2h\n    steps:\n      - {name: a, kind: noop}\n", kPath);
  EXPECT_EQ(file.workflows.at(0).deadline, std::chrono::hours(2));
  EXPECT_EQ(build_workflows(file, steps::builtin_kinds()).at(0).deadline(), std::chrono::hours(2));
  EXPECT_EQ(parse_workflows(kHead + "      - {name: a, kind: noop}\n", kPath).workflows.at(0).deadline.count(), 0);
  for (const char* bad : {"0s", "9000h"}) {
    const std::string message = config_error(std::string("workflows:\n  w:\n    deadline: ") + bad +
                                             "\n    steps:\n      - {name: a, kind: noop}\n");
    EXPECT_STARTS_WITH(message, prefix(3, "deadline"));
    EXPECT_CONTAINS(message, "must be more than 0 and at most 8760h");
  }
  EXPECT_STARTS_WITH(config_error("workflows:\n  w:\n    deadline: soon\n    steps:\n      - {name: a, kind: noop}\n"),
                     prefix(3, "deadline"));
}

}  // namespace
}  // namespace steadfast::config
