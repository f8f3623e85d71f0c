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

asio::awaitable<std::vector<Store::ChildLink>> Store::child_links(std::string_view run_id) {
  const std::string run = keys_.run(run_id);
  Reply g = co_await client_.command("HMGET", run, "graph", "steps");
  std::vector<ChildLink> out;
  if (g[0].is_nil() || g[0].str().empty() || g[1].is_nil()) co_return out;
  const Json steps = Json::parse(g[1].str(), nullptr, false);
  if (!steps.is_array()) co_return out;
  // Each node's own child and status, and for a map node how many items it started.
  std::vector<std::string> fields{"HMGET", run};
  for (const Json& s : steps) {
    const std::string name = s.get<std::string>();
    for (const char* f : {".child", ".status", ".next"}) fields.push_back("s." + name + f);
  }
  Reply r = co_await run_argv(client_, fields);
  const auto text = [](const Reply& v) { return v.is_nil() ? std::string() : std::string(v.str()); };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string node = steps[i].get<std::string>();
    if (const std::string child = text(r[3 * i]); !child.empty()) out.push_back({node, child, text(r[3 * i + 1])});
    if (r[3 * i + 2].is_nil()) continue;
    const long long started = std::atoll(text(r[3 * i + 2]).c_str());
    for (long long first = 0; first < started; first += 500) {
      std::vector<std::string> items{"HMGET", run};
      const long long last = std::min(started, first + 500);
      for (long long k = first; k < last; ++k) {
        const std::string p = "s." + node + "[" + std::to_string(k) + "]";
        items.push_back(p + ".child");
        items.push_back(p + ".status");
      }
      Reply c = co_await run_argv(client_, items);
      for (long long k = first; k < last; ++k) {
        const std::size_t at = static_cast<std::size_t>(k - first) * 2;
        if (const std::string child = text(c[at]); !child.empty()) {
          out.push_back({node + "[" + std::to_string(k) + "]", child, text(c[at + 1])});
        }
      }
    }
  }
  co_return out;
}

asio::awaitable<std::vector<std::string>> Store::children_of(std::string_view run_id) {
  std::vector<std::string> out;
  for (const ChildLink& link : co_await child_links(run_id)) out.push_back(link.child);
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
