#include "engine/json_size.h"

namespace steadfast::engine {

namespace {

constexpr std::size_t kSlot = 24;      // a value in an array, with the vector's growth slack
constexpr std::size_t kObject = 64;    // the std::map of an object
constexpr std::size_t kArray = 40;     // the std::vector of an array
constexpr std::size_t kString = 48;    // the std::string of a string value
constexpr std::size_t kMember = 104;   // a map node: key string, value, tree links
constexpr std::size_t kShortString = 15;  // longer strings allocate their bytes...
constexpr std::size_t kLongString = 32;   // ...plus the terminator and the allocation's overhead

bool starts_scalar(char c) noexcept {
  return (c >= '0' && c <= '9') || c == '-' || c == 't' || c == 'f' || c == 'n';
}

}  // namespace

ParsedSize parsed_size_estimate(std::string_view text) noexcept {
  std::size_t objects = 0, arrays = 0, strings = 0, members = 0, scalars = 0, long_bytes = 0;
  bool in_token = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      // A string: up to its closing quote (escapes skipped).
      std::size_t length = 0;
      for (++i; i < text.size() && text[i] != '"'; ++i, ++length) {
        if (text[i] == '\\') ++i;
      }
      ++strings;
      if (length > kShortString) long_bytes += length + kLongString;
      in_token = false;
      continue;
    }
    if (c == '{') ++objects;
    if (c == '[') ++arrays;
    if (c == ':') ++members;  // the string before it was a key
    if (starts_scalar(c)) {
      if (!in_token) ++scalars;
      in_token = true;
    } else if (!(c >= 'a' && c <= 'z') && c != '.' && c != '+' && c != 'E') {
      in_token = false;
    }
  }
  const std::size_t value_strings = strings >= members ? strings - members : 0;
  const std::size_t values = objects + arrays + value_strings + scalars;
  const std::size_t slots = values >= members ? values - members : 0;
  ParsedSize out;
  out.values = values;
  out.bytes = kSlot * slots + kObject * objects + kArray * arrays + kString * value_strings + kMember * members +
              long_bytes;
  return out;
}

}  // namespace steadfast::engine
