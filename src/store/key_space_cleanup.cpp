#include "store/key_space_cleanup.h"

#include <string>

namespace steadfast::store {

boost::asio::awaitable<std::size_t> delete_key_space(redis::Client& client, const KeySpace& keys) {
  // The prefix has none of * ? [ ] \ (is_valid_key_prefix), so it is its own glob.
  const std::string pattern = keys.prefix() + ":*";
  std::size_t deleted = 0;
  std::string cursor = "0";
  do {
    redis::Reply r = co_await client.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = std::string(r[0].str());
    for (const redis::Reply& k : r[1].elements()) {
      deleted += static_cast<std::size_t>((co_await client.command("UNLINK", k.str())).as_integer());
    }
  } while (cursor != "0");
  co_return deleted;
}

}  // namespace steadfast::store
