#include "engine/json_schema.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// RapidJSON's asserts guard its own invariants; make a broken one an exception
// (a 500 for one request, or a startup error for a schema), never an abort.
#define RAPIDJSON_ASSERT(x) \
  if (!(x)) throw std::logic_error("RapidJSON assertion failed: " #x)
#define RAPIDJSON_HAS_STDSTRING 1
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/pointer.h>
#include <rapidjson/reader.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

namespace steadfast::engine {

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string pointer_text(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return {sb.GetString(), sb.GetSize()};
}

// The node at a JSON pointer, or nullptr.
const Json* at_pointer(const Json& root, const std::string& pointer) {
  try {
    const Json::json_pointer p(pointer);
    return root.contains(p) ? &root.at(p) : nullptr;
  } catch (const Json::exception&) {
    return nullptr;
  }
}

std::string short_dump(const Json& j) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 120) s = s.substr(0, 117) + "...";
  return s;
}

// A boolean member of `schema`; false when absent or not a boolean (as
// RapidJSON reads exclusiveMinimum/exclusiveMaximum).
bool flag(const Json& schema, const char* name) {
  const auto it = schema.find(name);
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

std::string describe(std::string_view keyword, const Json* schema) {
  const Json* v = schema != nullptr && schema->is_object() && schema->contains(keyword)
                      ? &schema->at(std::string(keyword))
                      : nullptr;
  const std::string value = v != nullptr ? short_dump(*v) : "";
  if (keyword == "type" && v != nullptr) {
    if (v->is_string()) return "must be of type " + v->get<std::string>();
    return "must be of one of the types " + value;
  }
  if (keyword == "enum") return "must be one of " + value;
  if (keyword == "minimum") {
    const bool exclusive = flag(*schema, "exclusiveMinimum");
    return std::string("must be ") + (exclusive ? "> " : ">= ") + value;
  }
  if (keyword == "maximum") {
    const bool exclusive = flag(*schema, "exclusiveMaximum");
    return std::string("must be ") + (exclusive ? "< " : "<= ") + value;
  }
  if (keyword == "multipleOf") return "must be a multiple of " + value;
  if (keyword == "minLength") return "must be at least " + value + " characters long";
  if (keyword == "maxLength") return "must be at most " + value + " characters long";
  if (keyword == "pattern") return "must match the pattern " + value;
  if (keyword == "minItems") return "must have at least " + value + " items";
  if (keyword == "maxItems") return "must have at most " + value + " items";
  if (keyword == "uniqueItems") return "must not hold duplicate items";
  if (keyword == "minProperties") return "must have at least " + value + " members";
  if (keyword == "maxProperties") return "must have at most " + value + " members";
  if (keyword == "additionalProperties") return "is not an allowed member";
  if (keyword == "patternProperties") return "does not match the schema for member names like it";
  if (keyword == "additionalItems") return "is not an allowed item";
  if (keyword == "not") return "must not match the schema under 'not'";
  if (keyword == "anyOf") return "must match at least one schema of 'anyOf'";
  if (keyword == "oneOf") return "must match exactly one schema of 'oneOf'";
  if (keyword == "allOf") return "must match every schema of 'allOf'";
  if (keyword == "dependencies") return "misses a member that another member depends on";
  return "fails the schema keyword '" + std::string(keyword) + "'";
}

// Shorthand classes in RapidJSON's dialect, inside a character class.
const char* shorthand_class(char c) {
  switch (c) {
    case 'd':
    case 'D': return "0-9";
    case 'w':
    case 'W': return "A-Za-z0-9_";
    case 's':
    case 'S': return " \t\n\r\f\v";  // the characters themselves
    default: return nullptr;
  }
}

// RapidJSON's regex engine copies a quantified atom once per repetition
// ("\d{5}" is five states), at compile time, and matches in time proportional
// to the states: "\d{8888888884,}" exhausted memory. Patterns are refused
// above this many states.
constexpr std::size_t kMaxPatternStates = 10'000;
constexpr int kMaxPatternDepth = 100;

// What RapidJSON's regex engine would build from a pattern (in its dialect),
// as far as it can hurt: an upper bound on the states, saturating just above
// kMaxPatternStates, and whether a repetition without an upper bound (*, +,
// {n,}) applies to something that matches the empty string ("(a*)*",
// "([a-z]*,?)*"): the engine follows such a loop of empty transitions without
// end and overflows the stack, compiling or matching; and whether
// parentheses nest deeper than kMaxPatternDepth (this parser recurses on
// them). Lenient on syntax otherwise: RapidJSON judges that.
class PatternShape {
 public:
  explicit PatternShape(std::string_view pattern) {
    std::size_t i = 0;
    for (;;) {
      states_ = cap(states_ + Parser(pattern, i, empty_loop_, too_deep_, nothing_to_repeat_).alternation().states);
      if (i >= pattern.size()) break;
      ++i;  // a ')' without its '(': counted past, RapidJSON refuses it anyway
    }
  }
  [[nodiscard]] std::size_t states() const noexcept { return states_; }
  [[nodiscard]] bool empty_loop() const noexcept { return empty_loop_; }
  [[nodiscard]] bool too_deep() const noexcept { return too_deep_; }
  // A quantifier with nothing before it in its sequence ("(?*x)", "a|*"):
  // RapidJSON applies it to the operand before the group ("&(?*=x)" repeats
  // "&?"), which can loop on the empty string — found by the schema fuzzer.
  [[nodiscard]] bool nothing_to_repeat() const noexcept { return nothing_to_repeat_; }

 private:
  struct Part {
    std::size_t states = 0;
    bool nullable = true;  // matches the empty string
  };

  static std::size_t cap(std::size_t n) { return std::min(n, kMaxPatternStates + 1); }
  static std::size_t times(std::size_t a, std::size_t b) {
    return b != 0 && a > (kMaxPatternStates + 1) / b ? kMaxPatternStates + 1 : cap(a * b);
  }

  class Parser {
   public:
    Parser(std::string_view p, std::size_t& i, bool& empty_loop, bool& too_deep, bool& nothing_to_repeat)
        : p_(p), i_(i), empty_loop_(empty_loop), too_deep_(too_deep), nothing_to_repeat_(nothing_to_repeat) {}

    Part alternation() {
      Part all = sequence();
      while (i_ < p_.size() && p_[i_] == '|') {
        ++i_;
        const Part next = sequence();
        all = {cap(all.states + 1 + next.states), all.nullable || next.nullable};
      }
      return all;
    }

   private:
    Part sequence() {
      Part all;
      bool first = true;
      while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
        if (first && (p_[i_] == '?' || p_[i_] == '*' || p_[i_] == '+' || p_[i_] == '{')) nothing_to_repeat_ = true;
        first = false;
        Part next = atom();
        // Quantifiers apply in turn: "a**" repeats "a*".
        while (i_ < p_.size() && (p_[i_] == '?' || p_[i_] == '*' || p_[i_] == '+' || p_[i_] == '{')) {
          next = quantified(next);
        }
        all = {cap(all.states + next.states), all.nullable && next.nullable};
      }
      return all;
    }

    Part atom() {
      const char c = p_[i_++];
      if (c == '(') {
        if (++depth_ > kMaxPatternDepth) {
          too_deep_ = true;
          i_ = p_.size();
          return {1, false};
        }
        const Part group = alternation();
        --depth_;
        if (i_ < p_.size() && p_[i_] == ')') ++i_;
        return group;
      }
      if (c == '^' || c == '$') return {1, true};  // anchors: zero width
      if (c == '[') {
        if (i_ < p_.size() && p_[i_] == '^') ++i_;
        if (i_ < p_.size() && p_[i_] == ']') ++i_;
        while (i_ < p_.size() && p_[i_] != ']') i_ += p_[i_] == '\\' ? 2 : 1;
        if (i_ < p_.size()) ++i_;
      } else if (c == '\\' && i_ < p_.size()) {
        ++i_;
      }
      return {1, false};
    }

    std::size_t number() {
      std::size_t n = 0;
      while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') n = cap(n * 10 + static_cast<std::size_t>(p_[i_++] - '0'));
      return n;
    }

    // `atom` under the quantifier at i_ (one of ? * + {).
    Part quantified(Part atom) {
      const char c = p_[i_++];
      if (c != '{') {
        if (c != '?' && atom.nullable) empty_loop_ = true;
        return {cap(atom.states + 1), c == '+' ? atom.nullable : true};
      }
      const std::size_t least = number();
      std::size_t copies = least;
      if (i_ < p_.size() && p_[i_] == ',') {
        ++i_;
        const bool bounded = i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9';
        if (!bounded && atom.nullable) empty_loop_ = true;
        copies = bounded ? std::max(copies, number()) : cap(copies + 1);
      }
      if (i_ < p_.size() && p_[i_] == '}') ++i_;
      return {cap(times(atom.states, std::max<std::size_t>(copies, 1)) + 1), least == 0 || atom.nullable};
    }

    std::string_view p_;
    std::size_t& i_;
    bool& empty_loop_;
    bool& too_deep_;
    bool& nothing_to_repeat_;
    int depth_ = 0;
  };

  std::size_t states_ = 0;
  bool empty_loop_ = false;
  bool too_deep_ = false;
  bool nothing_to_repeat_ = false;
};

