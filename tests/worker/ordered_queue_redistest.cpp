// Ordered queues with a real worker (steadfast::Worker in-process, its steps
// taking a few ms each like a fast LLM call): what a user of fairness and
// priorities checks. One tenant's large backlog does not hold another's few
// runs back; weights give their share; a higher priority goes first. The
// assertions are on the order the handler saw the runs in, not on times.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "support/redis_test.h"
#include "worker/worker_thread.h"

namespace steadfast {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::WorkerThread;

class OrderedWorker : public test::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("o-") + info->name();
    ClientOptions co;
    co.redis_url = server().url();
    co.key_prefix = prefix_;
    client_ = std::make_unique<Client>(co);
  }
  void TearDown() override {
    worker_.reset();
    client_.reset();
    RedisTest::TearDown();
  }

  // Starts one worker of `concurrency` slots on queue "default", ordered by
  // `order`, whose one step records the run's tenant and sleeps `step`;
  // returns once it has registered the workflow (a first run completed).
  // With `then_stop`, stops it again: the runs submitted next all wait
  // until start() is called again (warm: false), so the order they are
  // handed out in depends on the queue's order alone.
  void start(const QueueOrder& order, int concurrency, std::chrono::milliseconds step, bool warm = true,
             bool then_stop = false) {
    Workflow wf("call");
    wf.step("llm", [this, step](StepContext& ctx) -> StepResult {
      {
        std::lock_guard lock(mu_);
        seen_.push_back(ctx.input().value("tenant", std::string("?")));
      }
      std::this_thread::sleep_for(step);
      return Json{{"ok", true}};
    });
    WorkerOptions o;
    o.redis_url = server().url();
    o.key_prefix = prefix_;
    o.id = "w1";
    o.concurrency = concurrency;
    o.drain_timeout = 1s;
    o.handle_signals = false;
    o.queue_order["default"] = order;
    worker_ = std::make_unique<WorkerThread>(o, std::vector<Workflow>{wf});
    if (!warm) return;
    for (const auto until = Clock::now() + 10s; Clock::now() < until;) {
      try {
        ASSERT_EQ(client_->wait(client_->submit("call", Json{{"tenant", "warmup"}}).run_id, 10s).status,
                  "completed");
        break;
      } catch (const std::invalid_argument&) {
        std::this_thread::sleep_for(20ms);  // not registered yet
      }
    }
    if (then_stop) worker_.reset();
    std::lock_guard lock(mu_);
    seen_.clear();
  }

  std::vector<std::string> submit(const std::string& tenant, int n, int priority = kDefaultPriority) {
    std::vector<SubmitItem> items(static_cast<std::size_t>(n));
    for (SubmitItem& it : items) {
      it.input = Json{{"tenant", tenant}};
      it.options.priority = priority;
    }
    std::vector<std::string> ids;
    for (const BatchSubmitted& b : client_->submit_many("call", items)) ids.push_back(b.run_id);
    return ids;
  }

  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Waits until the handler has seen `n` steps (at most `bound`).
  std::vector<std::string> seen_at_least(std::size_t n, std::chrono::seconds bound = 60s) {
    for (const auto until = Clock::now() + bound; Clock::now() < until; std::this_thread::sleep_for(5ms)) {
      if (seen().size() >= n) break;
    }
    return seen();
  }

  std::string prefix_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<WorkerThread> worker_;
  std::mutex mu_;
  std::vector<std::string> seen_;  // tenants, in the order the handler ran them
};

QueueOrder fair(std::map<std::string, int> weights = {}) {
  QueueOrder o;
  o.fairness_key = "{{input.tenant}}";
  o.weights = std::move(weights);
  return o;
}

// The case: tenant A submits 5,000 documents, then tenant B 20. B's
// all finish while most of A's backlog is still there.
TEST_F(OrderedWorker, ASmallTenantIsNotHeldBackByALargeOnesBacklog) {
  start(fair(), 4, 2ms);
  submit("A", 5000);
  const std::vector<std::string> b = submit("B", 20);
  std::vector<double> waits_ms;
  for (const std::string& id : b) {
    const RunInfo r = client_->wait(id, 60s);
    ASSERT_EQ(r.status, "completed");
    waits_ms.push_back(static_cast<double>(r.steps[0].started_at_ms - r.created_at_ms));
  }
  const std::vector<std::string> order = seen();
  const auto a_done = std::count(order.begin(), order.end(), "A");
  EXPECT_LT(a_done, 2500) << "B's 20 runs finished only after half of A's 5,000";
  std::sort(waits_ms.begin(), waits_ms.end());
  std::printf("fairness: B's 20 runs done after %ld of A's 5000; B's wait p50 %.0f ms, p99 %.0f ms\n",
              static_cast<long>(a_done), waits_ms[waits_ms.size() / 2], waits_ms.back());
  RecordProperty("b_wait_p99_ms", static_cast<int>(waits_ms.back()));
}

TEST_F(OrderedWorker, WeightsThreeToOneGiveThreeToOneWhileBothHaveWork) {
  start(fair({{"gold", 3}}), 4, 1ms, true, true);
  submit("free", 400);
  submit("gold", 400);
  start(fair({{"gold", 3}}), 4, 1ms, false);
  std::vector<std::string> order = seen_at_least(400);
  ASSERT_GE(order.size(), 400u);
  order.resize(400);
  const auto gold = std::count(order.begin(), order.end(), "gold");
  const double share = static_cast<double>(gold) / 400.0;
  EXPECT_GT(share, 0.75 * 0.9);
  EXPECT_LT(share, 0.75 * 1.1);
  std::printf("weights 3:1: gold had %.3f of the first 400 steps while both had work\n", share);
}

TEST_F(OrderedWorker, AHigherPriorityIsHandedOutFirst) {
  QueueOrder o;  // priorities only, no fairness key
  start(o, 1, 2ms);
  submit("low", 200, 1);
  submit("high", 10, 9);
  const std::vector<std::string> order = seen_at_least(40);
  const auto last_high = std::find(order.rbegin(), order.rend(), "high");
  ASSERT_NE(last_high, order.rend()) << "no high-priority run ran among the first 40";
  const auto index = std::distance(order.begin(), last_high.base()) - 1;
  // (the worker ran a few low ones while the high ones were being submitted)
  EXPECT_LT(index, 25) << "the 10 high-priority runs waited behind the low ones";
  std::printf("priorities: the last of the 10 high-priority runs ran %ldth\n", static_cast<long>(index) + 1);
  EXPECT_EQ(std::count(order.begin(), order.begin() + index + 1, "high"), 10);
}

}  // namespace
}  // namespace steadfast
