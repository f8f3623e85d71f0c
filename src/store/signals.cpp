#include "store/signals.h"

#include <algorithm>
#include <stdexcept>

#include "engine/quote.h"
#include "redis/checked.h"
#include "redis/client.h"
#include "store/keys.h"
#include "store/scripts.h"
#include "steadfast/workflow.h"

namespace steadfast::store {

std::vector<std::string> signals_of(const Json& definition) {
  std::vector<std::string> out;
  if (!definition.is_object() || !definition.contains("steps") || !definition["steps"].is_array()) return out;
  for (const Json& step : definition["steps"]) {
    if (!step.is_object()) continue;
    if (auto it = step.find("signal"); it != step.end() && it->is_string()) {
      const std::string name = it->get<std::string>();
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  return out;
}

asio::awaitable<std::optional<std::string>> signal_of_step(Store& store, const std::string& run_id,
                                                           const std::string& step) {
  const redis::Reply w = redis::checked(co_await store.client().command("HGET", store.keys().run(run_id), "workflow"));
  if (w.is_nil()) co_return std::nullopt;
  const std::optional<Json> def = co_await store.workflow_definition(std::string(w.str()));
  if (!def || !def->contains("steps") || !(*def)["steps"].is_array()) co_return std::string();
  for (const Json& s : (*def)["steps"]) {
    if (s.is_object() && s.value("name", "") == step && s.contains("signal") && s["signal"].is_string()) {
      co_return s["signal"].get<std::string>();
    }
  }
  co_return std::string();
}

asio::awaitable<SignalResult> send_signal(Store& store, const SignalRequest& request) {
  if (!is_valid_name(request.name)) {
    throw std::invalid_argument("signal name " + engine::quote(request.name) +
                                " is invalid: it must match ^[A-Za-z0-9_-]{1,64}$");
  }
  const std::string body = request.body.dump();
  if (body.size() > kMaxSignalBytes) {
    throw std::invalid_argument("the signal's body is " + std::to_string(body.size()) + " bytes; at most " +
                                std::to_string(kMaxSignalBytes) + " are taken");
  }
  if (!request.idempotency_key.empty() && !is_valid_idempotency_key(request.idempotency_key)) {
    throw std::invalid_argument("the idempotency key must be 1-256 printable ASCII characters without spaces");
  }
  const KeySpace& keys = store.keys();
  redis::Client& client = store.client();
  const std::string run_key = keys.run(request.run_id);
  const int p = keys.partition_of(request.run_id);
  for (int tries = 0; tries < 5; ++tries) {
    const redis::Reply f = redis::checked(co_await client.command("HMGET", run_key, "workflow", "queue"));
    if (f[0].is_nil()) co_return SignalResult{SignalResult::Outcome::missing, {}};
    const std::string workflow(f[0].str());
    const std::string queue = f[1].is_nil() ? std::string() : std::string(f[1].str());
    if (tries == 0) {
      if (const std::optional<Json> def = co_await store.workflow_definition(workflow)) {
        const std::vector<std::string> names = signals_of(*def);
        if (std::find(names.begin(), names.end(), request.name) == names.end()) {
          std::string known;
          for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
          co_return SignalResult{SignalResult::Outcome::unknown_signal,
                                 "no wait step of workflow " + engine::quote(workflow) + " waits for signal " +
                                     engine::quote(request.name) +
                                     (known.empty() ? " (it has no signal waits)" : " (it waits for: " + known + ")")};
        }
      }
    }
    const std::vector<std::string> script_keys{run_key, keys.queue(p, queue), keys.timers(p)};
    const std::vector<std::string> args{request.run_id,
                                        request.name,
                                        body,
                                        request.idempotency_key,
                                        queue,
                                        std::to_string(kMaxKeptSignals),
                                        std::to_string(kMaxSignalKeys)};
    const redis::Reply r = co_await client.eval(scripts::signal(), script_keys, args);
    const std::string_view s = r.str();
    if (s == "moved") continue;
    if (s == "delivered") co_return SignalResult{SignalResult::Outcome::delivered, {}};
    if (s == "kept") co_return SignalResult{SignalResult::Outcome::kept, {}};
    if (s == "repeat") co_return SignalResult{SignalResult::Outcome::repeat, {}};
    if (s == "missing") co_return SignalResult{SignalResult::Outcome::missing, {}};
    if (s.starts_with("ended:")) co_return SignalResult{SignalResult::Outcome::ended, std::string(s.substr(6))};
    if (s == "full:kept") {
      co_return SignalResult{SignalResult::Outcome::full,
                             "the run keeps " + std::to_string(kMaxKeptSignals) +
                                 " signals no wait has taken yet; a new name is refused"};
    }
    if (s == "full:keys") {
      co_return SignalResult{SignalResult::Outcome::full,
                             "the run has recorded " + std::to_string(kMaxSignalKeys) +
                                 " idempotency keys of signals; a new key is refused"};
    }
    throw std::runtime_error("signal.lua answered " + std::string(s));
  }
  throw std::runtime_error("run " + request.run_id + " kept changing queue; signal not sent");
}

}  // namespace steadfast::store
