#include "redis/client.h"

#include "redis/cluster_router.h"
#include "redis/slot.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <deque>
#include <random>
#include <variant>

namespace steadfast::redis {

namespace {

using Clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;
using UnixSocket = asio::local::stream_protocol::socket;
using TlsStream = asio::ssl::stream<tcp::socket>;

// A type-erased, move-only completion handler. (Boost 1.81's
// any_completion_handler recurses forever when moved; this is all we need.)
class Handler {
 public:
  Handler() = default;
  template <typename H>
  explicit Handler(H&& h) : impl_(std::make_unique<Model<std::decay_t<H>>>(std::forward<H>(h))) {}
  void operator()(std::exception_ptr error, std::vector<Reply> replies) && {
    auto impl = std::move(impl_);
    impl->complete(error, std::move(replies));
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual void complete(std::exception_ptr, std::vector<Reply>) = 0;
  };
  template <typename H>
  struct Model final : Concept {
    explicit Model(H&& h) : handler(std::move(h)) {}
    void complete(std::exception_ptr e, std::vector<Reply> r) override {
      std::move(handler)(e, std::move(r));
    }
    H handler;
  };
  std::unique_ptr<Concept> impl_;
};

constexpr std::size_t kReadChunk = 64 * 1024;

// One command batch waiting for its replies.
struct Request {
  std::size_t expected = 0;
  std::vector<Reply> replies;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point queued_at{};          // when exec() was called
  std::chrono::milliseconds timeout{0};  // for the error message
  bool abandoned = false;  // timed out: replies are read and dropped
  bool unsent_fails = false;  // CommandOptions::unsent_fails
  std::size_t bytes = 0;   // length of its commands in out_ while unwritten
  Handler handler;
};

// One live connection: the stream and the buffer being written. Shared with
// in-flight operations so that a dropped connection's late callbacks touch
// only their own Link, never the next connection's.
struct Link {
  // A constructor, not an aggregate: clang 14 has no make_shared of an aggregate (P0960).
  explicit Link(std::variant<tcp::socket, TlsStream, UnixSocket> s) : stream(std::move(s)) {}

  std::variant<tcp::socket, TlsStream, UnixSocket> stream;
  std::string writing;
  bool write_in_progress = false;

  template <typename Buffer, typename Token>
  auto read_some(const Buffer& buffer, Token&& token) {
    return std::visit([&](auto& s) { return s.async_read_some(buffer, std::forward<Token>(token)); },
                      stream);
  }
  template <typename Token>
  auto write(std::string_view data, Token&& token) {
    return std::visit(
        [&](auto& s) { return asio::async_write(s, asio::buffer(data), std::forward<Token>(token)); },
        stream);
  }
  void close() {
    boost::system::error_code ignored;
    std::visit(
        [&](auto& s) {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, TlsStream>) {
            s.lowest_layer().close(ignored);
          } else {
            s.close(ignored);
          }
        },
        stream);
  }
};

std::exception_ptr timeout_error(std::chrono::milliseconds after, bool connected,
                                 const std::string& last_error) {
  std::string msg = "Redis command timed out after " + std::to_string(after.count()) + " ms";
  if (!connected) msg += " (not connected" + (last_error.empty() ? "" : ": " + last_error) + ")";
  return std::make_exception_ptr(TimeoutError(msg));
}

}  // namespace

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::io: return "io";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::server: return "server";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::closed: return "closed";
  }
  return "unknown";
}

class Client::Impl : public std::enable_shared_from_this<Client::Impl> {
 public:
  Impl(asio::any_io_executor ex, Config config)
      : ex_(std::move(ex)),
        config_(std::move(config)),
        sentinel_timer_(ex_),
        deadline_timer_(ex_),
        backoff_timer_(ex_),
        read_buffer_(kReadChunk),
        rng_(std::random_device{}()) {
    if (config_.scheme == Config::Scheme::tls) make_tls_context();
  }

  void start() {
    if (started_ || closed_) return;
    started_ = true;
    asio::co_spawn(ex_, run(shared_from_this()), asio::detached);
    if (!config_.sentinels.empty()) asio::co_spawn(ex_, watch_sentinels(shared_from_this()), asio::detached);
  }