// A JSON Schema (ECMA 262) pattern in the dialect of RapidJSON's regex engine
// (internal/regex.h: a linear-time subset), with \d \w \s and their negations
// spelled as classes. Throws std::invalid_argument when the engine cannot
// express it: RapidJSON would otherwise ignore the pattern, and accept anything.
std::string translate_pattern(const std::string& pattern, const std::string& where) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char n = pattern[++i];
      if (const char* cls = shorthand_class(n)) {
        const bool negated = n == 'D' || n == 'W' || n == 'S';
        if (in_class && negated) {
          throw std::invalid_argument("pattern \"" + pattern + "\" at " + where + ": \\" + n +
                                      " inside [...] is not supported");
        }
        out += in_class ? std::string(cls) : std::string(negated ? "[^" : "[") + cls + "]";
      } else {
        out += c;
        out += n;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    }
    out += c;
  }
  const PatternShape shape(out);
  if (shape.states() > kMaxPatternStates) {
    throw std::invalid_argument("pattern \"" + pattern + "\" at " + where + " repeats too much (more than " +
                                std::to_string(kMaxPatternStates) + " states for the validator's regex engine)");
  }
  if (shape.too_deep()) {
    throw std::invalid_argument("pattern \"" + pattern + "\" at " + where + " nests parentheses deeper than " +
                                std::to_string(kMaxPatternDepth));
  }
  if (shape.nothing_to_repeat()) {
    throw std::invalid_argument("pattern \"" + pattern + "\" at " + where +
                                " has a quantifier (? * + {n}) with nothing before it to repeat");
  }
  if (shape.empty_loop()) {
    throw std::invalid_argument("pattern \"" + pattern + "\" at " + where +
                                " repeats something that can match the empty string (as in (a*)*), which the "
                                "validator's regex engine cannot run");
  }
  bool valid = false;
  try {
    const rapidjson::internal::Regex re(out.c_str());
    valid = re.IsValid();
  } catch (const std::logic_error&) {
    // One of RapidJSON's assertions (they throw, see above): its regex parser
    // trips on some malformed patterns, e.g. "(=|?'".
  }
  if (!valid) {
    throw std::invalid_argument("pattern \"" + pattern + "\" at " + where +
                                " uses regex syntax the validator does not support (supported: "
                                "| ? * + {m,n} () ^ $ . [...] [^...] \\d \\w \\s and escapes; no "
                                "lookaround, backreferences or \\b)");
  }
  return out;
}

