// Shared pieces of the CLI subcommands: connection options, running a
// coroutine to completion, exit codes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <CLI/CLI.hpp>
#include <string>

#include "steadfast/client.h"

namespace steadfast::cli {

// Exit codes: 0 success; 1 the operation failed (run not completed, doctor
// found offenders, Redis unreachable); 2 bad usage or bad input; 3 a wait
// (`submit --wait`) timed out before the run ended.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTimedOut = 3;

struct Connection {
  std::string redis_url;
  std::string key_prefix = "sf";
  int partitions = 0;  // 0: 1 on one Redis, store::kClusterPartitions on a cluster
};

// Adds --redis (default $STEADFAST_REDIS, else redis://127.0.0.1:6379),
// --key-prefix and --partitions to a subcommand.
void add_connection_options(CLI::App& cmd, Connection& c);

// --wait-replicas N and --wait-replicas-timeout DURATION (serve, submit):
// acknowledged means replicated.
struct ReplicaWaitArgs {
  int replicas = 0;
  std::string timeout = "1s";
};
void add_replica_wait_options(CLI::App& cmd, ReplicaWaitArgs& w);

// A public Client's options for a connection; its operator actions are
// "cli:<user>@<host>" in the audit log.
ClientOptions client_options(const Connection& c);

// Runs op on a fresh io_context until it finishes; rethrows its exception.
template <typename T>
T run_sync(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  auto f = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  io.run();
  return f.get();
}

void register_worker(CLI::App& app);
void register_runs(CLI::App& app);   // submit, status, cancel
void register_dlq(CLI::App& app);
void register_doctor(CLI::App& app);
void register_notifier(CLI::App& app);
void register_serve(CLI::App& app);  // the HTTP API
void register_stats(CLI::App& app);  // stats, runs, workers, limiters, audit
void register_schedules(CLI::App& app);  // steadfast schedules [list|pause|resume|trigger]
void register_dev(CLI::App& app);
void register_bench(CLI::App& app);  // steadfast bench <workload>
void register_rerun(CLI::App& app);  // rerun <run> --from-step S
void register_bulk(CLI::App& app);   // bulk [job]: bulk jobs (cli/bulk_command.h)

}  // namespace steadfast::cli
