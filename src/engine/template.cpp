#include "engine/template.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <utility>

#include "engine/json_schema.h"  // escape_pointer_token
#include "engine/quote.h"
#include "steadfast/workflow.h"

namespace steadfast::engine {

// ---------------------------------------------------------------- the parsed form

namespace {

enum class Function { len, urlencode, raw };

struct FunctionInfo {
  std::string_view name;
  Function function;
};
constexpr std::array<FunctionInfo, 3> kFunctions{{
    {"len", Function::len},
    {"urlencode", Function::urlencode},
    {"raw", Function::raw},
}};

// Deepest expression: nested parentheses and calls, and chained operators
// ("1 + 1 + ..." is a tree as deep as it is long). Parsing and evaluating
// recurse on it, so without a bound a long template overflows the stack.
constexpr int kMaxExprDepth = 64;

// What an expression gives, as far as the parser can tell.
enum class StaticType { integer, string, any };

struct Expr {
  enum class Kind { integer, path, call, binary };
  Kind kind = Kind::integer;
  std::int64_t value = 0;             // integer
  std::vector<std::string> segments;  // path
  std::string text;                   // path: "input.a.b"; call: "len(...)" for messages
  Function function = Function::len;  // call
  char op = 0;                        // binary: + - * /
  std::unique_ptr<Expr> lhs;          // binary; call: the argument
  std::unique_ptr<Expr> rhs;          // binary
  StaticType type = StaticType::any;
  int depth = 1;  // of the tree, this node included
};

struct Segment {
  enum class Kind { text, expr, env };
  Kind kind = Kind::text;
  std::string text;  // literal text, or the variable name
  std::unique_ptr<Expr> expr;
};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

}  // namespace

struct Template::Parsed {
  std::string source;
  std::vector<Segment> segments;
  bool uses_env = false;
};

namespace {

// Recursive descent over the text between "{{" and "}}".
class ExprParser {
 public:
  // `offset`: where `text` starts in `source`, for error columns.
  ExprParser(std::string_view source, std::string_view text, std::size_t offset)
      : source_(source), text_(text), offset_(offset) {}

  std::unique_ptr<Expr> parse() {
    skip_spaces();
    if (at_end()) fail("empty expression", pos_);
    auto expr = parse_sum();
    skip_spaces();
    if (!at_end()) fail("unexpected " + quote(text_.substr(pos_, 1)), pos_);
    return expr;
  }

