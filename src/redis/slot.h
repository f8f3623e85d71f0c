// Redis Cluster routing, pure: the hash slot of a key and the key a command
// is routed by. No I/O; safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace steadfast::redis {

inline constexpr int kClusterSlots = 16384;

// CRC16 (XMODEM, as Redis' crc16.c) of the key's hash tag — the part between
// the first '{' and the next '}' when that part is not empty — or of the whole
// key, modulo 16384.
[[nodiscard]] int key_slot(std::string_view key) noexcept;

// The arguments of one RESP-encoded command ("*N\r\n$len\r\narg\r\n..."), as
// views into `resp`. Throws std::invalid_argument if it is not one such array.
[[nodiscard]] std::vector<std::string_view> command_argv(std::string_view resp);

// The key a command is routed by in a cluster: its first key (Redis refuses
// a multi-key command or script whose keys are in different slots, so the
// first decides); nullopt for a keyless command (PING, INFO, SCRIPT, WAIT,
// CLUSTER ..., an EVALSHA of no key). Knows the commands steadfast sends:
// EVAL/EVALSHA/FCALL (numkeys), XREAD/XREADGROUP (after STREAMS), XGROUP,
// XINFO, OBJECT and MEMORY (the key after the subcommand); any other command
// is taken to have its key first.
[[nodiscard]] std::optional<std::string_view> routing_key(std::span<const std::string_view> argv);

// Where a RESP-encoded command goes: the slot of its routing key (-1 for a
// keyless command), and whether it is a WAIT. Reads only the arguments it
// needs, without allocating (but XREAD/XREADGROUP, read whole).
struct Route {
  int slot = -1;
  bool wait = false;
};
[[nodiscard]] Route route_of(std::string_view resp);

// What a redirecting error reply says: "MOVED 3999 127.0.0.1:6381" or
// "ASK 3999 127.0.0.1:6381". nullopt for any other reply text.
struct Redirect {
  bool ask = false;  // ASK: this command once, with ASKING; MOVED: the slot moved for good
  int slot = 0;
  std::string_view host;  // empty when the node did not know its own address
  std::uint16_t port = 0;
};
[[nodiscard]] std::optional<Redirect> parse_redirect(std::string_view error) noexcept;

}  // namespace steadfast::redis
