// Chaos: 2,000 three-step runs through 3 worker processes while one of them is
// SIGKILLed at random every 1-2 s and restarted under its id. Every run must
// complete with every output, `steadfast doctor` must find nothing, and the
// dead-letter queue must stay empty. Prints how many steps ran more than once,
// and its random seed first (STEADFAST_CHAOS_SEED=<seed> replays the same
// choice of victims and the same gaps between kills).
//
// Defends invariants 1 (one token per live run), 2 (ACK with the outcome),
// 3 (fencing) and 4 (attempts at claim) of docs/DESIGN.md at once.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>

#include "fault/fault_fixture.h"

namespace steadfast::test {
namespace {

constexpr int kWorkers = 3;
constexpr auto kBound = 180s;

// STEADFAST_CHAOS_RUNS / STEADFAST_CHAOS_SLEEP_MS override the defaults.
int env_or(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// The seed of every random choice of the test (which worker dies, and when):
// STEADFAST_CHAOS_SEED if set (to replay a failure), else a fresh one. A seed
// that is not a number fails the test rather than quietly being replaced.
std::uint32_t chaos_seed() {
  const char* v = std::getenv("STEADFAST_CHAOS_SEED");
  if (v == nullptr || *v == '\0') return std::random_device{}();
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (errno != 0 || *end != '\0' || n > 0xFFFFFFFFull || *v == '-') {
    throw std::invalid_argument(std::string("STEADFAST_CHAOS_SEED is not a number from 0 to 4294967295: ") + v);
  }
  return static_cast<std::uint32_t>(n);
}

// Counts the runs (by hash key) in each status, in one round trip.
constexpr std::string_view kCountScript = R"lua(
local completed, failed = 0, 0
for _, k in ipairs(KEYS) do
  local s = redis.call('HGET', k, 'status')
  if s == 'completed' then completed = completed + 1 elseif s == 'failed' then failed = failed + 1 end
end
return {completed, failed}
)lua";

// [0, 1, ..., n - 1]: a map step's list.
Json indexes(int n) {
  Json items = Json::array();
  for (int k = 0; k < n; ++k) items.push_back(k);
  return items;
}

// Whether a map step's output is `n` outputs of a 100 ms sleep step.
bool all_slept_100ms(const Json& output, int n) {
  if (!output.is_array() || output.size() != static_cast<std::size_t>(n)) return false;
  for (const Json& out : output) {
    if (out != Json{{"slept_ms", 100}}) return false;
  }
  return true;
}

class Chaos : public FaultTest {
 protected:
  // Submits `n_runs` runs of workflow `workflow` of the workflows file `yaml`
  // to kWorkers worker processes, kills one at random every 1-2 s until all
  // have ended, then checks each run with `run_ok` (its index, the run),
  // the doctor and the dead-letter queue. Prints the figures under `label`.
  // `input_of` gives run i's input ({"i": i} by default).
  void survive_kills(const std::string& label, const std::string& yaml, const std::string& workflow, int n_runs,
                     const std::function<bool(std::size_t, const RunInfo&)>& run_ok,
                     const std::function<Json(int)>& input_of = [](int i) { return Json{{"i", i}}; }) {
    const std::uint32_t seed = chaos_seed();
    // Printed first (a hung or crashed run still shows it) and in every failure.
    std::printf("%s: seed %u (replay with STEADFAST_CHAOS_SEED=%u)\n", label.c_str(), seed, seed);
    std::fflush(stdout);
    SCOPED_TRACE("STEADFAST_CHAOS_SEED=" + std::to_string(seed));
    const std::string file = write_workflows(yaml);
    std::vector<ChildProcess*> workers;
    for (int i = 0; i < kWorkers; ++i) {
      workers.push_back(&start_worker("chaos" + std::to_string(i), file, WorkerArgs().with_concurrency(16)));
    }

    // Submit fast: one client, several threads (their calls are pipelined).
    const auto t0 = Clock::now();
    std::vector<std::string> runs(static_cast<std::size_t>(n_runs));
    {
      Client& c = client();
      std::vector<std::thread> threads;
      constexpr int kThreads = 8;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = t; i < n_runs; i += kThreads) {
            runs[static_cast<std::size_t>(i)] = c.submit(workflow, input_of(i)).run_id;
          }
        });
      }
      for (auto& th : threads) th.join();
    }
    const auto submitted_in = since(t0);

    std::vector<std::string> count_args{"EVAL", std::string(kCountScript), std::to_string(n_runs)};
    for (const std::string& r : runs) count_args.push_back(run_key(r));
    auto counts = [&] {
      redis::Reply r = server().call(count_args, 10s);
      return std::pair<long long, long long>(r[0].as_integer(), r[1].as_integer());
    };

    std::mt19937 rng(seed);
    int kills = 0;
    auto next_kill = Clock::now() + milliseconds(std::uniform_int_distribution<int>(1000, 2000)(rng));
    std::pair<long long, long long> done{0, 0};
    while (Clock::now() - t0 < kBound) {
      done = counts();
      if (done.first + done.second == n_runs || done.second > 0) break;
      if (Clock::now() >= next_kill) {
        const int victim = std::uniform_int_distribution<int>(0, kWorkers - 1)(rng);
        workers[static_cast<std::size_t>(victim)]->kill_and_reap();
        ++kills;
        workers[static_cast<std::size_t>(victim)] =
            &start_worker("chaos" + std::to_string(victim), file, WorkerArgs().with_concurrency(16));
        next_kill = Clock::now() + milliseconds(std::uniform_int_distribution<int>(1000, 2000)(rng));
      }
      std::this_thread::sleep_for(50ms);
    }
    const auto took = since(t0);
    if (done.second > 0) {
      for (const Json& d : dlq_list()) std::printf("dead letter: %s\n", d.dump().c_str());
    }
    ASSERT_EQ(done.second, 0) << "runs dead-lettered: " << done.second;
    ASSERT_EQ(done.first, n_runs) << "only " << done.first << " of " << n_runs << " runs completed in "
                                 << took.count() << " ms";

    // Stop the workers cleanly; then check every run, the doctor and the DLQ.
    for (ChildProcess* w : workers) w->sigterm();
    for (ChildProcess* w : workers) {
      const auto code = w->wait(15s);
      EXPECT_TRUE(code.has_value() && *code == 0) << tail_of(w->log());
    }

    long re_executed = 0;
    int bad = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto run = client().get_run(runs[i]);
      ASSERT_TRUE(run.has_value()) << runs[i];
      bool ok = run->status == "completed" && run->input == input_of(static_cast<int>(i));
      for (const StepInfo& s : run->steps) {
        ok = ok && s.status == "completed" && !s.output.is_null() && s.attempts >= 1;
        re_executed += std::max(0, s.attempts - 1);
      }
      ok = ok && run_ok(i, *run);
      if (!ok && ++bad <= 5) ADD_FAILURE() << "run " << runs[i] << ": " << to_json(*run).dump();
    }
    EXPECT_EQ(bad, 0);
    CommandResult doc = doctor();
    EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
    EXPECT_TRUE(dlq_list().empty());
    EXPECT_GE(kills, 1);

    std::printf("%s: runs=%d kills=%d re-executed steps=%ld time=%.1fs (submit %.2fs) seed=%u\n", label.c_str(),
                n_runs, kills, re_executed, static_cast<double>(took.count()) / 1000.0,
                static_cast<double>(submitted_in.count()) / 1000.0, seed);
    std::fflush(stdout);
  }
};

