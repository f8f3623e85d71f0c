// The only file with Beast templates: connections (plain or TLS), parsing
// with limits, timeouts, writing, the connection cap and the graceful
// shutdown. The routes are in service.cpp.
#include "api/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "api/problem.h"
#include "api/service.h"
#include "api/task_protocol.h"
#include "steadfast/worker.h"
#include "steps/kind_registry.h"
#include "worker/task_broker.h"
#include "engine/callback_signing.h"
#include "engine/bulk.h"
#include "engine/outage_log.h"
#include "redis/client.h"
#include "store/bulk.h"
#include "store/scheduler.h"
#include "store/schedules.h"
#include "store/config.h"
#include "store/local_actor.h"
#include "store/redis_settings.h"
#include "store/run_id.h"
#include "store/scripts.h"
#include "store/store.h"

namespace steadfast::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// After an answer that closes the connection early (413, 503), what the
// client still sends is read and dropped for this long (or this many bytes),
// so that closing does not reset the connection before it reads the answer.
constexpr std::chrono::seconds kLingerTime{1};
constexpr std::size_t kLingerBytes = std::size_t{8} << 20;

// How often serve looks at its Redis connection to log an outage.
constexpr std::chrono::milliseconds kWatchEvery{200};

// Methods label metrics as themselves; anything else is "other" (bounded labels).
std::string_view method_label(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "other";
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const std::string address = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

redis::Config redis_config(const ServerOptions& o) {
  redis::Config c = redis::Config::from_url(o.redis_url);
  c.command_timeout = o.redis_timeout;
  return c;
}

Tokens load_tokens(const ServerOptions& o) {
  return o.tokens_file.empty() ? Tokens{} : Tokens::load(o.tokens_file);
}

// The server's certificate and key for --tls-cert/--tls-key, or null for plain
// HTTP. Throws std::invalid_argument naming the file OpenSSL refused.
std::unique_ptr<asio::ssl::context> tls_context(const ServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return nullptr;
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    throw std::invalid_argument("--tls-cert and --tls-key go together (a certificate chain and its private key)");
  }
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  // TLS 1.2 and later only; no compression; a fresh key per handshake.
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::no_compression | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) throw std::invalid_argument("--tls-cert '" + o.tls_cert_file + "': " + ec.message());
  ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::invalid_argument("--tls-key '" + o.tls_key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw std::invalid_argument("--tls-key '" + o.tls_key_file + "' is not the key of --tls-cert '" +
                                o.tls_cert_file + "'");
  }
  return ctx;
}

// True for 127.0.0.0/8 and ::1 (and ::ffff:127.x): only this machine can connect.
bool is_loopback(const asio::ip::address& a) {
  if (a.is_loopback()) return true;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  }
  return false;
}

const ServerOptions& checked(const ServerOptions& o) {
  if (o.max_body < 1) throw std::invalid_argument("max body must be at least 1 byte");
  if (o.max_header_bytes < 1024) throw std::invalid_argument("max header bytes must be at least 1024");
  if (o.max_connections < 1) throw std::invalid_argument("max connections must be at least 1");
  for (auto t : {o.header_timeout, o.body_timeout, o.write_timeout}) {
    if (t.count() <= 0) throw std::invalid_argument("read and write timeouts must be positive");
  }
  if (o.max_wait.count() < 0) throw std::invalid_argument("max wait must not be negative");
  if (o.bulk_lease < std::chrono::seconds(1)) throw std::invalid_argument("bulk lease must be at least 1s");
  return o;
}

