#include "redis/pipeline.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace steadfast::redis {

namespace {

// Appends "<type><n>\r\n".
void append_header(std::string& out, char type, std::size_t n) {
  char buf[24];
  buf[0] = type;
  char* p = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;  // 20 digits fit
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<std::size_t>(p - buf));
}

// Appends the command as a RESP array of bulk strings: the same bytes as
// hiredis' redisFormatCommandArgv, which spends most of its time in sprintf
// and a malloc per command (70% of the client's CPU under pipelined load).
template <typename Str>
void format_into(std::string& out, std::span<const Str> argv) {
  std::size_t size = 16;
  for (const auto& a : argv) size += a.size() + 16;
  if (out.size() + size > out.capacity()) out.reserve(std::max(out.size() + size, 2 * out.capacity()));
  append_header(out, '*', argv.size());
  for (const auto& a : argv) {
    append_header(out, '$', a.size());
    out.append(a.data(), a.size());
    out.append("\r\n", 2);
  }
}

template <typename Str>
std::vector<std::string_view> eval_argv(const Script& script, std::span<const Str> keys,
                                        std::span<const Str> args, std::string& numkeys) {
  numkeys = std::to_string(keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.emplace_back(script.sha1());
  argv.emplace_back(numkeys);
  for (const auto& k : keys) argv.emplace_back(k);
  for (const auto& a : args) argv.emplace_back(a);
  return argv;
}

}  // namespace

Pipeline& Pipeline::add_argv(std::span<const std::string_view> argv) {
  if (argv.empty()) throw std::invalid_argument("empty Redis command");
  offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
  format_into(bytes_, argv);
  mark_script(nullptr);
  return *this;
}

Pipeline& Pipeline::add_argv(std::span<const std::string> argv) {
  if (argv.empty()) throw std::invalid_argument("empty Redis command");
  offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
  format_into(bytes_, argv);
  mark_script(nullptr);
  return *this;
}

Pipeline& Pipeline::add_eval(const Script& script, std::span<const std::string_view> keys,
                             std::span<const std::string_view> args) {
  std::string numkeys;
  auto argv = eval_argv(script, keys, args, numkeys);
  add_argv(std::span<const std::string_view>(argv));
  mark_script(&script);
  return *this;
}

Pipeline& Pipeline::add_eval(const Script& script, std::span<const std::string> keys,
                             std::span<const std::string> args) {
  std::string numkeys;
  auto argv = eval_argv(script, keys, args, numkeys);
  add_argv(std::span<const std::string_view>(argv));
  mark_script(&script);
  return *this;
}

void Pipeline::mark_script(const Script* script) {
  if (script == nullptr && scripts_.empty()) return;
  scripts_.resize(offsets_.size(), nullptr);
  scripts_.back() = script;
}

std::string_view Pipeline::command_bytes(std::size_t i) const {
  const std::size_t begin = offsets_.at(i);
  const std::size_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : bytes_.size();
  return std::string_view(bytes_).substr(begin, end - begin);
}

void Pipeline::add_copy(const Pipeline& other, std::size_t i) {
  offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
  bytes_.append(other.command_bytes(i));
  mark_script(other.script_of(i));
}

void Pipeline::reserve(std::size_t commands, std::size_t bytes) {
  offsets_.reserve(commands);
  bytes_.reserve(bytes);
}

void Pipeline::clear() {
  bytes_.clear();
  offsets_.clear();
  scripts_.clear();
}

}  // namespace steadfast::redis
