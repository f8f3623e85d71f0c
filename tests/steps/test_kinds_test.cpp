// The built-in test kinds and the kind registry.
#include "steps/test_kinds.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "steps/kind_registry.h"

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

StepContext context(int attempt) {
  return StepContext("run-1", "w", "s", attempt, Json::object(), {});
}

StepHandler make(std::string_view kind, const Json& with) {
  const KindRegistry registry = builtin_kinds();
  const Factory* factory = registry.find(kind);
  if (factory == nullptr) throw std::logic_error("no kind " + std::string(kind));
  return (*factory)(with);
}

// The message of the std::invalid_argument that making `kind` with `with` throws.
std::string rejection(std::string_view kind, const Json& with) {
  try {
    (void)make(kind, with);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << kind << " accepted " << with.dump();
  return {};
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"

TEST(KindRegistry, BuiltinsAreHttpExecAndTheTestKinds) {
  EXPECT_EQ(builtin_kinds().kinds(),
            (std::vector<std::string>{"crash", "exec", "fail", "http", "noop", "sleep", "stamp"}));
}

TEST(KindRegistry, FindsOnlyWhatWasAdded) {
  KindRegistry registry;
  EXPECT_EQ(registry.find("noop"), nullptr);
  EXPECT_TRUE(registry.kinds().empty());
  registry.add("echo", [](const Json&) -> StepHandler {
    return [](StepContext& ctx) -> StepResult { return ctx.input(); };
  });
  ASSERT_NE(registry.find("echo"), nullptr);
  EXPECT_EQ(registry.find("Echo"), nullptr);
  EXPECT_EQ(registry.find(""), nullptr);
}

TEST(KindRegistry, RefusesDuplicatesAndEmpties) {
  KindRegistry registry = builtin_kinds();
  EXPECT_THROW(registry.add("noop", noop_kind), std::invalid_argument);
  EXPECT_THROW(registry.add("", noop_kind), std::invalid_argument);
  EXPECT_THROW(registry.add("new", Factory{}), std::invalid_argument);
  EXPECT_EQ(registry.kinds().size(), 7u);
}

// --- noop ---

TEST(NoopKind, OutputsAnEmptyObject) {
  for (const Json& with : {Json(nullptr), Json::object()}) {
    StepContext ctx = context(1);
    const StepResult result = make("noop", with)(ctx);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.output(), Json::object());
  }
}

TEST(NoopKind, TakesNoParameters) {
  EXPECT_CONTAINS(rejection("noop", {{"ms", 1}}), "'ms'");
  EXPECT_CONTAINS(rejection("noop", Json::array({1})), "'with'");
  EXPECT_CONTAINS(rejection("noop", "x"), "'with'");
}

// --- stamp ---

TEST(StampKind, OutputsTheStartOnTheSteadyClock) {
  const auto before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          Clock::now().time_since_epoch()).count();
  StepContext ctx = context(1);
  const StepResult result = make("stamp", nullptr)(ctx);
  const auto after = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         Clock::now().time_since_epoch()).count();
  ASSERT_TRUE(result.ok());
  const auto started = result.output().at("started_ns").get<std::int64_t>();
  EXPECT_GE(started, before);
  EXPECT_LE(started, after);
  EXPECT_CONTAINS(rejection("stamp", {{"ms", 1}}), "'ms'");
}

// --- sleep ---

TEST(SleepKind, SleepsAndReportsIt) {
  StepHandler handler = make("sleep", {{"ms", 30}});
  StepContext ctx = context(1);
  const auto start = Clock::now();
  const StepResult result = handler(ctx);
  EXPECT_GE(Clock::now() - start, 30ms);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.output(), (Json{{"slept_ms", 30}}));
}

TEST(SleepKind, ZeroReturnsAtOnce) {
  StepContext ctx = context(1);
  const StepResult result = make("sleep", {{"ms", 0}})(ctx);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.output(), (Json{{"slept_ms", 0}}));
}

TEST(SleepKind, ReturnsEarlyWhenCancelled) {
  StepHandler handler = make("sleep", {{"ms", 60'000}});
  StepContext ctx = context(1);
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    ctx.request_cancel();
  });
  const auto start = Clock::now();
  const StepResult result = handler(ctx);
  const auto took = Clock::now() - start;
  canceller.join();
  EXPECT_LT(took, 2s);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), StepError::Kind::retryable);
  EXPECT_EQ(result.error().message(), "cancelled");
}

