#include "worker/notifier.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "redis/client.h"
#include "store/config.h"
#include "store/keys.h"
#include "worker/outage_log.h"

namespace steadfast::worker {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kGroup = "notifier";

// POSTs body; returns the HTTP status, or 0 with `error` set for a transport failure.
long post_json(const std::string& url, const std::string& body, milliseconds timeout,
               std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "curl_easy_init failed";
    return 0;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                   +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; });
  long status = 0;
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

std::string webhook_for_logs(const std::string& url) {
  // curl's own parser, so what is shown is the host curl connects to: no
  // user, password, path, query or fragment can be read as part of it.
  CURLU* u = curl_url();
  if (u == nullptr) return "(the webhook URL)";
  std::string shown = "(an unparsable webhook URL)";
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      shown = std::string(scheme) + "://" + host;
      if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) shown += std::string(":") + port;
      shown += "/…";
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(u);
  return shown;
}

std::string slack_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string alert_json(const std::string& dlq_id, const std::string& run, const std::string& workflow,
                       const std::string& step, const std::string& attempts, const std::string& error) {
  // Slack reads `<...>` in text as links and mentions (`<!channel>`): every
  // value in it may come from a run's input, so & < > are escaped there
  // (the separate fields stay as they are).
  const std::string text = ":rotating_light: steadfast: run " + slack_escape(run) + " of workflow " +
                           slack_escape(workflow) + " failed at step " + slack_escape(step) + " after " +
                           slack_escape(attempts) + " attempt(s) and is in the dead-letter queue: " +
                           slack_escape(error);
  return nlohmann::json{{"text", text},
                        {"workflow", workflow},
                        {"run", run},
                        {"step", step},
                        {"attempts", std::atoi(attempts.c_str())},
                        {"error", error},
                        {"dead_letter_id", dlq_id}}
      .dump();
}

class Notifier::Impl {
 public:
  explicit Impl(NotifierOptions o)
      : options_(std::move(o)),
        keys_(store::KeySpace::for_redis(redis::Config::from_url(options_.redis_url), options_.key_prefix,
                                        options_.partitions)),
        redis_(io_.get_executor(), redis::Config::from_url(options_.redis_url)),
        blocking_(io_.get_executor(), redis::Config::from_url(options_.redis_url)) {
    if (options_.webhook_url.empty()) throw std::invalid_argument("the notifier needs a webhook URL");
    if (options_.consumer.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      options_.consumer = std::string(host) + "-" + std::to_string(getpid());
    }
    outage_ = OutageLog("notifier " + options_.consumer + ": Redis");
  }

  void run() {
    if (auto warning = redis_.config().insecure_warning()) {
      spdlog::warn("notifier {}: {}", options_.consumer, *warning);
    }
    std::exception_ptr failure;
    asio::co_spawn(io_, main(), [&](std::exception_ptr e) {
      failure = e;
      redis_.close();
      blocking_.close();
    });
    io_.run();
    if (failure) std::rethrow_exception(failure);
  }

  void stop() {
    asio::post(io_, [this] {
      stopping_ = true;
      blocking_.close();
    });
  }

  NotifierStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  // Redis not taking writes for now (a failover demoting it, loading, out of
  // memory) or unreachable: wait and try again. Anything else (NOGROUP: the
  // dead-letter stream or its group deleted; auth) ends the notifier.
  static bool worth_retrying(const redis::Error& e) {
    if (e.kind() == redis::ErrorKind::io || e.kind() == redis::ErrorKind::timeout) return true;
    const auto* server = dynamic_cast<const redis::ServerError*>(&e);
    return server != nullptr && server->transient();
  }

  asio::awaitable<void> main() {
    bool groups_made = false;
    bool own_pending_read = false;
    milliseconds pause{100};
    while (!stopping_) {
      try {
        if (!groups_made) {
          co_await redis_.wait_connected(milliseconds(10000));
          // Another partition count would watch dead-letter streams no worker writes.
          co_await store::check_config(redis_, keys_);
          co_await make_groups();
          groups_made = true;
          spdlog::info("notifier {}: alerts for dead runs go to {}", options_.consumer,
                       webhook_for_logs(options_.webhook_url));
        }
        if (!own_pending_read) {
          // Our own pending entries first (a restart after a crash mid-delivery).
          for (int p = 0; p < keys_.partitions() && !stopping_; ++p) co_await deliver_batch(p, "0");
          own_pending_read = true;
        }
        for (int p = 0; p < keys_.partitions() && !stopping_; ++p) {
          co_await take_over_idle(p);
          co_await deliver_batch(p, ">");
        }
        outage_.succeeded();
        pause = milliseconds(100);
      } catch (const redis::Error& e) {
        if (stopping_) co_return;
        if (!worth_retrying(e)) throw;
        outage_.failed(e.what());
      }
      if (outage_.failing()) {
        co_await sleep_for(pause);
        pause = std::min(pause * 2, milliseconds(1000));
      }
    }
  }

