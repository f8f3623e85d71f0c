// Time zones by IANA name, from the system tz database (/usr/share/zoneinfo,
// Debian's tzdata) through date::date-tz (libhowardhinnant-date-dev): g++ 12
// lacks std::chrono::locate_zone.
//
// Known limit of date 3.0.1 on the system database: it reads the transitions
// the TZif files list (Debian's "fat" files: up to 2037) and not the rule
// string for later years, so from 2038 a zone keeps the offset of its last
// listed transition (Europe/Berlin: CET all year). Ticks until 2037 are exact.
#pragma once

#include <string_view>

namespace date {
class time_zone;
}

namespace steadfast::engine {

// The zone named `name` ("Europe/Berlin", "UTC", "America/New_York"); never
// null, valid for the life of the process. Throws std::invalid_argument
// naming the text for an unknown zone: unknown time zone 'Europe/Berln'.
[[nodiscard]] const date::time_zone* locate_time_zone(std::string_view name);

}  // namespace steadfast::engine
