// StepContext: what a handler sees of its attempt.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
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

TEST(StepContext, NoHeartbeatNoProgress) {
  StepContext ctx = make_context();
  EXPECT_EQ(ctx.take_progress(), std::nullopt);
}

TEST(StepContext, TheLatestHeartbeatIsTakenOnce) {
  StepContext ctx = make_context();
  ctx.heartbeat(0.25, "reading");
  ctx.heartbeat(0.5, "half way");
  EXPECT_EQ(ctx.take_progress(), (StepProgress{0.5, "half way"}));
  EXPECT_EQ(ctx.take_progress(), std::nullopt);
  ctx.heartbeat();  // alive, nothing to say
  EXPECT_EQ(ctx.take_progress(), (StepProgress{std::nullopt, ""}));
  ctx.heartbeat(std::nullopt, "waiting for the upstream");
  EXPECT_EQ(ctx.take_progress(), (StepProgress{std::nullopt, "waiting for the upstream"}));
}

TEST(StepContext, ProgressIsClampedAndNaNIsUnknown) {
  StepContext ctx = make_context();
  ctx.heartbeat(1.5, "");
  EXPECT_EQ(ctx.take_progress()->progress, 1.0);
  ctx.heartbeat(-0.1, "");
  EXPECT_EQ(ctx.take_progress()->progress, 0.0);
  ctx.heartbeat(std::nan(""), "");
  EXPECT_EQ(ctx.take_progress()->progress, std::nullopt);
}

TEST(StepContext, ALongMessageIsCutOnACharacterBoundary) {
  StepContext ctx = make_context();
  // 1023 ASCII bytes, then a 2-byte character across the limit: cut before it.
  ctx.heartbeat(std::nullopt, std::string(1023, 'a') + "\xC3\xA9" + "tail");
  EXPECT_EQ(ctx.take_progress()->message, std::string(1023, 'a'));
  ctx.heartbeat(std::nullopt, std::string(2000, 'b'));
  EXPECT_EQ(ctx.take_progress()->message.size(), StepContext::kMaxProgressMessageBytes);
}

TEST(StepContext, HeartbeatsFromAnotherThreadAreSeen) {
  StepContext ctx = make_context();
  std::thread reporter([&] {
    for (int i = 1; i <= 100; ++i) ctx.heartbeat(i / 100.0, "step " + std::to_string(i));
  });
  reporter.join();
  EXPECT_EQ(ctx.take_progress(), (StepProgress{1.0, "step 100"}));
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
