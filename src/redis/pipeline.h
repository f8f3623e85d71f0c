// A batch of commands, formatted to RESP when added (hiredis' formatter), sent
// in one write and answered in order. Not thread-safe; a value type.
#pragma once

#include <array>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/script.h"

namespace steadfast::redis {

namespace detail {
// Room for any integer argument rendered in base 10.
struct NumberText {
  std::array<char, 24> buf{};
  std::size_t len = 0;
};
inline std::string_view as_arg(std::string_view s, NumberText&) { return s; }
inline std::string_view as_arg(const std::string& s, NumberText&) { return s; }
inline std::string_view as_arg(const char* s, NumberText&) { return s; }
template <std::integral T>
std::string_view as_arg(T v, NumberText& t) {
  auto [p, ec] = std::to_chars(t.buf.data(), t.buf.data() + t.buf.size(), v);
  (void)ec;  // 24 chars always fit a 64-bit integer
  t.len = static_cast<std::size_t>(p - t.buf.data());
  return {t.buf.data(), t.len};
}
}  // namespace detail

class Pipeline {
 public:
  Pipeline() = default;

  // Appends one command; arguments are strings, string_views or integers.
  template <typename... A>
  Pipeline& add(const A&... args) {
    std::array<detail::NumberText, sizeof...(A)> numbers;
    std::size_t i = 0;
    std::array<std::string_view, sizeof...(A)> argv{detail::as_arg(args, numbers[i++])...};
    return add_argv(argv);
  }
  Pipeline& add_argv(std::span<const std::string_view> argv);
  Pipeline& add_argv(std::span<const std::string> argv);

  // EVALSHA of script with keys and args. When Redis answers NOSCRIPT (first
  // use after a start, SCRIPT FLUSH), the client loads the script and retries
  // the command once.
  Pipeline& add_eval(const Script& script, std::span<const std::string_view> keys,
                     std::span<const std::string_view> args);
  Pipeline& add_eval(const Script& script, std::span<const std::string> keys,
                     std::span<const std::string> args);

  [[nodiscard]] std::size_t size() const noexcept { return offsets_.size(); }
  [[nodiscard]] bool empty() const noexcept { return offsets_.empty(); }
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }
  // The RESP bytes of command i.
  [[nodiscard]] std::string_view command_bytes(std::size_t i) const;
  // The script run by command i, or nullptr for a plain command.
  [[nodiscard]] const Script* script_of(std::size_t i) const noexcept {
    return scripts_.empty() ? nullptr : scripts_[i];
  }
  // Appends command i of other (used to re-issue commands after NOSCRIPT).
  void add_copy(const Pipeline& other, std::size_t i);
  void reserve(std::size_t commands, std::size_t bytes);
  void clear();

 private:
  void mark_script(const Script* script);

  std::string bytes_;
  std::vector<std::uint32_t> offsets_;  // start of each command in bytes_
  std::vector<const Script*> scripts_;  // empty while no command is a script
};

}  // namespace steadfast::redis
