// Time zones by IANA name, from the system tz database (/usr/share/zoneinfo,
// Debian's tzdata) through date::date-tz (libhowardhinnant-date-dev): g++ 12
// lacks std::chrono::locate_zone.
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
