// `steadfast worker`: runs the steps of the workflows in a YAML file.
#include <spdlog/spdlog.h>

#include <sstream>

#include "cli/common.h"
#include "config/workflows_file.h"
#include "steadfast/worker.h"
#include "steps/kind_registry.h"

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
  cmd->final_callback([args] {
    config::WorkflowsFile file;
    std::vector<Workflow> workflows;
    try {
      file = config::load_workflows_file(args->workflows);
      workflows = config::build_workflows(file, steps::builtin_kinds());
    } catch (const config::ConfigError& e) {
      throw std::invalid_argument(e.what());
    }
    WorkerOptions o;
    o.redis_url = args->conn.redis_url;
    o.key_prefix = args->conn.key_prefix;
    o.partitions = args->conn.partitions;
    o.concurrency = args->concurrency;
    o.id = args->id;
    o.drain_timeout = config::parse_duration(args->drain);
    o.retention = config::parse_duration(args->retention);
    std::stringstream qs(args->queues);
    for (std::string q; std::getline(qs, q, ',');) {
      if (!q.empty()) o.queues.push_back(q);
    }
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
                 "{} handed back",
                 worker.id(), st.started, st.succeeded, st.failed, st.stale, st.reclaimed,
                 st.handed_back);
  });
}

}  // namespace steadfast::cli
