#include "redis/pipeline.h"

#include <hiredis/hiredis.h>

#include <new>
#include <stdexcept>

namespace steadfast::redis {

namespace {

// Formats with hiredis into out. Small commands use stack arrays for argv.
template <typename Str>
void format_into(std::string& out, std::span<const Str> argv) {
  constexpr std::size_t kStack = 16;
  std::array<const char*, kStack> ptr_stack;
  std::array<std::size_t, kStack> len_stack;
  std::vector<const char*> ptr_heap;
  std::vector<std::size_t> len_heap;
  const char** ptrs = ptr_stack.data();
  std::size_t* lens = len_stack.data();
  if (argv.size() > kStack) {
    ptr_heap.resize(argv.size());
    len_heap.resize(argv.size());
    ptrs = ptr_heap.data();
    lens = len_heap.data();
  }
  for (std::size_t i = 0; i < argv.size(); ++i) {
    ptrs[i] = argv[i].data();
    lens[i] = argv[i].size();
  }
  char* cmd = nullptr;
  int len = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs, lens);
  if (len < 0 || cmd == nullptr) throw std::bad_alloc();
  out.append(cmd, static_cast<std::size_t>(len));
  redisFreeCommand(cmd);
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