 private:
  [[noreturn]] void fail(const std::string& what, std::size_t at) const {
    throw TemplateSyntaxError("template " + quote(source_) + ": " + what + " at column " +
                              std::to_string(offset_ + at + 1));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  void skip_spaces() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  std::unique_ptr<Expr> parse_sum() {
    auto lhs = parse_product();
    for (;;) {
      skip_spaces();
      if (at_end() || (text_[pos_] != '+' && text_[pos_] != '-')) return lhs;
      const char op = text_[pos_];
      const std::size_t at = pos_++;
      lhs = binary(op, std::move(lhs), parse_product(), at);
    }
  }

  std::unique_ptr<Expr> parse_product() {
    auto lhs = parse_factor();
    for (;;) {
      skip_spaces();
      if (at_end() || (text_[pos_] != '*' && text_[pos_] != '/')) return lhs;
      const char op = text_[pos_];
      const std::size_t at = pos_++;
      lhs = binary(op, std::move(lhs), parse_factor(), at);
    }
  }

  std::unique_ptr<Expr> binary(char op, std::unique_ptr<Expr> lhs, std::unique_ptr<Expr> rhs,
                               std::size_t at) {
    for (const Expr* side : {lhs.get(), rhs.get()}) {
      if (side->type == StaticType::string) {
        fail(std::string("'") + op + "' needs integers, but " + side->text + " gives a string", at);
      }
    }
    if (op == '/' && rhs->kind == Expr::Kind::integer && rhs->value == 0) {
      fail("division by zero", at);
    }
    auto e = std::make_unique<Expr>();
    e->depth = 1 + std::max(lhs->depth, rhs->depth);
    if (e->depth > kMaxExprDepth) fail("expression nested deeper than " + std::to_string(kMaxExprDepth), at);
    e->kind = Expr::Kind::binary;
    e->op = op;
    e->text = lhs->text + " " + op + " " + rhs->text;
    e->lhs = std::move(lhs);
    e->rhs = std::move(rhs);
    e->type = StaticType::integer;
    return e;
  }

  // A word: [A-Za-z0-9_]+, with '-' inside a word that began with a letter or
  // '_' (so "my-step" is one name but "2-1" is a subtraction).
  std::string_view word() {
    const std::size_t start = pos_;
    while (!at_end()) {
      const char c = text_[pos_];
      if (is_word_char(c)) {
        ++pos_;
      } else if (c == '-' && pos_ > start && is_name_start(text_[start]) &&
                 pos_ + 1 < text_.size() && is_word_char(text_[pos_ + 1])) {
        ++pos_;
      } else {
        break;
      }
    }
    return text_.substr(start, pos_ - start);
  }

  std::unique_ptr<Expr> parse_factor() {
    skip_spaces();
    if (at_end()) fail("expected a value", pos_);
    const std::size_t start = pos_;
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      const Nested nested(*this, start);
      auto inner = parse_sum();
      skip_spaces();
      if (at_end() || text_[pos_] != ')') fail("expected ')'", pos_);
      ++pos_;
      inner->text = "(" + inner->text + ")";
      return inner;
    }
    if (is_digit(c)) return parse_integer();
    if (!is_name_start(c)) fail("unexpected " + quote(text_.substr(pos_, 1)), pos_);

    const std::string_view first = word();
    std::size_t after = pos_;
    while (after < text_.size() && (text_[after] == ' ' || text_[after] == '\t')) ++after;
    if (after < text_.size() && text_[after] == '(') {
      pos_ = after + 1;
      const Nested nested(*this, start);
      return parse_call(first, start);
    }
    return parse_path(first, start);
  }

  std::unique_ptr<Expr> parse_integer() {
    const std::size_t start = pos_;
    while (!at_end() && is_digit(text_[pos_])) ++pos_;
    if (!at_end() && (is_word_char(text_[pos_]) || text_[pos_] == '.')) {
      fail("expected an integer", start);
    }
    const std::string_view digits = text_.substr(start, pos_ - start);
    std::int64_t value = 0;
    for (const char d : digits) {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, d - '0', &value)) {
        fail("integer too large", start);
      }
    }
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::integer;
    e->value = value;
    e->text = std::string(digits);
    e->type = StaticType::integer;
    return e;
  }

  std::unique_ptr<Expr> parse_call(std::string_view name, std::size_t start) {
    const auto it = std::find_if(kFunctions.begin(), kFunctions.end(),
                                 [&](const FunctionInfo& f) { return f.name == name; });
    if (it == kFunctions.end()) {
      std::string known;
      for (const FunctionInfo& f : kFunctions) known += (known.empty() ? "" : ", ") + std::string(f.name);
      fail("unknown function " + quote(name) + " (known: " + known + ")", start);
    }
    auto arg = parse_sum();
    skip_spaces();
    if (at_end() || text_[pos_] != ')') fail("expected ')' to close " + quote(name) + "(", pos_);
    ++pos_;
    auto e = std::make_unique<Expr>();
    e->depth = 1 + arg->depth;
    e->kind = Expr::Kind::call;
    e->function = it->function;
    e->text = std::string(name) + "(" + arg->text + ")";
    e->type = it->function == Function::len      ? StaticType::integer
              : it->function == Function::raw    ? arg->type
                                                 : StaticType::string;
    e->lhs = std::move(arg);
    return e;
  }

