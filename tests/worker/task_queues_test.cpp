// Which queues a worker serves when some steps are task steps (external
// workers: docs/worker-protocol.md): a C++ worker never a task queue, serve's
// task worker (WorkerOptions::tasks) only those. Checked at construction,
// with no Redis; and the TaskBroker's bookkeeping between the two sides.
#include <gtest/gtest.h>

#include "steadfast/worker.h"
#include "worker/task_broker.h"

namespace steadfast {
namespace {

std::vector<Workflow> mixed() {
  Workflow w("wf");
  w.step("prep", [](StepContext&) -> StepResult { return Json::object(); });
  StepOptions py;
  py.queue = "py";
  w.task("summarize", "summarize", py);
  return {w};
}

std::string construction_error(WorkerOptions o, std::vector<Workflow> workflows) {
  try {
    Worker worker(std::move(o), std::move(workflows));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(TaskQueues, AWorkerLeavesTaskQueuesOutAndRefusesToBeGivenOne) {
  WorkerOptions o;
  EXPECT_EQ(construction_error(o, mixed()), "") << "serves `default` only";
  o.queues = {"py"};
  EXPECT_EQ(construction_error(o, mixed()),
            "queue 'py' holds task steps: external workers serve it through `steadfast serve` "
            "(docs/worker-protocol.md), never a C++ worker");
}

TEST(TaskQueues, AWorkerWithOnlyTaskQueuesHasNothingToDo) {
  Workflow w("wf");
  StepOptions py;
  py.queue = "py";
  w.task("summarize", "summarize", py);
  EXPECT_NE(construction_error(WorkerOptions{}, {w}).find("nothing for this worker to do"), std::string::npos);
}

TEST(TaskQueues, ATaskWorkerServesTaskQueuesOnly) {
  WorkerOptions o;
  o.tasks = std::make_shared<TaskBroker>();
  EXPECT_EQ(construction_error(o, mixed()), "");
  o.queues = {"default"};
  EXPECT_EQ(construction_error(o, mixed()), "queue 'default' holds no task steps: a task worker serves task queues only");
  Workflow plain("plain");
  plain.step("a", [](StepContext&) -> StepResult { return Json::object(); });
  o.queues = {};
  EXPECT_NE(construction_error(o, {plain}).find("no task queue to serve"), std::string::npos);
}

TaskOffer offer(std::string key, std::string queue, std::string task) {
  TaskOffer o;
  o.key = std::move(key);
  o.token.queue = std::move(queue);
  o.task = std::move(task);
  return o;
}

TEST(TaskBroker, RoomIsWhatWaitingClaimsWantMinusOffersNotTaken) {
  TaskBroker b;
  EXPECT_EQ(b.room("py"), 0) << "no claim waiting: claim nothing";
  int room_calls = 0;
  b.attach([&] { ++room_calls; }, [](const std::string&, TaskBroker::Resolution) {});
  auto h = b.wait(TaskBroker::Waiter{{"py"}, {"summarize"}, 3, nullptr});
  EXPECT_EQ(room_calls, 1) << "a new claim wakes the task worker";
  EXPECT_EQ(b.room("py"), 3 + 3);
  EXPECT_EQ(b.room("other"), 0);
  b.offer(offer("k1", "py", "summarize"));
  const auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(b.room("py", now), 2 + 3) << "what the claim wants, and as much read ahead for the next claim";
  b.stop_waiting(h);
  EXPECT_EQ(b.room("py", now), 3 - 1) << "polled a moment ago: the read-ahead, minus the offer waiting";
  EXPECT_EQ(b.room("py", now + TaskBroker::kPolledWithin), 0) << "no longer polled: nothing more";
}

TEST(TaskBroker, AClaimTakesOnlyOffersOfItsQueuesAndTasksUpToItsMax) {
  TaskBroker b;
  int wakes = 0;
  auto h = b.wait(TaskBroker::Waiter{{"py"}, {"summarize"}, 2, [&] { ++wakes; }});
  b.offer(offer("k1", "py", "embed"));      // another task
  b.offer(offer("k2", "other", "summarize"));  // another queue
  EXPECT_EQ(wakes, 0);
  b.offer(offer("k3", "py", "summarize"));
  b.offer(offer("k4", "py", "summarize"));
  b.offer(offer("k5", "py", "summarize"));
  EXPECT_EQ(wakes, 3);
  const std::vector<TaskOffer> got = b.take(h);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "k3");
  EXPECT_EQ(got[1].key, "k4");
  EXPECT_TRUE(b.withdraw("k5")) << "still offered";
  EXPECT_FALSE(b.withdraw("k3")) << "taken: withdrawing it is too late";
  b.stop_waiting(h);
}

TEST(TaskBroker, OffersNobodyTakesInTimeAreReportedNotTaken) {
  TaskBroker b;
  std::vector<std::pair<std::string, TaskBroker::Resolution>> resolved;
  b.attach([] {}, [&](const std::string& k, TaskBroker::Resolution r) { resolved.emplace_back(k, r); });
  const auto start = std::chrono::steady_clock::now();
  b.offer(offer("k1", "py", "summarize"));
  b.expire_stale(start);
  EXPECT_TRUE(resolved.empty()) << "younger than the patience";
  b.expire_stale(start + TaskBroker::kOfferPatience + std::chrono::milliseconds(100));
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0], (std::pair<std::string, TaskBroker::Resolution>{"k1", TaskBroker::Resolution::not_taken}));
  EXPECT_FALSE(b.withdraw("k1")) << "gone from the offers";
  b.detach();
  b.resolve("k1", TaskBroker::Resolution::lost);
  EXPECT_EQ(resolved.size(), 1u) << "a detached worker hears nothing";
}

}  // namespace
}  // namespace steadfast
