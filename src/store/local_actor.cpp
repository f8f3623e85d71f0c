#include "store/local_actor.h"

#include <unistd.h>

#include <cstdlib>

namespace steadfast::store {

std::string local_actor(std::string_view program) {
  const char* user = std::getenv("USER");
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(program) + ":" + (user && *user ? user : "unknown") + "@" + (host[0] ? host : "unknown");
}

}  // namespace steadfast::store
