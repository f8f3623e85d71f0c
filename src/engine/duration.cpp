#include "engine/duration.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/quote.h"

namespace steadfast::engine {
namespace {

// Enough for any int64 numerator: 18 digits < 2^63.
constexpr std::size_t kMaxDigits = 18;

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  throw std::invalid_argument("invalid duration " + quote(text) + ": " + std::string(why));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  constexpr std::string_view kForm =
      R"(expected a number and a unit (ms, s, m, h), like "250ms" or "1.5s")";
  if (text.empty()) bad(text, kForm);
  if (text.front() == '-') bad(text, "must not be negative");

  // Digits, then an optional '.' and digits; the numerator collects both
  // parts, `decimals` counts the fraction's digits.
  std::size_t i = 0;
  std::int64_t numerator = 0;
  std::size_t digits = 0;
  int decimals = 0;
  bool in_fraction = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (is_digit(c)) {
      if (++digits > kMaxDigits) bad(text, "too many digits");
      numerator = numerator * 10 + (c - '0');
      if (in_fraction) ++decimals;
    } else if (c == '.' && !in_fraction && digits > 0) {
      in_fraction = true;
    } else {
      break;
    }
  }
  if (digits == 0) bad(text, kForm);
  if (in_fraction && decimals == 0) bad(text, "expected digits after the decimal point");

  const std::string_view unit = text.substr(i);
  std::int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 60 * 60 * 1000;
  } else if (unit.empty()) {
    bad(text, "a number needs a unit: ms, s, m or h");
  } else {
    bad(text, "unknown unit " + quote(unit) + " (expected ms, s, m or h)");
  }

  std::int64_t scaled = 0;
  if (__builtin_mul_overflow(numerator, factor, &scaled)) bad(text, "too large");
  std::int64_t divisor = 1;
  for (int d = 0; d < decimals; ++d) divisor *= 10;
  if (scaled % divisor != 0) bad(text, "not a whole number of milliseconds");
  return std::chrono::milliseconds{scaled / divisor};
}

std::string format_duration(std::chrono::milliseconds d) {
  const std::int64_t total = d.count() < 0 ? 0 : d.count();
  if (total == 0) return "0s";
  if (total < 1000) return std::to_string(total) + "ms";
  const std::int64_t h = total / 3'600'000;
  const std::int64_t m = total / 60'000 % 60;
  const std::int64_t s = total / 1000 % 60;
  const std::int64_t ms = total % 1000;
  if (h > 0) return std::to_string(h) + "h" + std::to_string(m) + "m" + (s > 0 ? std::to_string(s) + "s" : "");
  if (m > 0) return std::to_string(m) + "m" + std::to_string(s) + "s";
  if (ms == 0) return std::to_string(s) + "s";
  std::string frac = std::to_string(1000 + ms).substr(1);  // three digits
  while (frac.back() == '0') frac.pop_back();
  return std::to_string(s) + "." + frac + "s";
}

}  // namespace steadfast::engine
