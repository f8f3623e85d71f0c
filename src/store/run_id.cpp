#include "store/run_id.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

#include "redis/script.h"
#include "store/keys.h"

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
  // Monotonic per thread (the ULID spec's monotonic mode): within one ms, or
  // when the clock steps back, the 80 random bits of the last id plus one —
  // so the ids one thread makes sort in the order it made them.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  thread_local std::uint64_t last_ms = 0;
  thread_local std::uint64_t hi = 0;  // the random part's upper 16 bits
  thread_local std::uint64_t lo = 0;  // and its lower 64
  auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  if (ms <= last_ms && (lo != ~std::uint64_t{0} || hi != 0xFFFF)) {
    ms = last_ms;
    if (++lo == 0) ++hi;
  } else {
    hi = rng() & 0xFFFF;
    lo = rng();
  }
  last_ms = ms;
  std::string id(26, '0');
  std::uint64_t t = ms;
  for (int i = 9; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kAlphabet[t & 31];
    t >>= 5;
  }
  // 80 bits = 16 characters of 5 bits, the last from lo's low bits.
  std::uint64_t l = lo;
  std::uint64_t h = hi;
  for (int i = 25; i >= 10; --i) {
    id[static_cast<std::size_t>(i)] = kAlphabet[l & 31];
    l = (l >> 5) | ((h & 31) << 59);
    h >>= 5;
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

std::string child_run_id(const KeySpace& keys, std::string_view parent_id, std::string_view holder) {
  // "step[k]" reads "step:k" in the seed, as the idempotency key of an item does.
  std::string seed(parent_id);
  seed += ':';
  const std::size_t open = holder.find('[');
  if (open == std::string_view::npos) {
    seed += holder;
  } else {
    seed += holder.substr(0, open);
    seed += ':';
    seed += holder.substr(open + 1, holder.size() - open - 2);
  }
  const int partition = keys.partition_of(parent_id);
  for (int n = 0;; ++n) {
    const std::string hex = redis::sha1_hex(seed + ":" + std::to_string(n));
    std::string id(parent_id.substr(0, 10));
    // 16 characters of 5 bits from the first 20 hex digits (80 bits).
    for (std::size_t i = 0; i < 20; i += 5) {
      const std::uint64_t v = std::stoull(hex.substr(i, 5), nullptr, 16);  // 20 bits
      for (int c = 3; c >= 0; --c) id += kAlphabet[(v >> (5 * c)) & 31];
    }
    if (keys.partition_of(id) == partition) return id;
  }
}

}  // namespace steadfast::store