  template <typename Token>
  auto async_exec(const Pipeline& p, CommandOptions options, Token&& token) {
    return asio::async_initiate<Token, void(std::exception_ptr, std::vector<Reply>)>(
        [this](auto handler, const Pipeline* pipeline, CommandOptions o) {
          enqueue(*pipeline, o, Handler(std::move(handler)));
        },
        token, &p, options);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (link_) link_->close();
    if (connecting_) connecting_->close();  // a handshake may never end on its own
    if (sentinel_link_) sentinel_link_->close();
    sentinel_timer_.cancel();
    backoff_timer_.cancel();
    deadline_timer_.cancel();
    fail_all(std::make_exception_ptr(ClosedError("Redis client closed")));
  }

  asio::awaitable<void> wait_connected(std::chrono::milliseconds timeout) {
    start();
    if (timeout.count() == 0) timeout = config_.connect_timeout;
    const auto deadline =
        timeout.count() == 0 ? Clock::time_point::max() : Clock::now() + timeout;
    asio::steady_timer poll(ex_);
    while (!connected_) {
      if (closed_) throw ClosedError("Redis client closed");
      if (auth_error_) std::rethrow_exception(auth_error_);
      if (Clock::now() >= deadline) {
        throw IoError("cannot connect to " + config_.redacted_url() +
                      (last_error_.empty() ? "" : ": " + last_error_));
      }
      poll.expires_after(std::chrono::milliseconds(5));
      co_await poll.async_wait(asio::use_awaitable);
    }
  }

