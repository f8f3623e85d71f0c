// Dead-letter alerts (`steadfast notifier` posting to a local fake webhook)
// and load shedding (`queues: {q: {max_backlog: N}}`), with real processes.
//
// Each test prints its figures on one line starting with "alerts:" or "shedding:".
#include <set>

#include "limits/limits_fixture.h"

namespace steadfast::test {
namespace {

class Alerts : public LimitsTest {
 protected:
  // A workflow whose only step fails fatally: every run is dead at once.
  std::string doomed_file() {
    return write_workflows(R"(
workflows:
  doomed:
    steps:
      - {name: explode, kind: fail, with: {times: 100, fatal: true}, retry: {max_attempts: 1}}
)");
  }

  // Submits one more doomed run and waits until its alert has arrived and
  // nothing is pending in the notifier's group: the notifier has gone on to
  // later work, so an alert it was still going to send for an earlier run
  // would have arrived by now. Returns the sentinel's run id.
  std::string sentinel_alerted() {
    const std::string sentinel = submit("doomed");
    EXPECT_TRUE(wait_status(sentinel, "failed", 15s)) << "sentinel " << hget(sentinel, "status");
    EXPECT_TRUE(eventually([&] { return !hooks_for(sentinel).empty() && dlq_pending() == 0; }, 15s))
        << "the sentinel's alert did not arrive";
    return sentinel;
  }

  // The webhook requests about one run, in order of arrival.
  std::vector<Request> hooks_for(const std::string& run) {
    std::vector<Request> out;
    for (const Request& r : requests("/hook")) {
      if (r.body.is_object() && r.body.value("run", "") == run) out.push_back(r);
    }
    return out;
  }
};

// Normal operation: one POST per dead run, with the Slack-compatible fields;
// nothing pending in the notifier's group afterwards.
TEST_F(Alerts, WebhookOncePerDeadRun) {
  start_http(Json{{"routes", {{"/hook", {{"responses", Json::array({{{"status", 200}, {"body", "ok"}}})}}}}}});
  start_worker("dw", doomed_file());
  ChildProcess& n = start_notifier("n1", http().url("/hook"));
  const std::vector<std::string> runs = submit_many("doomed", 3);
  ASSERT_TRUE(wait_all(runs, "failed", 15s));
  ASSERT_TRUE(eventually([&] { return requests("/hook").size() >= 3 && dlq_pending() == 0; }, 15s));
  const std::string sentinel = sentinel_alerted();  // after it, no more alerts for the three

  std::vector<Request> hooks = requests("/hook");
  ASSERT_EQ(hooks.size(), 4u);
  EXPECT_EQ(hooks_for(sentinel).size(), 1u);
  std::erase_if(hooks, [&](const Request& h) { return h.body.value("run", "") == sentinel; });
  ASSERT_EQ(hooks.size(), 3u);
  std::map<std::string, std::string> dlq_ids;  // run -> dead-letter entry id
  for (const Json& d : dlq_list()) dlq_ids[d["run_id"].get<std::string>()] = d["id"].get<std::string>();
  std::set<std::string> alerted;
  for (const Request& h : hooks) {
    EXPECT_EQ(h.method, "POST");
    EXPECT_EQ(h.header("Content-Type"), "application/json");
    const Json& b = h.body;
    ASSERT_TRUE(b.is_object()) << b.dump();
    const std::string run = b.value("run", "");
    alerted.insert(run);
    EXPECT_EQ(b["workflow"], "doomed");
    EXPECT_EQ(b["step"], "explode");
    EXPECT_EQ(b["attempts"], 1);
    EXPECT_NE(b.value("error", "").find("injected failure"), std::string::npos) << b.dump();
    EXPECT_EQ(b["dead_letter_id"], dlq_ids[run]) << b.dump();
    EXPECT_NE(b.value("text", "").find(run), std::string::npos) << b.dump();
  }
  EXPECT_EQ(alerted, std::set<std::string>(runs.begin(), runs.end()));
  EXPECT_EQ(dlq_pending(), 0);
  n.sigterm();
  ASSERT_EQ(n.wait(10s), 0);
  // The exit summary is the notifier's report to its operator (three runs and the sentinel).
  EXPECT_EQ(n.count_in_log("4 alerts delivered"), 1) << n.log();
  std::cout << "alerts: 3 dead runs -> " << hooks.size() << " webhook POSTs (one each), 0 pending\n";
}

// The notifier is SIGKILLed while its POST is in flight (the webhook answers
// after 2.5 s); restarted under the same id, it delivers the alert again: at
// least once in all, and nothing is left pending in its group.
TEST_F(Alerts, WebhookAtLeastOnceAfterTheNotifierIsKilledMidDelivery) {
  Json slow = {{"responses", Json::array({{{"status", 200}, {"body", "ok"}, {"delay_ms", 2500}}})}};
  start_http(Json{{"routes", {{"/hook", slow}}}});
  start_worker("dw", doomed_file());
  const std::string run = submit("doomed");
  ASSERT_TRUE(wait_status(run, "failed", 15s));

  ChildProcess& first = start_notifier("n1", http().url("/hook"));
  ASSERT_TRUE(eventually([&] { return http().stats()["in_flight"].get<int>() >= 1; }, 10s));
  first.kill_and_reap();
  EXPECT_EQ(dlq_pending(), 1);  // delivered (maybe) but not acknowledged
  const auto restarted = Clock::now();
  ChildProcess& second = start_notifier("n1", http().url("/hook"));
  ASSERT_TRUE(eventually([&] { return dlq_pending() == 0; }, 15s));
  const auto acked_ms = since(restarted).count();
  // The killed one's request is recorded when the server answers it, too.
  ASSERT_TRUE(eventually([&] { return requests("/hook").size() >= 2; }, 5s));
  const std::vector<Request> hooks = requests("/hook");
  EXPECT_GE(hooks.size(), 1u);
  EXPECT_LE(hooks.size(), 2u);
  for (const Request& h : hooks) EXPECT_EQ(h.body.value("run", ""), run);
  second.sigterm();
  ASSERT_EQ(second.wait(10s), 0);
  EXPECT_EQ(second.count_in_log("1 alerts delivered"), 1) << second.log();
  std::cout << "alerts: notifier SIGKILLed mid-delivery, restarted: alert delivered " << hooks.size()
            << " time(s) in all, acknowledged " << acked_ms << " ms after the restart, 0 pending\n";
}

// The webhook answers 500 three times: the notifier retries with backoff
// (500 ms, doubling) until the 2xx, then acknowledges.
TEST_F(Alerts, WebhookFailuresAreRetriedWithBackoff) {
  Json flaky = {{"responses", Json::array({{{"status", 500}, {"body", "down"}},
                                           {{"status", 500}, {"body", "down"}},
                                           {{"status", 500}, {"body", "down"}},
                                           {{"status", 200}, {"body", "ok"}}})}};
  start_http(Json{{"routes", {{"/hook", flaky}}}});
  start_worker("dw", doomed_file());
  start_notifier("n1", http().url("/hook"));
  const std::string run = submit("doomed");
  ASSERT_TRUE(wait_status(run, "failed", 15s));
  ASSERT_TRUE(eventually([&] { return dlq_pending() == 0 && requests("/hook").size() >= 4; }, 20s));
  sentinel_alerted();  // after it, no more retries of the first alert

  const std::vector<Request> hooks = hooks_for(run);
  ASSERT_EQ(hooks.size(), 4u);
  const double expected[] = {0.5, 1.0, 2.0};
  std::string gaps;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(hooks[i].status, 500);
    const double gap = hooks[i + 1].time - hooks[i].time;
    gaps += (i ? ", " : "") + fixed(gap * 1000, 0);
    EXPECT_GE(gap, expected[i] * 0.9) << "gap " << i;
    EXPECT_LE(gap, expected[i] + 3.0) << "gap " << i;  // + the POST itself, on a busy machine
  }
  EXPECT_EQ(hooks[3].status, 200);
  std::cout << "alerts: webhook 500 x3 then 200: retried after " << gaps
            << " ms (backoff 500 ms doubling), then acknowledged\n";
}

// `steadfast worker --alert-webhook URL` runs a notifier next to the worker.
TEST_F(Alerts, WorkerWithAlertWebhookDeliversToo) {
  start_http(Json{{"routes", {{"/hook", {{"responses", Json::array({{{"status", 204}}})}}}}}});
  WorkerArgs args;
  args.extra = {"--alert-webhook", http().url("/hook")};
  ChildProcess& w = start_worker("dw", doomed_file(), args);
  const std::string run = submit("doomed");
  ASSERT_TRUE(wait_status(run, "failed", 15s));
  ASSERT_TRUE(eventually([&] { return dlq_pending() == 0 && !requests("/hook").empty(); }, 15s));
  sentinel_alerted();  // after it, no second alert for the first run
  const std::vector<Request> hooks = hooks_for(run);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].body.value("run", ""), run);
  w.sigterm();
  EXPECT_EQ(w.wait(20s), 0) << w.log();
}

