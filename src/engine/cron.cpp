#include "engine/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/quote.h"

namespace steadfast::engine {
namespace {

// ---- parsing ----------------------------------------------------------

[[noreturn]] void bad(std::string_view expression, std::string_view why) {
  throw std::invalid_argument("cron " + quote(expression) + ": " + std::string(why));
}

constexpr std::array<std::string_view, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

enum class Names { none, months, days };

// One field of the expression: its name in messages and the values it takes.
struct Field {
  std::string_view name;
  int min;
  int max;
  Names names;
};

constexpr Field kSecond{"second", 0, 59, Names::none};
constexpr Field kMinute{"minute", 0, 59, Names::none};
constexpr Field kHour{"hour", 0, 23, Names::none};
constexpr Field kDayOfMonth{"day of month", 1, 31, Names::none};
constexpr Field kMonth{"month", 1, 12, Names::months};
constexpr Field kDayOfWeek{"day of week", 0, 7, Names::days};  // 7 is Sunday again

// More digits than this is out of range for any field (and cannot overflow).
constexpr std::size_t kMaxDigits = 4;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool same_letters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

// Parses the fields of one expression; every error names it and the field.
class FieldParser {
 public:
  FieldParser(std::string_view expression, const Field& field)
      : expression_(expression), field_(field) {}

  // The mask of the values `text` allows (bit v = value v).
  std::uint64_t parse(std::string_view text) const {
    std::uint64_t mask = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = text.find(',', start);
      const std::string_view item =
          text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty()) fail("empty list item in " + quote(text));
      mask |= parse_item(item);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return mask;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    bad(expression_, std::string(field_.name) + ": " + why);
  }

  std::string range_text() const {
    return std::to_string(field_.min) + "-" + std::to_string(field_.max);
  }

  // A number or (months, days of week) a three-letter name, in range.
  // `item` is the list item it came from, for messages.
  int value(std::string_view text, std::string_view item) const {
    if (text.empty()) fail("missing value in " + quote(item));
    if (std::all_of(text.begin(), text.end(), is_digit)) {
      if (text.size() > kMaxDigits) fail(std::string(text) + " is out of range " + range_text());
      int v = 0;
      for (char c : text) v = v * 10 + (c - '0');
      if (v < field_.min || v > field_.max) {
        fail(std::string(text) + " is out of range " + range_text());
      }
      return v;
    }
    if (field_.names == Names::months) {
      for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
        if (same_letters(text, kMonthNames[i])) return static_cast<int>(i) + 1;
      }
      fail(quote(text) + " is not a month (1-12 or JAN-DEC)");
    }
    if (field_.names == Names::days) {
      for (std::size_t i = 0; i < kDayNames.size(); ++i) {
        if (same_letters(text, kDayNames[i])) return static_cast<int>(i);
      }
      fail(quote(text) + " is not a day of week (0-7 or SUN-SAT)");
    }
    fail(quote(text) + " is not a number");
  }

  std::uint64_t parse_item(std::string_view item) const {
    const std::size_t slash = item.find('/');
    const std::string_view base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      const int count = field_.max - field_.min + (field_.names == Names::days ? 0 : 1);
      if (step_text.empty() || !std::all_of(step_text.begin(), step_text.end(), is_digit)) {
        fail("step " + quote(step_text) + " in " + quote(item) + " is not a number");
      }
      if (step_text.size() > kMaxDigits) {
        fail("step " + std::string(step_text) + " in " + quote(item) + " is out of range 1-" +
             std::to_string(count));
      }
      step = 0;
      for (char c : step_text) step = step * 10 + (c - '0');
      if (step < 1 || step > count) {
        fail("step " + std::string(step_text) + " in " + quote(item) + " is out of range 1-" +
             std::to_string(count));
      }
    }

    int low = field_.min;
    int high = field_.max;
    if (base == "*") {
      // every value; a day of week '*' is 0-6, 7 adding nothing
      if (field_.names == Names::days) high = 6;
    } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
      low = value(base.substr(0, dash), item);
      const std::string_view high_text = base.substr(dash + 1);
      high = value(high_text, item);
      // "FRI-SUN": SUN closing a range is the 7 at the end of the week
      if (field_.names == Names::days && high == 0 && !is_digit(high_text.front())) high = 7;
      if (low > high) fail("range " + quote(base) + " is reversed");
    } else {
      low = value(base, item);
      // "a/n" runs from a to the field's end; a lone "a" is just a
      high = slash == std::string_view::npos ? low : field_.max;
    }

    std::uint64_t mask = 0;
    for (int v = low; v <= high; v += step) {
      // a day of week 7 is Sunday, bit 0
      const int bit = (field_.names == Names::days && v == 7) ? 0 : v;
      mask |= std::uint64_t{1} << bit;
    }
    return mask;
  }

  std::string_view expression_;
  const Field& field_;
};

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

