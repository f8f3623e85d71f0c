#include "steps/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "engine/quote.h"

namespace steadfast::steps {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress mapped(const std::array<std::uint8_t, 4>& v4) {
  IpAddress a;
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), a.bytes.begin());
  std::copy(v4.begin(), v4.end(), a.bytes.begin() + 12);
  return a;
}

bool starts_with(const IpAddress& a, std::initializer_list<std::uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), a.bytes.begin());
}

std::optional<std::string> restricted_v4(const std::array<std::uint8_t, 4>& v) {
  const auto a = v[0];
  const auto b = v[1];
  if (a == 0) return "unspecified";
  if (a == 127) return "loopback";
  if (a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168)) return "private";
  if (a == 169 && b == 254) return "link-local (cloud metadata)";
  if (a == 100 && (b & 0xc0) == 64) return "shared (carrier-grade NAT)";
  if ((a == 192 && b == 0 && v[2] == 0) || (a == 198 && (b & 0xfe) == 18)) return "reserved";
  if (a >= 224 && a <= 239) return "multicast";
  if (a >= 240) return "reserved";
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
  });
}

}  // namespace

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* addr, socklen_t len) {
  if (addr == nullptr) return std::nullopt;
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in{};
    std::memcpy(&in, addr, sizeof in);
    std::array<std::uint8_t, 4> v4{};
    std::memcpy(v4.data(), &in.sin_addr, 4);
    return mapped(v4);
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, addr, sizeof in6);
    IpAddress a;
    std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
    return a;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  const std::string s(text);
  std::array<std::uint8_t, 4> v4{};
  if (::inet_pton(AF_INET, s.c_str(), v4.data()) == 1) return mapped(v4);
  IpAddress a;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<std::array<std::uint8_t, 4>> IpAddress::embedded_ipv4() const {
  std::array<std::uint8_t, 4> v4{};
  const bool mapped_form = std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
  const bool nat64 = starts_with(*this, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0});
  const bool compatible = starts_with(*this, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  if (mapped_form || nat64 || compatible) {
    std::copy(bytes.begin() + 12, bytes.end(), v4.begin());
    return v4;
  }
  if (bytes[0] == 0x20 && bytes[1] == 0x02) {  // 6to4
    std::copy(bytes.begin() + 2, bytes.begin() + 6, v4.begin());
    return v4;
  }
  return std::nullopt;
}

std::string IpAddress::text() const {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin())) {
    ::inet_ntop(AF_INET, bytes.data() + 12, buffer.data(), buffer.size());
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buffer.data(), buffer.size());
  }
  return buffer.data();
}

std::optional<AddressRange> AddressRange::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const bool v4 = std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address->bytes.begin()) &&
                  text.substr(0, slash).find(':') == std::string_view::npos;
  AddressRange r{*address, 128};
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int n = -1;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() || n < 0 || n > (v4 ? 32 : 128)) {
      return std::nullopt;
    }
    r.prefix_bits = v4 ? 96 + n : n;
  }
  return r;
}

bool AddressRange::contains(const IpAddress& address) const {
  int bits = prefix_bits;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
    if ((address.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<std::string> restricted_range(const IpAddress& a) {
  if (const auto v4 = a.embedded_ipv4()) {
    // ::, ::1 are IPv6 themselves, not IPv4-compatible forms.
    const bool compatible = starts_with(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    if (compatible && (*v4)[0] == 0 && (*v4)[1] == 0 && (*v4)[2] == 0 && (*v4)[3] <= 1) {
      return (*v4)[3] == 0 ? "unspecified" : "loopback";
    }
    if (auto why = restricted_v4(*v4)) return why;
    // A compatible form (::a.b.c.d) is deprecated; nothing public needs it.
    if (compatible) return "reserved";
    return std::nullopt;
  }
  if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80) return "link-local";
  if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0xc0) return "private";  // site-local, deprecated
  if ((a.bytes[0] & 0xfe) == 0xfc) return "unique-local";
  if (a.bytes[0] == 0xff) return "multicast";
  return std::nullopt;
}

AllowEntry AllowEntry::parse(std::string_view text) {
  AllowEntry e;
  if (const auto range = AddressRange::parse(text)) {
    e.range = range;
    return e;
  }
  if (!is_host_name(text) || text.find('/') != std::string_view::npos) {
    throw std::invalid_argument("expected a host name (api.internal), an address (10.0.0.5) or a range "
                                "(10.0.0.0/8, fd00::/8), got " +
                                engine::quote(text, 100));
  }
  e.host = lower(text);
  return e;
}

bool AddressPolicy::allows_host(std::string_view url_host) const {
  const std::string host = lower(url_host);
  return std::any_of(allow.begin(), allow.end(),
                     [&](const AllowEntry& e) { return !e.host.empty() && e.host == host; });
}

std::optional<std::string> AddressPolicy::refusal(const IpAddress& connected) const {
  // An IPv6 form that reaches an IPv4 address (mapped, NAT64, 6to4) is
  // judged as that IPv4 address, by the lists too.
  IpAddress address = connected;
  if (const auto v4 = connected.embedded_ipv4(); v4 && !starts_with(connected, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) {
    address = mapped(*v4);
  }
  // The Redis server only by its own address, never through a wider range.
  const bool is_redis = std::find(redis.begin(), redis.end(), address) != redis.end();
  for (const AllowEntry& e : allow) {
    if (!e.range || !e.range->contains(address)) continue;
    if (!is_redis || e.range->prefix_bits == 128) return std::nullopt;
  }
  if (is_redis) return "the Redis server's address";
  if (const auto why = restricted_range(address)) return *why + " address";
  return std::nullopt;
}

}  // namespace steadfast::steps