// The middle step sleeps long enough that the runs take ~20 s with 48 slots:
// with a 5 ms sleep all 2,000 runs finish in about a second, before the first
// kill, and the test would prove nothing.
TEST_F(Chaos, RunsSurviveWorkersKilledAtRandom) {
  const int n_runs = env_or("STEADFAST_CHAOS_RUNS", 2000);
  const int sleep_ms = env_or("STEADFAST_CHAOS_SLEEP_MS", 400);
  std::string yaml = R"(
workflows:
  chaos:
    steps:
      - {name: a, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: b, kind: sleep, with: {ms: SLEEP}, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: c, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";
  yaml.replace(yaml.find("SLEEP"), 5, std::to_string(sleep_ms));
  survive_kills("chaos", yaml, "chaos", n_runs, [&](std::size_t, const RunInfo& run) {
    return run.steps.size() == 3 && run.steps[1].output == Json{{"slept_ms", sleep_ms}};
  });
}

// The same with a graph: a root, two branches that sleep side by side, a
// fan-in, and a second root the fan-in also needs. No branch may be
// stranded: every node of every run completes once the kills stop.
TEST_F(Chaos, GraphRunsSurviveWorkersKilledAtRandom) {
  const int n_runs = env_or("STEADFAST_CHAOS_GRAPH_RUNS", 600);
  const std::string yaml = R"(
workflows:
  diamond:
    steps:
      - {name: a, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: b, kind: sleep, with: {ms: 300}, needs: [a], lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: c, kind: sleep, with: {ms: 300}, needs: [a], lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: d, kind: noop, needs: [b, c, e], lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: e, kind: noop, needs: [], lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";
  survive_kills("chaos-graph", yaml, "diamond", n_runs, [](std::size_t, const RunInfo& run) {
    if (run.steps.size() != 5) return false;
    // d started after all its needs finished.
    const StepInfo& d = run.steps[3];
    for (const std::size_t need : {1U, 2U, 4U}) {
      if (run.steps[need].finished_at_ms > d.started_at_ms) return false;
    }
    return run.steps[1].output == Json{{"slept_ms", 300}};
  });
}

// Map steps: runs of 1,000 items each, 50 in flight per run, every item a
// 100 ms sleep. Workers die under items; their items are reclaimed and run
// again; every run ends with exactly 1,000 outputs in order, none stranded.
TEST_F(Chaos, MapItemsSurviveWorkersKilledAtRandom) {
  const int n_runs = env_or("STEADFAST_CHAOS_MAP_RUNS", 3);
  const int n_items = env_or("STEADFAST_CHAOS_MAP_ITEMS", 1000);
  const std::string yaml = R"(
workflows:
  fanout:
    steps:
      - name: each
        kind: sleep
        with: {ms: 100}
        map: {over: "{{input.items}}", max_parallel: 50}
        lease: 1s
        retry: {max_attempts: 10, backoff: {initial: 50ms}}
      - {name: merge, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";
  const auto input_of = [n_items](int i) { return Json{{"i", i}, {"items", indexes(n_items)}}; };
  survive_kills(
      "chaos-map", yaml, "fanout", n_runs,
      [&](std::size_t, const RunInfo& run) {
        if (run.steps.size() != 2 || !run.steps[0].output.is_array()) return false;
        if (!all_slept_100ms(run.steps[0].output, n_items)) return false;
        return run.steps[0].items["completed"] == n_items && run.steps[1].started_at_ms >= run.steps[0].finished_at_ms;
      },
      input_of);
}

// Child workflows: runs mapping 200 items to a child run each (30 in
// flight per run), every child two 100 ms sleeps. Workers die while holding
// parents' steps and children's: no child is started twice for one item
// (its id is derived), none is stranded, and every parent ends with the
// children's outputs in order.
TEST_F(Chaos, ChildRunsSurviveWorkersKilledAtRandom) {
  const int n_runs = env_or("STEADFAST_CHAOS_CHILD_RUNS", 6);
  const int n_items = 200;
  const std::string yaml = R"(
workflows:
  parent:
    steps:
      - name: each
        kind: workflow
        map: {over: "{{input.items}}", max_parallel: 30}
        with: {workflow: child, input: {k: "{{item}}"}}
  child:
    steps:
      - {name: one, kind: sleep, with: {ms: 100}, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: two, kind: sleep, with: {ms: 100}, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";
  const auto input_of = [n_items](int i) { return Json{{"i", i}, {"items", indexes(n_items)}}; };
  survive_kills(
      "chaos-child", yaml, "parent", n_runs,
      [&](std::size_t, const RunInfo& run) {
        if (run.steps.size() != 1 || !run.steps[0].output.is_array()) return false;
        if (!all_slept_100ms(run.steps[0].output, n_items)) return false;
        // One child per item, each a completed run of its own naming its item.
        const std::optional<MapItemsPage> page = client().map_items(run.id, "each", 0, n_items);
        if (!page || page->items.size() != static_cast<std::size_t>(n_items)) return false;
        for (const MapItemInfo& item : page->items) {
          const std::optional<RunInfo> child = item.child.empty() ? std::nullopt : client().get_run(item.child);
          if (!child || child->status != "completed" || child->input != Json{{"k", item.index}} ||
              child->parent_step != "each[" + std::to_string(item.index) + "]") {
            return false;
          }
        }
        return true;
      },
      input_of);
}

// The same on an ordered queue (fairness over 7 tenants, one weighted, and
// aging): every token goes through the queue's backlog and the workers'
// feeds, so a kill may fall between a feed and the claim of what it fed.
// Nothing may be lost or stranded, and the doctor finds nothing.
TEST_F(Chaos, OrderedQueueRunsSurviveWorkersKilledAtRandom) {
  const int n_runs = env_or("STEADFAST_CHAOS_ORDERED_RUNS", 1200);
  const std::string yaml = R"(
queues:
  default: {fairness: {key: "{{input.tenant}}", weights: {t0: 3}}, aging: 2s}
workflows:
  fair:
    steps:
      - {name: a, kind: noop, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
      - {name: b, kind: sleep, with: {ms: 200}, lease: 1s, retry: {max_attempts: 10, backoff: {initial: 50ms}}}
)";
  survive_kills(
      "chaos-ordered", yaml, "fair", n_runs,
      [](std::size_t, const RunInfo& run) {
        return run.steps.size() == 2 && run.steps[1].output == Json{{"slept_ms", 200}};
      },
      [](int i) { return Json{{"i", i}, {"tenant", "t" + std::to_string(i % 7)}}; });
}

}  // namespace
}  // namespace steadfast::test