  bool connected() const noexcept { return connected_; }
  std::chrono::milliseconds oldest_wait() const noexcept {
    if (pending_.empty()) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pending_.front().queued_at);
  }
  const std::string& last_error() const noexcept { return last_error_; }
  ClientStats stats() const noexcept { return stats_; }
  const Config& config() const noexcept { return config_; }
  asio::any_io_executor executor() const noexcept { return ex_; }

 private:
  void make_tls_context() {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    const TlsOptions& o = config_.tls;
    boost::system::error_code ec;
    if (!o.ca_file.empty()) {
      tls_->load_verify_file(o.ca_file, ec);
      if (ec) throw std::invalid_argument("cannot load TLS CA file '" + o.ca_file + "': " + ec.message());
    } else {
      tls_->set_default_verify_paths();
    }
    if (!o.cert_file.empty()) {
      tls_->use_certificate_chain_file(o.cert_file, ec);
      if (ec) throw std::invalid_argument("cannot load TLS certificate '" + o.cert_file + "': " + ec.message());
      tls_->use_private_key_file(o.key_file.empty() ? o.cert_file : o.key_file,
                                 asio::ssl::context::pem, ec);
      if (ec) throw std::invalid_argument("cannot load TLS key '" + o.key_file + "': " + ec.message());
    }
    tls_->set_verify_mode(o.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  }

  void enqueue(const Pipeline& p, CommandOptions options, Handler handler) {
    if (closed_) {
      deliver(std::move(handler), std::make_exception_ptr(ClosedError("Redis client closed")), {});
      return;
    }
    if (auth_error_ && !connected_) {
      deliver(std::move(handler), auth_error_, {});
      return;
    }
    if (p.empty()) {
      deliver(std::move(handler), nullptr, {});
      return;
    }
    if (options.unsent_fails && !connected_ && !last_error_.empty()) {
      deliver(std::move(handler), std::make_exception_ptr(NotSentError("not sent: " + where() + ": " + last_error_)),
              {});
      return;
    }
    Request r;
    r.unsent_fails = options.unsent_fails;
    r.expected = p.size();
    r.replies.reserve(p.size());
    r.timeout = options.timeout.count() < 0 ? config_.command_timeout : options.timeout;
    r.queued_at = Clock::now();
    if (r.timeout.count() > 0) r.deadline = r.queued_at + r.timeout;
    const auto deadline = r.deadline;
    r.handler = std::move(handler);
    r.bytes = p.bytes().size();
    pending_.push_back(std::move(r));
    ++unwritten_;
    out_.append(p.bytes());
    stats_.commands += p.size();
    arm_deadline(deadline);
    if (!started_) start();
    schedule_write();
  }

  void deliver(Handler handler, std::exception_ptr error, std::vector<Reply> replies) {
    // Never inline: the caller may be inside enqueue() or our read loop.
    asio::post(ex_, [h = std::move(handler), error, r = std::move(replies)]() mutable {
      std::move(h)(error, std::move(r));
    });
  }

  // Commands issued in the same event-loop turn share one write: the write is
  // posted, not started, so every coroutine that runs in this turn appends first.
  void schedule_write() {
    if (!link_ || link_->write_in_progress || write_scheduled_ || out_.empty()) return;
    write_scheduled_ = true;
    asio::post(ex_, [self = shared_from_this()] {
      self->write_scheduled_ = false;
      self->start_write();
    });
  }

  void start_write() {
    std::shared_ptr<Link> link = link_;
    if (!link || link->write_in_progress || out_.empty()) return;
    link->writing.swap(out_);
    out_.clear();
    unwritten_ = 0;
    ++stats_.writes;
    link->write_in_progress = true;
    link->write(link->writing, [self = shared_from_this(), link](boost::system::error_code ec, std::size_t) {
      link->write_in_progress = false;
      link->writing.clear();
      if (ec) {
        link->close();  // the reader fails next and runs the reconnect path
        return;
      }
      if (self->link_ == link) self->start_write();
    });
  }

  void arm_deadline(Clock::time_point d) {
    if (d == Clock::time_point::max() || d >= timer_at_) return;
    timer_at_ = d;
    deadline_timer_.expires_at(d);
    deadline_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      if (auto self = weak.lock()) self->on_deadline();
    });
  }

  void on_deadline() {
    timer_at_ = Clock::time_point::max();
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    bool unwritten_abandoned = false;
    const std::size_t first_unwritten = pending_.size() - unwritten_;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      Request& r = pending_[i];
      if (r.abandoned || r.deadline == Clock::time_point::max()) continue;
      if (r.deadline <= now) {
        r.abandoned = true;
        unwritten_abandoned |= i >= first_unwritten;
        ++stats_.timeouts;
        deliver(std::move(r.handler), timeout_error(r.timeout, connected_, last_error_), {});
      } else {
        next = std::min(next, r.deadline);
      }
    }
    if (unwritten_abandoned) drop_unwritten();
    arm_deadline(next);
  }

  // A command that timed out before it was written never goes out: its caller
  // was told it failed, so it must not run later, after a reconnect. (This also
  // keeps out_ from growing while disconnected.) With `not_sent`, the
  // unwritten commands that asked for it (unsent_fails) fail with it too.
  void drop_unwritten(const std::string& not_sent = {}) {
    const auto first = pending_.begin() + static_cast<std::ptrdiff_t>(pending_.size() - unwritten_);
    const auto dropped = [&not_sent](const Request& r) { return r.abandoned || (!not_sent.empty() && r.unsent_fails); };
    std::string kept;
    kept.reserve(out_.size());
    std::size_t offset = 0;
    for (auto it = first; it != pending_.end(); ++it) {
      if (!dropped(*it)) {
        kept.append(out_, offset, it->bytes);
      } else if (!it->abandoned) {
        it->abandoned = true;
        deliver(std::move(it->handler), std::make_exception_ptr(NotSentError(not_sent)), {});
      }
      offset += it->bytes;
    }
    out_.swap(kept);
    const auto removed = std::remove_if(first, pending_.end(), [](const Request& r) { return r.abandoned; });
    unwritten_ -= static_cast<std::size_t>(pending_.end() - removed);
    pending_.erase(removed, pending_.end());
  }

  void on_reply(Reply reply) {
    if (pending_.size() == unwritten_) throw ProtocolError("Redis sent a reply to no command");
    // Through Sentinels, a READONLY answer means the primary was demoted
    // under us: the connection goes (after this reply), so the next one asks
    // the Sentinels again. (The command itself fails transiently.)
    if (!config_.sentinels.empty() && reply.is_error() && reply.str().starts_with("READONLY") && link_) {
      link_->close();
    }
    Request& front = pending_.front();
    front.replies.push_back(std::move(reply));
    if (front.replies.size() < front.expected) return;
    Request done = std::move(front);
    pending_.pop_front();
    if (!done.abandoned) deliver(std::move(done.handler), nullptr, std::move(done.replies));
  }

  // Commands already handed to the socket may or may not have run: they fail.
  // Commands never written stay queued for the next connection.
  void fail_written(const std::string& why) {
    const std::size_t written = pending_.size() - unwritten_;
    for (std::size_t i = 0; i < written; ++i) {
      Request r = std::move(pending_.front());
      pending_.pop_front();
      if (!r.abandoned) deliver(std::move(r.handler), std::make_exception_ptr(IoError(why)), {});
    }
  }

  void fail_all(std::exception_ptr error) {
    while (!pending_.empty()) {
      Request r = std::move(pending_.front());
      pending_.pop_front();
      if (!r.abandoned) deliver(std::move(r.handler), error, {});
    }
    unwritten_ = 0;
    out_.clear();
  }

  std::chrono::milliseconds backoff_delay(int failures) {
    const auto initial = std::max<std::int64_t>(1, config_.reconnect_initial.count());
    const auto cap = std::max<std::int64_t>(initial, config_.reconnect_max.count());
    std::int64_t d = initial << std::min(failures, 20);
    d = std::min(d, cap);
    std::uniform_int_distribution<std::int64_t> jitter(d / 2, d);
    return std::chrono::milliseconds(jitter(rng_));
  }

  asio::awaitable<void> run(std::shared_ptr<Impl> self) {
    int failures = 0;
    while (!closed_) {
      std::shared_ptr<Link> link;
      try {
        link = co_await connect();
      } catch (const ServerError& e) {
        last_error_ = e.what();
        auth_error_ = std::current_exception();
        fail_all(auth_error_);
      } catch (const std::exception& e) {
        last_error_ = e.what();
      }
      if (closed_) {
        if (link) link->close();
        break;
      }
      if (!link) {
        drop_unwritten("not sent: " + where() + ": " + last_error_);
        backoff_timer_.expires_after(backoff_delay(failures++));
        co_await backoff_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      failures = 0;
      auth_error_ = nullptr;
      last_error_.clear();
      link_ = link;
      connected_ = true;
      ++stats_.connects;
      schedule_write();
      std::string why;
      try {
        co_await read_loop(link);
      } catch (const std::exception& e) {
        why = e.what();
      }
      connected_ = false;
      link->close();
      link_.reset();
      parser_.reset();
      last_error_ = why;
      fail_written("connection to " + where() + " lost: " + why);
      drop_unwritten("not sent: connection to " + where() + " lost: " + why);
      if (closed_) break;
      backoff_timer_.expires_after(backoff_delay(0));
      co_await backoff_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    (void)self;
  }

  asio::awaitable<void> read_loop(std::shared_ptr<Link> link) {
    for (;;) {
      auto [ec, n] = co_await link->read_some(asio::buffer(read_buffer_),
                                              asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::eof) throw IoError("connection closed by the server");
      if (ec) throw IoError(ec.message());
      parser_.feed(read_buffer_.data(), n);
      while (auto reply = parser_.next()) on_reply(std::move(*reply));
    }
  }

  // Connects and runs the handshake (AUTH, SELECT, CLIENT SETNAME, PING) under
  // connect_timeout. Throws ServerError when Redis refuses the handshake.
  // With Sentinels, first asks them for the primary (each under its own
  // connect_timeout).
  asio::awaitable<std::shared_ptr<Link>> connect() {
    if (config_.sentinels.empty()) {
      host_ = config_.host;
      port_ = config_.port;
    } else {
      co_await discover_primary();
    }
    auto link = std::make_shared<Link>(make_stream());
    connecting_ = link;
    struct Forget {
      std::shared_ptr<Link>& slot;
      ~Forget() { slot.reset(); }
    } forget{connecting_};
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer guard(ex_);
    if (config_.connect_timeout.count() > 0) {
      guard.expires_after(config_.connect_timeout);
      guard.async_wait([link, timed_out](boost::system::error_code ec) {
        if (ec) return;
        *timed_out = true;
        link->close();
      });
    }
    try {
      co_await open(*link);
      co_await handshake(*link);
    } catch (const ServerError&) {
      guard.cancel();
      link->close();
      throw;
    } catch (const std::exception& e) {
      guard.cancel();
      link->close();
      const auto* sys = dynamic_cast<const boost::system::system_error*>(&e);
      const std::string reason = sys != nullptr ? sys->code().message() : e.what();
      if (*timed_out) {
        throw IoError("connect to " + where() + " timed out after " + std::to_string(config_.connect_timeout.count()) +
                      " ms");
      }
      throw IoError("connect to " + where() + ": " + reason);
    }
    guard.cancel();
    co_return link;
  }

  std::variant<tcp::socket, TlsStream, UnixSocket> make_stream() {
    switch (config_.scheme) {
      case Config::Scheme::tls:
        return std::variant<tcp::socket, TlsStream, UnixSocket>(std::in_place_type<TlsStream>, ex_,
                                                                *tls_);
      case Config::Scheme::unix_socket:
        return std::variant<tcp::socket, TlsStream, UnixSocket>(std::in_place_type<UnixSocket>, ex_);
      case Config::Scheme::tcp: break;
    }
    return std::variant<tcp::socket, TlsStream, UnixSocket>(std::in_place_type<tcp::socket>, ex_);
  }

  // The server this client connects to, for messages: the URL, and with
  // Sentinels the primary they named.
  std::string where() const {
    if (config_.sentinels.empty()) return config_.redacted_url();
    return config_.redacted_url() + " (primary " + host_ + ":" + std::to_string(port_) + ")";
  }

  // Asks the Sentinels in order for the primary of config_.master_name
  // (host_, port_); throws IoError naming what each answered.
  asio::awaitable<void> discover_primary() {
    std::string answers;
    for (const SentinelAddress& s : config_.sentinels) {
      const std::string name = s.host + ":" + std::to_string(s.port);
      try {
        auto primary = co_await ask_sentinel(s);
        if (primary) {
          host_ = primary->first;
          port_ = primary->second;
          co_return;
        }
        answers += "; " + name + " knows no master '" + config_.master_name + "'";
      } catch (const std::exception& e) {
        answers += "; " + name + ": " + e.what();
      }
      if (closed_) throw ClosedError("Redis client closed");
    }
    throw IoError("no Sentinel of " + config_.redacted_url() + " named the primary" + answers);
  }

  // Listens for +switch-master on one Sentinel at a time (the next one when
  // it fails): when the Sentinels move this client's master elsewhere, the
  // connection to the old primary is closed at once, so the next one asks
  // for the new primary — rather than waiting for the old one to answer
  // READONLY, which a primary cut off from the Sentinels (or stopped) never
  // does.
  asio::awaitable<void> watch_sentinels(std::shared_ptr<Impl> self) {
    int failures = 0;
    for (std::size_t next = 0; !closed_; next = (next + 1) % config_.sentinels.size()) {
      try {
        co_await listen_for_switches(config_.sentinels[next]);
      } catch (const std::exception&) {
        // Unreachable or gone: the next Sentinel, after a pause.
      }
      sentinel_link_.reset();
      if (closed_) break;
      sentinel_timer_.expires_after(backoff_delay(failures++));
      co_await sentinel_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    (void)self;
  }

  asio::awaitable<void> listen_for_switches(const SentinelAddress& s) {
    auto link = std::make_shared<Link>(make_stream());
    sentinel_link_ = link;
    {
      asio::steady_timer guard(ex_);
      if (config_.connect_timeout.count() > 0) {
        guard.expires_after(config_.connect_timeout);
        guard.async_wait([link](boost::system::error_code ec) {
          if (!ec) link->close();
        });
      }
      co_await open(*link, s.host, s.port);
      Pipeline subscribe;
      subscribe.add("SUBSCRIBE", "+switch-master");
      co_await link->write(subscribe.bytes(), asio::use_awaitable);
      guard.cancel();
    }
    ReplyParser parser;
    std::array<char, 4096> buf;
    for (;;) {
      auto [ec, n] = co_await link->read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) throw IoError(ec.message());
      parser.feed(buf.data(), n);
      while (auto r = parser.next()) {
        // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
        if (!r->is_array() || r->size() != 3 || (*r)[0].str() != "message") continue;
        const std::string text((*r)[2].str());
        std::vector<std::string> words;
        for (std::size_t at = 0; at <= text.size();) {
          const std::size_t space = std::min(text.find(' ', at), text.size());
          words.emplace_back(text.substr(at, space - at));
          at = space + 1;
        }
        if (words.size() != 5 || words[0] != config_.master_name) continue;
        const bool moved = words[3] != host_ || words[4] != std::to_string(port_);
        if (moved && link_) {
          ++stats_.switches;
          link_->close();  // the reader fails next and runs the reconnect path
        }
      }
    }
  }

  // SENTINEL get-master-addr-by-name on one Sentinel, under connect_timeout:
  // the primary's host and port, or nullopt when it does not know the master.
  asio::awaitable<std::optional<std::pair<std::string, std::uint16_t>>> ask_sentinel(const SentinelAddress& s) {
    auto link = std::make_shared<Link>(make_stream());
    asio::steady_timer guard(ex_);
    if (config_.connect_timeout.count() > 0) {
      guard.expires_after(config_.connect_timeout);
      guard.async_wait([link](boost::system::error_code ec) {
        if (!ec) link->close();
      });
    }
    struct Close {
      std::shared_ptr<Link> link;
      asio::steady_timer& guard;
      ~Close() {
        guard.cancel();
        link->close();
      }
    } close{link, guard};
    co_await open(*link, s.host, s.port);
    Pipeline ask;
    ask.add("SENTINEL", "get-master-addr-by-name", config_.master_name);
    co_await link->write(ask.bytes(), asio::use_awaitable);
    ReplyParser parser;
    std::array<char, 1024> buf;
    for (;;) {
      const std::size_t n = co_await link->read_some(asio::buffer(buf), asio::use_awaitable);
      parser.feed(buf.data(), n);
      if (auto r = parser.next()) {
        if (r->is_nil()) co_return std::nullopt;
        if (r->is_error()) throw IoError(std::string(r->str()));
        if (!r->is_array() || r->size() != 2) throw IoError("unexpected answer " + r->debug_string());
        const std::string port((*r)[1].str());
        int p = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
          throw IoError("unexpected port '" + port + "'");
        }
        co_return std::make_pair(std::string((*r)[0].str()), static_cast<std::uint16_t>(p));
      }
    }
  }

  asio::awaitable<void> open(Link& link) { co_await open(link, host_, port_); }

  asio::awaitable<void> open(Link& link, const std::string& host, std::uint16_t port) {
    if (auto* unix_socket = std::get_if<UnixSocket>(&link.stream)) {
      co_await unix_socket->async_connect(asio::local::stream_protocol::endpoint(config_.path),
                                          asio::use_awaitable);
      co_return;
    }
    tcp::resolver resolver(ex_);
    auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), asio::use_awaitable);
    if (closed_) throw ClosedError("Redis client closed");  // async_connect would reopen the socket
    tcp::socket& socket = std::holds_alternative<TlsStream>(link.stream)
                              ? std::get<TlsStream>(link.stream).next_layer()
                              : std::get<tcp::socket>(link.stream);
    co_await asio::async_connect(socket, endpoints, asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    if (auto* tls = std::get_if<TlsStream>(&link.stream)) {
      const std::string& name = config_.tls.server_name.empty() ? host : config_.tls.server_name;
      if (SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(name.c_str())) != 1) {
        throw IoError("cannot set TLS server name '" + name + "'");
      }
      if (config_.tls.verify_peer) tls->set_verify_callback(asio::ssl::host_name_verification(name));
      co_await tls->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    }
  }

  asio::awaitable<void> handshake(Link& link) {
    Pipeline hello;
    if (!config_.password.empty()) {
      if (config_.user.empty()) {
        hello.add("AUTH", config_.password);
      } else {
        hello.add("AUTH", config_.user, config_.password);
      }
    }
    if (config_.db != 0) hello.add("SELECT", config_.db);
    if (!config_.client_name.empty()) hello.add("CLIENT", "SETNAME", config_.client_name);
    if (!config_.sentinels.empty()) hello.add("ROLE");  // the Sentinels' answer may be stale
    hello.add("PING");
    co_await link.write(hello.bytes(), asio::use_awaitable);

    ReplyParser parser;
    std::vector<Reply> replies;
    std::array<char, 4096> buf;
    while (replies.size() < hello.size()) {
      std::size_t n = co_await link.read_some(asio::buffer(buf), asio::use_awaitable);
      parser.feed(buf.data(), n);
      while (auto r = parser.next()) replies.push_back(std::move(*r));
    }
    for (const Reply& r : replies) {
      if (!r.is_error()) continue;
      std::string msg(r.str());
      if (msg.starts_with("LOADING")) throw IoError("Redis is loading its dataset: " + msg);
      if (msg.starts_with("WRONGPASS") || msg.starts_with("NOAUTH") || msg.starts_with("NOPERM")) {
        throw ServerError(msg + " (AUTH as '" + (config_.user.empty() ? "default" : config_.user) +
                          "' to " + config_.redacted_url() + ")");
      }
      throw ServerError(msg + " (during connect to " + config_.redacted_url() + ")");
    }
    if (!config_.sentinels.empty()) {
      const Reply& role = replies[replies.size() - 2];
      const std::string what = role.is_array() && role.size() > 0 ? std::string(role[0].str()) : role.debug_string();
      if (what != "master") {
        throw IoError(where() + " is no primary (ROLE " + what + "): the Sentinels' answer is stale, a failover may be under way");
      }
    }
  }

  asio::any_io_executor ex_;
  Config config_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::string host_;        // where connections go: config_'s, or the primary the Sentinels named
  std::uint16_t port_ = 0;
  std::shared_ptr<Link> link_;
  std::shared_ptr<Link> connecting_;  // the connection attempt in progress, for close()
  std::shared_ptr<Link> sentinel_link_;  // watch_sentinels' subscription
  asio::steady_timer sentinel_timer_;
  std::deque<Request> pending_;  // in reply order
  std::size_t unwritten_ = 0;    // requests at the back of pending_ whose bytes are still in out_
  std::string out_;              // formatted commands not yet handed to the socket
  ReplyParser parser_;
  asio::steady_timer deadline_timer_;
  Clock::time_point timer_at_ = Clock::time_point::max();
  asio::steady_timer backoff_timer_;
  std::vector<char> read_buffer_;
  std::mt19937_64 rng_;
  std::string last_error_;
  std::exception_ptr auth_error_;  // set while the server refuses our credentials
  ClientStats stats_;
  bool started_ = false;
  bool closed_ = false;
  bool connected_ = false;
  bool write_scheduled_ = false;
};

