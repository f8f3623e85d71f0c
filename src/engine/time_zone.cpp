#include "engine/time_zone.h"

#include <date/tz.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine/quote.h"

namespace steadfast::engine {
namespace {

// IANA names are letters, digits and "/_+-" ("America/Port-au-Prince",
// "Etc/GMT+5"); anything else (a "..", a NUL) is refused before the
// database sees it. So is "localtime", which the database lists but which is
// the host's /etc/localtime: a schedule must mean the same on every host.
bool plausible_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.find("..") != std::string_view::npos) return false;
  if (name == "localtime") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '+' || c == '-';
  });
}

}  // namespace

const date::time_zone* locate_time_zone(std::string_view name) {
  if (plausible_name(name)) {
    try {
      return date::locate_zone(std::string(name));
    } catch (const std::runtime_error&) {
      // not in the database: the message below
    }
  }
  throw std::invalid_argument("unknown time zone " + quote(name) +
                              " (expected an IANA name like 'Europe/Berlin' or 'UTC')");
}

}  // namespace steadfast::engine