// Prepares a copy of a schema for RapidJSON 1.1.0, walking schema positions
// only (never `enum` or `default` values); `where` is its JSON pointer.
//  * Patterns are translated (translate_pattern) or refused.
//  * RapidJSON breaks its own validator stack (an assertion, a leak) on an
//    object member that matches `patternProperties` when `additionalProperties`
//    is false. `"additionalProperties": {"not": {}}` means the same (no other
//    member is allowed) and takes RapidJSON's working path.
void prepare(Json& schema, const std::string& where) {
  if (!schema.is_object()) return;
  if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
    *it = translate_pattern(it->get<std::string>(), where + "/pattern");
  }
  if (auto it = schema.find("patternProperties"); it != schema.end() && it->is_object()) {
    Json translated = Json::object();
    for (auto& [name, sub] : it->items()) {
      const std::string at = where + "/patternProperties/" + escape_pointer_token(name);
      prepare(sub, at);
      translated[translate_pattern(name, at)] = std::move(sub);
    }
    *it = std::move(translated);
    if (schema.contains("additionalProperties") && schema["additionalProperties"] == false) {
      schema["additionalProperties"] = Json{{"not", Json::object()}};
    }
  }
  for (const char* map : {"properties", "definitions", "dependencies"}) {
    if (auto it = schema.find(map); it != schema.end() && it->is_object()) {
      for (auto& [name, sub] : it->items()) prepare(sub, where + "/" + map + "/" + escape_pointer_token(name));
    }
  }
  for (const char* list : {"allOf", "anyOf", "oneOf", "items"}) {
    if (auto it = schema.find(list); it != schema.end() && it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i) prepare((*it)[i], where + "/" + list + "/" + std::to_string(i));
    }
  }
  for (const char* one : {"additionalProperties", "additionalItems", "items", "not"}) {
    if (auto it = schema.find(one); it != schema.end() && it->is_object()) prepare(*it, where + "/" + one);
  }
}