  std::unique_ptr<Expr> parse_path(std::string_view first, std::size_t start) {
    std::vector<std::string> segments{std::string(first)};
    while (!at_end() && text_[pos_] == '.') {
      ++pos_;
      const std::string_view next = word();
      if (next.empty()) fail("expected a key or index after '.'", pos_);
      segments.emplace_back(next);
    }
    const std::string text(text_.substr(start, pos_ - start));
    const std::string hint = text.find('-') == std::string::npos
                                 ? ""
                                 : " (for a subtraction, put spaces around '-')";
    if (segments[0] == "input" || segments[0] == "item") {
      // input.<key or index>..., item.<key or index>... (a map step's item)
    } else if (segments[0] == "item_index") {
      if (segments.size() > 1) fail("bad path " + quote(text) + ": item_index is a number, it has no keys", start);
    } else if (segments[0] == "steps") {
      const bool callback = segments.size() == 3 && segments[2] == "callback_url";
      if (!callback && (segments.size() < 3 || segments[2] != "output")) {
        fail("bad path " + quote(text) + ": expected steps.<name>.output[.<key>...] or steps.<name>.callback_url" +
                 hint,
             start);
      }
      if (!is_valid_name(segments[1])) {
        fail("bad path " + quote(text) + ": " + quote(segments[1]) + " is not a step name", start);
      }
    } else {
      fail("bad path " + quote(text) + ": it must start with 'input', 'steps', 'item' or 'item_index'" + hint, start);
    }
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::path;
    e->segments = std::move(segments);
    e->text = text;
    e->type = StaticType::any;
    return e;
  }

  // Counts the parentheses and calls open around the parser's position.
  struct Nested {
    Nested(ExprParser& p, std::size_t at) : parser(p) {
      if (++parser.nesting_ > kMaxExprDepth) {
        parser.fail("expression nested deeper than " + std::to_string(kMaxExprDepth), at);
      }
    }
    ~Nested() { --parser.nesting_; }
    Nested(const Nested&) = delete;
    Nested& operator=(const Nested&) = delete;
    ExprParser& parser;
  };

  std::string_view source_;
  std::string_view text_;
  std::size_t offset_;
  std::size_t pos_ = 0;
  int nesting_ = 0;
};

[[noreturn]] void syntax_error(std::string_view source, const std::string& what, std::size_t at) {
  throw TemplateSyntaxError("template " + quote(source) + ": " + what + " at column " +
                            std::to_string(at + 1));
}

// ---------------------------------------------------------------- evaluation

[[noreturn]] void render_error(const std::string& what) { throw TemplateRenderError(what); }

std::string dump_compact(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string join(const std::vector<std::string>& segments, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count && i < segments.size(); ++i) {
    if (i > 0) out += '.';
    out += segments[i];
  }
  return out;
}

const Json& resolve(const Expr& path, const TemplateContext& context) {
  const std::vector<std::string>& seg = path.segments;
  const Json* current = nullptr;
  std::size_t i = 0;
  if (seg[0] == "input") {
    current = &context.input();
    i = 1;
  } else if (seg[0] == "item" || seg[0] == "item_index") {
    current = seg[0] == "item" ? context.item() : context.item_index();
    if (current == nullptr) render_error("no value at " + quote(path.text) + ": only a map step has an item");
    i = 1;
  } else if (seg[2] == "callback_url") {
    const Json* url = context.callback_url(seg[1]);
    if (url == nullptr) {
      render_error("no value at " + quote(path.text) +
                   ": this worker makes no callback URLs (it needs --public-url and --signing-key-file)");
    }
    return *url;
  } else {
    const auto it = context.outputs().find(seg[1]);
    if (it == context.outputs().end()) {
      render_error("no value at " + quote(path.text) + ": step " + quote(seg[1]) +
                   " has no output (not an earlier step of this workflow?)");
    }
    current = &it->second;
    i = 3;
  }
  for (; i < seg.size(); ++i) {
    const std::string& key = seg[i];
    const std::string prefix = join(seg, i);
    if (current->is_object()) {
      const auto it = current->find(key);
      if (it == current->end()) {
        render_error("no value at " + quote(path.text) + ": " + quote(prefix) + " has no key " +
                     quote(key));
      }
      current = &*it;
    } else if (current->is_array()) {
      if (!all_digits(key)) {
        render_error("no value at " + quote(path.text) + ": " + quote(prefix) +
                     " is an array and " + quote(key) + " is not an index");
      }
      const std::size_t size = current->size();
      std::size_t index = 0;
      bool in_range = key.size() <= 18;
      if (in_range) {
        index = static_cast<std::size_t>(std::strtoull(key.c_str(), nullptr, 10));
        in_range = index < size;
      }
      if (!in_range) {
        render_error("no value at " + quote(path.text) + ": index " + key + " is past the end of " +
                     quote(prefix) + " (" + std::to_string(size) + " elements)");
      }
      current = &(*current)[index];
    } else {
      render_error("no value at " + quote(path.text) + ": " + quote(prefix) + " is " +
                   current->type_name() + ", not an object or array");
    }
  }
  return *current;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (is_word_char(c) || c == '-' || c == '.' || c == '~') {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

Json evaluate(const Expr& e, const TemplateContext& context);

std::int64_t as_integer(const Expr& e, const TemplateContext& context, char op) {
  const Json value = evaluate(e, context);
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      render_error(std::string("'") + op + "' needs integers; " + quote(e.text) + " is too large");
    }
    return value.get<std::int64_t>();
  }
  render_error(std::string("'") + op + "' needs integers; " + quote(e.text) + " is " +
               (value.is_number_float() ? std::string("a number with a fraction")
                                        : std::string(value.type_name())));
}

