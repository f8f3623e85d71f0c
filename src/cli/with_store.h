// A Store for one CLI command: a private io_context and Redis connection,
// the deployment's config checked, closed when the command's coroutine ends.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "cli/common.h"
#include "redis/client.h"
#include "store/config.h"
#include "store/keys.h"
#include "store/store.h"

namespace steadfast::cli {

// Runs op(store) (a coroutine returning T) to its end and returns its result;
// rethrows its exception. The connection is closed after, either way.
template <typename T, typename F>
T with_store(const Connection& conn, F op) {
  boost::asio::io_context io;
  redis::Client client(io.get_executor(), redis::Config::from_url(conn.redis_url));
  store::Store st(client, store::KeySpace::for_redis(client.config(), conn.key_prefix, conn.partitions));
  return run_sync(io, [](redis::Client& c, store::Store& s, F f) -> boost::asio::awaitable<T> {
    struct Close {
      redis::Client& c;
      ~Close() { c.close(); }
    } close{c};
    co_await c.wait_connected();
    co_await store::check_config(c, s.keys());
    co_return co_await f(s);
  }(client, st, std::move(op)));
}

}  // namespace steadfast::cli