TEST(SleepKind, AlreadyCancelledDoesNotSleep) {
  StepContext ctx = context(1);
  ctx.request_cancel();
  const auto start = Clock::now();
  const StepResult result = make("sleep", {{"ms", 60'000}})(ctx);
  EXPECT_LT(Clock::now() - start, 1s);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "cancelled");
}

TEST(SleepKind, RefusesBadParameters) {
  EXPECT_CONTAINS(rejection("sleep", nullptr), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", Json::object()), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", "200"}}), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", 1.5}}), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", true}}), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", -1}}), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", 86'400'001}}), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", 18'446'744'073'709'551'615ULL}}), "'ms'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", 10}, {"jitter", 1}}), "'jitter'");
  EXPECT_CONTAINS(rejection("sleep", {{"ms", 10}, {"jitter", 1}}), "sleep");
}

TEST(SleepKind, AcceptsTheLongestSleep) {
  EXPECT_NO_THROW((void)make("sleep", {{"ms", 86'400'000}}));
}

// --- fail ---

TEST(FailKind, FailsTheFirstAttemptsThenSucceeds) {
  StepHandler handler = make("fail", {{"times", 2}});
  for (int attempt = 1; attempt <= 2; ++attempt) {
    StepContext ctx = context(attempt);
    const StepResult result = handler(ctx);
    ASSERT_FALSE(result.ok()) << "attempt " << attempt;
    EXPECT_EQ(result.error().kind(), StepError::Kind::retryable);
    EXPECT_EQ(result.error().message(), "injected failure " + std::to_string(attempt) + " of 2");
  }
  for (int attempt : {3, 4, 100}) {
    StepContext ctx = context(attempt);
    const StepResult result = handler(ctx);
    ASSERT_TRUE(result.ok()) << "attempt " << attempt;
    EXPECT_EQ(result.output(), (Json{{"attempt", attempt}}));
  }
}

TEST(FailKind, FatalFailuresAreFatal) {
  StepHandler handler = make("fail", {{"times", 1}, {"fatal", true}});
  StepContext first = context(1);
  const StepResult result = handler(first);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), StepError::Kind::fatal);
  EXPECT_EQ(result.error().message(), "injected failure 1 of 1");
  StepContext second = context(2);
  EXPECT_TRUE(handler(second).ok());
}

TEST(FailKind, ZeroTimesNeverFails) {
  StepContext ctx = context(1);
  const StepResult result = make("fail", {{"times", 0}, {"fatal", false}})(ctx);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.output(), (Json{{"attempt", 1}}));
}

TEST(FailKind, RefusesBadParameters) {
  EXPECT_CONTAINS(rejection("fail", nullptr), "'times'");
  EXPECT_CONTAINS(rejection("fail", {{"times", -1}}), "'times'");
  EXPECT_CONTAINS(rejection("fail", {{"times", "2"}}), "'times'");
  EXPECT_CONTAINS(rejection("fail", {{"times", 2147483648LL}}), "'times'");
  EXPECT_CONTAINS(rejection("fail", {{"times", 2}, {"fatal", "yes"}}), "'fatal'");
  EXPECT_CONTAINS(rejection("fail", {{"times", 2}, {"fatal", 1}}), "'fatal'");
  EXPECT_CONTAINS(rejection("fail", {{"times", 2}, {"message", "x"}}), "'message'");
}

// --- crash ---

TEST(CrashKind, LaterAttemptsSucceed) {
  StepHandler handler = make("crash", {{"times", 2}});
  StepContext third = context(3);
  const StepResult result = handler(third);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.output(), (Json{{"attempt", 3}}));
}

TEST(CrashKind, RefusesBadParameters) {
  EXPECT_CONTAINS(rejection("crash", Json::object()), "'times'");
  EXPECT_CONTAINS(rejection("crash", {{"times", 1.0}}), "'times'");
  EXPECT_CONTAINS(rejection("crash", {{"times", 1}, {"signal", 9}}), "'signal'");
}

TEST(CrashKindDeathTest, EarlyAttemptsAbortTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  StepHandler handler = make("crash", {{"times", 2}});
  EXPECT_DEATH(
      {
        StepContext ctx = context(2);
        (void)handler(ctx);
      },
      "");
}

}  // namespace
}  // namespace steadfast::steps
