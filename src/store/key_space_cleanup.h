// Removing a whole key space: every key under a prefix, so a tool that used a
// private prefix on a shared Redis (`steadfast bench --redis URL`) leaves the
// server as it found it.
//
// Thread-safety: as redis::Client — call from the client's executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>

#include "redis/client.h"
#include "store/keys.h"

namespace steadfast::store {

// UNLINKs every key whose name starts with "<prefix>:" (SCAN, so other
// clients are not blocked; keys written meanwhile may survive). Returns how
// many keys it unlinked. Keys of any other prefix are untouched, including
// prefixes that merely start with the same letters ("sf" spares "sfx:...").
boost::asio::awaitable<std::size_t> delete_key_space(redis::Client& client, const KeySpace& keys);

}  // namespace steadfast::store