struct Macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
                                            {"@annually", "0 0 1 1 *"},
                                            {"@monthly", "0 0 1 * *"},
                                            {"@weekly", "0 0 * * 0"},
                                            {"@daily", "0 0 * * *"},
                                            {"@midnight", "0 0 * * *"},
                                            {"@hourly", "0 * * * *"}}};

constexpr std::string_view kExpected =
    "expected 5 fields (minute hour day-of-month month day-of-week), 6 with a leading second, "
    "or a macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)";

CronExpression parse_fields(std::string_view expression, const std::vector<std::string_view>& fields) {
  CronExpression cron;
  cron.text = std::string(expression);
  std::size_t i = 0;
  if (fields.size() == 6) {
    cron.seconds = FieldParser(expression, kSecond).parse(fields[i++]);
  } else {
    cron.seconds = 1;  // second 0
  }
  cron.minutes = FieldParser(expression, kMinute).parse(fields[i++]);
  cron.hours = static_cast<std::uint32_t>(FieldParser(expression, kHour).parse(fields[i++]));
  const std::string_view day_of_month = fields[i++];
  cron.days_of_month = static_cast<std::uint32_t>(FieldParser(expression, kDayOfMonth).parse(day_of_month));
  cron.months = static_cast<std::uint16_t>(FieldParser(expression, kMonth).parse(fields[i++]));
  const std::string_view day_of_week = fields[i++];
  cron.days_of_week = static_cast<std::uint8_t>(FieldParser(expression, kDayOfWeek).parse(day_of_week));
  cron.day_of_month_restricted = day_of_month.front() != '*';
  cron.day_of_week_restricted = day_of_week.front() != '*';
  return cron;
}

// ---- matching and searching ----------------------------------------------

bool has(std::uint64_t mask, unsigned value) { return ((mask >> value) & 1U) != 0; }

bool day_matches(const CronExpression& cron, const date::year_month_day& ymd, date::weekday weekday) {
  const bool by_month = has(cron.days_of_month, static_cast<unsigned>(ymd.day()));
  const bool by_week = has(cron.days_of_week, weekday.c_encoding());
  if (cron.day_of_month_restricted && cron.day_of_week_restricted) return by_month || by_week;
  return by_month && by_week;
}

// The first local time at or after `from` that matches, skipping whole
// months, days, hours and minutes that cannot; nullopt once past `last_year`.
std::optional<date::local_seconds> first_match_from(const CronExpression& cron, date::local_seconds from,
                                                    date::year last_year) {
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  date::local_seconds t = from;
  while (true) {
    const date::local_days day = date::floor<date::days>(t);
    const date::year_month_day ymd{day};
    if (ymd.year() > last_year) return std::nullopt;
    if (!has(cron.months, static_cast<unsigned>(ymd.month()))) {
      t = date::local_days{(ymd.year() / ymd.month() + date::months{1}) / 1};
      continue;
    }
    if (!day_matches(cron, ymd, date::weekday{day})) {
      t = day + date::days{1};
      continue;
    }
    const auto time_of_day = std::chrono::duration_cast<seconds>(t - day).count();
    const auto hour = static_cast<unsigned>(time_of_day / 3600);
    const auto minute = static_cast<unsigned>(time_of_day / 60 % 60);
    const auto second = static_cast<unsigned>(time_of_day % 60);
    if (!has(cron.hours, hour)) {
      t = day + hours{hour + 1};
      continue;
    }
    if (!has(cron.minutes, minute)) {
      t = day + hours{hour} + minutes{minute + 1};
      continue;
    }
    if (!has(cron.seconds, second)) {
      t += seconds{1};
      continue;
    }
    return t;
  }
}

// The last local time at or before `from` that matches; nullopt once before
// `first_year`.
std::optional<date::local_seconds> last_match_from(const CronExpression& cron, date::local_seconds from,
                                                   date::year first_year) {
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  date::local_seconds t = from;
  while (true) {
    const date::local_days day = date::floor<date::days>(t);
    const date::year_month_day ymd{day};
    if (ymd.year() < first_year) return std::nullopt;
    if (!has(cron.months, static_cast<unsigned>(ymd.month()))) {
      t = date::local_days{ymd.year() / ymd.month() / 1} - seconds{1};
      continue;
    }
    if (!day_matches(cron, ymd, date::weekday{day})) {
      t = day - seconds{1};
      continue;
    }
    const auto time_of_day = std::chrono::duration_cast<seconds>(t - day).count();
    const auto hour = static_cast<unsigned>(time_of_day / 3600);
    const auto minute = static_cast<unsigned>(time_of_day / 60 % 60);
    const auto second = static_cast<unsigned>(time_of_day % 60);
    if (!has(cron.hours, hour)) {
      t = day + hours{hour} - seconds{1};
      continue;
    }
    if (!has(cron.minutes, minute)) {
      t = day + hours{hour} + minutes{minute} - seconds{1};
      continue;
    }
    if (!has(cron.seconds, second)) {
      t -= seconds{1};
      continue;
    }
    return t;
  }
}

