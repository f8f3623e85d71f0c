#include "redis/reply.h"

#include <hiredis/read.h>

#include <charconv>
#include <memory>

#include "redis/error.h"

namespace steadfast::redis {

long long Reply::as_integer() const {
  if (type_ == Type::integer) return integer_;
  if (type_ == Type::string) {
    long long v = 0;
    auto [p, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
    if (ec == std::errc() && p == text_.data() + text_.size()) return v;
  }
  throw ProtocolError("expected an integer reply, got " + debug_string());
}

std::optional<std::string_view> Reply::as_optional_str() const {
  if (type_ == Type::nil) return std::nullopt;
  if (type_ == Type::string || type_ == Type::status) return std::string_view(text_);
  throw ProtocolError("expected a string reply, got " + debug_string());
}

std::string Reply::debug_string() const {
  switch (type_) {
    case Type::nil: return "(nil)";
    case Type::integer: return std::to_string(integer_);
    case Type::string: return '"' + text_ + '"';
    case Type::status: return text_;
    case Type::error: return "(error) " + text_;
    case Type::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < elements_.size(); ++i) {
        if (i) out += ", ";
        out += elements_[i].debug_string();
      }
      return out + "]";
    }
  }
  return {};
}

// hiredis builds replies through these callbacks. The root reply is heap
// allocated; every nested reply is constructed in place inside its parent's
// element vector (sized by createArray), so a whole reply is built with no
// intermediate redisReply tree and no copy.
namespace {

Reply* slot_for(const redisReadTask* task) {
  if (task->parent == nullptr) return new Reply();
  auto* parent = static_cast<Reply*>(task->parent->obj);
  return &parent->elements()[static_cast<std::size_t>(task->idx)];
}

}  // namespace

struct ReplyBuilder {
  static void* create_string(const redisReadTask* task, char* str, size_t len) {
    Reply* r = slot_for(task);
    std::string s(str, len);
    switch (task->type) {
      case REDIS_REPLY_ERROR: *r = Reply::make_error(std::move(s)); break;
      case REDIS_REPLY_STATUS: *r = Reply::make_status(std::move(s)); break;
      default: *r = Reply::make_string(std::move(s)); break;
    }
    return r;
  }
  static void* create_array(const redisReadTask* task, int elements) {
    Reply* r = slot_for(task);
    *r = Reply::make_array(std::vector<Reply>(static_cast<std::size_t>(elements)));
    return r;
  }
  static void* create_integer(const redisReadTask* task, long long value) {
    Reply* r = slot_for(task);
    *r = Reply::make_integer(value);
    return r;
  }
  static void* create_nil(const redisReadTask* task) { return slot_for(task); }
  static void free_object(void* obj) { delete static_cast<Reply*>(obj); }
};

namespace {
redisReplyObjectFunctions reply_functions = {
    ReplyBuilder::create_string, ReplyBuilder::create_array, ReplyBuilder::create_integer,
    ReplyBuilder::create_nil, ReplyBuilder::free_object};
}  // namespace

ReplyParser::ReplyParser() : reader_(redisReaderCreateWithFunctions(&reply_functions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->maxbuf = 0;  // we keep the buffer; hiredis would otherwise shrink it every 16 KiB
}

ReplyParser::~ReplyParser() { redisReaderFree(reader_); }

void ReplyParser::feed(const char* data, std::size_t len) {
  if (redisReaderFeed(reader_, data, len) != REDIS_OK) {
    throw ProtocolError(std::string("RESP parse error: ") + reader_->errstr);
  }
}

std::optional<Reply> ReplyParser::next() {
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
    throw ProtocolError(std::string("RESP parse error: ") + reader_->errstr);
  }
  if (obj == nullptr) return std::nullopt;
  std::unique_ptr<Reply> owned(static_cast<Reply*>(obj));
  return std::move(*owned);
}

void ReplyParser::reset() {
  redisReaderFree(reader_);
  reader_ = redisReaderCreateWithFunctions(&reply_functions);
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->maxbuf = 0;
}

}  // namespace steadfast::redis
