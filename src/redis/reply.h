// An owning, immutable-after-parse value of one RESP2 reply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;  // hiredis' reader (read.h)

namespace steadfast::redis {

class Reply {
 public:
  enum class Type : std::uint8_t { nil, string, status, error, integer, array };

  Reply() = default;  // nil
  static Reply make_string(std::string s) { return Reply(Type::string, std::move(s)); }
  static Reply make_status(std::string s) { return Reply(Type::status, std::move(s)); }
  static Reply make_error(std::string s) { return Reply(Type::error, std::move(s)); }
  static Reply make_integer(long long v) {
    Reply r;
    r.type_ = Type::integer;
    r.integer_ = v;
    return r;
  }
  static Reply make_array(std::vector<Reply> elements) {
    Reply r;
    r.type_ = Type::array;
    r.elements_ = std::move(elements);
    return r;
  }

  [[nodiscard]] Type type() const noexcept { return type_; }
  [[nodiscard]] bool is_nil() const noexcept { return type_ == Type::nil; }
  [[nodiscard]] bool is_string() const noexcept { return type_ == Type::string; }
  [[nodiscard]] bool is_status() const noexcept { return type_ == Type::status; }
  [[nodiscard]] bool is_error() const noexcept { return type_ == Type::error; }
  [[nodiscard]] bool is_integer() const noexcept { return type_ == Type::integer; }
  [[nodiscard]] bool is_array() const noexcept { return type_ == Type::array; }

  // Bulk string, status or error text; empty for other types.
  [[nodiscard]] std::string_view str() const noexcept { return text_; }
  // Moves the text out (for large payloads); the reply is left with an empty text.
  [[nodiscard]] std::string take_str() noexcept { return std::move(text_); }
  // The integer of an integer reply; a bulk string holding a base-10 integer is
  // converted too (many commands answer numbers as strings). Throws
  // ProtocolError for anything else.
  [[nodiscard]] long long as_integer() const;
  // The text of a string or status reply, nullopt for nil. Throws ProtocolError
  // for other types (an error reply is never taken for data).
  [[nodiscard]] std::optional<std::string_view> as_optional_str() const;
  [[nodiscard]] const std::vector<Reply>& elements() const noexcept { return elements_; }
  [[nodiscard]] std::vector<Reply>& elements() noexcept { return elements_; }
  [[nodiscard]] std::size_t size() const noexcept { return elements_.size(); }
  [[nodiscard]] const Reply& operator[](std::size_t i) const { return elements_.at(i); }

  // A human-readable rendering for logs and error messages ("(nil)", "1", "[\"a\", 2]").
  [[nodiscard]] std::string debug_string() const;

  friend bool operator==(const Reply&, const Reply&) = default;

 private:
  friend class ReplyParser;
  Reply(Type t, std::string s) : type_(t), text_(std::move(s)) {}

  Type type_ = Type::nil;
  long long integer_ = 0;
  std::string text_;
  std::vector<Reply> elements_;
};

// Incremental RESP2 parser around hiredis' reader: feed bytes as they arrive,
// then take complete replies. No I/O. Not thread-safe; one per connection.
class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  // Throws ProtocolError when the bytes are not RESP; the parser is then unusable.
  void feed(const char* data, std::size_t len);
  // The next complete reply, or nullopt when more bytes are needed.
  std::optional<Reply> next();
  // Drops any partial reply (used after a reconnect).
  void reset();

 private:
  ::redisReader* reader_ = nullptr;
};

}  // namespace steadfast::redis