// RapidJSON 1.1.0 trusts the shape of a schema, and validation then follows
// pointers it never set: a non-object in an allOf/anyOf/oneOf or items array,
// or as a patternProperties value, leaves a null or uninitialized subschema; so
// does a local "$ref" that points to no object. A cycle of "$ref"s that refer
// to each other recurses without end while compiling. This checks every schema
// that validation can reach (from the root, through the keywords and local
// references, as RapidJSON resolves them) and throws std::invalid_argument
// naming the first that is wrong. Iterative: a schema may be large.
class ShapeCheck {
 public:
  explicit ShapeCheck(const rapidjson::Document& document) : document_(document) {}

  void run() {
    compiles();
    todo_.push_back({&document_, ""});
    while (!todo_.empty()) {
      auto [schema, where] = std::move(todo_.back());
      todo_.pop_back();
      check(*schema, where);
    }
    no_endless_reapplication();
  }

 private:
  using Value = rapidjson::Value;

  [[noreturn]] static void fail(const std::string& where, const std::string& what) {
    throw std::invalid_argument("schema at " + (where.empty() ? std::string("/") : where) + ": " + what);
  }

  void add(const Value& value, std::string where) {
    if (!value.IsObject()) fail(where, "a schema must be an object");
    todo_.push_back({&value, std::move(where)});
  }

  static std::string member_path(const std::string& where, const Value& name) {
    return where + "/" + escape_pointer_token(std::string_view(name.GetString(), name.GetStringLength()));
  }

