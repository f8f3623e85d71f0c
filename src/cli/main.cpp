// steadfast <subcommand> — the command-line entry point.
#include <curl/curl.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli/common.h"
#include "cli/version.h"
#include "engine/quote.h"
#include "store/local_actor.h"

namespace steadfast::cli {

ClientOptions client_options(const Connection& c) {
  ClientOptions o;
  o.redis_url = c.redis_url;
  o.key_prefix = c.key_prefix;
  o.partitions = c.partitions;
  o.actor = store::local_actor("cli");
  return o;
}

void add_connection_options(CLI::App& cmd, Connection& c) {
  const char* env = std::getenv("STEADFAST_REDIS");
  c.redis_url = env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6379";
  cmd.add_option("--redis", c.redis_url,
                 "Redis URL: redis://[user:pass@]host:port/db, rediss://..., unix:///path, "
                 "redis+sentinel://host:port,.../MASTER, redis+cluster://host:port,... "
                 "(default $STEADFAST_REDIS, else redis://127.0.0.1:6379)");
  cmd.add_option("--key-prefix", c.key_prefix, "First part of every Redis key")->capture_default_str();
  cmd.add_option("--partitions", c.partitions,
                 "Partitions of the key space, as every process of the deployment (0 = 1 on one Redis, 12 on a "
                 "Redis Cluster)")
      ->capture_default_str()
      ->check(CLI::Range(0, 16384));
}

void add_replica_wait_options(CLI::App& cmd, ReplicaWaitArgs& w) {
  cmd.add_option("--wait-replicas", w.replicas,
                 "Answer a submit only once this many Redis replicas have the run (WAIT); if they do not "
                 "within --wait-replicas-timeout, the run may exist but is not known to be replicated: "
                 "retry with the same idempotency key (0 = once the primary has it)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd.add_option("--wait-replicas-timeout", w.timeout, "How long a submit waits for the replicas (at least 1ms)")
      ->capture_default_str();
}

}  // namespace steadfast::cli

int main(int argc, char** argv) {
  using namespace steadfast::cli;
  curl_global_init(CURL_GLOBAL_DEFAULT);  // once, before any thread uses libcurl
  CLI::App app{"steadfast: a resilient workflow engine on Redis Streams"};
  app.set_version_flag("--version", std::string("steadfast ") + steadfast::kVersion);
  app.require_subcommand(0, 1);
  app.fallthrough();
  // Logs go to stderr: stdout carries results (run ids, JSON) for scripts.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("steadfast"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");

  register_worker(app);
  register_runs(app);
  register_dlq(app);
  register_doctor(app);
  register_notifier(app);
  register_serve(app);
  register_stats(app);
  register_schedules(app);
  register_dev(app);
  register_bench(app);
  register_rerun(app);
  register_bulk(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const std::invalid_argument& e) {
    // Errors may quote what a run's input put in Redis or an answer: one line, no terminal controls.
    std::cerr << "steadfast: " << steadfast::engine::printable(e.what()) << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "steadfast: " << steadfast::engine::printable(e.what()) << "\n";
    return kExitFailed;
  }
  if (app.get_subcommands().empty()) std::cout << app.help();
  return kExitOk;
}
