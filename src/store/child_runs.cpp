// Child runs (ChildSpec): what a parent's steps started, and how a child
// ended, as the parent's step takes it (lib.lua's "Child runs").
#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "store/store.h"

namespace steadfast::store {

using redis::Reply;

namespace {

// One command of any number of arguments.
asio::awaitable<Reply> run_argv(redis::Client& client, const std::vector<std::string>& args) {
  redis::Pipeline p;
  p.add_argv(std::span<const std::string>(args));
  co_return co_await client.exec_one(std::move(p));
}

}  // namespace

asio::awaitable<std::vector<std::string>> Store::children_of(std::string_view run_id) {
  const std::string run = keys_.run(run_id);
  Reply g = co_await client_.command("HMGET", run, "graph", "steps");
  std::vector<std::string> out;
  if (g[0].is_nil() || g[0].str().empty() || g[1].is_nil()) co_return out;
  const Json steps = Json::parse(g[1].str(), nullptr, false);
  if (!steps.is_array()) co_return out;
  // Each node's own child and, for a map node, how many items it started.
  std::vector<std::string> fields{"HMGET", run};
  for (const Json& s : steps) {
    const std::string name = s.get<std::string>();
    fields.push_back("s." + name + ".child");
    fields.push_back("s." + name + ".next");
  }
  Reply r = co_await run_argv(client_, fields);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!r[2 * i].is_nil() && !r[2 * i].str().empty()) out.emplace_back(r[2 * i].str());
    if (r[2 * i + 1].is_nil()) continue;
    const long long started = std::atoll(std::string(r[2 * i + 1].str()).c_str());
    const std::string node = steps[i].get<std::string>();
    for (long long first = 0; first < started; first += 500) {
      std::vector<std::string> items{"HMGET", run};
      for (long long k = first; k < std::min(started, first + 500); ++k) {
        items.push_back("s." + node + "[" + std::to_string(k) + "].child");
      }
      Reply c = co_await run_argv(client_, items);
      for (const Reply& id : c.elements()) {
        if (!id.is_nil() && !id.str().empty()) out.emplace_back(id.str());
      }
    }
  }
  co_return out;
}

asio::awaitable<std::optional<Store::ChildOutcome>> Store::child_outcome(std::string_view run_id) {
  const std::string run = keys_.run(run_id);
  Reply f = co_await client_.command("HMGET", run, "status", "workflow", "step", "steps");
  if (f[0].is_nil()) co_return std::nullopt;
  ChildOutcome o;
  o.status = std::string(f[0].str());
  o.workflow = f[1].is_nil() ? std::string() : std::string(f[1].str());
  o.step = f[2].is_nil() ? std::string() : std::string(f[2].str());
  o.output = "null";
  if (o.status == "failed" && !o.step.empty()) {
    Reply e = co_await client_.command("HGET", run, "s." + o.step + ".error");
    if (!e.is_nil()) o.error = std::string(e.str());
  } else if (o.status == "completed" && !f[3].is_nil()) {
    const Json steps = Json::parse(f[3].str(), nullptr, false);
    if (steps.is_array() && !steps.empty() && steps.back().is_string()) {
      Reply out = co_await client_.command("HGET", run, "s." + steps.back().get<std::string>() + ".output");
      if (!out.is_nil()) o.output = std::string(out.str());
    }
  }
  co_return o;
}

}  // namespace steadfast::store
