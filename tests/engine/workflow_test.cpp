// Workflow building and name validation: names become parts of Redis keys, so
// everything outside ^[A-Za-z0-9_-]{1,64}$ must be refused with a clear message.
#include "steadfast/workflow.h"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>

namespace steadfast {
namespace {

using namespace std::chrono_literals;

StepResult ok(StepContext&) { return Json::object(); }

// The message of the std::invalid_argument `f` throws, or a failure.
template <typename F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument thrown";
  return {};
}

TEST(IsValidName, AcceptsTheAllowedAlphabet) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("Z"));
  EXPECT_TRUE(is_valid_name("0"));
  EXPECT_TRUE(is_valid_name("_"));
  EXPECT_TRUE(is_valid_name("-"));
  EXPECT_TRUE(is_valid_name("three-steps_v2"));
  EXPECT_TRUE(is_valid_name("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"));
}

TEST(IsValidName, LengthEdgeIsSixtyFour) {
  EXPECT_TRUE(is_valid_name(std::string(63, 'a')));
  EXPECT_TRUE(is_valid_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_name(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_name(std::string(1000, 'a')));
  EXPECT_FALSE(is_valid_name(""));
}

TEST(IsValidName, RefusesKeySyntaxAndControlCharacters) {
  for (const std::string bad :
       {"*",   "a*",  "a:b",  ":",    "{",        "a{b}", "}",    "a\nb",  "\n",  "a b", " ",
        "a.b", "a/b", "a\\b", "a\tb", "\xc3\xa9", "a?",   "a[0]", "\"a\"", "'a'", "a\r", "a#b"}) {
    EXPECT_FALSE(is_valid_name(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_name(std::string_view("a\0b", 3)));
}

TEST(Workflow, ConstructorRefusesABadNameAndNamesIt) {
  EXPECT_NO_THROW(Workflow(std::string(64, 'w')));
  const std::string long_name(65, 'w');
  EXPECT_NE(invalid_argument_message([&] { Workflow w(long_name); }).find(long_name),
            std::string::npos);
  EXPECT_NE(invalid_argument_message([] { Workflow w("a:b"); }).find("'a:b'"), std::string::npos);
  EXPECT_NE(invalid_argument_message([] { Workflow w(""); }).find("''"), std::string::npos);
  EXPECT_NE(invalid_argument_message([] { Workflow w("{p}"); }).find("'{p}'"), std::string::npos);
  EXPECT_NE(invalid_argument_message([] { Workflow w("*"); }).find("'*'"), std::string::npos);
}

TEST(Workflow, NewlineInANameIsEscapedInTheMessage) {
  const std::string message = invalid_argument_message([] { Workflow w("a\nb"); });
  EXPECT_NE(message.find("'a\\x0ab'"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(Workflow, KeepsStepsInOrderWithTheirOptions) {
  StepOptions slow;
  slow.timeout = 60s;
  slow.lease = 5s;
  slow.queue = "slow";
  slow.retry.max_attempts = 5;
  slow.retry.backoff = Backoff{250ms, 3.0, 30s, true};

  Workflow w("pipeline");
  w.step("fetch", ok).step("summarize", ok, slow).step("store", ok);

  EXPECT_EQ(w.name(), "pipeline");
  ASSERT_EQ(w.steps().size(), 3u);
  EXPECT_EQ(w.steps()[0].name, "fetch");
  EXPECT_EQ(w.steps()[1].name, "summarize");
  EXPECT_EQ(w.steps()[2].name, "store");
  EXPECT_EQ(w.steps()[1].options.timeout, 60s);
  EXPECT_EQ(w.steps()[1].options.lease, 5s);
  EXPECT_EQ(w.steps()[1].options.queue, "slow");
  EXPECT_EQ(w.steps()[1].options.retry.max_attempts, 5);
  EXPECT_EQ(w.steps()[1].options.retry.backoff.multiplier, 3.0);
  EXPECT_TRUE(w.steps()[1].options.retry.backoff.full_jitter);
  EXPECT_EQ(w.steps()[0].options.queue, "default");
  EXPECT_EQ(w.index_of("fetch"), 0);
  EXPECT_EQ(w.index_of("store"), 2);
  EXPECT_EQ(w.index_of("missing"), -1);
  EXPECT_EQ(w.index_of(""), -1);
}

TEST(Workflow, HandlersAreCallable) {
  Workflow w("w");
  w.step("a", [](StepContext& ctx) -> StepResult { return Json{{"attempt", ctx.attempt()}}; });
  StepContext ctx("run-1", "w", "a", 2, Json::object(), {});
  const StepResult result = w.steps()[0].handler(ctx);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.output(), (Json{{"attempt", 2}}));
}

TEST(Workflow, RefusesADuplicateStep) {
  Workflow w("w");
  w.step("a", ok);
  const std::string message = invalid_argument_message([&] { w.step("a", ok); });
  EXPECT_NE(message.find("'a'"), std::string::npos) << message;
  EXPECT_NE(message.find("already"), std::string::npos) << message;
  EXPECT_EQ(w.steps().size(), 1u);
}

TEST(Workflow, RefusesBadStepNames) {
  Workflow w("w");
  EXPECT_THROW(w.step("", ok), std::invalid_argument);
  EXPECT_THROW(w.step(std::string(65, 's'), ok), std::invalid_argument);
  EXPECT_THROW(w.step("a:b", ok), std::invalid_argument);
  EXPECT_THROW(w.step("a\n", ok), std::invalid_argument);
  EXPECT_NO_THROW(w.step(std::string(64, 's'), ok));
  EXPECT_EQ(w.steps().size(), 1u);
}

TEST(Workflow, NeedsAndOnlyIfSetAStepAndRefuseWhatCannotWork) {
  Workflow w("w");
  w.step("a", ok).step("b", ok).needs("b", {"a"}).only_if("b", "{{steps.a.output.go}}");
  EXPECT_FALSE(w.steps()[0].needs.has_value()) << "untouched: the step before it (none)";
  EXPECT_TRUE(w.steps()[0].condition.empty());
  EXPECT_EQ(w.steps()[1].needs, std::vector<std::string>{"a"});
  EXPECT_EQ(w.steps()[1].condition, "{{steps.a.output.go}}");
  w.needs("a", {});
  EXPECT_EQ(w.steps()[0].needs, std::vector<std::string>{}) << "[] = starts with the run";
  EXPECT_EQ(invalid_argument_message([&] { w.needs("zz", {"a"}); }), "workflow 'w' has no step named 'zz'");
  EXPECT_EQ(invalid_argument_message([&] { w.only_if("zz", "{{input.x}}"); }), "workflow 'w' has no step named 'zz'");
  EXPECT_NE(invalid_argument_message([&] { w.needs("b", {"a:b"}); }).find("needed step name 'a:b' is invalid"),
            std::string::npos);
  EXPECT_EQ(invalid_argument_message([&] { w.only_if("b", ""); }), "step 'b': `if` is empty");
  EXPECT_NE(invalid_argument_message([&] { w.only_if("b", "{{input.x"); }).find("step 'b': `if`: "),
            std::string::npos);
  EXPECT_EQ(w.steps()[1].needs, std::vector<std::string>{"a"}) << "a refusal changes nothing";
  EXPECT_EQ(w.steps()[1].condition, "{{steps.a.output.go}}");
}

TEST(Workflow, MapMakesAMapStepAndRefusesWhatCannotWork) {
  Workflow w("w");
  w.step("a", ok).step("b", ok).wait("nap", WaitSpec::sleep_for(std::chrono::seconds(1)));
  w.map("b", MapSpec{"{{steps.a.output.xs}}", 5});
  ASSERT_TRUE(w.steps()[1].map.has_value());
  EXPECT_EQ(w.steps()[1].map->max_parallel, 5);
  EXPECT_EQ(w.steps()[1].map->max_items, 10'000);
  EXPECT_FALSE(w.steps()[0].map.has_value());
  EXPECT_EQ(invalid_argument_message([&] { w.map("zz", MapSpec{"{{input.x}}"}); }),
            "workflow 'w' has no step named 'zz'");
  EXPECT_EQ(invalid_argument_message([&] { w.map("nap", MapSpec{"{{input.x}}"}); }),
            "step 'nap': `map`: a wait step cannot be a map step");
  EXPECT_EQ(invalid_argument_message([&] { w.map("a", MapSpec{""}); }), "step 'a': `map`: `over` is empty");
  EXPECT_NE(invalid_argument_message([&] { w.map("a", MapSpec{"{{input.x"}); }).find("step 'a': `map`: `over`: "),
            std::string::npos);
  for (const int bad : {0, kMaxMapItems + 1}) {
    EXPECT_NE(invalid_argument_message([&] { w.map("a", MapSpec{"{{input.x}}", bad}); }).find("`max_parallel` must be"),
              std::string::npos);
    EXPECT_NE(invalid_argument_message([&] {
                w.map("a", MapSpec{"{{input.x}}", 1, OnItemFailure::fail_run, bad});
              }).find("`max_items` must be"),
              std::string::npos);
  }
  for (const std::int64_t bad : {std::int64_t{0}, kMaxMapOutputBytes + 1}) {
    EXPECT_NE(invalid_argument_message([&] {
                w.map("a", MapSpec{"{{input.x}}", 1, OnItemFailure::fail_run, 1, bad});
              }).find("`max_output_bytes` must be"),
              std::string::npos);
  }
  EXPECT_NO_THROW(w.map("a", MapSpec{"{{input.x}}", kMaxMapItems, OnItemFailure::continue_, kMaxMapItems,
                                     kMaxMapOutputBytes}));
  StepOptions lenient;
  lenient.on_failure = OnFailure::continue_;
  w.step("c", ok, lenient);
  EXPECT_NE(invalid_argument_message([&] { w.map("c", MapSpec{"{{input.x}}"}); }).find("on_item_failure"),
            std::string::npos);
  EXPECT_FALSE(w.steps()[3].map.has_value()) << "a refusal changes nothing";
}

TEST(Workflow, RefusesAnEmptyHandler) {
  Workflow w("w");
  EXPECT_NE(invalid_argument_message([&] { w.step("a", StepHandler{}); }).find("handler"),
            std::string::npos);
}

// Each row: one bad option, and a word its message must contain.
struct BadOption {
  const char* what;
  void (*apply)(StepOptions&);
  const char* in_message;
};

void PrintTo(const BadOption& row, std::ostream* os) { *os << row.what; }

class WorkflowBadOptions : public ::testing::TestWithParam<BadOption> {};

TEST_P(WorkflowBadOptions, AreRefusedWithAMessageNamingThem) {
  StepOptions options;
  GetParam().apply(options);
  Workflow w("w");
  const std::string message = invalid_argument_message([&] { w.step("s", ok, options); });
  EXPECT_NE(message.find(GetParam().in_message), std::string::npos) << message;
  EXPECT_NE(message.find("'s'"), std::string::npos) << message;
  EXPECT_TRUE(w.steps().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, WorkflowBadOptions,
    ::testing::Values(
        BadOption{"zero_attempts", [](StepOptions& o) { o.retry.max_attempts = 0; },
                  "max_attempts"},
        BadOption{"negative_attempts", [](StepOptions& o) { o.retry.max_attempts = -1; },
                  "max_attempts"},
        BadOption{"negative_max_rate_limited", [](StepOptions& o) { o.retry.max_rate_limited = -1; },
                  "max_rate_limited"},
        BadOption{"negative_max_wait", [](StepOptions& o) { o.retry.max_wait = -1ms; }, "max_wait"},
        BadOption{"negative_timeout", [](StepOptions& o) { o.timeout = -1ms; }, "timeout"},
        BadOption{"negative_initial", [](StepOptions& o) { o.retry.backoff.initial = -1ms; },
                  "initial"},
        BadOption{"negative_max", [](StepOptions& o) { o.retry.backoff.max = -1s; }, "max"},
        BadOption{"lease_99ms", [](StepOptions& o) { o.lease = 99ms; }, "lease"},
        BadOption{"lease_zero", [](StepOptions& o) { o.lease = 0ms; }, "lease"},
        BadOption{"multiplier_below_one", [](StepOptions& o) { o.retry.backoff.multiplier = 0.5; },
                  "multiplier"},
        BadOption{"multiplier_nan",
                  [](StepOptions& o) {
                    o.retry.backoff.multiplier = std::numeric_limits<double>::quiet_NaN();
                  },
                  "multiplier"},
        BadOption{"multiplier_inf",
                  [](StepOptions& o) {
                    o.retry.backoff.multiplier = std::numeric_limits<double>::infinity();
                  },
                  "multiplier"},
        BadOption{"queue_empty", [](StepOptions& o) { o.queue = ""; }, "queue"},
        BadOption{"queue_with_colon", [](StepOptions& o) { o.queue = "q:1"; }, "'q:1'"},
        BadOption{"queue_too_long", [](StepOptions& o) { o.queue = std::string(65, 'q'); },
                  "queue"}),
    [](const ::testing::TestParamInfo<BadOption>& param_info) {
      return std::string(param_info.param.what);
    });

TEST(Workflow, OptionsAtTheirEdgesAreAccepted) {
  StepOptions edge;
  edge.retry.max_attempts = 1;
  edge.retry.backoff = Backoff{0ms, 1.0, 0ms, false};
  edge.timeout = 0ms;  // no limit
  edge.lease = kMinLease;
  edge.queue = std::string(64, 'q');
  Workflow w("w");
  EXPECT_NO_THROW(w.step("s", ok, edge));
}

TEST(Workflow, InputSchemaMustBeValidDraft04) {
  Workflow w("w");
  EXPECT_TRUE(w.input_schema().is_null());
  const Json good = Json::parse(R"({"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}})");
  w.input_schema(good);
  EXPECT_EQ(w.input_schema(), good);
  const struct {
    const char* schema;
    const char* message;
  } bad[] = {
      {R"({"type": "objekt"})", "at '/type': must be one of array, boolean"},
      {R"({"required": "name"})", "at '/required': must be a list of one or more distinct member names"},
      {R"({"required": []})", "at '/required'"},
      {R"({"properties": {"a": {"minLength": -1}}})", "at '/properties/a/minLength'"},
      {R"({"items": 3})", "at '/items'"},
      {R"([1])", "not a valid JSON Schema"},
      {R"x({"pattern": "(?<=a)"})x", "pattern"},
  };
  for (const auto& c : bad) {
    try {
      Workflow("w").input_schema(Json::parse(c.schema));
      ADD_FAILURE() << c.schema << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.schema << ": " << e.what();
    }
  }
  w.input_schema(nullptr);
  EXPECT_TRUE(w.input_schema().is_null());
}

}  // namespace
}  // namespace steadfast