  // The object a local "$ref" names, after following references to references;
  // nullptr when RapidJSON does not take `ref` for a local reference.
  const Value* resolve(const Value& ref, const std::string& where) const {
    std::vector<std::string> seen;
    const Value* target = nullptr;
    const Value* next = &ref;
    for (;;) {
      const std::string text(next->GetString(), next->GetStringLength());
      if (text.empty() || text.front() != '#') return target;  // remote: ignored (no provider)
      const rapidjson::Pointer pointer(text.c_str(), text.size());
      if (!pointer.IsValid()) return target;  // RapidJSON ignores it too
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
        fail(where, "\"$ref\" \"" + text + "\" is a cycle of references");
      }
      seen.push_back(text);
      target = pointer.Get(document_);
      if (target == nullptr || !target->IsObject()) {
        fail(where, "\"$ref\" \"" + text + "\" does not point to a schema (an object)");
      }
      const auto it = target->FindMember("$ref");
      if (it == target->MemberEnd() || !it->value.IsString()) return target;
      next = &it->value;
    }
  }

  // RapidJSON compiles every object of the document as a schema, wherever it
  // is, and some shapes trip its assertions (which throw here, see above)
  // halfway through, leaking what it built: a non-object patternProperties,
  // a non-string in a dependencies array, a pattern its regex parser chokes on.
  void compiles() const {
    std::vector<std::pair<const Value*, std::string>> values{{&document_, ""}};
    while (!values.empty()) {
      auto [value, where] = std::move(values.back());
      values.pop_back();
      if (value->IsArray()) {
        for (rapidjson::SizeType i = 0; i < value->Size(); ++i) {
          values.push_back({&(*value)[i], where + "/" + std::to_string(i)});
        }
        continue;
      }
      if (!value->IsObject()) continue;
      for (const auto& m : value->GetObject()) values.push_back({&m.value, member_path(where, m.name)});
      if (const auto it = value->FindMember("$ref"); it != value->MemberEnd() && it->value.IsString()) {
        follows_references(it->value, where + "/$ref");
      }
      if (const auto it = value->FindMember("pattern"); it != value->MemberEnd() && it->value.IsString()) {
        regex_parses(it->value.GetString(), where + "/pattern");
      }
      if (const auto it = value->FindMember("patternProperties"); it != value->MemberEnd()) {
        if (!it->value.IsObject()) fail(where + "/patternProperties", "must be an object of schemas");
        for (const auto& m : it->value.GetObject()) regex_parses(m.name.GetString(), member_path(where + "/patternProperties", m.name));
      }
      if (const auto it = value->FindMember("dependencies"); it != value->MemberEnd() && it->value.IsObject()) {
        for (const auto& m : it->value.GetObject()) {
          if (!m.value.IsArray()) continue;
          for (const Value& name : m.value.GetArray()) {
            if (!name.IsString()) fail(member_path(where + "/dependencies", m.name), "must list member names (strings)");
          }
        }
      }
    }
  }

  // RapidJSON follows a local "$ref" whose target is itself a "$ref" by
  // recursion, for every object it compiles (reachable or not): a cycle never
  // ends, a long chain overflows the stack, and a target that is not an object
  // trips an assertion. A target that does not exist is left to `resolve`.
  void follows_references(const Value& ref, const std::string& where) const {
    constexpr std::size_t kMaxChain = 32;
    std::vector<std::string> seen;
    const Value* next = &ref;
    for (;;) {
      const std::string text(next->GetString(), next->GetStringLength());
      if (text.empty() || text.front() != '#') return;
      const rapidjson::Pointer pointer(text.c_str(), text.size());
      if (!pointer.IsValid()) return;
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
        fail(where, "\"$ref\" \"" + text + "\" is a cycle of references");
      }
      if (seen.size() == kMaxChain) fail(where, "more than 32 \"$ref\"s in a row refer to each other");
      seen.push_back(text);
      const Value* target = pointer.Get(document_);
      if (target == nullptr) return;
      if (!target->IsObject()) fail(where, "\"$ref\" \"" + text + "\" does not point to a schema (an object)");
      const auto it = target->FindMember("$ref");
      if (it == target->MemberEnd() || !it->value.IsString()) return;
      next = &it->value;
    }
  }

  static void regex_parses(const char* pattern, const std::string& where) {
    const PatternShape shape(pattern);
    if (shape.states() > kMaxPatternStates) fail(where, "the pattern repeats too much");
    if (shape.too_deep()) fail(where, "the pattern nests parentheses too deep");
    if (shape.empty_loop()) fail(where, "the pattern repeats something that can match the empty string");
    try {
      const rapidjson::internal::Regex re(pattern);
    } catch (const std::logic_error&) {
      fail(where, "the pattern \"" + std::string(pattern) + "\" cannot be parsed");
    }
  }

  // Validation applies allOf, anyOf, oneOf, not, a dependency's schema and
  // a $ref's target to the same value; RapidJSON does so by recursion, so a
  // cycle of these edges (`{"not": {"$ref": "#"}}`) never ends. Iterative
  // depth-first search over the edges check() recorded.
  void no_endless_reapplication() const {
    enum class Mark { fresh, open, done };
    std::unordered_map<const Value*, Mark> mark;
    for (const auto& [start, ignored] : where_of_) {
      if (mark[start] != Mark::fresh) continue;
      std::vector<std::pair<const Value*, std::size_t>> path{{start, 0}};
      mark[start] = Mark::open;
      while (!path.empty()) {
        auto& [node, next] = path.back();
        const auto edges = same_value_.find(node);
        if (edges == same_value_.end() || next == edges->second.size()) {
          mark[node] = Mark::done;
          path.pop_back();
          continue;
        }
        const Value* to = edges->second[next++];
        const Mark m = mark[to];
        if (m == Mark::open) {
          const auto at = where_of_.find(to);
          fail(at == where_of_.end() ? std::string() : at->second,
               "validation would apply this schema to the same value again and again (through "
               "allOf/anyOf/oneOf/not/dependencies/$ref), without end");
        }
        if (m == Mark::fresh) {
          mark[to] = Mark::open;
          path.push_back({to, 0});
        }
      }
    }
  }

  // `to` is applied to the same value as `from`, and checked.
  void add_same(const Value& from, const Value& to, std::string where) {
    if (!to.IsObject()) fail(where, "a schema must be an object");
    same_value_[&from].push_back(&to);
    todo_.push_back({&to, std::move(where)});
  }

  void check(const Value& schema, const std::string& where) {
    if (!visited_.insert(&schema).second) return;
    where_of_.emplace(&schema, where.empty() ? "/" : where);
    if (const auto ref = schema.FindMember("$ref"); ref != schema.MemberEnd() && ref->value.IsString()) {
      if (const Value* target = resolve(ref->value, where + "/$ref")) {
        // RapidJSON uses the target in place of this object.
        add_same(schema, *target, std::string(ref->value.GetString(), ref->value.GetStringLength()));
        return;
      }
    }
    for (const char* list : {"allOf", "anyOf", "oneOf"}) {
      if (const auto it = schema.FindMember(list); it != schema.MemberEnd()) {
        if (!it->value.IsArray() || it->value.Empty()) fail(where + "/" + list, "must be a non-empty array of schemas");
        for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
          add_same(schema, it->value[i], where + "/" + list + "/" + std::to_string(i));
        }
      }
    }
    if (const auto it = schema.FindMember("items"); it != schema.MemberEnd()) {
      if (it->value.IsArray()) {
        for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
          add(it->value[i], where + "/items/" + std::to_string(i));
        }
      } else {
        add(it->value, where + "/items");
      }
    }
    for (const char* one : {"additionalItems", "additionalProperties"}) {
      if (const auto it = schema.FindMember(one); it != schema.MemberEnd() && !it->value.IsBool()) {
        add(it->value, where + "/" + one);
      }
    }
    if (const auto it = schema.FindMember("not"); it != schema.MemberEnd()) add_same(schema, it->value, where + "/not");
    for (const char* map : {"properties", "patternProperties", "definitions"}) {
      if (const auto it = schema.FindMember(map); it != schema.MemberEnd()) {
        if (!it->value.IsObject()) fail(where + "/" + map, "must be an object of schemas");
        for (const auto& m : it->value.GetObject()) add(m.value, member_path(where + "/" + map, m.name));
      }
    }
    if (const auto it = schema.FindMember("dependencies"); it != schema.MemberEnd()) {
      if (!it->value.IsObject()) fail(where + "/dependencies", "must be an object");
      for (const auto& m : it->value.GetObject()) {
        if (!m.value.IsArray()) add_same(schema, m.value, member_path(where + "/dependencies", m.name));
      }
    }
  }

  const rapidjson::Document& document_;
  std::vector<std::pair<const Value*, std::string>> todo_;
  std::set<const Value*> visited_;
  std::unordered_map<const Value*, std::string> where_of_;  // every schema checked: its path
  std::unordered_map<const Value*, std::vector<const Value*>> same_value_;  // see no_endless_reapplication
};

}  // namespace