Json evaluate(const Expr& e, const TemplateContext& context) {
  switch (e.kind) {
    case Expr::Kind::integer: return e.value;
    case Expr::Kind::path: return resolve(e, context);
    case Expr::Kind::call: {
      const Expr& arg = *e.lhs;
      Json owned;
      const Json* value = nullptr;
      if (arg.kind == Expr::Kind::path) {
        value = &resolve(arg, context);
      } else {
        owned = evaluate(arg, context);
        value = &owned;
      }
      if (e.function == Function::len) {
        if (value->is_string()) return static_cast<std::int64_t>(value->get_ref<const std::string&>().size());
        if (value->is_array() || value->is_object()) return static_cast<std::int64_t>(value->size());
        render_error("len() needs a string, array or object; " + quote(arg.text) + " is " +
                     value->type_name());
      }
      if (e.function == Function::raw) return *value;
      return percent_encode(value->is_string() ? value->get_ref<const std::string&>()
                                               : dump_compact(*value));
    }
    case Expr::Kind::binary: {
      const std::int64_t a = as_integer(*e.lhs, context, e.op);
      const std::int64_t b = as_integer(*e.rhs, context, e.op);
      std::int64_t r = 0;
      bool overflow = false;
      switch (e.op) {
        case '+': overflow = __builtin_add_overflow(a, b, &r); break;
        case '-': overflow = __builtin_sub_overflow(a, b, &r); break;
        case '*': overflow = __builtin_mul_overflow(a, b, &r); break;
        default:
          if (b == 0) render_error("division by zero in " + quote(e.text));
          if (a == std::numeric_limits<std::int64_t>::min() && b == -1) {
            overflow = true;
            break;
          }
          r = a / b;
          // Round up: a token estimate must not undercount.
          if (a % b != 0 && ((a < 0) == (b < 0))) ++r;
          break;
      }
      if (overflow) render_error("integer overflow in " + quote(e.text));
      return r;
    }
  }
  render_error("unknown expression");
}

}  // namespace

