// Global limiters with real worker processes, a real redis-server and a local
// fake HTTP server that counts what arrives: a 429 storm with Retry-After
// respected by every worker, requests per minute across 3 workers, tokens per
// minute reconciled with the usage the upstream reports, a concurrency cap
// (and the slots of a SIGKILLed worker coming back by themselves), the same
// Idempotency-Key on every retry, and admission that keeps the step's lease.
//
// Each test prints its measured figures on one line starting with its topic
// ("429 storm:", "rpm:", "tpm:", "concurrency:", "idempotency:", "admission:").
#include <cmath>
#include <map>
#include <set>

#include "limits/limits_fixture.h"

namespace steadfast::test {
namespace {

class Limiter : public LimitsTest {};

// A workflows file of one http step `call` to `url`, limited by `limit_use`,
// with the limiter declarations `limits` (YAML flow maps).
std::string one_http_step(const std::string& workflow, const std::string& limits,
                          const std::string& with, const std::string& limit_use,
                          const std::string& extra = "") {
  return "limits:\n" + limits + "workflows:\n  " + workflow +
         ":\n    steps:\n      - name: call\n        kind: http\n        with: " + with +
         "\n        limit: " + limit_use + "\n" + extra;
}

// 2 workers; the upstream answers 429 + Retry-After: 2 to its first 4 requests.
// Each 429 pauses the limiter for every worker: after each 429 is answered, no
// request from any worker arrives for 2 s (but for ~100 ms of requests already
// on their way), and every run completes.
TEST_F(Limiter, StormOf429WithRetryAfterPausesEveryWorker) {
  constexpr int kRuns = 12;
  constexpr int k429 = 4;
  start_http(Json{{"echo", true}, {"first_429", k429}, {"retry_after", 2}});
  const std::string file = write_workflows(one_http_step(
      "storm", "  api: {requests_per_minute: 200, burst: 1}\n",
      "{method: POST, url: \"" + http().url("/v1/generate") + "\", body: {n: \"{{input.n}}\"}, timeout: 10s}",
      "{name: api}", "        retry: {max_attempts: 3, backoff: {initial: 100ms}}\n"));
  ChildProcess& w1 = start_worker("storm-1", file, WorkerArgs{}.with_concurrency(3));
  ChildProcess& w2 = start_worker("storm-2", file, WorkerArgs{}.with_concurrency(3));
  const std::vector<std::string> runs = submit_many("storm", kRuns);
  ASSERT_TRUE(wait_all(runs, "completed", 60s)) << describe(runs);

  const std::vector<Request> reqs = requests("/v1/generate");
  std::vector<double> storms;
  for (const Request& r : reqs) {
    if (r.status == 429) storms.push_back(r.time);
  }
  ASSERT_EQ(storms.size(), static_cast<std::size_t>(k429));
  EXPECT_EQ(reqs.size(), static_cast<std::size_t>(kRuns + k429));
  // After each 429 is answered (t): no request arrives in (t + 100 ms, t + 2 s);
  // the gap to the first request arriving later than t + 100 ms.
  double min_gap = 1e9;
  std::string gaps;
  for (double t : storms) {
    for (const Request& r : reqs) {
      EXPECT_FALSE(r.arrived > t + 0.1 && r.arrived < t + 1.98)
          << "a request arrived " << fixed((r.arrived - t) * 1000, 0)
          << " ms after a 429 (Retry-After: 2)";
    }
    double next = 1e18;
    for (const Request& r : reqs) {
      if (r.arrived > t + 0.1) next = std::min(next, r.arrived);
    }
    if (next < 1e18) {
      min_gap = std::min(min_gap, next - t);
      gaps += (gaps.empty() ? "" : ", ") + fixed((next - t) * 1000, 0);
    }
  }
  // Both workers ran steps (the pause held for the one that did not see the 429, too).
  std::set<std::string> ran_on;
  for (const std::string& r : runs) ran_on.insert(hget(r, "s.call.worker"));
  EXPECT_EQ(ran_on.size(), 2u);
  for (const std::string& r : runs) EXPECT_EQ(hget_int(r, "s.call.attempts"), 1) << r;
  const int pauses = w1.count_in_log("paused for 2000 ms") + w2.count_in_log("paused for 2000 ms");
  EXPECT_EQ(pauses, k429);
  std::cout << "429 storm: " << k429 << " x 429 (Retry-After: 2) across 2 workers; next request "
            << "after each 429: " << gaps << " ms (min " << fixed(min_gap * 1000, 0)
            << " ms); " << kRuns << "/" << kRuns << " runs completed, " << pauses
            << " limiter pauses\n";
}

// requests_per_minute: 60 held by 3 worker processes: over a window of more
// than 30 s of back-to-back demand, the rate the server sees is within 5%.
TEST_F(Limiter, SixtyRequestsPerMinuteAcrossThreeWorkers) {
  constexpr int kRuns = 34;  // 33 intervals of 1 s
  start_http(Json{{"echo", true}});
  const std::string file = write_workflows(one_http_step(
      "paced", "  api: {requests_per_minute: 60, burst: 1}\n",
      "{url: \"" + http().url("/v1/ping") + "\", timeout: 10s}", "{name: api}"));
  for (const char* id : {"rpm-1", "rpm-2", "rpm-3"}) {
    start_worker(id, file, WorkerArgs{}.with_concurrency(2));
  }
  const std::vector<std::string> runs = submit_many("paced", kRuns);
  ASSERT_TRUE(wait_all(runs, "completed", 60s)) << describe(runs);

  const std::vector<Request> reqs = requests("/v1/ping");
  ASSERT_EQ(reqs.size(), static_cast<std::size_t>(kRuns));
  const double window = reqs.back().time - reqs.front().time;
  ASSERT_GE(window, 30.0);
  const double measured = (static_cast<double>(reqs.size()) - 1) * 60.0 / window;
  const double error = (measured - 60.0) / 60.0 * 100.0;
  double min_spacing = 1e9;
  for (std::size_t i = 1; i < reqs.size(); ++i) min_spacing = std::min(min_spacing, reqs[i].time - reqs[i - 1].time);
  std::set<std::string> ran_on;
  for (const std::string& r : runs) ran_on.insert(hget(r, "s.call.worker"));
  std::cout << "rpm: expected 60, measured " << fixed(measured, 2) << ", error " << fixed(error, 2)
            << "% (" << reqs.size() << " requests over " << fixed(window, 2) << " s, 3 workers ("
            << ran_on.size() << " ran steps), min spacing " << fixed(min_spacing * 1000, 0) << " ms)\n";
  EXPECT_LE(std::abs(error), 5.0);
  EXPECT_GE(ran_on.size(), 2u);
}

// tokens_per_minute with reconciliation: the estimate ({{len(input.text) / 4}}
// = 10) is far below the 200 tokens the upstream reports in
// /usage/total_tokens; the admitted rate follows the actual usage (6000 per
// minute = 30 requests per minute), not the estimate (600 per minute).
TEST_F(Limiter, TokensPerMinuteFollowTheReportedUsage) {
  constexpr double kTpm = 6000, kCapacity = 400, kEstimate = 10, kActual = 200;
  constexpr int kWorkers = 2, kConcurrency = 1;
  constexpr double kWindow = 20;  // seconds, from the first request
  Json route = {{"responses",
                 Json::array({{{"status", 200},
                               {"body", {{"text", "ok"}, {"usage", {{"total_tokens", kActual}}}}}}})}};
  start_http(Json{{"routes", {{"/v1/generate", route}}}});
  const std::string file = write_workflows(one_http_step(
      "summarize", "  llm: {tokens_per_minute: 6000, token_burst: 400}\n",
      "{method: POST, url: \"" + http().url("/v1/generate") +
          "\", body: {prompt: \"{{input.text}}\"}, timeout: 10s}",
      "{name: llm, tokens: \"{{len(input.text) / 4}}\", usage: /usage/total_tokens}"));
  for (int i = 1; i <= kWorkers; ++i) {
    start_worker("tpm-" + std::to_string(i), file, WorkerArgs{}.with_concurrency(kConcurrency));
  }
  const std::string text(40, 'a');  // 40 / 4 = 10 estimated tokens
  const auto runs = submit_many("summarize", 40, [&](int) { return Json{{"text", text}}; });
  ASSERT_TRUE(eventually([&] { return !requests("/v1/generate").empty(); }, 10s));
  const double first = requests("/v1/generate").front().time;
  std::this_thread::sleep_for(milliseconds(static_cast<int>(kWindow * 1000) + 500));

  std::vector<double> times;
  for (const Request& r : requests("/v1/generate")) {
    if (r.time <= first + kWindow) times.push_back(r.time);
  }
  const double used = static_cast<double>(times.size()) * kActual;
  // Steady state (for the figures): from the 4th request on (the bucket's initial burst is spent).
  ASSERT_GE(times.size(), 6u);
  const double steady = (static_cast<double>(times.size()) - 4) * kActual * 60.0 / (times.back() - times[3]);
  const double bound = kTpm * kWindow / 60.0 + kCapacity;  // a minute's rate + one bucket
  // Admissions in flight before their usage was reported may overdraw by
  // (actual - estimate) each.
  const double slack = kWorkers * kConcurrency * (kActual - kEstimate);
  const double estimate_only = kCapacity / kEstimate + kTpm / kEstimate * kWindow / 60.0;
  std::cout << "tpm: configured " << kTpm << "/min, bucket " << kCapacity << "; estimate " << kEstimate
            << " vs actual " << kActual << " tokens/request; in " << kWindow << " s: " << times.size()
            << " requests = " << fixed(used, 0) << " actual tokens (bound " << kTpm << " x " << kWindow
            << "/60 + " << kCapacity << " = " << fixed(bound, 0) << ", +" << fixed(slack, 0)
            << " in-flight slack); steady state " << fixed(steady, 0)
            << " actual tokens/min; the estimate alone would admit " << fixed(estimate_only, 0)
            << " requests (" << fixed(estimate_only * kActual, 0) << " actual tokens)\n";
  EXPECT_LE(used, bound + slack);
  // ...and close to it: the limiter admits what the rate allows.
  EXPECT_GE(used, kTpm * kWindow / 60.0 * 0.8);
  EXPECT_LT(static_cast<double>(times.size()), estimate_only / 4);
  // The bucket is in debt or nearly empty, as reconciliation left it.
  redis::Reply tokens = server().call({"HGET", limit_key("llm"), "tokens"});
  ASSERT_FALSE(tokens.is_nil());
  EXPECT_LT(std::stod(std::string(tokens.str())), kCapacity);
}

// concurrency: 3 across 2 workers of local concurrency 4: the server never has
// more than 3 requests in flight, and has 3 at some point. A SIGKILLed worker's
// slots expire after the hold time (the step lease, 2 s) and the other worker
// takes them, and the dead worker's steps, over.
TEST_F(Limiter, ConcurrencyCapAcrossWorkersAndSlotsOfAKilledWorkerComeBack) {
  constexpr int kCap = 3, kRuns = 24;
  Json route = {{"responses", Json::array({{{"status", 200}, {"body", {{"ok", true}}}, {"delay_ms", 600}}})}};
  start_http(Json{{"routes", {{"/slow", route}}}});
  const std::string file = write_workflows(one_http_step(
      "capped", "  pool: {concurrency: 3}\n", "{url: \"" + http().url("/slow") + "\", timeout: 10s}",
      "{name: pool}", "        lease: 2s\n"));
  ChildProcess& a = start_worker("cap-a", file, WorkerArgs{}.with_concurrency(4));
  start_worker("cap-b", file, WorkerArgs{}.with_concurrency(4));
  const std::vector<std::string> runs = submit_many("capped", kRuns);

  // Kill A while it holds a slot (and a request is on its way).
  auto holders = [&] {
    std::vector<std::string> out;
    redis::Reply r = server().call({"ZRANGE", holders_key("pool"), "0", "-1"});
    for (std::size_t i = 0; i < r.size(); ++i) out.emplace_back(r[i].str());
    return out;
  };
  auto held_by = [&](const std::string& id) {
    auto h = holders();
    return std::count_if(h.begin(), h.end(), [&](const std::string& s) { return s.starts_with(id + ":"); });
  };
  // Kill A just after it took a new slot (its request then lasts 600 ms more).
  std::set<std::string> seen;
  bool primed = false;  // a holder already there at the first look may be old
  ASSERT_TRUE(eventually(
      [&] {
        bool fresh = false;
        for (const std::string& h : holders()) {
          if (h.starts_with("cap-a:") && seen.insert(h).second) fresh = primed;
        }
        primed = true;
        return fresh && requests("/slow").size() >= 6;
      },
      20s, 2ms));
  a.kill_and_reap();
  const auto killed = Clock::now();
  const long a_slots = held_by("cap-a");
  ASSERT_GT(a_slots, 0);
  ASSERT_TRUE(eventually([&] { return held_by("cap-a") == 0; }, 5s, 5ms));
  const auto back_ms = since(killed).count();
  // B alone uses the whole cap again.
  ASSERT_TRUE(eventually([&] { return held_by("cap-b") == kCap; }, 10s, 5ms));
  ASSERT_TRUE(wait_all(runs, "completed", 60s)) << describe(runs);

  const Json stats = http().stats();
  const int max_in_flight = stats["max_in_flight"].get<int>();
  const int overlap = max_overlap(requests("/slow"));
  std::cout << "concurrency: cap " << kCap << " across 2 workers x 4; max in flight at the server "
            << max_in_flight << " (from the request log " << overlap << "); worker killed holding " << a_slots << " slot(s): back after "
            << back_ms << " ms (hold 2000 ms); " << kRuns << "/" << kRuns << " runs completed\n";
  EXPECT_LE(max_in_flight, kCap);
  EXPECT_EQ(max_in_flight, kCap);
  EXPECT_LE(overlap, kCap);
  EXPECT_LE(back_ms, 2500);
  // The killed worker's requests in flight were answered, then repeated by B.
  const auto total = static_cast<int>(requests("/slow").size());
  EXPECT_GE(total, kRuns);
  EXPECT_LE(total, kRuns + 4);
}

// The upstream fails the first 2 attempts with 500: the 3 requests carry the
// same Idempotency-Key, <run>:<step>.
TEST_F(Limiter, HttpStepSendsTheSameIdempotencyKeyOnEveryRetry) {
  Json route = {{"responses", Json::array({{{"status", 500}, {"body", "try again"}},
                                           {{"status", 500}, {"body", "try again"}},
                                           {{"status", 200}, {"body", {{"ok", true}}}}})}};
  start_http(Json{{"routes", {{"/v1/charge", route}}}});
  const std::string file = write_workflows(
      "workflows:\n  charge:\n    steps:\n      - name: pay\n        kind: http\n"
      "        with: {method: POST, url: \"" + http().url("/v1/charge") + "\", body: {amount: 5}}\n"
      "        retry: {max_attempts: 3, backoff: {initial: 50ms, multiplier: 2}}\n");
  start_worker("idem", file);
  const std::string run = submit("charge");
  ASSERT_TRUE(wait_status(run, "completed", 20s)) << "status " << hget(run, "status");

  const std::vector<Request> reqs = requests("/v1/charge");
  ASSERT_EQ(reqs.size(), 3u);
  std::string keys;
  for (const Request& r : reqs) {
    EXPECT_EQ(r.header("Idempotency-Key"), run + ":pay");
    keys += (keys.empty() ? "" : ", ") + r.header("Idempotency-Key");
  }
  EXPECT_EQ(reqs[0].status, 500);
  EXPECT_EQ(reqs[1].status, 500);
  EXPECT_EQ(reqs[2].status, 200);
  EXPECT_EQ(hget_int(run, "s.pay.attempts"), 3);
  std::cout << "idempotency: 3 requests (500, 500, 200), keys " << keys << "\n";
}

// A step waiting for admission keeps its lease and spends no attempt: a
// limiter at 20 requests per minute (one every 3 s), 5 runs claimed at once by
// 2 workers, lease 1 s, max_attempts 1: the last waits ~12 s — 12 leases —
// yet every run completes with attempts == 1, nothing dead-lettered or reclaimed.
TEST_F(Limiter, WaitingForAdmissionKeepsTheLeaseAndSpendsNoAttempt) {
  constexpr int kRuns = 5;
  start_http(Json{{"echo", true}});
  const std::string file = write_workflows(one_http_step(
      "patient", "  slow: {requests_per_minute: 20}\n", "{url: \"" + http().url("/v1/ping") + "\"}",
      "{name: slow}", "        lease: 1s\n        retry: {max_attempts: 1}\n"));
  ChildProcess& w1 = start_worker("adm-1", file, WorkerArgs{}.with_concurrency(5));
  ChildProcess& w2 = start_worker("adm-2", file, WorkerArgs{}.with_concurrency(5));
  const std::vector<std::string> runs = submit_many("patient", kRuns);
  ASSERT_TRUE(wait_all(runs, "completed", 40s));

  for (const std::string& r : runs) EXPECT_EQ(hget_int(r, "s.call.attempts"), 1) << r;
  EXPECT_TRUE(dlq_list().empty());
  const std::vector<Request> reqs = requests("/v1/ping");
  ASSERT_EQ(reqs.size(), static_cast<std::size_t>(kRuns));
  const double span = reqs.back().time - reqs.front().time;
  EXPECT_GE(span, (kRuns - 1) * 3.0 * 0.95);
  const auto s1 = stopped_stats(stop_and_log(w1));
  const auto s2 = stopped_stats(stop_and_log(w2));
  EXPECT_EQ(s1.at("reclaimed") + s2.at("reclaimed"), 0);
  EXPECT_EQ(s1.at("stale") + s2.at("stale"), 0);
  EXPECT_EQ(s1.at("attempts") + s2.at("attempts"), kRuns);
  std::cout << "admission: " << kRuns << " runs at 20/min, lease 1 s, max_attempts 1: requests over "
            << fixed(span, 1) << " s (the last waited ~" << fixed(span, 0)
            << " leases), all completed with 1 attempt, 0 reclaimed, 0 dead-lettered\n";
}

// A step through two limiters at once: the provider's (concurrency 3) and a
// keyed one (concurrency 1 per tenant). 3 tenants x 4 runs, 2 workers x 6:
// each tenant's calls never overlap, all three tenants run side by side (so
// the provider's 3 are used, never more), and a run without a tenant fails
// at once (fatal), naming the limiter — not charged to anyone.
TEST_F(Limiter, AKeyedLimiterCapsEachTenantWhileTheSharedOneCapsThemAll) {
  Json route = {{"responses", Json::array({{{"status", 200}, {"body", {{"ok", true}}}, {"delay_ms", 300}}})}};
  start_http(Json{{"routes", {{"/llm", route}}}});
  const std::string file = write_workflows(
      "limits:\n  llm: {concurrency: 3}\n  llm-tenant: {concurrency: 1}\n"
      "workflows:\n  tenants:\n    steps:\n      - name: call\n        kind: http\n"
      "        with: {method: POST, url: \"" + http().url("/llm") + "\", body: {tenant: \"{{input.tenant}}\"}, timeout: 10s}\n"
      "        retry: {max_attempts: 3, backoff: {initial: 50ms}}\n"
      "        limit:\n          - {name: llm}\n          - {name: llm-tenant, key: \"{{input.tenant}}\"}\n");
  start_worker("ten-a", file, WorkerArgs{}.with_concurrency(6));
  start_worker("ten-b", file, WorkerArgs{}.with_concurrency(6));
  const std::vector<std::string> tenants{"acme", "globex", "initech"};
  const std::vector<std::string> runs =
      submit_many("tenants", 12, [&](int i) { return Json{{"tenant", tenants[static_cast<std::size_t>(i) % 3]}}; });
  const std::string keyless = client().submit("tenants", Json{{"other", 1}}).run_id;
  ASSERT_TRUE(wait_all(runs, "completed", 60s)) << describe(runs);
  ASSERT_TRUE(wait_status(keyless, "failed", 10s));

  const std::vector<Request> all = requests("/llm");
  ASSERT_EQ(all.size(), runs.size()) << "the keyless run sent nothing";
  std::map<std::string, std::vector<Request>> by_tenant;
  for (const Request& r : all) by_tenant[r.body.value("tenant", "")].push_back(r);
  ASSERT_EQ(by_tenant.size(), 3u);
  for (const auto& [tenant, reqs] : by_tenant) EXPECT_EQ(max_overlap(reqs), 1) << tenant;
  EXPECT_EQ(max_overlap(all), 3) << "three tenants side by side, within the provider's 3";
  EXPECT_EQ(hget_int(keyless, "s.call.attempts"), 1) << "fatal: no retry";
  const std::string error = hget(keyless, "s.call.error");
  EXPECT_NE(error.find("limit key of limiter 'llm-tenant' ({{input.tenant}}) has no value for this run"),
            std::string::npos)
      << error;
  std::cout << "keyed: 3 tenants x 4 runs through llm (concurrency 3) and llm-tenant (1 per tenant): per-tenant overlap "
            << max_overlap(by_tenant["acme"]) << "/" << max_overlap(by_tenant["globex"]) << "/"
            << max_overlap(by_tenant["initech"]) << ", overall " << max_overlap(all)
            << "; a run without a tenant failed at once: " << error << "\n";
}

// A step waiting for its tenant's one slot says so in its status (what an
// operator asks first: "why does this run not move?"), and stops saying so
// once admitted.
TEST_F(Limiter, AStepWaitingForItsTenantsSlotSaysSoInItsStatus) {
  const std::string file = write_workflows(
      "limits:\n  tenant: {concurrency: 1}\n"
      "workflows:\n  nap:\n    steps:\n      - name: call\n        kind: sleep\n        with: {ms: 1500}\n"
      "        limit: {name: tenant, key: \"{{input.tenant}}\"}\n");
  start_worker("wait-a", file, WorkerArgs{}.with_concurrency(4));
  const std::vector<std::string> runs = submit_many("nap", 2, [](int) { return Json{{"tenant", "acme"}}; });
  const Json expected{{"kind", "limiter"}, {"until", nullptr}, {"limiter", "tenant"}, {"key", "acme"}};
  std::string waiting;
  ASSERT_TRUE(eventually(
      [&] {
        for (const std::string& r : runs) {
          const Json st = status_json(r);
          if (st.value("waiting_for", Json()) == expected) {
            waiting = r;
            return st["steps"][0]["waiting_for"] == expected && st["status"] == "running";
          }
        }
        return false;
      },
      5s, 20ms));
  ASSERT_TRUE(wait_all(runs, "completed", 20s)) << describe(runs);
  for (const std::string& r : runs) {
    EXPECT_TRUE(status_json(r)["waiting_for"].is_null()) << r;
    EXPECT_EQ(hget(r, "s.call.limiter_wait"), "") << "cleared at admission";
  }
}

// A step its limiter refuses for a long while does not sit on a worker slot:
// it is parked (status waiting, waiting_for the limiter, no attempt spent)
// and the worker, with its one slot, runs other work meanwhile.
TEST_F(Limiter, AStepRefusedForLongIsParkedAndTheWorkerTakesOtherWork) {
  const std::string file = write_workflows(
      "limits:\n  once: {requests_per_minute: 1}\n"
      "workflows:\n"
      "  limited:\n    steps:\n      - {name: call, kind: noop, limit: {name: once}}\n"
      "  free:\n    steps:\n      - {name: call, kind: noop}\n");
  ChildProcess& w = start_worker("park-1", file, WorkerArgs{}.with_concurrency(1));
  const std::string first = client().submit("limited", Json::object()).run_id;
  ASSERT_TRUE(wait_status(first, "completed", 10s));
  const std::string second = client().submit("limited", Json::object()).run_id;
  ASSERT_TRUE(wait_status(second, "waiting", 10s)) << describe({second});
  const Json st = status_json(second);
  EXPECT_EQ(st["waiting_for"]["kind"], "limiter") << st.dump();
  EXPECT_EQ(st["waiting_for"]["limiter"], "once");
  EXPECT_FALSE(st["waiting_for"]["until"].is_null()) << "it says when it asks again";
  EXPECT_EQ(st["steps"][0]["status"], "waiting");
  EXPECT_EQ(hget_int(second, "s.call.attempts"), 0) << "parking spends no attempt";

  // The one slot is free: another run goes through while the limited one waits.
  const std::string other = client().submit("free", Json::object()).run_id;
  ASSERT_TRUE(wait_status(other, "completed", 10s)) << describe({other, second});
  EXPECT_EQ(status_json(second)["status"], "waiting");
  const auto stats = stopped_stats(stop_and_log(w));
  EXPECT_GE(stats.at("parked at a limiter"), 1);
  EXPECT_EQ(stats.at("failed"), 0);
  std::cout << "parked: a step refused for ~60 s by its limiter waited outside the worker (" << st["waiting_for"].dump()
            << ") while another run used the worker's one slot\n";
}

}  // namespace
}  // namespace steadfast::test