struct JsonSchema::Impl {
  Json source;                 // for error messages (required members, bounds)
  rapidjson::Document document;  // kept alive for the compiled schema
  std::unique_ptr<rapidjson::SchemaDocument> compiled;
};

JsonSchema::JsonSchema(const Json& schema) : impl_(std::make_unique<Impl>()) {
  if (!schema.is_object()) throw std::invalid_argument("a JSON Schema must be an object");
  impl_->source = schema;
  Json compiled = schema;
  prepare(compiled, "");
  const std::string text = compiled.dump();
  impl_->document.Parse<rapidjson::kParseFullPrecisionFlag>(text.c_str(), text.size());
  if (impl_->document.HasParseError()) {
    throw std::invalid_argument(std::string("schema: ") +
                                rapidjson::GetParseError_En(impl_->document.GetParseError()));
  }
  ShapeCheck(impl_->document).run();
  try {
    impl_->compiled = std::make_unique<rapidjson::SchemaDocument>(impl_->document);
  } catch (const std::logic_error& e) {
    throw std::invalid_argument(std::string("schema cannot be compiled: ") + e.what());
  }
}

namespace {

// The draft-04 meta-schema (json-schema.org/draft-04/schema), without its `id`
// and `$schema`: its references are all local ("#", "#/definitions/...").
constexpr const char* kDraft04MetaSchema = R"({
  "definitions": {
    "schemaArray": {"type": "array", "minItems": 1, "items": {"$ref": "#"}},
    "positiveInteger": {"type": "integer", "minimum": 0},
    "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
    "simpleTypes": {"enum": ["array", "boolean", "integer", "null", "number", "object", "string"]},
    "stringArray": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true}
  },
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "$schema": {"type": "string"},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "default": {},
    "multipleOf": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
    "maximum": {"type": "number"},
    "exclusiveMaximum": {"type": "boolean", "default": false},
    "minimum": {"type": "number"},
    "exclusiveMinimum": {"type": "boolean", "default": false},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string"},
    "additionalItems": {"anyOf": [{"type": "boolean"}, {"$ref": "#"}], "default": {}},
    "items": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/schemaArray"}], "default": {}},
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": false},
    "maxProperties": {"$ref": "#/definitions/positiveInteger"},
    "minProperties": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "required": {"$ref": "#/definitions/stringArray"},
    "additionalProperties": {"anyOf": [{"type": "boolean"}, {"$ref": "#"}], "default": {}},
    "definitions": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "properties": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "patternProperties": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "dependencies": {"type": "object",
                     "additionalProperties": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/stringArray"}]}},
    "enum": {"type": "array", "minItems": 1, "uniqueItems": true},
    "type": {"anyOf": [{"$ref": "#/definitions/simpleTypes"},
                       {"type": "array", "items": {"$ref": "#/definitions/simpleTypes"},
                        "minItems": 1, "uniqueItems": true}]},
    "format": {"type": "string"},
    "allOf": {"$ref": "#/definitions/schemaArray"},
    "anyOf": {"$ref": "#/definitions/schemaArray"},
    "oneOf": {"$ref": "#/definitions/schemaArray"},
    "not": {"$ref": "#"}
  },
  "dependencies": {"exclusiveMaximum": ["maximum"], "exclusiveMinimum": ["minimum"]},
  "default": {}
})";

