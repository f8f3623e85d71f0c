// A reply that is an error, surfaced as an exception: for the replies of
// scripts and commands whose error is a bug or server trouble (OOM,
// NOGROUP, a cross-slot access) rather than an answer to branch on.
#pragma once

#include <string>

#include "redis/error.h"
#include "redis/reply.h"

namespace steadfast::redis {

// `r` itself; throws ServerError with Redis' message when it is an error.
inline const Reply& checked(const Reply& r) {
  if (r.is_error()) throw ServerError(std::string(r.str()));
  return r;
}

}  // namespace steadfast::redis
