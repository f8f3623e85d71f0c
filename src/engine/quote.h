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

// Text for a terminal or a log line, unquoted: C0 controls (newline and tab
// included) and DEL as \xNN, C1 controls (U+0080..U+009F, which some
// terminals obey as ESC sequences) as \u00NN, and bytes that are not UTF-8 as
// \xNN; everything else as it is. What the CLI prints of stored values (run
// ids, names, errors) and of error messages goes through it, so text from a
// run's input can neither forge a line nor drive the terminal.
[[nodiscard]] std::string printable(std::string_view text);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF): what a JSON string may hold.
[[nodiscard]] bool is_utf8(std::string_view text);

}  // namespace steadfast::engine