Client::Client(asio::any_io_executor executor, Config config) {
  if (!config.cluster_nodes.empty()) {
    cluster_ = std::make_shared<ClusterRouter>(std::move(executor), std::move(config));
  } else {
    impl_ = std::make_shared<Impl>(std::move(executor), std::move(config));
  }
}

Client::~Client() {
  if (impl_) impl_->close();
  if (cluster_) cluster_->close();
}

void Client::start() {
  if (cluster_) {
    cluster_->start();
  } else {
    impl_->start();
  }
}

asio::awaitable<void> Client::wait_connected(std::chrono::milliseconds timeout) {
  if (cluster_) {
    auto router = cluster_;
    co_await router->wait_connected(timeout);
    co_return;
  }
  auto impl = impl_;
  co_await impl->wait_connected(timeout);
}

asio::awaitable<std::vector<Reply>> Client::exec(Pipeline pipeline, CommandOptions options) {
  if (cluster_) {
    auto router = cluster_;
    co_return co_await router->exec(pipeline, options);
  }
  auto impl = impl_;
  auto replies = co_await impl->async_exec(pipeline, options, asio::use_awaitable);

  // NOSCRIPT: the server lost its script cache (SCRIPT FLUSH, restart). Those
  // commands did not run; load each script and run them again, once.
  std::vector<std::size_t> redo;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (pipeline.script_of(i) != nullptr && replies[i].is_error() &&
        replies[i].str().starts_with("NOSCRIPT")) {
      redo.push_back(i);
    }
  }
  if (redo.empty()) co_return replies;

  Pipeline again;
  std::vector<const Script*> loaded;
  for (std::size_t i : redo) {
    const Script* s = pipeline.script_of(i);
    if (std::find(loaded.begin(), loaded.end(), s) == loaded.end()) {
      loaded.push_back(s);
      again.add("SCRIPT", "LOAD", s->source());
    }
  }
  for (std::size_t i : redo) again.add_copy(pipeline, i);
  auto retried = co_await impl->async_exec(again, options, asio::use_awaitable);
  for (std::size_t k = 0; k < loaded.size(); ++k) {
    if (retried[k].is_error()) {
      throw ServerError("cannot load script '" + loaded[k]->name() + "': " + std::string(retried[k].str()));
    }
  }
  for (std::size_t k = 0; k < redo.size(); ++k) replies[redo[k]] = std::move(retried[loaded.size() + k]);
  co_return replies;
}

