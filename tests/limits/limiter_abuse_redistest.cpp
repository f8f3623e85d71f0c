// One run cannot starve the others through a shared limiter (issue 13 item 4),
// with a real worker, a real redis-server and the fake HTTP server:
//  * a run whose token estimate is over the bucket fails at once, with an
//    error naming the estimate and the bucket, sends nothing upstream and
//    leaves the bucket as it was (the next run is admitted at once);
//  * an upstream's Retry-After of a day pauses the limiter for its max_pause
//    only (here 1 s), so a run submitted after the 429 completes.
#include "limits/limits_fixture.h"

namespace steadfast::test {
namespace {

class LimiterAbuse : public LimitsTest {};

// The README's own estimate ({{len(input.text) / 4 + 500}}) against a bucket
// of 9000 tokens (a tenth of 90000 per minute), as in the security report.
TEST_F(LimiterAbuse, TokenEstimateOverTheBucketFailsTheAttemptAndChargesNothing) {
  start_http(Json{{"echo", true}});
  const std::string file = write_workflows(
      "limits:\n  llm: {tokens_per_minute: 90000}\n"
      "workflows:\n  summarize:\n    steps:\n      - name: call\n        kind: http\n"
      "        with: {method: POST, url: \"" + http().url("/v1/generate") +
      "\", body: {n: \"{{len(input.text)}}\"}, timeout: 5s}\n"
      "        limit: {name: llm, tokens: \"{{len(input.text) / 4 + 500}}\"}\n"
      "        retry: {max_attempts: 3, backoff: {initial: 10ms}}\n");
  start_worker("abuse-1", file, WorkerArgs{}.with_concurrency(2));

  const std::string big = client().submit("summarize", Json{{"text", std::string(1000000, 'a')}}).run_id;
  ASSERT_TRUE(wait_all({big}, "failed", 20s)) << describe({big}, "failed");
  const std::string error = hget(big, "s.call.error");
  EXPECT_NE(error.find("token estimate (250500 tokens) exceeds limiter 'llm' bucket of 9000 tokens"),
            std::string::npos)
      << error;
  EXPECT_EQ(hget_int(big, "s.call.attempts"), 1);  // fatal: no retry could ever be admitted
  EXPECT_TRUE(requests("/v1/generate").empty());   // nothing was sent upstream
  // The bucket was not touched: a full bucket is no hash field at all, or 9000.
  redis::Reply tokens = server().call({"HGET", limit_key("llm"), "tokens"});
  if (!tokens.is_nil()) {
    EXPECT_GE(std::stod(std::string(tokens.str())), 0.0);
  }

  // A small run is admitted at once (in the report it waited 159 s).
  const auto started = std::chrono::steady_clock::now();
  const std::string small = client().submit("summarize", Json{{"text", "hi"}}).run_id;
  ASSERT_TRUE(wait_all({small}, "completed", 10s)) << describe({small});
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(waited, 5.0);
  std::cout << "oversize estimate: failed with \"" << error.substr(0, 90) << "...\"; the next run took "
            << fixed(waited * 1000, 0) << " ms\n";
}

// A 429 with Retry-After: 86400 pauses the shared limiter for max_pause (1 s),
// not a day: the pause recorded in Redis ends within 1 s of the 429, the
// worker logs the cut, and another run completes meanwhile.
TEST_F(LimiterAbuse, RetryAfterPauseOfASharedLimiterIsCutToMaxPause) {
  start_http(Json{{"echo", true}, {"first_429", 1}, {"retry_after", 86400}});
  const std::string file = write_workflows(
      "limits:\n  api: {requests_per_minute: 6000, burst: 10, max_pause: 1s}\n"
      "workflows:\n  call:\n    steps:\n      - name: call\n        kind: http\n"
      "        with: {url: \"" + http().url("/v1/ping") + "\", timeout: 5s}\n"
      "        limit: {name: api}\n"
      // The step may wait the day it is asked for (retry.max_wait is 1h by default).
      "        retry: {max_wait: 48h}\n");
  ChildProcess& w = start_worker("pause-1", file, WorkerArgs{}.with_concurrency(2));

  const std::string first = client().submit("call", Json{{"n", 1}}).run_id;
  ASSERT_TRUE(eventually([&] { return !requests("/v1/ping").empty(); }, 10s));
  ASSERT_TRUE(eventually([&] { return w.count_in_log("paused for 1000 ms") == 1; }, 10s)) << w.log();
  EXPECT_EQ(w.count_in_log("asked to retry after 86400000 ms; max_pause 1000 ms"), 1) << w.log();
  // The pause in Redis ends at most 1 s after it was set (Redis time).
  redis::Reply until = server().call({"HGET", limit_key("api"), "paused_until"});
  ASSERT_FALSE(until.is_nil());
  redis::Reply now = server().call({"TIME"});
  const double now_ms = std::stod(std::string(now[0].str())) * 1000 + std::stod(std::string(now[1].str())) / 1000;
  EXPECT_LE(std::stod(std::string(until.str())) - now_ms, 1000.0);

  const std::string second = client().submit("call", Json{{"n", 2}}).run_id;
  ASSERT_TRUE(wait_all({second}, "completed", 10s)) << describe({second});
  // The first run itself waits for the day its upstream asked for.
  EXPECT_EQ(hget(first, "status"), "retrying");
  std::cout << "max_pause: Retry-After 86400 s paused the limiter for 1000 ms; a later run completed\n";
}

// A keyed limiter's bucket (600 tokens: a tenth of 6000 per minute) refuses
// an estimate of 1000 for good — until the key's bucket is enlarged at run
// time (the override the API writes), when the same estimate is admitted:
// the worker leaves a keyed instance's bucket to the script, which knows the
// override.
TEST_F(LimiterAbuse, AKeysBucketEnlargedAtRunTimeAdmitsWhatTheDeclaredOneRefused) {
  const std::string file = write_workflows(
      "limits:\n  tenant: {tokens_per_minute: 6000}\n"
      "workflows:\n  w:\n    steps:\n      - name: call\n        kind: noop\n"
      "        limit: {name: tenant, key: \"{{input.tenant}}\", tokens: \"{{input.cost}}\"}\n");
  start_worker("abuse-key", file, WorkerArgs{}.with_concurrency(2));
  const std::string refused = client().submit("w", Json{{"tenant", "acme"}, {"cost", 1000}}).run_id;
  ASSERT_TRUE(wait_all({refused}, "failed", 10s)) << describe({refused}, "failed");
  EXPECT_NE(hget(refused, "s.call.error").find("exceeds limiter 'tenant' bucket of 600 tokens"), std::string::npos)
      << hget(refused, "s.call.error");
  server().call({"HSET", limit_key("tenant") + ":overrides", "acme", R"({"tokens_per_minute": 60000})"});
  const std::string admitted = client().submit("w", Json{{"tenant", "acme"}, {"cost", 1000}}).run_id;
  ASSERT_TRUE(wait_all({admitted}, "completed", 10s)) << describe({admitted});
  const std::string other = client().submit("w", Json{{"tenant", "globex"}, {"cost", 1000}}).run_id;
  ASSERT_TRUE(wait_all({other}, "failed", 10s)) << "another key keeps the declared bucket";
}

}  // namespace
}  // namespace steadfast::test
