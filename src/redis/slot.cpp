#include "redis/slot.h"

#include <array>
#include <charconv>
#include <stdexcept>
#include <string>

namespace steadfast::redis {

namespace {

constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    t[static_cast<std::size_t>(i)] = crc;
  }
  return t;
}
constexpr std::array<std::uint16_t, 256> kCrc16 = make_crc16_table();

std::uint16_t crc16(std::string_view s) noexcept {
  std::uint16_t crc = 0;
  for (const char c : s) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  }
  return crc;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (x != b[i]) return false;
  }
  return true;
}

template <typename T>
bool parse_number(std::string_view text, T& out) noexcept {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && p == text.data() + text.size();
}

// Reads "<type><n>\r\n" at pos; advances pos past it.
std::size_t read_header(std::string_view resp, std::size_t& pos, char type) {
  if (pos >= resp.size() || resp[pos] != type) throw std::invalid_argument("not a RESP command");
  const std::size_t end = resp.find("\r\n", pos);
  std::size_t n = 0;
  if (end == std::string_view::npos || !parse_number(resp.substr(pos + 1, end - pos - 1), n)) {
    throw std::invalid_argument("not a RESP command");
  }
  pos = end + 2;
  return n;
}

}  // namespace

int key_slot(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kClusterSlots - 1);
}

std::vector<std::string_view> command_argv(std::string_view resp) {
  std::size_t pos = 0;
  const std::size_t n = read_header(resp, pos, '*');
  std::vector<std::string_view> argv;
  argv.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t len = read_header(resp, pos, '$');
    if (resp.size() < pos + len + 2 || resp.substr(pos + len, 2) != "\r\n") {
      throw std::invalid_argument("not a RESP command");
    }
    argv.push_back(resp.substr(pos, len));
    pos += len + 2;
  }
  if (pos != resp.size()) throw std::invalid_argument("not a RESP command: bytes after the array");
  return argv;
}

std::optional<std::string_view> routing_key(std::span<const std::string_view> argv) {
  if (argv.size() < 2) return std::nullopt;
  const std::string_view name = argv[0];
  for (const char* keyless : {"PING", "INFO", "CONFIG", "SCRIPT", "CLUSTER", "WAIT", "TIME", "SCAN", "KEYS",
                              "DBSIZE", "FLUSHALL", "FLUSHDB", "CLIENT", "ROLE", "MULTI", "EXEC", "DISCARD",
                              "ASKING", "READONLY", "READWRITE", "SLOWLOG", "LATENCY", "COMMAND", "FUNCTION",
                              "DEBUG", "HELLO", "AUTH", "SELECT", "ECHO", "SHUTDOWN", "MONITOR", "SAVE",
                              "BGSAVE", "BGREWRITEAOF", "LASTSAVE", "ACL", "PUBLISH", "SUBSCRIBE"}) {
    if (iequals(name, keyless)) return std::nullopt;
  }
  if (iequals(name, "EVALSHA") || iequals(name, "EVAL") || iequals(name, "EVALSHA_RO") ||
      iequals(name, "EVAL_RO") || iequals(name, "FCALL") || iequals(name, "FCALL_RO")) {
    std::size_t numkeys = 0;
    if (argv.size() < 4 || !parse_number(argv[2], numkeys) || numkeys == 0) return std::nullopt;
    return argv[3];
  }
  if (iequals(name, "XREADGROUP") || iequals(name, "XREAD")) {
    for (std::size_t i = 1; i + 1 < argv.size(); ++i) {
      if (iequals(argv[i], "STREAMS")) return argv[i + 1];
    }
    return std::nullopt;
  }
  if (iequals(name, "XGROUP") || iequals(name, "XINFO") || iequals(name, "OBJECT") || iequals(name, "MEMORY")) {
    return argv.size() > 2 ? std::optional<std::string_view>(argv[2]) : std::nullopt;
  }
  return argv[1];
}

Route route_of(std::string_view resp) {
  // The first four arguments decide every command but XREAD/XREADGROUP.
  std::size_t pos = 0;
  const std::size_t n = read_header(resp, pos, '*');
  std::array<std::string_view, 4> head;
  const std::size_t k = std::min<std::size_t>(n, head.size());
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t len = read_header(resp, pos, '$');
    if (resp.size() < pos + len + 2) throw std::invalid_argument("not a RESP command");
    head[i] = resp.substr(pos, len);
    pos += len + 2;
  }
  Route route;
  if (k == 0) return route;
  if (iequals(head[0], "XREADGROUP") || iequals(head[0], "XREAD")) {
    const std::vector<std::string_view> argv = command_argv(resp);
    if (const auto key = routing_key(argv)) route.slot = key_slot(*key);
    return route;
  }
  if (const auto key = routing_key(std::span<const std::string_view>(head.data(), k))) {
    route.slot = key_slot(*key);
  } else {
    route.wait = iequals(head[0], "WAIT");
  }
  return route;
}

std::optional<Redirect> parse_redirect(std::string_view error) noexcept {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.ask = true;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = error.find(' ');
  if (space == std::string_view::npos || !parse_number(error.substr(0, space), r.slot) || r.slot < 0 ||
      r.slot >= kClusterSlots) {
    return std::nullopt;
  }
  const std::string_view address = error.substr(space + 1);
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || !parse_number(address.substr(colon + 1), r.port) || r.port == 0) {
    return std::nullopt;
  }
  r.host = address.substr(0, colon);
  if (r.host.size() > 2 && r.host.front() == '[' && r.host.back() == ']') r.host = r.host.substr(1, r.host.size() - 2);
  return r;
}

}  // namespace steadfast::redis
