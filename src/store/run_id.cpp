#include "store/run_id.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

namespace steadfast::store {

namespace {
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

std::string canonical_run_id(std::string_view text) {
  std::string id(text);
  for (char& c : id) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return id;
}

std::string run_id_time_prefix(std::int64_t unix_ms) {
  constexpr std::int64_t kMax = (std::int64_t{1} << 48) - 1;
  std::uint64_t t = static_cast<std::uint64_t>(std::clamp<std::int64_t>(unix_ms, 0, kMax));
  std::string prefix(10, '0');
  for (int i = 9; i >= 0; --i) {
    prefix[static_cast<std::size_t>(i)] = kAlphabet[t & 31];
    t >>= 5;
  }
  return prefix;
}

std::string new_run_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::string id(26, '0');
  std::uint64_t t = ms;
  for (int i = 9; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kAlphabet[t & 31];
    t >>= 5;
  }
  std::uint64_t r1 = rng();
  std::uint64_t r2 = rng();
  for (int i = 10; i < 26; ++i) {
    std::uint64_t& r = i < 18 ? r1 : r2;
    id[static_cast<std::size_t>(i)] = kAlphabet[r & 31];
    r >>= 5;
  }
  return id;
}

bool is_valid_run_id(std::string_view id) noexcept {
  if (id.size() != 26) return false;
  for (char c : id) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace steadfast::store
