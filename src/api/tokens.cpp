#include "api/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace steadfast::api {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!(s = trim(s)).empty()) {
    const auto end = s.find_first_of(" \t");
    out.push_back(s.substr(0, end));
    if (end == std::string_view::npos) break;
    s.remove_prefix(end);
  }
  return out;
}

// A whole number from 1 to 10^12, or nullopt.
std::optional<std::int64_t> whole_number(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < 1) return std::nullopt;
  return v;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool allows(Role role, Access access) noexcept {
  // A worker token reaches the worker protocol only; the protocol is the
  // admin's too (an operator may drive it by hand), not a submitter's.
  if (role == Role::worker) return access == Access::worker;
  switch (access) {
    case Access::read:
    case Access::submit: return true;
    case Access::admin:
    case Access::worker: return role == Role::admin;
  }
  return false;
}

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::admin: return "admin";
    case Role::worker: return "worker";
    case Role::submit: break;
  }
  return "submit";
}

Tokens Tokens::parse(std::string_view text, std::string_view path) {
  Tokens t;
  int line_no = 0;
  std::istringstream in{std::string(text)};
  for (std::string raw; std::getline(in, raw);) {
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto fail = [&](const std::string& what) {
      throw std::invalid_argument(std::string(path) + ":" + std::to_string(line_no) + ": " + what);
    };
    const auto w = words(line);
    if (w.size() < 2) fail("expected 'sha256:<hex> <role> [name] [rate=<n>/s] [max_live=<n>]'");
    if (!w[0].starts_with("sha256:")) fail("the token must be given as sha256:<hex> (its SHA-256, never the token)");
    const std::string_view hex = w[0].substr(7);
    if (hex.size() != 64) fail("sha256:<hex> needs 64 hex digits, got " + std::to_string(hex.size()));
    Entry e;
    for (std::size_t i = 0; i < 32; ++i) {
      const int hi = hex_value(hex[2 * i]);
      const int lo = hex_value(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) fail("sha256:<hex> holds a character that is not a hex digit");
      e.hash[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    if (w[1] == "submit") {
      e.principal.role = Role::submit;
    } else if (w[1] == "admin") {
      e.principal.role = Role::admin;
    } else if (w[1] == "worker") {
      e.principal.role = Role::worker;
    } else {
      fail("unknown role '" + std::string(w[1]) + "' (submit, admin or worker)");
    }
    e.principal.id = std::string(hex.substr(0, 16));
    for (auto& c : e.principal.id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::size_t i = 2; i < w.size(); ++i) {
      const std::string_view word = w[i];
      const auto eq = word.find('=');
      if (eq == std::string_view::npos) {
        if (i != 2) fail("unexpected '" + std::string(word) + "': the name comes right after the role");
        e.principal.name = std::string(word);
        continue;
      }
      const std::string_view key = word.substr(0, eq);
      const std::string_view value = word.substr(eq + 1);
      if (key == "rate") {
        const auto slash = value.find('/');
        const std::string_view unit = slash == std::string_view::npos ? "" : value.substr(slash + 1);
        const auto n = whole_number(value.substr(0, slash == std::string_view::npos ? value.size() : slash));
        if (!n || (unit != "s" && unit != "m")) {
          fail("rate must be <n>/s or <n>/m with n a whole number >= 1, got '" + std::string(value) + "'");
        }
        e.principal.quota.per_minute = unit == "s" ? *n * 60 : *n;
        e.principal.quota.burst = std::max<std::int64_t>(1, e.principal.quota.per_minute / 60);
      } else if (key == "max_live") {
        const auto n = whole_number(value);
        if (!n) fail("max_live must be a whole number >= 1, got '" + std::string(value) + "'");
        e.principal.quota.max_live = *n;
      } else {
        fail("unknown option '" + std::string(key) + "' (rate=<n>/s, max_live=<n>)");
      }
    }
    for (const Entry& other : t.entries_) {
      if (other.hash == e.hash) fail("duplicate token hash");
    }
    t.entries_.push_back(std::move(e));
  }
  return t;
}

Tokens Tokens::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument("cannot read the tokens file '" + path + "'");
  std::ostringstream text;
  text << f.rdbuf();
  Tokens t = parse(text.str(), path);
  if (!t.enabled()) throw std::invalid_argument("the tokens file '" + path + "' holds no token");
  return t;
}

std::optional<Principal> Tokens::authenticate(std::optional<std::string_view> authorization) const {
  if (!authorization) return std::nullopt;
  std::string_view v = trim(*authorization);
  const auto space = v.find(' ');
  if (space == std::string_view::npos || !iequals(v.substr(0, space), "Bearer")) return std::nullopt;
  const std::string_view token = trim(v.substr(space + 1));
  if (token.empty()) return std::nullopt;
  std::array<unsigned char, 32> hash{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), hash.data());
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {  // every entry, no early exit
    if (CRYPTO_memcmp(e.hash.data(), hash.data(), hash.size()) == 0) match = &e;
  }
  if (match == nullptr) return std::nullopt;
  return match->principal;
}

}  // namespace steadfast::api
