#include "steps/kind_registry.h"

#include <stdexcept>
#include <utility>

#include "steps/exec.h"
#include "steps/http.h"
#include "steps/test_kinds.h"

namespace steadfast::steps {

void KindRegistry::add(std::string kind, Factory f, bool nonblocking) {
  if (kind.empty()) throw std::invalid_argument("a step kind needs a name");
  if (!f) throw std::invalid_argument("step kind '" + kind + "' has an empty factory");
  if (factories_.contains(kind)) {
    throw std::invalid_argument("step kind '" + kind + "' is already registered");
  }
  factories_.emplace(std::move(kind), Kind{std::move(f), nonblocking, {}});
}

void KindRegistry::add_async(std::string kind, Factory f, AsyncFactory async) {
  if (!async) throw std::invalid_argument("step kind '" + kind + "' has an empty asynchronous factory");
  const std::string name = kind;
  add(std::move(kind), std::move(f));
  factories_.find(name)->second.async = std::move(async);
}

const AsyncFactory* KindRegistry::find_async(std::string_view kind) const {
  const auto it = factories_.find(kind);
  return it == factories_.end() || !it->second.async ? nullptr : &it->second.async;
}

const Factory* KindRegistry::find(std::string_view kind) const {
  const auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : &it->second.factory;
}

bool KindRegistry::nonblocking(std::string_view kind) const {
  const auto it = factories_.find(kind);
  return it != factories_.end() && it->second.nonblocking;
}

std::vector<std::string> KindRegistry::kinds() const {
  std::vector<std::string> names;
  names.reserve(factories_.size());
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

KindRegistry builtin_kinds() {
  KindRegistry registry;
  registry.add("noop", noop_kind, /*nonblocking=*/true);
  registry.add("sleep", sleep_kind);
  registry.add("stamp", stamp_kind, /*nonblocking=*/true);
  registry.add("fail", fail_kind);
  registry.add("crash", crash_kind);
  registry.add_async("http", http_kind, http_async_kind);
  registry.add_async("exec", exec_kind, exec_async_kind);
  return registry;
}

}  // namespace steadfast::steps