// ---------------------------------------------------------------- Redactor

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `n` hex digits at text[at], or -1.
long hex_at(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size()) return -1;
  long v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int d = hex_digit(text[at + i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// The length of the UTF-8 sequence starting with `lead` and its first bits,
// or 0 for a byte that cannot start one.
std::pair<std::size_t, std::uint32_t> utf8_lead(unsigned char lead) {
  if (lead < 0x80) return {1, lead};
  if ((lead & 0xE0) == 0xC0) return {2, lead & 0x1Fu};
  if ((lead & 0xF0) == 0xE0) return {3, lead & 0x0Fu};
  if ((lead & 0xF8) == 0xF0) return {4, lead & 0x07u};
  return {0, 0};
}

// The JSON short escape of a code point ('/' for "\/"), or 0.
char short_escape(std::uint32_t cp) {
  switch (cp) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default: return 0;
  }
}

// A secret written as a JSON number (digits, optional sign, fraction, exponent).
std::optional<double> as_number(const std::string& s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

void Redactor::add(std::string secret) {
  if (secret.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  Secret parsed;
  parsed.number = as_number(secret);
  for (std::size_t i = 0; i < secret.size();) {
    const auto [n, bits] = utf8_lead(static_cast<unsigned char>(secret[i]));
    bool valid = n > 0 && i + n <= secret.size();
    std::uint32_t cp = bits;
    for (std::size_t k = 1; valid && k < n; ++k) {
      const auto b = static_cast<unsigned char>(secret[i + k]);
      if ((b & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (!valid) {
      parsed.chars.push_back(Char{secret.substr(i, 1), 0, false});
      ++i;
    } else {
      parsed.chars.push_back(Char{secret.substr(i, n), cp, true});
      i += n;
    }
  }
  const auto at = std::find_if(secrets_.begin(), secrets_.end(),
                               [&](const std::string& s) { return s.size() < secret.size(); });
  parsed_.insert(parsed_.begin() + (at - secrets_.begin()), std::move(parsed));
  secrets_.insert(at, std::move(secret));
}

std::size_t Redactor::longest() const noexcept {
  return secrets_.empty() ? 0 : 6 * secrets_.front().size();
}

std::size_t Redactor::match(std::string_view text, std::size_t at, const Secret& s, std::size_t k,
                            int& budget) {
  if (k == s.chars.size()) return at;
  if (at >= text.size()) return std::string_view::npos;
  // A value whose characters are escape characters themselves ("\\\\...")
  // can be read several ways; past the budget the rest counts as matched
  // (hiding a little more, never less, in bounded time).
  if (--budget < 0) return std::min(text.size(), at + 6 * (s.chars.size() - k));
  const Char& c = s.chars[k];
  const auto next = [&](std::size_t end) { return match(text, end, s, k + 1, budget); };
  std::size_t end = std::string_view::npos;
  // Itself.
  if (text.compare(at, c.bytes.size(), c.bytes) == 0 &&
      (end = next(at + c.bytes.size())) != std::string_view::npos) {
    return end;
  }
  // URL: %XX per byte; "+" for a space.
  if (text[at] == '%') {
    std::size_t p = at;
    bool ok = true;
    for (char b : c.bytes) {
      if (p >= text.size() || text[p] != '%' || hex_at(text, p + 1, 2) != static_cast<unsigned char>(b)) {
        ok = false;
        break;
      }
      p += 3;
    }
    if (ok && (end = next(p)) != std::string_view::npos) return end;
  }
  if (text[at] == '+' && c.bytes == " " && (end = next(at + 1)) != std::string_view::npos) return end;
  // JSON: a short escape, \uXXXX, or a surrogate pair.
  if (text[at] == '\\' && c.has_code_point && at + 1 < text.size()) {
    const char e = short_escape(c.code_point);
    if (e != 0 && text[at + 1] == e && (end = next(at + 2)) != std::string_view::npos) return end;
    if (text[at + 1] == 'u') {
      if (c.code_point < 0x10000) {
        if (hex_at(text, at + 2, 4) == static_cast<long>(c.code_point) &&
            (end = next(at + 6)) != std::string_view::npos) {
          return end;
        }
      } else {
        const std::uint32_t v = c.code_point - 0x10000;
        const long hi = 0xD800 + static_cast<long>(v >> 10);
        const long lo = 0xDC00 + static_cast<long>(v & 0x3FF);
        if (hex_at(text, at + 2, 4) == hi && text.compare(at + 6, 2, "\\u") == 0 &&
            hex_at(text, at + 8, 4) == lo && (end = next(at + 12)) != std::string_view::npos) {
          return end;
        }
      }
    }
  }
  return std::string_view::npos;
}

std::string Redactor::redact(std::string_view text) const {
  if (secrets_.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = std::string_view::npos;
    const char first = text[at];
    for (const Secret& s : parsed_) {  // longest first
      const Char& c = s.chars.front();
      if (first != c.bytes.front() && first != '%' && first != '\\' && first != '+') continue;
      int budget = 64 * static_cast<int>(std::min<std::size_t>(s.chars.size(), 1 << 20));
      if ((end = match(text, at, s, 0, budget)) != std::string_view::npos) break;
    }
    if (end == std::string_view::npos) {
      out += first;
      ++at;
    } else {
      out += "***";
      at = end;
    }
  }
  return out;
}

Json Redactor::redact_json(const Json& value) const {
  if (secrets_.empty()) return value;
  if (value.is_string()) return redact(value.get_ref<const std::string&>());
  if (value.is_number()) {
    const double v = value.get<double>();
    for (const Secret& s : parsed_) {
      if (s.number && *s.number == v) return "***";
    }
    return value;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& item : value) out.push_back(redact_json(item));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) out[redact(key)] = redact_json(item);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------- TemplateContext

TemplateContext::TemplateContext(const Json& input, const std::map<std::string, Json>& outputs,
                                 EnvLookup env, CallbackLookup callbacks)
    : input_(input), outputs_(outputs), env_(std::move(env)), callbacks_(std::move(callbacks)) {}

TemplateContext::TemplateContext(const StepContext& ctx)
    : TemplateContext(ctx.input(), ctx.outputs(), {},
                      [&ctx](const std::string& step) { return ctx.callback_url(step); }) {
  if (ctx.item_index() >= 0) with_item(ctx.item(), ctx.item_index());
}

TemplateContext& TemplateContext::with_item(const Json& item, std::int64_t index) {
  item_ = &item;
  item_index_ = Json(index);
  return *this;
}

const Json* TemplateContext::item_index() const noexcept { return item_ ? &item_index_ : nullptr; }

const Json* TemplateContext::callback_url(const std::string& step) const {
  if (auto it = callback_urls_.find(step); it != callback_urls_.end()) return &it->second;
  if (!callbacks_) return nullptr;
  std::optional<std::string> url = callbacks_(step);
  if (!url) return nullptr;
  return &callback_urls_.emplace(step, Json(std::move(*url))).first->second;
}

std::optional<std::string> TemplateContext::env(const std::string& name) const {
  if (env_) return env_(name);
  const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read only
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// ---------------------------------------------------------------- Template

Template::Template() : parsed_(std::make_shared<Parsed>()) {}

Template::Template(std::shared_ptr<const Parsed> parsed) : parsed_(std::move(parsed)) {}

Template Template::parse(std::string_view text) {
  auto parsed = std::make_shared<Parsed>();
  parsed->source = std::string(text);
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    Segment s;
    s.kind = Segment::Kind::text;
    s.text = std::move(literal);
    parsed->segments.push_back(std::move(s));
    literal.clear();
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("\\{{") || rest.starts_with("\\${")) {
      literal += rest.substr(1, 2);
      i += 3;
    } else if (rest.starts_with("{{")) {
      const std::size_t close = text.find("}}", i + 2);
      if (close == std::string_view::npos) syntax_error(text, "unclosed '{{'", i);
      ExprParser parser(text, text.substr(i + 2, close - i - 2), i + 2);
      Segment s;
      s.kind = Segment::Kind::expr;
      s.expr = parser.parse();
      flush();
      parsed->segments.push_back(std::move(s));
      i = close + 2;
    } else if (rest.starts_with("${")) {
      std::size_t j = i + 2;
      while (j < text.size() && (is_word_char(text[j]))) ++j;
      if (j >= text.size() || text[j] != '}') {
        if (text.find('}', i + 2) == std::string_view::npos) syntax_error(text, "unclosed '${'", i);
        syntax_error(text, "bad environment variable name (expected [A-Za-z_][A-Za-z0-9_]*)", i + 2);
      }
      const std::string_view name = text.substr(i + 2, j - i - 2);
      if (name.empty() || !is_name_start(name.front())) {
        syntax_error(text, "bad environment variable name (expected [A-Za-z_][A-Za-z0-9_]*)", i + 2);
      }
      flush();
      Segment s;
      s.kind = Segment::Kind::env;
      s.text = std::string(name);
      parsed->segments.push_back(std::move(s));
      parsed->uses_env = true;
      i = j + 1;
    } else {
      literal += text[i];
      ++i;
    }
  }
  flush();
  return Template(std::move(parsed));
}

std::string Template::render(const TemplateContext& context, Redactor& secrets) const {
  return render_with(context, secrets, [](std::string_view, const Insertion& v) {
    return v.value.is_string() ? v.value.get<std::string>() : dump_compact(v.value);
  });
}

std::string Template::render_with(const TemplateContext& context, Redactor& secrets,
                                  const Inserter& insert) const {
  std::string out;
  for (const Segment& s : parsed_->segments) {
    switch (s.kind) {
      case Segment::Kind::text: out += s.text; break;
      case Segment::Kind::env: {
        std::optional<std::string> value = context.env(s.text);
        if (!value) render_error("environment variable " + quote(s.text) + " is not set");
        out += *value;
        secrets.add(std::move(*value));
        break;
      }
      case Segment::Kind::expr: {
        const Json value = evaluate(*s.expr, context);
        const bool call = s.expr->kind == Expr::Kind::call;
        const Insertion insertion{value, call && s.expr->function == Function::raw,
                                  call && s.expr->function == Function::urlencode};
        out += insert(out, insertion);
        break;
      }
    }
  }
  return out;
}

Json Template::render_value(const TemplateContext& context, Redactor& secrets) const {
  const auto& segments = parsed_->segments;
  if (segments.size() == 1 && segments.front().kind == Segment::Kind::expr) {
    return evaluate(*segments.front().expr, context);
  }
  return render(context, secrets);
}

bool Template::is_literal() const noexcept {
  return std::all_of(parsed_->segments.begin(), parsed_->segments.end(),
                     [](const Segment& s) { return s.kind == Segment::Kind::text; });
}

bool Template::has_expressions() const noexcept {
  return std::any_of(parsed_->segments.begin(), parsed_->segments.end(),
                     [](const Segment& s) { return s.kind == Segment::Kind::expr; });
}

bool Template::uses_env() const noexcept { return parsed_->uses_env; }

const std::string& Template::source() const noexcept { return parsed_->source; }

namespace {
// The step names of steps.<name>.<what> paths, each once: `callback` picks
// the callback_url paths, else the output paths.
void collect_step_references(const Expr& e, bool callback, std::vector<std::string>& out) {
  if (e.kind == Expr::Kind::path && e.segments.size() > 2 && e.segments[0] == "steps" &&
      (e.segments[2] == "callback_url") == callback &&
      std::find(out.begin(), out.end(), e.segments[1]) == out.end()) {
    out.push_back(e.segments[1]);
  }
  if (e.lhs) collect_step_references(*e.lhs, callback, out);
  if (e.rhs) collect_step_references(*e.rhs, callback, out);
}
}  // namespace

std::vector<std::string> Template::step_references() const {
  std::vector<std::string> out;
  for (const Segment& s : parsed_->segments) {
    if (s.kind == Segment::Kind::expr) collect_step_references(*s.expr, false, out);
  }
  return out;
}

namespace {
bool expr_reads_item(const Expr& e) {
  if (e.kind == Expr::Kind::path && (e.segments[0] == "item" || e.segments[0] == "item_index")) return true;
  return (e.lhs && expr_reads_item(*e.lhs)) || (e.rhs && expr_reads_item(*e.rhs));
}
}  // namespace

bool Template::reads_item() const {
  for (const Segment& s : parsed_->segments) {
    if (s.kind == Segment::Kind::expr && expr_reads_item(*s.expr)) return true;
  }
  return false;
}

std::vector<std::string> Template::callback_references() const {
  std::vector<std::string> out;
  for (const Segment& s : parsed_->segments) {
    if (s.kind == Segment::Kind::expr) collect_step_references(*s.expr, true, out);
  }
  return out;
}

// ---------------------------------------------------------------- JsonTemplate

struct JsonTemplate::Node {
  enum class Kind { literal, string, array, object };
  Kind kind = Kind::literal;
  Json literal;                                     // literal: a subtree with no template
  Template text;                                    // string
  // Array items, or object member values. (Not pairs of key and Node: with
  // libstdc++, clang cannot instantiate std::pair of a class being defined.)
  std::vector<Node> items;
  std::vector<std::string> keys;  // object: the member names, one per item
};

namespace {

using Node = JsonTemplate::Node;

Node parse_node(const Json& value, const std::string& pointer) {
  Node node;
  if (value.is_string()) {
    try {
      node.text = Template::parse(value.get_ref<const std::string&>());
    } catch (const TemplateSyntaxError& e) {
      throw TemplateSyntaxError("at " + quote(pointer.empty() ? "/" : pointer) + ": " + e.what());
    }
    if (node.text.is_literal()) {
      node.kind = Node::Kind::literal;
      Redactor none;
      static const Json kNull;
      static const std::map<std::string, Json> kNoOutputs;
      node.literal = node.text.render(TemplateContext(kNull, kNoOutputs), none);
    } else {
      node.kind = Node::Kind::string;
    }
    return node;
  }
  if (value.is_array()) {
    node.kind = Node::Kind::array;
    std::size_t index = 0;
    for (const Json& item : value) {
      node.items.push_back(parse_node(item, pointer + "/" + std::to_string(index++)));
    }
  } else if (value.is_object()) {
    node.kind = Node::Kind::object;
    for (const auto& [key, item] : value.items()) {
      node.keys.push_back(key);
      node.items.push_back(parse_node(item, pointer + "/" + escape_pointer_token(key)));
    }
  } else {
    node.literal = value;
    return node;
  }
  // A container with no template inside is kept as one literal.
  const bool all_literal = std::all_of(node.items.begin(), node.items.end(),
                                       [](const Node& n) { return n.kind == Node::Kind::literal; });
  if (all_literal) {
    Node literal;
    literal.kind = Node::Kind::literal;
    if (node.kind == Node::Kind::array) {
      literal.literal = Json::array();
      for (Node& n : node.items) literal.literal.push_back(std::move(n.literal));
    } else {
      literal.literal = Json::object();
      for (std::size_t i = 0; i < node.items.size(); ++i) {
        literal.literal[node.keys[i]] = std::move(node.items[i].literal);
      }
    }
    return literal;
  }
  return node;
}

Json render_node(const Node& node, const TemplateContext& context, Redactor& secrets) {
  switch (node.kind) {
    case Node::Kind::literal: return node.literal;
    case Node::Kind::string: return node.text.render_value(context, secrets);
    case Node::Kind::array: {
      Json out = Json::array();
      for (const Node& item : node.items) out.push_back(render_node(item, context, secrets));
      return out;
    }
    case Node::Kind::object: {
      Json out = Json::object();
      for (std::size_t i = 0; i < node.items.size(); ++i) {
        out[node.keys[i]] = render_node(node.items[i], context, secrets);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

JsonTemplate::JsonTemplate() : root_(std::make_shared<Node>()) {}

JsonTemplate::JsonTemplate(std::shared_ptr<const Node> root) : root_(std::move(root)) {}

JsonTemplate JsonTemplate::parse(const Json& value) {
  return JsonTemplate(std::make_shared<const Node>(parse_node(value, "")));
}

Json JsonTemplate::render(const TemplateContext& context, Redactor& secrets) const {
  return render_node(*root_, context, secrets);
}

bool condition_holds(const Json& value) noexcept {
  if (value.is_null()) return false;
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number()) return value.get<double>() != 0.0;
  if (value.is_string()) return !value.get_ref<const std::string&>().empty();
  if (value.is_array()) return !value.empty();
  return true;  // an object, even {}
}

}  // namespace steadfast::engine
