#include "config/yaml_json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string_view>

#include "engine/quote.h"

namespace steadfast::config {
namespace {

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool one_of(std::string_view text, std::initializer_list<std::string_view> options) {
  for (const auto option : options) {
    if (text == option) return true;
  }
  return false;
}

bool all_of(std::string_view text, bool (*pred)(char)) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!pred(c)) return false;
  }
  return true;
}

bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ (core schema). nullopt: not an integer.
// Throws std::out_of_range for an integer that fits neither int64 nor uint64.
std::optional<Json> parse_int(std::string_view text) {
  int base = 10;
  bool negative = false;
  std::string_view digits = text;
  if (text.starts_with("0o") && all_of(text.substr(2), is_oct)) {
    base = 8;
    digits = text.substr(2);
  } else if (text.starts_with("0x") && all_of(text.substr(2), is_hex)) {
    base = 16;
    digits = text.substr(2);
  } else {
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
      negative = digits.front() == '-';
      digits.remove_prefix(1);
    }
    if (!all_of(digits, is_dec)) return std::nullopt;
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    throw std::out_of_range("integer out of range");
  }
  constexpr auto kMaxInt = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!negative) {
    if (magnitude <= kMaxInt) return Json(static_cast<std::int64_t>(magnitude));
    return Json(magnitude);
  }
  if (magnitude <= kMaxInt) return Json(-static_cast<std::int64_t>(magnitude));
  if (magnitude == kMaxInt + 1) return Json(std::numeric_limits<std::int64_t>::min());
  throw std::out_of_range("integer out of range");
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and .inf/.nan (core
// schema). nullopt: not a float. Throws std::out_of_range for values JSON
// cannot hold (infinities, NaN, overflow).
std::optional<Json> parse_float(std::string_view text) {
  std::string_view rest = text;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) rest.remove_prefix(1);
  if (one_of(rest, {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"})) {
    throw std::out_of_range("infinity and NaN are not representable in JSON");
  }
  // Validate the shape by hand: from_chars alone accepts "inf", "1e", hex...
  std::size_t i = 0;
  std::size_t mantissa_digits = 0;
  while (i < rest.size() && is_dec(rest[i])) ++i, ++mantissa_digits;
  if (i < rest.size() && rest[i] == '.') {
    ++i;
    while (i < rest.size() && is_dec(rest[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < rest.size() && (rest[i] == 'e' || rest[i] == 'E')) {
    ++i;
    if (i < rest.size() && (rest[i] == '-' || rest[i] == '+')) ++i;
    std::size_t exponent_digits = 0;
    while (i < rest.size() && is_dec(rest[i])) ++i, ++exponent_digits;
    if (exponent_digits == 0) return std::nullopt;
  }
  if (i != rest.size()) return std::nullopt;

  // from_chars takes no '+' and wants a digit before '.'.
  std::string normalized(text.front() == '-' ? "-" : "");
  if (rest.front() == '.') normalized += '0';
  normalized += rest;
  double value = 0;
  const auto [end, ec] =
      std::from_chars(normalized.data(), normalized.data() + normalized.size(), value);
  if (ec != std::errc{} || end != normalized.data() + normalized.size() || !std::isfinite(value)) {
    throw std::out_of_range("number out of range");
  }
  return Json(value);
}

std::optional<Json> parse_bool(std::string_view text) {
  if (one_of(text, {"true", "True", "TRUE"})) return Json(true);
  if (one_of(text, {"false", "False", "FALSE"})) return Json(false);
  return std::nullopt;
}

bool is_null_text(std::string_view text) { return one_of(text, {"", "~", "null", "Null", "NULL"}); }

[[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) {
  throw YamlError(node.Mark(), key, what);
}

Json resolve_plain(const YAML::Node& node, const std::string& key) {
  const std::string& text = node.Scalar();
  if (is_null_text(text)) return nullptr;
  if (auto value = parse_bool(text)) return *value;
  try {
    if (auto value = parse_int(text)) return *value;
    if (auto value = parse_float(text)) return *value;
  } catch (const std::out_of_range& e) {
    fail(node, key, std::string(e.what()) + ": " + engine::quote(text));
  }
  return text;
}

Json resolve_tagged(const YAML::Node& node, const std::string& key, std::string_view type) {
  const std::string& text = node.Scalar();
  std::optional<Json> value;
  try {
    if (type == "str") return text;
    if (type == "null" && is_null_text(text)) return nullptr;
    if (type == "bool") value = parse_bool(text);
    if (type == "int") value = parse_int(text);
    if (type == "float") {
      value = parse_int(text);
      if (value) {
        value = Json(value->get<double>());
      } else {
        value = parse_float(text);
      }
    }
  } catch (const std::out_of_range& e) {
    fail(node, key, std::string(e.what()) + ": " + engine::quote(text));
  }
  if (!value) {
    fail(node, key, engine::quote(text) + " is not a valid !!" + std::string(type));
  }
  return *value;
}

void check_collection_tag(const YAML::Node& node, const std::string& key, std::string_view type) {
  const std::string& tag = node.Tag();
  if (tag.empty() || tag == "?" || tag == "!" ||
      (tag.starts_with(kTagPrefix) && std::string_view(tag).substr(kTagPrefix.size()) == type)) {
    return;
  }
  fail(node, key, "unsupported tag " + engine::quote(tag));
}

Json convert(const YAML::Node& node, const std::string& key, JsonBudget& budget, int depth) {
  if (budget.nodes_left == 0) {
    fail(node, key,
         "too many values (more than " + std::to_string(budget.max_nodes) +
             " in the file; an alias counts once per use)");
  }
  --budget.nodes_left;
  if (depth > budget.max_depth) {
    fail(node, key, "nested deeper than " + std::to_string(budget.max_depth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
    case YAML::NodeType::Scalar:
      return yaml_scalar_to_json(node, key);
    case YAML::NodeType::Sequence: {
      check_collection_tag(node, key, "seq");
      Json out = Json::array();
      for (const auto& item : node) out.push_back(convert(item, key, budget, depth + 1));
      return out;
    }
    case YAML::NodeType::Map: {
      check_collection_tag(node, key, "map");
      Json out = Json::object();
      for (const auto& entry : node) {
        const YAML::Node& k = entry.first;
        if (!k.IsScalar()) fail(k, key, "a map key must be a plain string");
        const std::string& name = k.Scalar();
        if (!engine::is_utf8(name)) fail(k, key, "a map key that is not UTF-8 once its escapes are read");
        if (out.contains(name)) fail(k, name, "duplicate key");
        out[name] = convert(entry.second, name, budget, depth + 1);
      }
      return out;
    }
  }
  fail(node, key, "unsupported YAML node");
}

}  // namespace

Json yaml_scalar_to_json(const YAML::Node& node, const std::string& key) {
  // The file is checked to be UTF-8, but yaml-cpp writes some escapes of
  // double-quoted strings (\_ and \N: U+00A0, U+0085) as one raw byte, which
  // no JSON string can hold.
  if (node.IsDefined() && node.IsScalar() && !engine::is_utf8(node.Scalar())) {
    fail(node, key,
         "a string that is not UTF-8 once its escapes are read (write the character itself, not \\_ or \\N)");
  }
  if (!node.IsDefined() || node.IsNull()) {
    if (node.IsDefined() && node.Tag() == std::string(kTagPrefix) + "str") return "";
    return nullptr;
  }
  if (!node.IsScalar()) fail(node, key, "expected a single value");
  const std::string& tag = node.Tag();
  if (tag == "?" || tag.empty()) return resolve_plain(node, key);
  if (tag == "!") return node.Scalar();  // quoted or block scalar: always a string
  if (tag.starts_with(kTagPrefix)) {
    const std::string_view type = std::string_view(tag).substr(kTagPrefix.size());
    if (one_of(type, {"str", "int", "float", "bool", "null"})) {
      return resolve_tagged(node, key, type);
    }
  }
  fail(node, key, "unsupported tag " + engine::quote(tag));
}

Json yaml_to_json(const YAML::Node& node, const std::string& key, JsonBudget& budget) {
  return convert(node, key, budget, 0);
}

}  // namespace steadfast::config
