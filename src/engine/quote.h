// Quoting untrusted text (names, keys) for error messages and logs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace steadfast::engine {

// 'text' in single quotes, control characters as \xNN, so that a newline in
// a bad name cannot forge a second log line. Text longer than max_bytes is
// cut there and marked with "..." after the closing quote.
[[nodiscard]] std::string quote(std::string_view text, std::size_t max_bytes = 200);

}  // namespace steadfast::engine
