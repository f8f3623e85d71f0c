// Who an operator action of this process is, in the audit log (Store::audit).
#pragma once

#include <string>
#include <string_view>

namespace steadfast::store {

// "<program>:<user>@<host>" ($USER and the host name; "unknown" for either
// when not known), e.g. "cli:ana@ops-1".
[[nodiscard]] std::string local_actor(std::string_view program);

}  // namespace steadfast::store
