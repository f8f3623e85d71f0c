// Cron expressions (src/engine/cron.*): the input is an expression. Only
// std::invalid_argument may come out of parsing. When it parses, its ticks
// from a few fixed instants (around both 2026 DST changes, an ordinary day,
// the epoch, a far year) in UTC and Europe/Berlin must be strictly after the
// instant (next_tick) or at or before it (latest_tick), each a tick of the
// other, or none; the bounded search must end (-timeout catches a loop).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "engine/cron.h"
#include "engine/time_zone.h"

using namespace steadfast;
using engine::CronInstant;

namespace {

constexpr std::int64_t kInstantsMs[] = {
    0,                  // 1970-01-01T00:00:00Z
    1'774'745'999'999,  // 2026-03-29T00:59:59.999Z, just before Berlin springs forward
    1'782'864'000'000,  // 2026-07-01T00:00:00Z
    1'792'888'200'000,  // 2026-10-25T00:30:00Z, the first 02:30 of Berlin's repeated hour
    1'792'891'800'000,  // 2026-10-25T01:30:00Z, the second one
    4'102'444'799'000,  // 2099-12-31T23:59:59Z
};

void check(const engine::CronExpression& cron, const date::time_zone* zone, CronInstant instant) {
  const std::optional<CronInstant> next = engine::next_tick(cron, zone, instant);
  if (next) {
    if (*next <= instant) __builtin_trap();
    if (engine::latest_tick(cron, zone, *next) != next) __builtin_trap();
  }
  const std::optional<CronInstant> latest = engine::latest_tick(cron, zone, instant);
  if (latest) {
    if (*latest > instant) __builtin_trap();
    if (engine::next_tick(cron, zone, *latest - std::chrono::milliseconds{1}) != latest) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const date::time_zone* const utc = engine::locate_time_zone("UTC");
  static const date::time_zone* const berlin = engine::locate_time_zone("Europe/Berlin");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  engine::CronExpression cron;
  try {
    cron = engine::parse_cron(text);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  for (std::int64_t ms : kInstantsMs) {
    const CronInstant instant{std::chrono::milliseconds{ms}};
    check(cron, utc, instant);
    check(cron, berlin, instant);
  }
  return 0;
}
