// Step dispatch: what the worker does per claimed entry before its handler
// runs, and the pool hop around the handler.
//  - start.lua's reply -> store::Started (Store::start's loop: state, deliveries, to_fields);
//  - run fields -> StepContext (Worker::launch: the input and the earlier
//    outputs parsed from JSON, as Worker::run_data does);
//  - ThreadPool::post -> handler -> asio::post back to the event loop
//    (Worker::launch's closure; on_finished's place is taken by a counter).
#include <benchmark/benchmark.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fixtures.h"
#include "redis/reply.h"
#include "steadfast/step.h"
#include "store/run_view.h"
#include "store/store.h"
#include "worker/thread_pool.h"

namespace steadfast::bench {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kBatch = 64;

// Store::start, after the EVALSHA returned.
std::vector<store::Started> to_started(const redis::Reply& r) {
  std::vector<store::Started> out;
  out.reserve(r.size());
  for (const redis::Reply& e : r.elements()) {
    store::Started s;
    const std::string_view state = e[0].str();
    s.state = state == "ok" ? store::Started::State::ok
              : state == "lost" ? store::Started::State::lost
                                : store::Started::State::missing;
    s.deliveries = e[1].as_integer();
    if (s.state == store::Started::State::ok) s.run = store::to_fields(e[2]);
    out.push_back(std::move(s));
  }
  return out;
}

// worker.cpp's parse_json: a field that is not JSON is kept as a string.
Json parse_json(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

// Worker::launch: Worker::run_data, then the context.
std::shared_ptr<StepContext> make_context(const std::string& run_id, int step_index, int attempt,
                                          const store::Fields& f) {
  std::map<std::string, Json> outputs;
  for (int i = 0; i < step_index; ++i) {
    const std::string& name = step_names()[static_cast<std::size_t>(i)];
    auto it = f.find("s." + name + ".output");
    if (it != f.end()) outputs.emplace(name, parse_json(it->second));
  }
  auto input_it = f.find("input");
  Json input = input_it == f.end() ? Json() : parse_json(input_it->second);
  return std::make_shared<StepContext>(run_id, kWorkflow,
                                       step_names()[static_cast<std::size_t>(step_index)], attempt,
                                       std::move(input), std::move(outputs));
}

// A start reply of 64 entries (already parsed) -> 64 Started with their run fields.
void BM_Dispatch_StartReplyToFields(benchmark::State& state) {
  const int step = static_cast<int>(state.range(0));
  const redis::Reply reply = start_reply(kBatch, step);
  const std::size_t fields = run_hash(0, step).size();
  {
    auto started = to_started(reply);
    if (started.size() != kBatch || started[5].run.size() != fields ||
        started[5].run.at("entry") != entry_id(5) || started[5].deliveries != 1) {
      state.SkipWithError("to_fields did not rebuild the run hash");
      return;
    }
  }
  for (auto _ : state) {
    auto started = to_started(reply);
    benchmark::DoNotOptimize(started.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
  state.SetLabel(std::to_string(fields) + " fields/run");
}
BENCHMARK(BM_Dispatch_StartReplyToFields)->ArgName("step")->Arg(0)->Arg(1);

// One entry's run fields -> its StepContext. step 0: the input alone;
// step 1: the input and the first step's ~1 KB output.
void BM_Dispatch_StepContext(benchmark::State& state) {
  const int step = static_cast<int>(state.range(0));
  const std::string id = run_id(7);
  store::Fields f;
  for (auto& [k, v] : run_hash(7, step)) f.emplace(k, v);
  {
    auto ctx = make_context(id, step, 1, f);
    if (ctx->input().value("language", "") != "en" ||
        ctx->outputs().size() != static_cast<std::size_t>(step) ||
        (step > 0 && ctx->outputs().at("fetch") != llm_output())) {
      state.SkipWithError("the context does not hold the parsed input and outputs");
      return;
    }
  }
  for (auto _ : state) {
    auto ctx = make_context(id, step, 1, f);
    benchmark::DoNotOptimize(ctx.get());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Dispatch_StepContext)->ArgName("step")->Arg(0)->Arg(1);

// The pool hop as Worker::launch makes it: a copyable task holding the entry
// key, the context and the handler is posted to the pool; it runs the handler
// and posts the result back to the event loop, which counts it.
struct PoolRig {
  explicit PoolRig(int threads) : pool(threads), guard(asio::make_work_guard(io)) {
    store::Fields f;
    for (auto& [k, v] : run_hash(0, 0)) f.emplace(k, v);
    ctx = make_context(run_id(0), 0, 1, f);
  }
  ~PoolRig() {
    guard.reset();
    pool.shutdown(std::chrono::seconds(5));
  }
  PoolRig(const PoolRig&) = delete;
  PoolRig& operator=(const PoolRig&) = delete;

  void post(std::string key) {
    pool.post([loop = &io, key = std::move(key), c = ctx, h = handler, n_done = &done, n_ok = &ok] {
      StepResult result = StepError::retryable("handler returned nothing");
      try {
        result = h(*c);
      } catch (const std::exception& e) {
        result = StepError::retryable(std::string("handler threw: ") + e.what());
      } catch (...) {
        result = StepError::retryable("handler threw a non-std exception");
      }
      asio::post(*loop, [key, r = std::move(result), n_done, n_ok]() mutable {
        *n_ok += (r.ok() && !key.empty()) ? 1 : 0;
        ++*n_done;
      });
    });
  }
  // Runs completions on this thread until `n` more have come back.
  void wait_for(std::size_t n) {
    const std::size_t target = done + n;
    while (done < target) io.run_one();
  }

  asio::io_context io;  // the worker's event loop (this thread)
  worker::ThreadPool pool;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::shared_ptr<StepContext> ctx;
  StepHandler handler = [](StepContext&) -> StepResult { return Json::object(); };  // noop
  std::size_t done = 0;  // touched on this thread only
  std::size_t ok = 0;
};

std::string entry_key(std::size_t i) { return "0/default/" + entry_id(i); }  // Worker::key_of

// Latency: one entry at a time, post -> handler -> completion back on the loop.
void BM_Dispatch_PoolRoundTrip(benchmark::State& state) {
  PoolRig rig(static_cast<int>(state.range(0)));
  const std::string key = entry_key(0);
  for (auto _ : state) {
    rig.post(key);
    rig.wait_for(1);
  }
  if (rig.ok != static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("not every posted handler came back with its output");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Dispatch_PoolRoundTrip)->ArgName("threads")->Arg(1)->Arg(8)->UseRealTime();

// Throughput: a fetched batch of 64 posted at once, then every completion awaited.
void BM_Dispatch_PoolThroughput(benchmark::State& state) {
  PoolRig rig(static_cast<int>(state.range(0)));
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < kBatch; ++i) keys.push_back(entry_key(i));
  for (auto _ : state) {
    for (const std::string& k : keys) rig.post(k);
    rig.wait_for(kBatch);
  }
  if (rig.ok != static_cast<std::size_t>(state.iterations()) * kBatch) {
    state.SkipWithError("not every posted handler came back with its output");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_Dispatch_PoolThroughput)->ArgName("threads")->Arg(1)->Arg(8)->UseRealTime();

}  // namespace
}  // namespace steadfast::bench