// Says what a meta-schema violation means for a schema author.
std::string meta_detail(const FieldError& e) {
  if (e.keyword == "anyOf" && e.pointer.ends_with("/type")) {
    return "must be one of array, boolean, integer, null, number, object, string (or a list of them)";
  }
  if (e.keyword == "enum" && e.pointer.find("/type") != std::string::npos) {
    return "must be one of array, boolean, integer, null, number, object, string";
  }
  if (e.keyword == "type" || e.keyword == "minItems" || e.keyword == "uniqueItems" || e.keyword == "minimum") {
    const auto slash = e.pointer.rfind('/');
    const std::string member = slash == std::string::npos ? e.pointer : e.pointer.substr(slash + 1);
    if (member == "required") return "must be a list of one or more distinct member names, like [name]";
  }
  return e.detail;
}

}  // namespace

std::optional<FieldError> JsonSchema::problem_in(const Json& schema) {
  static const JsonSchema meta(Json::parse(kDraft04MetaSchema));
  const std::vector<FieldError> errors = meta.validate(schema);
  if (!errors.empty()) {
    FieldError e = errors.front();
    e.detail = meta_detail(e);
    return e;
  }
  try {
    (void)JsonSchema(schema);
  } catch (const std::invalid_argument& e) {
    return FieldError{"", e.what(), ""};
  }
  return std::nullopt;
}

JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;

std::vector<FieldError> JsonSchema::validate(const Json& value, std::string_view base) const {
  const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  rapidjson::SchemaValidator validator(*impl_->compiled);
  rapidjson::Reader reader;
  rapidjson::StringStream in(text.c_str());
  // Iterative: no recursion on the input's nesting.
  reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(in, validator);
  if (validator.IsValid()) return {};

  std::string keyword = validator.GetInvalidSchemaKeyword() != nullptr
                                  ? validator.GetInvalidSchemaKeyword()
                                  : std::string();
  const std::string doc_pointer = pointer_text(validator.GetInvalidDocumentPointer());
  const std::string schema_pointer = pointer_text(validator.GetInvalidSchemaPointer());
  const Json* schema_node = at_pointer(impl_->source, schema_pointer);
  if (keyword == "not" && schema_pointer.ends_with("/additionalProperties") && schema_node != nullptr &&
      schema_node->is_boolean()) {
    // The rewritten `"additionalProperties": false` (see above) refused a member.
    keyword = "additionalProperties";
  }

  std::vector<FieldError> out;
  if (keyword == "required" && schema_node != nullptr && schema_node->contains("required")) {
    // Name each missing member rather than the object that lacks it.
    const Json* object = at_pointer(value, doc_pointer);
    for (const Json& name : schema_node->at("required")) {
      if (!name.is_string()) continue;
      const std::string n = name.get<std::string>();
      if (object != nullptr && object->is_object() && object->contains(n)) continue;
      out.push_back({std::string(base) + doc_pointer + "/" + escape_pointer_token(n), "is required", keyword});
    }
  }
  if (out.empty()) out.push_back({std::string(base) + doc_pointer, describe(keyword, schema_node), keyword});
  return out;
}

}  // namespace steadfast::engine
