// StepContext: what a handler sees of its attempt.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "steadfast/step.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;

StepContext make_context() {
  return StepContext("01J0RUN", "three-steps", "b", 2, Json{{"text", "hi"}},
                     {{"a", Json{{"n", 1}}}});
}

TEST(StepContext, ExposesTheAttempt) {
  StepContext ctx = make_context();
  EXPECT_EQ(ctx.run_id(), "01J0RUN");
  EXPECT_EQ(ctx.workflow(), "three-steps");
  EXPECT_EQ(ctx.step(), "b");
  EXPECT_EQ(ctx.attempt(), 2);
  EXPECT_EQ(ctx.input(), (Json{{"text", "hi"}}));
  EXPECT_EQ(ctx.outputs().at("a"), (Json{{"n", 1}}));
}

TEST(StepContext, IdempotencyKeyIsStableAcrossAttempts) {
  StepContext first("run-7", "w", "charge", 1, nullptr, {});
  StepContext third("run-7", "w", "charge", 3, nullptr, {});
  EXPECT_EQ(first.idempotency_key(), "run-7:charge");
  EXPECT_EQ(first.idempotency_key(), third.idempotency_key());
}

TEST(StepContext, CancellationIsVisibleAcrossThreads) {
  StepContext ctx = make_context();
  EXPECT_FALSE(ctx.cancelled());
  std::thread canceller([&] { ctx.request_cancel(); });
  canceller.join();
  EXPECT_TRUE(ctx.cancelled());
}

TEST(StepContext, HeartbeatWithoutASinkDoesNothing) {
  StepContext ctx = make_context();
  EXPECT_NO_THROW(ctx.heartbeat());
  EXPECT_NO_THROW(ctx.heartbeat(Json{{"done", 3}}));
}

TEST(StepContext, HeartbeatReachesTheSink) {
  StepContext ctx = make_context();
  std::vector<Json> seen;
  ctx.set_heartbeat_sink([&](Json progress) { seen.push_back(std::move(progress)); });
  ctx.heartbeat();
  ctx.heartbeat(Json{{"done", 3}, {"of", 10}});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].is_null());
  EXPECT_EQ(seen[1], (Json{{"done", 3}, {"of", 10}}));
}

TEST(StepContext, LogDoesNotThrow) {
  const StepContext ctx = make_context();
  EXPECT_NO_THROW(ctx.log("hello {} with braces"));
}

TEST(StepResult, HoldsAnOutputOrAnError) {
  const StepResult ok = Json{{"x", 1}};
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.output(), (Json{{"x", 1}}));

  const StepResult limited = StepError::rate_limited("429", 1500ms);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().kind(), StepError::Kind::rate_limited);
  EXPECT_EQ(limited.error().retry_after(), 1500ms);
  EXPECT_EQ(limited.error().message(), "429");

  const StepResult fatal = StepError::fatal("bad request");
  EXPECT_EQ(fatal.error().kind(), StepError::Kind::fatal);
  EXPECT_EQ(fatal.error().retry_after(), 0ms);
}

}  // namespace
}  // namespace steadfast