// The workflows file's schedules, checked as a worker checks them.
std::vector<store::ScheduleDefinition> schedules_of(const config::WorkflowsFile& file) {
  std::vector<store::ScheduleDefinition> out;
  for (const Schedule& s : config::build_schedules(file)) out.push_back(store::schedule_definition_of(s));
  return out;
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, const config::WorkflowsFile& file)
      : options_(checked(options)),
        redis_(io_.get_executor(), redis_config(options_)),
        store_(redis_, store::KeySpace::for_redis(redis_.config(), options_.key_prefix, options_.partitions)),
        tasks_(task_setup(options_, file, redis_)),
        service_(redis_, store_, serve_workflows(file), load_tokens(options_), service_options(options_, tasks_)),
        tls_(tls_context(options_)),
        acceptor_(io_),
        signals_(io_),
        shutdown_timer_(io_),
        schedules_(schedules_of(file)) {
    for (const config::WorkflowSpec& w : file.workflows) file_workflows_.push_back(w.name);
    store_.set_replica_wait({options_.wait_replicas, options_.wait_replicas_timeout});
  }

  void run() {
    std::exception_ptr failure;
    asio::co_spawn(io_, main(), [this, &failure](std::exception_ptr e) {
      if (e && !stopping_) failure = e;
      if (e) {
        set_listen_state(State::failed, 0);
        begin_stop();
      }
    });
    if (options_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](boost::system::error_code ec, int signal) {
        if (ec) return;
        spdlog::info("api: {} received; stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
        begin_stop();
      });
    }
    std::thread task_thread;
    if (tasks_.protocol) {
      task_worker_ = std::make_unique<Worker>(tasks_.worker, tasks_.workflows);
      task_thread = std::thread([this] {
        try {
          task_worker_->run();
        } catch (const std::exception& e) {
          spdlog::error("api: the task worker stopped: {}; stopping", e.what());
          asio::post(io_, [this] { begin_stop(); });
        }
      });
    }
    io_.run();
    if (task_worker_) {
      task_worker_->stop();
      task_thread.join();
    }
    set_listen_state(State::failed, 0);  // wakes waiters if it never listened
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const store::EvictionPolicyError& e) {
        throw std::runtime_error(e.what());
      } catch (const redis::Error& e) {
        throw std::runtime_error(std::string("Redis: ") + e.what());
      }
    }
  }

  void stop() {
    asio::post(io_, [this] { begin_stop(); });
  }

  std::uint16_t wait_listening(std::chrono::milliseconds timeout) {
    std::unique_lock lock(listen_mu_);
    listen_cv_.wait_for(lock, timeout, [this] { return listen_state_ != State::pending; });
    return listen_state_ == State::listening ? port_ : 0;
  }

 private:
  enum class State { pending, listening, failed };

  // One client connection: plain, or TLS over TCP (--tls-cert).
  struct Connection {
    Connection(tcp::socket s, asio::ssl::context* tls_context) {
      if (tls_context != nullptr) {
        tls.emplace(std::move(s), *tls_context);
      } else {
        plain.emplace(std::move(s));
      }
    }
    // The TCP layer: timeouts, cancel, close.
    beast::tcp_stream& transport() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    std::optional<beast::tcp_stream> plain;
    std::optional<TlsStream> tls;
    bool busy = false;  // a request is being read, handled or answered
  };

  // The worker protocol and the task worker behind it, when some step is a
  // task (docs/worker-protocol.md); empty otherwise.
  struct TaskSetup {
    std::shared_ptr<TaskBroker> broker;
    std::shared_ptr<TaskProtocol> protocol;
    WorkerOptions worker;
    std::vector<Workflow> workflows;  // the task worker's
  };

  static TaskSetup task_setup(const ServerOptions& o, const config::WorkflowsFile& file, redis::Client& redis) {
    TaskSetup t;
    bool any = false;
    for (const config::WorkflowSpec& w : file.workflows) {
      for (const config::StepSpec& st : w.steps) any = any || st.kind == "task";
    }
    if (!any) return t;
    std::vector<engine::SigningKey> keys;
    if (!o.signing_key_file.empty()) {
      keys = engine::load_signing_keys(o.signing_key_file);
    } else {
      // Tokens this process alone verifies: an external worker must then
      // finish its steps through this serve (or lose them after the lease).
      keys.push_back(engine::generate_signing_key("local"));
      spdlog::info("api: task tokens are signed with a key of this process only; give every serve the same "
                   "--signing-key-file so that any of them takes an external worker's calls");
    }
    const steps::KindRegistry kinds = steps::builtin_kinds();
    t.broker = std::make_shared<TaskBroker>();
    t.protocol = std::make_shared<TaskProtocol>(
        redis, store::KeySpace::for_redis(redis.config(), o.key_prefix, o.partitions), t.broker,
        std::make_shared<const engine::TaskTokenSigner>(std::move(keys)), config::build_workflows(file, kinds),
        file.limiters, o.max_wait, o.retention);
    t.workflows = config::build_workflows(file, kinds);
    WorkerOptions& w = t.worker;
    w.redis_url = o.redis_url;
    w.key_prefix = o.key_prefix;
    w.partitions = o.partitions;
    std::string host = "serve";
    {
      char name[256] = {};
      if (gethostname(name, sizeof name - 1) == 0) host = name;
    }
    std::string id = "tasks-" + host + "-" + std::to_string(::getpid());
    for (char& c : id) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') c = '-';
    }
    w.id = id.substr(0, 64);
    // Claimed steps wait only for their handover: a few hundred at once is plenty.
    w.concurrency = 1024;
    w.limits = file.limiters;
    w.max_backlog = file.max_backlog;
    w.queue_order = file.queue_order;
    w.retention = o.retention;
    w.allow_eviction = o.allow_eviction;
    w.drain_timeout = std::chrono::milliseconds(200);
    w.handle_signals = false;
    w.run_scheduler = false;  // serve runs its own
    w.tasks = t.broker;
    return t;
  }

  static ServiceOptions service_options(const ServerOptions& o, const TaskSetup& tasks) {
    ServiceOptions s;
    s.tasks = tasks.protocol;
    s.max_wait = o.max_wait;
    s.retention = o.retention;
    s.max_body = o.max_body;
    if (!o.signing_key_file.empty()) {
      // Verifying needs only the keys; a URL to check, when given, is checked.
      s.callbacks = std::make_shared<const engine::CallbackSigner>(
          o.public_url.empty() ? std::string("http://localhost") : o.public_url,
          engine::load_signing_keys(o.signing_key_file));
    } else if (!o.public_url.empty()) {
      throw std::invalid_argument("--public-url needs --signing-key-file (callback URLs are signed)");
    }
    return s;
  }

  void set_listen_state(State s, std::uint16_t port) {
    std::lock_guard lock(listen_mu_);
    if (listen_state_ != State::pending) return;
    listen_state_ = s;
    port_ = port;
    listen_cv_.notify_all();
  }

  // Listens first, so that a load balancer sees 503 on /readyz (not a
  // refused connection) while Redis is away at start; then sets up Redis.
  asio::awaitable<void> main() {
    tcp::endpoint endpoint;
    try {
      endpoint = tcp::endpoint(asio::ip::make_address(options_.host), options_.port);
      acceptor_.open(endpoint.protocol());
      acceptor_.set_option(asio::socket_base::reuse_address(true));
      acceptor_.bind(endpoint);
      acceptor_.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                               ": " + e.code().message());
    }
    const tcp::endpoint bound = acceptor_.local_endpoint();
    spdlog::info("api: listening on {}://{} ({} workflow(s), {})", tls_ ? "https" : "http", format_endpoint(bound),
                 service_.workflows().size(), tokens_note());
    if (options_.tokens_file.empty() && !is_loopback(bound.address())) {
      spdlog::warn("api: listening on {} without --tokens: anyone who can reach this address may submit, "
                   "cancel and purge runs; give a tokens file, or listen on 127.0.0.1",
                   format_endpoint(bound));
    }
    if (!options_.tokens_file.empty() && !tls_ && !is_loopback(bound.address())) {
      spdlog::info("api: bearer tokens travel in clear over plain HTTP: put a TLS proxy in front, "
                   "or give --tls-cert and --tls-key");
    }
    if (auto warning = redis_.config().insecure_warning()) spdlog::warn("api: {}", *warning);
    asio::co_spawn(io_, accept_loop(), asio::detached);
    if (!co_await set_up()) co_return;
    service_.mark_ready();
    spdlog::info("api: ready (Redis at {})", redis_.config().redacted_url());
    set_listen_state(State::listening, bound.port());
    asio::co_spawn(io_, bulk_loop(), asio::detached);
    if (options_.run_scheduler) asio::co_spawn(io_, schedule_loop(), asio::detached);
    co_await watch_redis();
  }

  // Logs Redis going away and coming back (engine::OutageLog: the first
  // failure at once, then at most one line per 5 s, and the recovery once).
  // Reads the client's state only: no command is sent for it, so it sees an
  // outage once the connection is lost, whether or not requests are coming.
  asio::awaitable<void> watch_redis() {
    engine::OutageLog outage("api: Redis at " + redis_.config().redacted_url());
    while (!stopping_) {
      if (redis_.connected()) {
        outage.succeeded();
      } else {
        const std::string error = redis_.last_error();
        outage.failed(error.empty() ? "not connected" : error);
      }
      watch_timer_.expires_after(kWatchEvery);
      co_await watch_timer_.async_wait(nothrow);
    }
  }

  // Bulk jobs (store/bulk.h): claims one whose lease has ended (or that no
  // one took yet) and walks it to its end; looks again every second. Any
  // number of servers run this: one holds a job at a time, and another goes
  // on with it when this one dies or is stopped.
  asio::awaitable<void> bulk_loop() {
    store::BulkRunOptions run;
    run.owner = store::local_actor("serve") + ":" + std::to_string(::getpid()) + ":" + store::new_run_id().substr(20);
    run.lease = options_.bulk_lease;
    run.retention = options_.retention;
    run.stopping = [this] { return stopping_; };
    while (!stopping_) {
      bool worked = false;
      try {
        std::optional<store::BulkJob> job = co_await store::claim_bulk_job(store_, run.owner, run.lease);
        if (job) {
          worked = true;
          spdlog::info("api: bulk job {} ({} of {}): {}", job->id, engine::to_string(job->request.action),
                       engine::run_filter_to_json(job->request.filter).dump(),
                       job->claims > 1 ? "going on from where its last holder stopped" : "started");
          const store::BulkRunEnd end = co_await store::run_bulk_job(store_, *job, run);
          if (end == store::BulkRunEnd::done) {
            spdlog::info("api: bulk job {} done: {} matched, {} {}, {} skipped", job->id, job->matched,
                         job->succeeded, job->request.action == engine::BulkAction::cancel ? "cancelled" : "replayed",
                         job->skipped);
          } else if (end == store::BulkRunEnd::lost) {
            spdlog::warn("api: bulk job {}: another server took it over (this one's lease ended)", job->id);
          } else if (end == store::BulkRunEnd::operator_stopped) {
            spdlog::info("api: bulk job {} stopped by an operator after {} matched", job->id, job->matched);
          }
        }
      } catch (const std::exception& e) {
        worked = false;
        // Redis away: watch_redis() reports the outage (rate-limited); this loop just tries again.
        if (!stopping_ && redis_.connected()) spdlog::warn("api: bulk jobs: {}; retrying in 1 s", e.what());
      }
      if (worked) continue;
      bulk_timer_.expires_after(std::chrono::seconds(1));
      co_await bulk_timer_.async_wait(nothrow);
    }
  }

  // The cron scheduler (store/scheduler.h), as every worker runs it too: one
  // pass, then a wait until the next tick of any schedule (at most
  // store::kSchedulerPoll).
  asio::awaitable<void> schedule_loop() {
    store::Scheduler scheduler(store_, {"api", options_.retention});
    while (!stopping_) {
      std::chrono::milliseconds wait = store::kSchedulerPoll;
      try {
        wait = co_await scheduler.pass();
      } catch (const std::exception& e) {
        // Redis away: watch_redis() reports the outage; this loop just tries again.
        if (!stopping_ && redis_.connected()) spdlog::warn("api: scheduler: {}; retrying in 1 s", e.what());
      }
      schedule_timer_.expires_after(wait);
      co_await schedule_timer_.async_wait(nothrow);
    }
  }

  // Checks the Redis settings, registers the workflows, makes the consumer
  // groups and loads the scripts. Every step is idempotent, so while Redis is
  // unreachable or not ready (loading, out of memory) the whole sequence is
  // retried with a log line; other errors (auth, an evicting Redis) stop the
  // server. False if it was stopped first.
  asio::awaitable<bool> set_up() {
    std::chrono::milliseconds pause{100};
    for (;;) {
      std::string error;
      try {
        co_await redis_.wait_connected(std::chrono::seconds(2));
        co_await set_up_once();
        co_return true;
      } catch (const redis::ServerError& e) {
        if (!e.transient()) throw;
        error = e.what();
      } catch (const redis::IoError& e) {
        error = e.what();
      }
      if (stopping_) co_return false;
      spdlog::warn("api: waiting for Redis at {}: {}; retrying in {} ms", redis_.config().redacted_url(),
                   error, pause.count());
      startup_timer_.expires_after(pause);
      co_await startup_timer_.async_wait(nothrow);
      if (stopping_) co_return false;
      pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
  }

  asio::awaitable<void> set_up_once() {
    co_await store::ensure_config(redis_, store_.keys());
    const auto settings = co_await store::read_redis_settings(redis_);
    for (const std::string& w : store::durability_warnings(settings, options_.allow_eviction)) {
      spdlog::warn("api: {}", w);
    }
    std::set<std::string> queues;
    for (const ServedWorkflow& w : service_.workflows()) {
      co_await store_.register_workflow(w.name, w.definition);
      for (const Json& step : w.definition.at("steps")) queues.insert(step.at("queue").get<std::string>());
    }
    const std::size_t removed = co_await store::publish_schedules(store_, schedules_, file_workflows_);
    if (!schedules_.empty() || removed > 0) {
      spdlog::info("api: published {} schedule(s){}", schedules_.size(),
                   removed > 0 ? fmt::format(", removed {} no longer in the workflows file", removed) : std::string());
    }
    // The consumer groups, as a worker makes them (at the stream's start,
    // never at $), so a run can be cancelled before any worker has started.
    for (const std::string& q : queues) {
      for (int p = 0; p < store_.keys().partitions(); ++p) co_await store_.ensure_group(p, q);
    }
    redis::Pipeline load;
    for (const auto* s : {&store::scripts::submit(), &store::scripts::cancel(), &store::scripts::replay()}) {
      load.add("SCRIPT", "LOAD", s->source());
    }
    for (const redis::Reply& r : co_await redis_.exec(std::move(load))) {
      if (r.is_error()) throw std::runtime_error("Redis refused SCRIPT LOAD: " + std::string(r.str()));
    }
  }

  std::string tokens_note() const {
    return options_.tokens_file.empty() ? "no authentication" : "bearer tokens from " + options_.tokens_file;
  }

  asio::awaitable<void> accept_loop() {
    asio::steady_timer backoff(io_);
    while (!stopping_) {
      auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
      if (stopping_ || ec == asio::error::operation_aborted) break;
      if (ec) {
        // Out of descriptors or the like: wait a moment rather than spin.
        spdlog::warn("api: accept: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(nothrow);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      // Counted here, not when the coroutine first runs, so a burst of
      // accepts cannot overshoot the cap.
      auto conn = std::make_unique<Connection>(std::move(socket), tls_.get());
      if (connections_.size() >= static_cast<std::size_t>(options_.max_connections)) {
        if (rejecting_ < static_cast<std::size_t>(options_.max_connections)) {
          ++rejecting_;
          asio::co_spawn(io_, reject(std::move(conn)), asio::detached);
        }  // else: closed by conn's destructor
        continue;
      }
      connections_.insert(conn.get());
      asio::co_spawn(io_, session(std::move(conn)), asio::detached);
    }
  }

  // Over the connection cap: a 503 and close.
  asio::awaitable<void> reject(std::unique_ptr<Connection> conn) {
    struct Done {
      Impl* self;
      ~Done() { --self->rejecting_; }
    } done{this};
    static const std::string answer = [] {
      const Response p = problem(503, "too-many-connections", "the server is at its connection limit; retry later");
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + p.content_type +
             "\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " + std::to_string(p.body.size()) +
             "\r\n\r\n" + p.body;
    }();
    Connection& c = *conn;
    service_.observe("other", "other", 503, 0);
    if (c.tls) co_return;  // closed without a TLS handshake: an answer would cost one
    c.transport().expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(*c.plain, asio::buffer(answer), nothrow);
    if (!ec) co_await linger_close(c, *c.plain);
  }

  // conn is already in connections_; this removes it when done.
  asio::awaitable<void> session(std::unique_ptr<Connection> conn) {
    struct Untrack {
      Impl* self;
      Connection* c;
      ~Untrack() {
        self->connections_.erase(c);
        self->finish_if_idle();
      }
    } untrack{this, conn.get()};
    try {
      if (conn->tls) {
        // The handshake shares the header's deadline: a client that opens
        // connections and never speaks TLS holds one no longer.
        conn->transport().expires_after(options_.header_timeout);
        auto [ec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::server, nothrow);
        if (!ec) {
          co_await serve_connection(*conn, *conn->tls);
        } else {
          spdlog::debug("api: TLS handshake: {}", ec.message());
        }
      } else {
        co_await serve_connection(*conn, *conn->plain);
      }
    } catch (const std::exception& e) {
      spdlog::warn("api: connection: {}", e.what());
    }
    boost::system::error_code ignored;
    conn->transport().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->transport().close();
  }

  // Ends the sending direction: a FIN, or TLS close_notify (and waiting a
  // little for the client's).
  template <typename Stream>
  asio::awaitable<void> close_send(Connection& c, Stream& s) {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      c.transport().expires_after(std::min<std::chrono::milliseconds>(options_.write_timeout, kLingerTime));
      co_await s.async_shutdown(nothrow);
    } else {
      boost::system::error_code ignored;
      c.transport().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  template <typename Stream>
  asio::awaitable<void> serve_connection(Connection& c, Stream& s) {
    beast::flat_buffer buffer;
    while (!stopping_) {
      c.busy = false;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX)));
      // No limit while the header is read, or Beast would answer a large
      // Content-Length with 413 before the token is checked; max_body is
      // checked (and set for chunked bodies) once the request is screened.
      parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
      // Covers the keep-alive idle time too: a connection that sends no
      // complete header within the timeout is closed.
      c.transport().expires_after(options_.header_timeout);
      auto [ec, n] = co_await http::async_read_header(s, buffer, parser, nothrow);
      const auto started = Clock::now();
      if (ec) {
        c.busy = true;
        co_await answer_read_error(c, s, ec, started);
        co_return;
      }
      c.busy = true;
      const unsigned version = parser.get().version();
      if (!parser.is_done()) {
        // Authenticated (and routed) before any of the body is read: a
        // client without a valid token cannot make the server buffer
        // max_body bytes, or wait for them.
        if (auto refusal = service_.screen(request_of(parser.get()))) {
          co_await answer_and_close(c, s, std::move(*refusal), version, started);
          co_return;
        }
        if (const auto length = parser.content_length(); length && *length > options_.max_body) {
          co_await answer_too_large(c, s, version, started);  // before reading any of the body
          co_return;
        }
        parser.body_limit(options_.max_body);  // a chunked body is cut there
        if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          c.transport().expires_after(options_.write_timeout);
          auto [wec, wn] = co_await asio::async_write(s, asio::buffer(kContinue), nothrow);
          if (wec) co_return;
        }
        c.transport().expires_after(options_.body_timeout);
        auto [bec, bn] = co_await http::async_read(s, buffer, parser, nothrow);
        if (bec) {
          co_await answer_read_error(c, s, bec, started);
          co_return;
        }
      }
      c.transport().expires_never();  // a long poll may take a while; the client waits
      auto& message = parser.get();
      const bool keep_alive = message.keep_alive();
      const bool head = message.method() == http::verb::head;
      Request request = request_of(message);
      request.body = std::move(message.body());
      const std::string method(method_label(message.method_string()));
      // A claim's long poll watches its client: one that hangs up must not
      // be handed steps (api/task_protocol.h). Plain TCP only: a TLS
      // client's close_notify is data, so a TLS hang-up is not seen.
      const bool watch = !c.tls && request.method == "POST" && request.target.starts_with("/v1/worker/claim");
      if (watch) {
        request.client = std::make_shared<ClientWatch>();
        tcp::socket& socket = c.transport().socket();
        socket.async_wait(tcp::socket::wait_read, [client = request.client, fd = socket.native_handle()](
                                                      boost::system::error_code wec) {
          if (wec) return;  // cancelled: the answer is ready
          char byte = 0;
          const ssize_t got = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            client->gone = true;
            if (client->notify) client->notify();
          }
        });
      }
      Response response = co_await service_.handle(request);
      if (watch) {
        boost::system::error_code ignored;
        c.transport().socket().cancel(ignored);
      }
      const bool keep = keep_alive && !stopping_;
      const std::string route = response.route;
      const int status = response.status;
      const bool written = co_await write(c, s, std::move(response), version, keep, head);
      service_.observe(route, method, status, seconds_since(started));
      if (!written) co_return;
      if (!keep) {
        co_await close_send(c, s);
        co_return;
      }
    }
  }

  // The request line and header fields (no body); HEAD is handled as GET.
  static Request request_of(const http::request<http::string_body>& message) {
    Request request;
    request.method = message.method() == http::verb::head ? "GET" : std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    return request;
  }

  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  template <typename Stream>
  asio::awaitable<void> answer_read_error(Connection& c, Stream& s, beast::error_code ec, Clock::time_point started) {
    if (ec == http::error::body_limit) {
      co_await answer_too_large(c, s, 11, started);
    } else if (ec == http::error::header_limit) {
      co_await answer_and_close(c, s, problem(431, "header-too-large",
                                           "the request line and header fields exceed " +
                                               std::to_string(options_.max_header_bytes) + " bytes"),
                                11, started);
    } else if (ec.category() == make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
               ec != http::error::partial_message) {
      co_await answer_and_close(c, s, problem(400, "bad-request", "malformed HTTP request: " + ec.message()), 11,
                                started);
    }
    // Otherwise (timeout, reset, end of stream, shutdown): close without an answer.
  }

  template <typename Stream>
  asio::awaitable<void> answer_too_large(Connection& c, Stream& s, unsigned version, Clock::time_point started) {
    co_await answer_and_close(c, s, problem(413, "payload-too-large",
                                         "the body exceeds " + std::to_string(options_.max_body) + " bytes"),
                              version, started);
  }

  // Answers and closes, reading and dropping what the client still sends.
  template <typename Stream>
  asio::awaitable<void> answer_and_close(Connection& c, Stream& s, Response response, unsigned version,
                                         Clock::time_point started) {
    const int status = response.status;
    const std::string route = response.route.empty() ? "other" : response.route;
    const bool written = co_await write(c, s, std::move(response), version, /*keep_alive=*/false, false);
    service_.observe(route, "other", status, seconds_since(started));
    if (written) co_await linger_close(c, s);
  }

  // Over TLS, the sending side stays open while draining (closing it is a
  // TLS record the client might answer); the client gets EOF when it closes.
  template <typename Stream>
  asio::awaitable<void> linger_close(Connection& c, Stream& s) {
    if constexpr (!std::is_same_v<Stream, TlsStream>) {
      boost::system::error_code ignored;
      c.transport().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    c.transport().expires_after(kLingerTime);
    std::array<char, 8192> sink;
    std::size_t total = 0;
    while (total < kLingerBytes) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), nothrow);
      if (ec) break;
      total += n;
    }
  }

  // Returns false when the write failed (the connection is then unusable).
  template <typename Stream>
  asio::awaitable<bool> write(Connection& c, Stream& s, Response r, unsigned version, bool keep_alive, bool head) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    if (reason_phrase(r.status) != "Unknown") res.reason(reason_phrase(r.status));  // RFC 9110 names
    res.set(http::field::server, "steadfast");
    res.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res.set(name, value);
    res.body() = std::move(r.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (head) res.body().clear();  // Content-Length stays that of the GET answer
    c.transport().expires_after(options_.write_timeout);
    auto [ec, n] = co_await http::async_write(s, res, nothrow);
    co_return !ec;
  }

  void begin_stop() {
    if (stopping_) return;
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    startup_timer_.cancel();
    watch_timer_.cancel();
    bulk_timer_.cancel();
    schedule_timer_.cancel();
    service_.begin_shutdown();
    if (task_worker_) task_worker_->stop();
    // Idle connections (waiting for a request) close now; busy ones finish
    // their request and close after answering it.
    for (Connection* c : connections_) {
      if (!c->busy) c->transport().cancel();
    }
    shutdown_timer_.expires_after(options_.shutdown_timeout);
    shutdown_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (!connections_.empty()) {
        spdlog::warn("api: {} request(s) still in flight after the shutdown timeout; closing them",
                     connections_.size());
      }
      for (Connection* c : connections_) c->transport().close();
    });
    finish_if_idle();
  }

  void finish_if_idle() {
    if (!stopping_ || finished_ || !connections_.empty()) return;
    finished_ = true;
    shutdown_timer_.cancel();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    redis_.close();
  }

  ServerOptions options_;
  asio::io_context io_{1};
  redis::Client redis_;
  store::Store store_;
  TaskSetup tasks_;
  Service service_;
  std::unique_ptr<Worker> task_worker_;  // set while run() runs, when tasks_ is
  std::unique_ptr<asio::ssl::context> tls_;  // null = plain HTTP
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer shutdown_timer_;
  asio::steady_timer startup_timer_{io_};  // between two attempts to set up Redis
  asio::steady_timer watch_timer_{io_};    // watch_redis()'s pause
  asio::steady_timer bulk_timer_{io_};     // bulk_loop()'s pause
  asio::steady_timer schedule_timer_{io_};  // schedule_loop()'s pause
  std::vector<store::ScheduleDefinition> schedules_;  // the file's, published at set-up
  std::vector<std::string> file_workflows_;           // whose published schedules they replace
  std::set<Connection*> connections_;
  std::size_t rejecting_ = 0;
  bool stopping_ = false;
  bool finished_ = false;

  std::mutex listen_mu_;
  std::condition_variable listen_cv_;
  State listen_state_ = State::pending;
  std::uint16_t port_ = 0;
};

Server::Server(ServerOptions options, const config::WorkflowsFile& workflows)
    : impl_(std::make_unique<Impl>(std::move(options), workflows)) {}
Server::~Server() = default;
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }
std::uint16_t Server::wait_listening(std::chrono::milliseconds timeout) { return impl_->wait_listening(timeout); }

}  // namespace steadfast::api
