// Dead-letter alerts: reads the dead-letter stream(s) in its own consumer group
// ("notifier") and POSTs one Slack-compatible JSON message per dead run to a
// webhook, acknowledging an entry only after a 2xx — at-least-once delivery. A
// failed delivery is retried with capped exponential backoff; entries left
// pending by a notifier that died are taken over after `claim_idle`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace steadfast::worker {

struct NotifierOptions {
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "sf";
  int partitions = 0;  // 0 = 1 on one Redis, 12 on a Redis Cluster
  std::string webhook_url;   // secret (Slack URLs are credentials): never logged whole
  std::string consumer;      // consumer name in the "notifier" group; empty = <hostname>-<pid>
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds claim_idle{30000};  // take over others' pending alerts after this
  std::chrono::milliseconds max_backoff{60000};
};

struct NotifierStats {
  std::uint64_t delivered = 0;
  std::uint64_t failed_attempts = 0;
};

class Notifier {
 public:
  explicit Notifier(NotifierOptions options);
  ~Notifier();
  // Runs until stop(); throws std::runtime_error when it cannot start.
  void run();
  // Thread-safe.
  void stop();
  [[nodiscard]] NotifierStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The webhook URL as logs show it: "scheme://host[:port]/…" — never its
// user, password, path or query (Slack's path and many webhooks' query
// carry the secret). An unparsable URL shows as a fixed phrase.
std::string webhook_for_logs(const std::string& url);

// Text for a Slack message's `text`: & < > as &amp; &lt; &gt;, so that text
// from a run (an error echoing its input) cannot mention `<!channel>` or
// show a link under a label of its choosing.
std::string slack_escape(std::string_view text);

// The message for one dead-letter entry: Slack's `text` (its values
// slack_escape()d) plus the fields as top-level keys (workflow, run, step,
// attempts, error, dead_letter_id) as they are.
std::string alert_json(const std::string& dlq_id, const std::string& run, const std::string& workflow,
                       const std::string& step, const std::string& attempts, const std::string& error);

}  // namespace steadfast::worker
