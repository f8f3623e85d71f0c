// `steadfast notifier`: delivers dead-letter alerts to a webhook.
#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

#include "cli/common.h"
#include "worker/notifier.h"

namespace steadfast::cli {

void register_notifier(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "notifier", "POST a Slack-compatible alert for every run that lands in the dead-letter queue");
  struct Args {
    Connection conn;
    std::string webhook;
    std::string id;
  };
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_option("--webhook", a->webhook, "Webhook URL (a secret: never logged whole)")->required();
  cmd->add_option("--id", a->id, "Consumer name (default <hostname>-<pid>)");
  cmd->final_callback([a] {
    worker::NotifierOptions o;
    o.redis_url = a->conn.redis_url;
    o.key_prefix = a->conn.key_prefix;
    o.partitions = a->conn.partitions;
    o.webhook_url = a->webhook;
    o.consumer = a->id;
    worker::Notifier notifier(o);
    // SIGTERM/SIGINT: stop after the delivery in progress (undelivered alerts
    // stay pending and are sent after a restart).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread waiter([&] {
      int sig = 0;
      sigwait(&set, &sig);
      if (sig != 0) notifier.stop();
    });
    try {
      notifier.run();
    } catch (...) {
      pthread_kill(waiter.native_handle(), SIGTERM);
      waiter.join();
      throw;
    }
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    auto st = notifier.stats();
    spdlog::info("notifier stopped: {} alerts delivered, {} failed attempts", st.delivered,
                 st.failed_attempts);
  });
}

}  // namespace steadfast::cli
