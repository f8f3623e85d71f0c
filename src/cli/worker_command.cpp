// `steadfast worker`: runs the steps of the workflows in a YAML file.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <set>
#include <sstream>

#include "cli/common.h"
#include "cli/open_files.h"
#include "config/workflows_file.h"
#include "engine/quote.h"
#include "redis/config.h"
#include "steadfast/worker.h"
#include "steps/http.h"
#include "steps/kind_registry.h"
#include "worker/notifier.h"

#include <thread>

namespace steadfast::cli {

void register_worker(CLI::App& app) {
  auto* cmd = app.add_subcommand("worker", "Run workflow steps from the queues (until SIGTERM/SIGINT)");
  struct Args {
    Connection conn;
    std::string workflows;
    int concurrency = 8;
    std::string queues;
    std::string id;
    std::string drain = "30s";
    std::string retention = "168h";
    std::string alert_webhook;
    std::string no_handler_grace = "10m";
    std::string log_level = "info";
    bool allow_eviction = false;
    std::string allow_hosts;
    std::string public_url;
    std::string signing_key_file;
  };
  auto args = std::make_shared<Args>();
  add_connection_options(*cmd, args->conn);
  cmd->add_option("--workflows", args->workflows, "The YAML workflows file")->required();
  cmd->add_option("--concurrency", args->concurrency, "Steps running at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--queues", args->queues, "Comma-separated queues to serve (default: all of the file's)");
  cmd->add_option("--id", args->id, "Worker id (default <hostname>-<pid>); one live process per id");
  cmd->add_option("--drain-timeout", args->drain, "On SIGTERM, time to let running steps finish")
      ->capture_default_str();
  cmd->add_option("--retention", args->retention, "How long finished runs are kept")
      ->capture_default_str();
  cmd->add_option("--alert-webhook", args->alert_webhook,
                  "Also run a dead-letter notifier posting to this webhook (see `steadfast notifier`)");
  cmd->add_option("--no-handler-grace", args->no_handler_grace,
                  "A step this worker has no handler for is handed back (no attempt spent) for a "
                  "worker that has it; dead-lettered once no live worker on its queue has had it "
                  "this long (0s = at once)")
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level,
                  "debug (also rate-limited tries, hand-backs), info (also retries), warn (dead "
                  "letters, timeouts, lost leases), error, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cmd->add_option("--allow-hosts", args->allow_hosts,
                  "Comma-separated hosts, addresses or ranges (10.0.0.0/8) that http URLs whose host comes "
                  "from run input may reach although private or loopback (as a step's allow_hosts)");
  cmd->add_flag("--allow-eviction", args->allow_eviction,
                "Run even if Redis' maxmemory-policy is not noeviction (evictions lose runs)");
  cmd->add_option("--public-url", args->public_url,
                  "How third parties reach the API (https://sf.example.com): the base of signal waits' callback "
                  "URLs ({{steps.<wait>.callback_url}}); needs --signing-key-file");
  cmd->add_option("--signing-key-file", args->signing_key_file,
                  "Keys that sign callback URLs, one \"<key id> <secret>\" per line, the first signs (as serve's)");
  cmd->final_callback([args] {
    // A worker runs up to --concurrency pool threads; glibc would give them
    // up to 8 malloc arenas per core, each holding freed memory of its own.
    // Two arenas keep a 200-thread worker's RSS flat (handlers allocate little).
    ::mallopt(M_ARENA_MAX, 2);
    // Every http step in flight holds a connection: --concurrency 5000 needs
    // more descriptors than the usual soft limit of 1,024.
    raise_open_files_limit();
    spdlog::set_level(spdlog::level::from_str(args->log_level));
    // Checked before the file is read, with the name quoted (escaped, cut):
    // the error is one line whatever the name holds.
    if (!args->id.empty() && !is_valid_name(args->id)) {
      throw std::invalid_argument("invalid worker id " + engine::quote(args->id, 80) +
                                  " (1-64 of A-Z a-z 0-9 _ -)");
    }
    std::vector<std::string> queues;
    std::stringstream qs(args->queues);
    for (std::string q; std::getline(qs, q, ',');) {
      if (q.empty()) continue;
      if (!is_valid_name(q)) {
        throw std::invalid_argument("invalid queue name " + engine::quote(q, 80) + " in --queues (1-64 of A-Z a-z 0-9 _ -)");
      }
      queues.push_back(q);
    }
    {
      // Request forgery: a URL whose host came from a run never reaches
      // Redis, nor private addresses unless allowed (docs/security.md).
      std::vector<std::string> allow;
      std::stringstream hs(args->allow_hosts);
      for (std::string h; std::getline(hs, h, ',');) {
        if (!h.empty()) allow.push_back(h);
      }
      std::string redis_host;
      try {
        const auto redis = redis::Config::from_url(args->conn.redis_url);
        if (redis.scheme != redis::Config::Scheme::unix_socket) redis_host = redis.host;
      } catch (const std::invalid_argument&) {
        // Reported by the worker itself, with the URL redacted.
      }
      steps::set_http_network_policy(allow, redis_host);
    }
    config::WorkflowsFile file;
    std::vector<Workflow> workflows;
    try {
      file = config::load_workflows_file(args->workflows);
      workflows = config::build_workflows(file, steps::builtin_kinds());
    } catch (const config::ConfigError& e) {
      throw std::invalid_argument(e.what());
    }
    // A queue that no step of this file uses is served by nobody here: the
    // worker has no handler for whatever sits in it. Said, not refused: a
    // deployment may name queues before the workflows that use them ship.
    std::set<std::string> used;
    for (const Workflow& w : workflows) {
      for (const StepDefinition& s : w.steps()) used.insert(s.options.queue);
    }
    for (const std::string& q : queues) {
      if (used.contains(q)) continue;
      std::string known;
      for (const std::string& u : used) known += (known.empty() ? "" : ", ") + u;
      spdlog::warn("--queues names queue '{}', which no step of {} uses (its queues: {}): this worker "
                   "takes nothing from it",
                   q, args->workflows, known);
    }
    WorkerOptions o;
    o.redis_url = args->conn.redis_url;
    o.key_prefix = args->conn.key_prefix;
    o.partitions = args->conn.partitions;
    o.concurrency = args->concurrency;
    o.id = args->id;
    o.drain_timeout = config::parse_duration(args->drain);
    o.retention = config::parse_duration(args->retention);
    o.limits = file.limiters;
    o.max_backlog = file.max_backlog;
    o.queue_order = file.queue_order;
    o.allow_eviction = args->allow_eviction;
    o.no_handler_grace = config::parse_duration(args->no_handler_grace);
    o.queues = std::move(queues);
    o.schedules = config::build_schedules(file);
    o.public_url = args->public_url;
    o.signing_key_file = args->signing_key_file;
    std::unique_ptr<worker::Notifier> notifier;
    std::thread notifier_thread;
    if (!args->alert_webhook.empty()) {
      worker::NotifierOptions n;
      n.redis_url = o.redis_url;
      n.key_prefix = o.key_prefix;
      n.partitions = o.partitions;
      n.webhook_url = args->alert_webhook;
      n.consumer = o.id;
      notifier = std::make_unique<worker::Notifier>(n);
      notifier_thread = std::thread([&notifier] {
        try {
          notifier->run();
        } catch (const std::exception& e) {
          spdlog::error("notifier: {}", e.what());
        }
      });
    }
    struct StopNotifier {
      std::unique_ptr<worker::Notifier>& n;
      std::thread& t;
      ~StopNotifier() {
        if (n) n->stop();
        if (t.joinable()) t.join();
      }
    } stop_notifier{notifier, notifier_thread};
    Worker worker(std::move(o), std::move(workflows));
    spdlog::info("worker {} starting ({} workflows from {})", worker.id(), file.workflows.size(),
                 args->workflows);
    try {
      worker.run();
    } catch (const std::exception& e) {
      // Not a usage error: the worker could not start or had to stop.
      throw std::runtime_error(e.what());
    }
    auto st = worker.stats();
    spdlog::info("worker {} stopped: {} attempts, {} succeeded, {} failed, {} stale, {} reclaimed, "
                 "{} handed back, {} limiter waits, {} parked at a limiter, {} limiter pauses, {} redelivered, "
                 "{} reclaim errors, {} promote errors",
                 worker.id(), st.started, st.succeeded, st.failed, st.stale, st.reclaimed,
                 st.handed_back, st.limiter_waits, st.limiter_parked, st.limiter_pauses, st.redelivered,
                 st.reclaim_errors, st.promote_errors);
  });
}

}  // namespace steadfast::cli