  asio::awaitable<void> make_groups() {
    for (int p = 0; p < keys_.partitions(); ++p) {
      redis::Pipeline create;
      create.add("XGROUP", "CREATE", keys_.dlq(p), kGroup, "0", "MKSTREAM");
      auto r = co_await redis_.exec(std::move(create));
      if (r[0].is_error() && !r[0].str().starts_with("BUSYGROUP")) {
        throw redis::ServerError(std::string(r[0].str()));
      }
    }
  }

  asio::awaitable<void> take_over_idle(int p) {
    redis::Reply r = co_await redis_.command("XAUTOCLAIM", keys_.dlq(p), kGroup, options_.consumer,
                                             options_.claim_idle.count(), "0-0", "COUNT", 100);
    for (const redis::Reply& e : r[1].elements()) co_await deliver(p, e);
  }

  asio::awaitable<void> deliver_batch(int p, std::string from) {
    redis::Pipeline read;
    if (from == ">") {
      read.add("XREADGROUP", "GROUP", kGroup, options_.consumer, "COUNT", 100, "BLOCK", 1000,
               "STREAMS", keys_.dlq(p), ">");
    } else {
      read.add("XREADGROUP", "GROUP", kGroup, options_.consumer, "COUNT", 1000, "STREAMS",
               keys_.dlq(p), from);
    }
    redis::Reply r;
    try {
      r = co_await blocking_.exec_one(std::move(read), {milliseconds(6000)});
    } catch (const redis::ClosedError&) {
      co_return;
    }
    if (r.is_nil()) co_return;
    for (const redis::Reply& e : r[0][1].elements()) {
      if (stopping_) break;
      co_await deliver(p, e);
    }
  }

  // Delivers one entry until a 2xx (or stop), then acknowledges it.
  asio::awaitable<void> deliver(int p, const redis::Reply& entry) {
    const std::string id(entry[0].str());
    if (!entry[1].is_array()) {  // deleted (replayed or purged) before we got to it
      co_await ack(p, id);
      co_return;
    }
    std::map<std::string, std::string> f;
    for (std::size_t k = 0; k + 1 < entry[1].size(); k += 2) {
      f[std::string(entry[1][k].str())] = std::string(entry[1][k + 1].str());
    }
    const std::string body = alert_json(id, f["run"], f["workflow"], f["step"], f["attempts"], f["error"]);
    milliseconds backoff{500};
    for (;;) {
      std::string error;
      const long status = post_json(options_.webhook_url, body, options_.request_timeout, error);
      if (status >= 200 && status < 300) break;
      {
        std::lock_guard lock(mu_);
        ++stats_.failed_attempts;
      }
      spdlog::warn("notifier {}: alert for run {} not delivered ({}); retrying in {} ms",
                   options_.consumer, f["run"],
                   status > 0 ? "HTTP " + std::to_string(status) : error, backoff.count());
      if (stopping_) co_return;  // stays pending: delivered after a restart
      co_await sleep_for(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    co_await ack(p, id);
    std::lock_guard lock(mu_);
    ++stats_.delivered;
  }

  // Acknowledges an entry. A transient failure is retried here: thrown out of
  // deliver(), the alert just posted would stay pending and be posted again.
  asio::awaitable<void> ack(int p, const std::string& id) {
    for (milliseconds pause{100};; pause = std::min(pause * 2, milliseconds(1000))) {
      try {
        co_await redis_.command("XACK", keys_.dlq(p), kGroup, id);
        outage_.succeeded();
        co_return;
      } catch (const redis::Error& e) {
        // Stopping: the entry stays pending and is posted again after a restart.
        if (stopping_ || !worth_retrying(e)) throw;
        outage_.failed(e.what());
      }
      co_await sleep_for(pause);
    }
  }

  NotifierOptions options_;
  asio::io_context io_;
  store::KeySpace keys_;
  redis::Client redis_;
  redis::Client blocking_;
  OutageLog outage_{"notifier: Redis"};  // renamed with the consumer in the constructor
  bool stopping_ = false;
  mutable std::mutex mu_;
  NotifierStats stats_;
};

Notifier::Notifier(NotifierOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Notifier::~Notifier() = default;
void Notifier::run() { impl_->run(); }
void Notifier::stop() { impl_->stop(); }
NotifierStats Notifier::stats() const { return impl_->stats(); }

}  // namespace steadfast::worker
