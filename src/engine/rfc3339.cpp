#include "engine/rfc3339.h"

#include <cstdio>
#include <stdexcept>

namespace steadfast::engine {
namespace {

// Days since 1970-01-01 -> civil date (Howard Hinnant's days_from_civil inverse).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

}  // namespace

std::string rfc3339_ms(std::int64_t unix_ms) {
  // 253402300800000 = 10000-01-01T00:00:00Z
  if (unix_ms < 0 || unix_ms >= 253402300800000LL) {
    throw std::out_of_range("timestamp " + std::to_string(unix_ms) +
                            " ms is outside the years 1970..9999");
  }
  const std::int64_t days = unix_ms / 86400000;
  const std::int64_t in_day = unix_ms % 86400000;
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(y), m, d,
                static_cast<int>(in_day / 3600000), static_cast<int>(in_day / 60000 % 60),
                static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return buf;
}

}  // namespace steadfast::engine