// The tick of the matching local time `local`: the first instant whose local
// time is >= it (see cron.h).
CronInstant tick_of(const date::time_zone* zone, date::local_seconds local) {
  const date::local_info info = zone->get_info(local);
  if (info.result == date::local_info::nonexistent) {
    return info.second.begin;  // the end of the gap
  }
  // unique, or the earlier of an ambiguous pair: `first` is the period before the change
  return date::sys_seconds{local.time_since_epoch()} - info.first.offset;
}

date::year year_of(date::local_seconds t) {
  return date::year_month_day{date::floor<date::days>(t)}.year();
}

void check_range(CronInstant instant) {
  const date::year year = date::year_month_day{date::floor<date::days>(instant)}.year();
  if (year < date::year{1900} || year > date::year{9990}) {
    throw std::out_of_range("cron: instant " + std::to_string(instant.time_since_epoch().count()) +
                            " ms is outside the years 1900..9990");
  }
}

}  // namespace

CronExpression parse_cron(std::string_view text) {
  const std::vector<std::string_view> fields = split_fields(text);
  if (fields.empty()) bad(text, "empty; " + std::string(kExpected));
  if (fields.front().front() == '@') {
    if (fields.size() > 1) bad(text, "a macro stands alone, with no fields after it");
    for (const Macro& macro : kMacros) {
      if (same_letters(fields.front(), macro.name)) {
        CronExpression cron = parse_fields(text, split_fields(macro.expansion));
        return cron;
      }
    }
    bad(text, "unknown macro " + quote(fields.front()) +
                  " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
  }
  if (fields.size() != 5 && fields.size() != 6) {
    bad(text, std::to_string(fields.size()) + (fields.size() == 1 ? " field; " : " fields; ") +
                  std::string(kExpected));
  }
  return parse_fields(text, fields);
}

bool matches(const CronExpression& cron, std::chrono::seconds local) {
  const date::local_seconds t{local};
  const date::local_days day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const auto time_of_day = (t - day).count();
  return has(cron.months, static_cast<unsigned>(ymd.month())) && day_matches(cron, ymd, date::weekday{day}) &&
         has(cron.hours, static_cast<unsigned>(time_of_day / 3600)) &&
         has(cron.minutes, static_cast<unsigned>(time_of_day / 60 % 60)) &&
         has(cron.seconds, static_cast<unsigned>(time_of_day % 60));
}

std::optional<CronInstant> next_tick(const CronExpression& cron, const date::time_zone* zone,
                                     CronInstant after) {
  check_range(after);
  // Every local time L <= local(after) ticks at or before `after` (its tick
  // is the first instant whose local time reaches L), and ticks grow with
  // L: scan the matches from the next whole local second and take the first
  // whose tick is later than `after`. Matches skipped here lie in an overlap
  // whose earlier instant has passed.
  date::local_seconds from = date::floor<std::chrono::seconds>(zone->to_local(after)) + std::chrono::seconds{1};
  const date::year last_year = year_of(from) + date::years{kCronSearchYears};
  while (const std::optional<date::local_seconds> match = first_match_from(cron, from, last_year)) {
    const CronInstant tick = tick_of(zone, *match);
    if (tick > after) return tick;
    from = *match + std::chrono::seconds{1};
  }
  return std::nullopt;
}

std::optional<CronInstant> latest_tick(const CronExpression& cron, const date::time_zone* zone, CronInstant at) {
  using std::chrono::milliseconds;
  check_range(at);
  // The latest wall-clock time reached by any instant <= `at`: local(at),
  // or, just after a fall-back, the end of the period before. Periods more
  // than two days back cannot reach past local(at) (offsets differ by less).
  date::local_time<milliseconds> latest = zone->to_local(at);
  CronInstant edge = date::sys_time<milliseconds>{zone->get_info(at).begin} - milliseconds{1};
  for (int i = 0; i < 4 && at - edge < date::days{2}; ++i) {
    latest = std::max(latest, zone->to_local(edge));
    edge = date::sys_time<milliseconds>{zone->get_info(edge).begin} - milliseconds{1};
  }
  date::local_seconds from = date::floor<std::chrono::seconds>(latest);
  const date::year first_year = year_of(from) - date::years{kCronSearchYears};
  while (const std::optional<date::local_seconds> match = last_match_from(cron, from, first_year)) {
    const CronInstant tick = tick_of(zone, *match);
    if (tick <= at) return tick;
    from = *match - std::chrono::seconds{1};
  }
  return std::nullopt;
}

}  // namespace steadfast::engine
