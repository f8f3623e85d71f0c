// Where an http request whose host came from run input or a step output may
// connect (request forgery, docs/security.md). Checked on the address libcurl
// is about to connect to (CURLOPT_OPENSOCKETFUNCTION), after DNS, so a name
// that resolves (or re-resolves) to a private address, the decimal form
// http://2130706433/ and IPv6-mapped forms like [::ffff:127.0.0.1] are all
// judged by the address they reach.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steadfast::steps {

// An IPv4 or IPv6 address; IPv4 is kept as its IPv4-mapped IPv6 form.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  // From a sockaddr_in or sockaddr_in6; nullopt for any other family.
  [[nodiscard]] static std::optional<IpAddress> from_sockaddr(const sockaddr* addr, socklen_t len);
  // "127.0.0.1", "::1", "::ffff:10.0.0.1"; nullopt when not an address.
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text);
  // The IPv4 address it holds (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16,
  // IPv4-compatible ::a.b.c.d); nullopt for a plain IPv6 address.
  [[nodiscard]] std::optional<std::array<std::uint8_t, 4>> embedded_ipv4() const;
  [[nodiscard]] std::string text() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "10.0.0.0/8", "fd00::/8", or one address ("127.0.0.1" = /32, "::1" = /128).
struct AddressRange {
  IpAddress base;
  int prefix_bits = 128;  // over the 16-byte form (an IPv4 /8 is 96 + 8)

  [[nodiscard]] static std::optional<AddressRange> parse(std::string_view text);
  [[nodiscard]] bool contains(const IpAddress& address) const;
};

// Why `address` is not for a host chosen by a run: "loopback", "private",
// "link-local (cloud metadata)", "unique-local", "multicast", "unspecified",
// "reserved", "shared (carrier-grade NAT)"; nullopt for a public address.
// Addresses embedded in IPv6 forms are judged as the IPv4 they reach.
[[nodiscard]] std::optional<std::string> restricted_range(const IpAddress& address);

// An `allow_hosts` entry: a host name (matched against the URL's host,
// case-insensitive) or an address range (matched against the connected
// address). Throws std::invalid_argument naming the entry when it is neither.
struct AllowEntry {
  std::string host;                   // lower-case; empty for a range
  std::optional<AddressRange> range;  // set for a range
  [[nodiscard]] static AllowEntry parse(std::string_view text);
};

// The checks for one request whose host came from a run.
struct AddressPolicy {
  std::vector<AllowEntry> allow;      // the step's allow_hosts and the worker's --allow-hosts
  std::vector<IpAddress> redis;       // the Redis server's addresses: never reached

  // True when the URL's host is allowed by name (then no address is checked).
  [[nodiscard]] bool allows_host(std::string_view url_host) const;
  // Why connecting to `address` is refused; nullopt = allowed. A range in
  // `allow` opens restricted addresses but not the Redis server's: only an
  // entry naming that very address does.
  [[nodiscard]] std::optional<std::string> refusal(const IpAddress& address) const;
};

}  // namespace steadfast::steps
