// Text from outside the engine (HTTP bodies, a program's stderr) made fit for
// an error message or a JSON output. Redact secrets before cutting: a cut
// could otherwise leave part of a secret in view.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace steadfast::steps {

// Valid UTF-8: each byte that does not start a well-formed sequence becomes
// U+FFFD. (JSON strings must be UTF-8; nlohmann's dump() throws otherwise.)
[[nodiscard]] std::string valid_utf8(std::string_view text);

// valid_utf8(), and control characters other than '\n' and '\t' as \xNN, so
// that a body or a stderr cannot forge log lines or move the terminal.
[[nodiscard]] std::string printable(std::string_view text);

// The first (last) bytes of `text`, at most max_bytes in all, cut at a UTF-8
// character boundary; "..." marks the cut and counts in max_bytes.
[[nodiscard]] std::string head(std::string_view text, std::size_t max_bytes);
[[nodiscard]] std::string tail(std::string_view text, std::size_t max_bytes);

}  // namespace steadfast::steps
