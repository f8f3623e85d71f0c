// The worker protocol (docs/worker-protocol.md): external workers in any
// language claim task steps, renew their leases and report outcomes over
// HTTP. Claims take the offers of `serve`'s task worker (TaskBroker) and
// move each claim to the external worker's consumer in Redis
// (handover.lua); every later call carries the signed token and is fenced
// by the same scripts as a C++ worker's (renew.lua, complete.lua, ...), so
// any `serve` sharing the signing key can take it.
//
// Thread-safety: lives on the server's I/O thread, like the Service.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/http.h"
#include "engine/task_token.h"
#include "redis/client.h"
#include "steadfast/workflow.h"
#include "store/limiter.h"
#include "store/store.h"
#include "worker/task_broker.h"

namespace steadfast::api {

// Bounds of a claim.
inline constexpr int kMaxClaimSteps = 256;
inline constexpr std::size_t kMaxClaimQueues = 16;
inline constexpr std::size_t kMaxClaimTasks = 64;
inline constexpr std::size_t kMaxHeartbeatTokens = 1024;
// The consumer name of an external worker's claims ("remote:<worker id>").
inline constexpr std::string_view kRemoteConsumerPrefix = "remote:";

class TaskProtocol {
 public:
  // `workflows`: the served workflows, built (their task steps' options
  // decide outcomes); `limits`: the file's limiters.
  TaskProtocol(redis::Client& redis, store::KeySpace keys, std::shared_ptr<TaskBroker> broker,
               std::shared_ptr<const engine::TaskTokenSigner> signer, std::vector<Workflow> workflows,
               const std::vector<LimitSpec>& limits, std::chrono::milliseconds max_wait,
               std::chrono::milliseconds retention);

  // The task queues served (a claim naming another is refused).
  [[nodiscard]] const std::set<std::string>& task_queues() const noexcept { return task_queues_; }

  // Each takes the parsed JSON body; answers 200, or problem+json.
  // `client`: the claim's connection, watched while it waits (null = not watched).
  boost::asio::awaitable<Response> claim(const Json& body, std::shared_ptr<ClientWatch> client);
  boost::asio::awaitable<Response> heartbeat(const Json& body);
  boost::asio::awaitable<Response> complete(const Json& body);
  boost::asio::awaitable<Response> fail(const Json& body);
  boost::asio::awaitable<Response> release(const Json& body);

  // Long polls answer at once from now on.
  void begin_shutdown();

 private:
  struct Located {
    const Workflow* workflow = nullptr;
    int step_index = -1;
  };
  // The token's step in the served workflows; workflow null when unknown.
  [[nodiscard]] Located locate(const engine::TaskToken& t) const;
  // An outcome (complete/fail/release) applied under the token's claim.
  boost::asio::awaitable<Response> finish(const engine::TaskToken& t, const Json& outcome_kind, Json output,
                                          const std::string& error, std::chrono::milliseconds retry_after);
  boost::asio::awaitable<void> release_limits(const engine::TaskToken& t, const Json* output,
                                              const Located& at);

  redis::Client& redis_;
  store::KeySpace keys_;
  std::shared_ptr<TaskBroker> broker_;
  std::shared_ptr<const engine::TaskTokenSigner> signer_;
  std::vector<Workflow> workflows_;
  std::map<std::string, std::unique_ptr<store::Limiter>> limiters_;
  std::set<std::string> task_queues_;
  std::chrono::milliseconds max_wait_;
  std::chrono::milliseconds retention_;
  bool shutting_down_ = false;
  // The claims waiting now, by "<worker>:<request_id>": woken by an offer,
  // at shutdown, or superseded by a repeat of the same request (its client
  // gave up on it: it answers no steps, so none go to a reply nobody reads).
  struct Waiting {
    std::shared_ptr<boost::asio::steady_timer> timer;
    bool superseded = false;
  };
  std::map<std::string, std::shared_ptr<Waiting>> waiting_;
};

}  // namespace steadfast::api
