#include "store/key_space_cleanup.h"

#include <string>

namespace steadfast::store {

boost::asio::awaitable<std::size_t> delete_key_space(redis::Client& client, const KeySpace& keys) {
  // The prefix has none of * ? [ ] \ (is_valid_key_prefix), so it is its own glob.
  const std::string pattern = keys.prefix() + ":*";
  std::size_t deleted = 0;
  for (const std::string& k : co_await client.scan_keys(pattern)) {
    deleted += static_cast<std::size_t>((co_await client.command("UNLINK", k)).as_integer());
  }
  co_return deleted;
}

}  // namespace steadfast::store