asio::awaitable<Reply> Client::exec_one(Pipeline single, CommandOptions options) {
  auto replies = co_await exec(std::move(single), options);
  if (replies.size() != 1) throw ProtocolError("expected one reply");
  if (replies[0].is_error()) throw ServerError(std::string(replies[0].str()));
  co_return std::move(replies[0]);
}

asio::awaitable<Reply> Client::eval(const Script& script, std::span<const std::string> keys,
                                    std::span<const std::string> args, CommandOptions options) {
  Pipeline p;
  p.add_eval(script, keys, args);
  return exec_one(std::move(p), options);
}

void Client::close() {
  if (cluster_) {
    cluster_->close();
  } else {
    impl_->close();
  }
}
bool Client::connected() const noexcept { return cluster_ ? cluster_->connected() : impl_->connected(); }
std::chrono::milliseconds Client::oldest_wait() const noexcept {
  return cluster_ ? std::chrono::milliseconds(0) : impl_->oldest_wait();
}
bool Client::reachable() const noexcept { return cluster_ ? cluster_->reachable() : impl_->connected(); }
bool Client::key_unreachable(std::string_view key) const noexcept {
  return cluster_ && cluster_->slot_unreachable(key_slot(key));
}
std::string Client::key_primary(std::string_view key) const {
  return cluster_ ? cluster_->slot_primary(key_slot(key)) : std::string();
}
std::string Client::last_error() const { return cluster_ ? cluster_->last_error() : impl_->last_error(); }
ClientStats Client::stats() const noexcept { return cluster_ ? cluster_->stats() : impl_->stats(); }
const Config& Client::config() const noexcept { return cluster_ ? cluster_->config() : impl_->config(); }
asio::any_io_executor Client::executor() const noexcept { return cluster_ ? cluster_->executor() : impl_->executor(); }
ClusterStats Client::cluster_stats() const noexcept { return cluster_ ? cluster_->cluster_stats() : ClusterStats{}; }

asio::awaitable<std::vector<std::string>> Client::scan_keys(std::string pattern) {
  if (cluster_) {
    auto router = cluster_;
    co_return co_await router->scan_keys(std::move(pattern));
  }
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    const Reply r = co_await command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = std::string(r[0].str());
    for (const Reply& k : r[1].elements()) keys.emplace_back(k.str());
  } while (cursor != "0");
  co_return keys;
}

asio::awaitable<std::vector<std::vector<Reply>>> Client::exec_on_primaries(Pipeline pipeline, CommandOptions options) {
  if (cluster_) {
    auto router = cluster_;
    co_return co_await router->exec_on_primaries(pipeline, options);
  }
  std::vector<std::vector<Reply>> out;
  out.push_back(co_await exec(std::move(pipeline), options));
  co_return out;
}

}  // namespace steadfast::redis
