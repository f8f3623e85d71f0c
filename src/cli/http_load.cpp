#include "cli/http_load.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace steadfast::cli {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

using Clock = std::chrono::steady_clock;

// Status code and Content-Length of a response head ("HTTP/1.1 201 Created\r\n...").
struct Head {
  int status = 0;
  std::size_t content_length = 0;
};

Head parse_head(std::string_view head) {
  Head h;
  if (head.size() >= 12) std::from_chars(head.data() + 9, head.data() + 12, h.status);
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    std::string_view rest = head.substr(pos);
    constexpr std::string_view kName = "content-length:";
    if (rest.size() > kName.size()) {
      bool match = true;
      for (std::size_t i = 0; i < kName.size() && match; ++i) {
        match = std::tolower(static_cast<unsigned char>(rest[i])) == kName[i];
      }
      if (match) {
        std::string_view v = rest.substr(kName.size());
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        std::from_chars(v.data(), v.data() + v.size(), h.content_length);
      }
    }
  }
  return h;
}

struct Shared {
  const LoadSpec& spec;
  std::string request;
  Clock::time_point start;
  Clock::time_point end;
  LoadResult result;
  int connected = 0;
};

asio::awaitable<void> connection(Shared& sh, int index) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  tcp::endpoint ep(asio::ip::make_address(sh.spec.host), static_cast<unsigned short>(sh.spec.port));
  auto [cerr] = co_await socket.async_connect(ep, asio::as_tuple(asio::use_awaitable));
  if (cerr) {
    ++sh.result.errors;
    co_return;
  }
  ++sh.connected;
  socket.set_option(tcp::no_delay(true));
  asio::steady_timer timer(ex);
  std::string buffer;
  // Open loop: connection i sends at start + (i + k * connections) / rate.
  const double interval_s = sh.spec.rate_per_s > 0 ? sh.spec.connections / sh.spec.rate_per_s : 0.0;
  const auto offset = std::chrono::duration<double>(sh.spec.rate_per_s > 0 ? index / sh.spec.rate_per_s : 0.0);
  for (std::int64_t k = 0;; ++k) {
    Clock::time_point scheduled = Clock::now();
    if (interval_s > 0) {
      scheduled = sh.start + std::chrono::duration_cast<Clock::duration>(
                                 offset + std::chrono::duration<double>(interval_s * static_cast<double>(k)));
      if (scheduled >= sh.end) break;
      if (scheduled > Clock::now()) {
        timer.expires_at(scheduled);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    } else if (scheduled >= sh.end) {
      break;
    }
    auto [werr, wn] = co_await asio::async_write(socket, asio::buffer(sh.request),
                                                 asio::as_tuple(asio::use_awaitable));
    if (werr) break;
    auto [rerr, head_len] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n",
                                                            asio::as_tuple(asio::use_awaitable));
    if (rerr) break;
    const Head head = parse_head(std::string_view(buffer).substr(0, head_len));
    const std::size_t total = head_len + head.content_length;
    if (buffer.size() < total) {
      auto [berr, bn] = co_await asio::async_read(socket, asio::dynamic_buffer(buffer),
                                                  asio::transfer_exactly(total - buffer.size()),
                                                  asio::as_tuple(asio::use_awaitable));
      if (berr) break;
    }
    buffer.erase(0, total);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count();
    sh.result.latencies_ms.push_back(ms);
    ++sh.result.requests;
    if (head.status >= 200 && head.status < 300) {
      ++sh.result.ok;
    } else {
      ++sh.result.errors;
    }
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

LoadResult run_http_load(const LoadSpec& spec) {
  asio::io_context io(1);
  Shared sh{spec, {}, {}, {}, {}, 0};
  sh.request = "POST " + spec.target + " HTTP/1.1\r\nHost: " + spec.host + ":" + std::to_string(spec.port) +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(spec.body.size()) +
               "\r\n\r\n" + spec.body;
  sh.start = Clock::now() + std::chrono::milliseconds(50);  // time to connect first
  sh.end = sh.start + spec.duration;
  for (int i = 0; i < spec.connections; ++i) asio::co_spawn(io, connection(sh, i), asio::detached);
  io.run();
  if (sh.connected == 0) {
    throw std::runtime_error("cannot connect to " + spec.host + ":" + std::to_string(spec.port));
  }
  sh.result.seconds = std::chrono::duration<double>(std::max(Clock::now(), sh.end) - sh.start).count();
  return std::move(sh.result);
}

}  // namespace steadfast::cli