// max_backlog: 3 on queue default, no worker running: 3 submits are accepted,
// the 4th is refused (exit 1, the message names the queue) and writes nothing:
// no run, no stream entry, no idempotency key, no counter.
TEST_F(Alerts, SubmitIsRefusedWhenTheQueueBacklogIsFull) {
  const std::string file = write_workflows(R"(
queues:
  default: {max_backlog: 3}
workflows:
  shed:
    steps:
      - {name: a, kind: noop}
)");
  // A worker records the definitions (with the bound), then stops.
  ChildProcess& w = start_worker("reg", file);
  w.sigterm();
  ASSERT_EQ(w.wait(20s), 0) << w.log();

  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(submit("shed", "{\"i\": " + std::to_string(i) + "}"));
  const CommandResult refused = cli({"submit", "shed", "--input", "{\"i\": 3}", "--idempotency-key", "fourth"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;
  EXPECT_NE(refused.err.find("queue default"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("holds 3"), std::string::npos) << refused.err;

  EXPECT_EQ(count_runs(), 3u);
  EXPECT_EQ(server().call({"XLEN", key("q:default")}).as_integer(), 3);
  EXPECT_EQ(server().call({"KEYS", "*:idem:*"}).size(), 0u);
  redis::Reply submitted = server().call({"HGET", key("stats"), "submitted:shed"});
  EXPECT_EQ(submitted.is_nil() ? std::string("nil") : std::string(submitted.str()), "3");

  // The C++ client gets BacklogFullError.
  EXPECT_THROW(client().submit("shed", Json::object()), BacklogFullError);
  std::string message = refused.err;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  std::cout << "shedding: max_backlog 3: submits 1-3 accepted, 4th refused (exit "
            << refused.exit_code << "): \"" << message << "\"; runs in Redis: " << count_runs() << "\n";
}

}  // namespace
}  // namespace steadfast::test
