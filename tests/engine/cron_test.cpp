// Cron expressions: parsing (every field, every error), the Vixie day rule,
// and their ticks in UTC, Europe/Berlin and America/New_York across month,
// year and DST boundaries; the catch-up decision of due_ticks (unit, on the
// system tz database).
#include "engine/cron.h"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/due_ticks.h"
#include "engine/quote.h"
#include "engine/rfc3339.h"
#include "engine/schedule_policy.h"
#include "engine/time_zone.h"

namespace steadfast::engine {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::uint64_t bits(std::initializer_list<int> values) {
  std::uint64_t mask = 0;
  for (int v : values) mask |= std::uint64_t{1} << v;
  return mask;
}

std::uint64_t bit_range(int low, int high, int step = 1) {
  std::uint64_t mask = 0;
  for (int v = low; v <= high; v += step) mask |= std::uint64_t{1} << v;
  return mask;
}

// "2026-03-29T01:00:00Z" or "2026-03-29T01:00:00.250Z" (UTC) -> the instant.
CronInstant at(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0, used = 0;
  const bool with_ms = std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%3dZ%n", &y, &mo, &d, &h, &mi, &s, &ms, &used) == 7;
  if (!with_ms) {
    ms = 0;
    used = 0;
    std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%dZ%n", &y, &mo, &d, &h, &mi, &s, &used);
  }
  if (used != static_cast<int>(text.size())) throw std::invalid_argument("test: bad instant " + text);
  return date::sys_days{date::year{y} / static_cast<unsigned>(mo) / static_cast<unsigned>(d)} + hours{h} +
         minutes{mi} + seconds{s} + milliseconds{ms};
}

std::string iso(std::optional<CronInstant> t) {
  return t ? rfc3339_ms(t->time_since_epoch().count()) : "none";
}

std::string iso(const std::vector<CronInstant>& ticks) {
  std::string out;
  for (CronInstant t : ticks) out += (out.empty() ? "" : " ") + iso(t);
  return out;
}

std::string parse_error(const std::string& text) {
  try {
    (void)parse_cron(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(parsed)";
}

const date::time_zone* zone(const char* name) { return locate_time_zone(name); }

// ---- parsing ----------------------------------------------------------

TEST(CronParse, FieldsTable) {
  const struct {
    const char* text;
    std::uint64_t seconds, minutes, hours, days_of_month, months, days_of_week;
  } cases[] = {
      {"* * * * *", bits({0}), bit_range(0, 59), bit_range(0, 23), bit_range(1, 31), bit_range(1, 12),
       bit_range(0, 6)},
      {"0 3 * * *", bits({0}), bits({0}), bits({3}), bit_range(1, 31), bit_range(1, 12), bit_range(0, 6)},
      {"*/15 0-6/2 1,15 JAN-mar,Dec mon-FRI", bits({0}), bits({0, 15, 30, 45}), bits({0, 2, 4, 6}),
       bits({1, 15}), bits({1, 2, 3, 12}), bit_range(1, 5)},
      {"5/20 22-23 31 2 7", bits({0}), bits({5, 25, 45}), bits({22, 23}), bits({31}), bits({2}), bits({0})},
      {"0 0 * * 5-7", bits({0}), bits({0}), bits({0}), bit_range(1, 31), bit_range(1, 12), bits({0, 5, 6})},
      {"0 0 * * FRI-SUN", bits({0}), bits({0}), bits({0}), bit_range(1, 31), bit_range(1, 12),
       bits({0, 5, 6})},
      {"0 0 * * 0,7", bits({0}), bits({0}), bits({0}), bit_range(1, 31), bit_range(1, 12), bits({0})},
      {"0 0 * * */2", bits({0}), bits({0}), bits({0}), bit_range(1, 31), bit_range(1, 12), bits({0, 2, 4, 6})},
      {"30 */10 * * * *", bits({30}), bit_range(0, 59, 10), bit_range(0, 23), bit_range(1, 31),
       bit_range(1, 12), bit_range(0, 6)},
      {"\t 0  12 * * *  ", bits({0}), bits({0}), bits({12}), bit_range(1, 31), bit_range(1, 12),
       bit_range(0, 6)},
      {"0 0 1-31/10 */5 *", bits({0}), bits({0}), bits({0}), bits({1, 11, 21, 31}), bits({1, 6, 11}),
       bit_range(0, 6)},
      {"007 08 09 10 6", bits({0}), bits({7}), bits({8}), bits({9}), bits({10}), bits({6})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const CronExpression cron = parse_cron(c.text);
    EXPECT_EQ(cron.text, c.text);
    EXPECT_EQ(cron.seconds, c.seconds);
    EXPECT_EQ(cron.minutes, c.minutes);
    EXPECT_EQ(cron.hours, c.hours);
    EXPECT_EQ(cron.days_of_month, c.days_of_month);
    EXPECT_EQ(cron.months, c.months);
    EXPECT_EQ(cron.days_of_week, c.days_of_week);
  }
}

TEST(CronParse, MacrosAreTheirExpansions) {
  const struct {
    const char* macro;
    const char* expansion;
  } cases[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
               {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
               {"@hourly", "0 * * * *"}, {"@DAILY", "0 0 * * *"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.macro);
    const CronExpression macro = parse_cron(c.macro);
    const CronExpression expansion = parse_cron(c.expansion);
    EXPECT_EQ(macro.text, c.macro);
    EXPECT_EQ(macro.seconds, expansion.seconds);
    EXPECT_EQ(macro.minutes, expansion.minutes);
    EXPECT_EQ(macro.hours, expansion.hours);
    EXPECT_EQ(macro.days_of_month, expansion.days_of_month);
    EXPECT_EQ(macro.months, expansion.months);
    EXPECT_EQ(macro.days_of_week, expansion.days_of_week);
    EXPECT_EQ(macro.day_of_month_restricted, expansion.day_of_month_restricted);
    EXPECT_EQ(macro.day_of_week_restricted, expansion.day_of_week_restricted);
  }
}

TEST(CronParse, DayFieldsRestrictedUnlessTheyStartWithAStar) {
  const struct {
    const char* text;
    bool day_of_month, day_of_week;
  } cases[] = {{"0 0 * * *", false, false},   {"0 0 1 * *", true, false},     {"0 0 * * MON", false, true},
               {"0 0 1 * MON", true, true},   {"0 0 */2 * MON", false, true}, {"0 0 1-31 * 0-7", true, true},
               {"0 0 1 * */1", true, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const CronExpression cron = parse_cron(c.text);
    EXPECT_EQ(cron.day_of_month_restricted, c.day_of_month);
    EXPECT_EQ(cron.day_of_week_restricted, c.day_of_week);
  }
}

TEST(CronParse, ErrorsNameTheFieldAndTheText) {
  const std::string expected =
      "expected 5 fields (minute hour day-of-month month day-of-week), 6 with a leading second, "
      "or a macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)";
  const struct {
    const char* text;
    std::string error;
  } cases[] = {
      {"", "cron '': empty; " + expected},
      {"   ", "cron '   ': empty; " + expected},
      {"0 3 * *", "cron '0 3 * *': 4 fields; " + expected},
      {"0 0 3 * * * *", "cron '0 0 3 * * * *': 7 fields; " + expected},
      {"daily", "cron 'daily': 1 field; " + expected},
      {"@often", "cron '@often': unknown macro '@often' (expected @yearly, @annually, @monthly, @weekly, "
                 "@daily, @midnight or @hourly)"},
      {"@daily 5", "cron '@daily 5': a macro stands alone, with no fields after it"},
      {"60 * * * *", "cron '60 * * * *': minute: 60 is out of range 0-59"},
      {"0 25 * * *", "cron '0 25 * * *': hour: 25 is out of range 0-23"},
      {"0 0 0 * *", "cron '0 0 0 * *': day of month: 0 is out of range 1-31"},
      {"0 0 32 * *", "cron '0 0 32 * *': day of month: 32 is out of range 1-31"},
      {"0 0 * 13 *", "cron '0 0 * 13 *': month: 13 is out of range 1-12"},
      {"0 0 * 0 *", "cron '0 0 * 0 *': month: 0 is out of range 1-12"},
      {"0 0 * * 8", "cron '0 0 * * 8': day of week: 8 is out of range 0-7"},
      {"60 0 * * * *", "cron '60 0 * * * *': second: 60 is out of range 0-59"},
      {"0 99999 * * *", "cron '0 99999 * * *': hour: 99999 is out of range 0-23"},
      {"0 0 * JANUARY *", "cron '0 0 * JANUARY *': month: 'JANUARY' is not a month (1-12 or JAN-DEC)"},
      {"0 0 * * MONDAY", "cron '0 0 * * MONDAY': day of week: 'MONDAY' is not a day of week (0-7 or SUN-SAT)"},
      {"0 MON * * *", "cron '0 MON * * *': hour: 'MON' is not a number"},
      {"5x * * * *", "cron '5x * * * *': minute: '5x' is not a number"},
      {"-5 * * * *", "cron '-5 * * * *': minute: missing value in '-5'"},
      {"5- * * * *", "cron '5- * * * *': minute: missing value in '5-'"},
      {"/5 * * * *", "cron '/5 * * * *': minute: missing value in '/5'"},
      {"1-2-3 * * * *", "cron '1-2-3 * * * *': minute: '2-3' is not a number"},
      {"*/0 * * * *", "cron '*/0 * * * *': minute: step 0 in '*/0' is out of range 1-60"},
      {"0 */25 * * *", "cron '0 */25 * * *': hour: step 25 in '*/25' is out of range 1-24"},
      {"0 0 * * */8", "cron '0 0 * * */8': day of week: step 8 in '*/8' is out of range 1-7"},
      {"*/ * * * *", "cron '*/ * * * *': minute: step '' in '*/' is not a number"},
      {"*/x * * * *", "cron '*/x * * * *': minute: step 'x' in '*/x' is not a number"},
      {"*/5/5 * * * *", "cron '*/5/5 * * * *': minute: step '5/5' in '*/5/5' is not a number"},
      {"30-10 * * * *", "cron '30-10 * * * *': minute: range '30-10' is reversed"},
      {"0 0 * DEC-JAN *", "cron '0 0 * DEC-JAN *': month: range 'DEC-JAN' is reversed"},
      {"1,,2 * * * *", "cron '1,,2 * * * *': minute: empty list item in '1,,2'"},
      {"1, * * * *", "cron '1, * * * *': minute: empty list item in '1,'"},
      {"** * * * *", "cron '** * * * *': minute: '**' is not a number"},
      {"0 0 ? * *", "cron '0 0 ? * *': day of month: '?' is not a number"},
      {"0 0 L * *", "cron '0 0 L * *': day of month: 'L' is not a number"},
      {"0 0 * * 1#2", "cron '0 0 * * 1#2': day of week: '1#2' is not a day of week (0-7 or SUN-SAT)"},
      {"0 0\n* * *", "cron '0 0\\x0a* * *': 4 fields; " + expected},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_error(c.text), c.error) << c.text;
}

// ---- matching: the Vixie day rule --------------------------------------

std::chrono::seconds local(int y, unsigned m, unsigned d, int hour = 0, int minute = 0) {
  return (date::local_days{date::year{y} / m / d} + hours{hour} + minutes{minute}).time_since_epoch();
}

TEST(CronMatch, VixieDayRule) {
  // 2026-06-01 is a Monday, 2026-06-02 a Tuesday, 2026-06-08 a Monday.
  const struct {
    const char* text;
    std::chrono::seconds when;
    bool match;
  } cases[] = {
      {"0 0 1 * MON", local(2026, 6, 1), true},    // both
      {"0 0 1 * MON", local(2026, 6, 8), true},    // a Monday, not the 1st: either suffices
      {"0 0 1 * MON", local(2026, 7, 1), true},    // the 1st, a Wednesday
      {"0 0 1 * MON", local(2026, 6, 2), false},   // neither
      {"0 0 1 * *", local(2026, 6, 8), false},     // day of week '*': the 1st only
      {"0 0 * * MON", local(2026, 6, 2), false},   // day of month '*': Mondays only
      {"0 0 * * MON", local(2026, 6, 8), true},    //
      {"0 0 */2 * MON", local(2026, 6, 8), false}, // '*/2' counts as '*': both must match (8 is even)
      {"0 0 */2 * MON", local(2026, 6, 15), true}, // odd and a Monday
      {"0 0 */2 * MON", local(2026, 6, 3), false}, // odd, a Wednesday
      {"0 0 13 * FRI", local(2026, 3, 13), true},  // Friday the 13th
      {"0 0 13 * FRI", local(2026, 3, 6), true},   // any Friday
      {"0 0 30 2 MON", local(2026, 2, 2), true},   // "30 February" never, Mondays in February
      {"0 12 * * *", local(2026, 6, 8, 12), true},
      {"0 12 * * *", local(2026, 6, 8, 12, 1), false},
      {"0 0 * * 7", local(2026, 6, 7), true},      // 7 is Sunday
  };
  for (const auto& c : cases) EXPECT_EQ(matches(parse_cron(c.text), c.when), c.match) << c.text;
}

// ---- next_tick -----------------------------------------------------------

struct TickCase {
  const char* text;
  const char* zone;
  const char* after;
  const char* next;
};

void expect_next(const TickCase& c) {
  EXPECT_EQ(iso(next_tick(parse_cron(c.text), zone(c.zone), at(c.after))), c.next)
      << c.text << " in " << c.zone << " after " << c.after;
}

TEST(CronNextTick, UtcTable) {
  const TickCase cases[] = {
      {"0 3 * * *", "UTC", "2026-05-10T02:59:59Z", "2026-05-10T03:00:00.000Z"},
      {"0 3 * * *", "UTC", "2026-05-10T03:00:00Z", "2026-05-11T03:00:00.000Z"},  // strictly after
      {"0 3 * * *", "UTC", "2026-05-10T02:59:59.999Z", "2026-05-10T03:00:00.000Z"},
      {"* * * * * *", "UTC", "2026-01-01T00:00:00.500Z", "2026-01-01T00:00:01.000Z"},
      {"*/20 * * * * *", "UTC", "2026-01-01T10:00:05Z", "2026-01-01T10:00:20.000Z"},
      {"0 0 1 1 *", "UTC", "2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00.000Z"},
      {"@yearly", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00.000Z"},
      {"59 23 31 12 *", "UTC", "2026-01-01T00:00:00Z", "2026-12-31T23:59:00.000Z"},
      {"0 12 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T12:00:00.000Z"},  // April has 30 days
      {"@monthly", "UTC", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00.000Z"},
      {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00.000Z"},   // leap years
      {"0 0 29 2 *", "UTC", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00.000Z"},
      {"0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00.000Z"},   // 2100 is not leap
      {"0 0 28 2 *", "UTC", "2028-02-28T00:00:00Z", "2029-02-28T00:00:00.000Z"},
      {"@weekly", "UTC", "2026-06-01T00:00:00Z", "2026-06-07T00:00:00.000Z"},      // Sunday
      {"0 9 * * MON-FRI", "UTC", "2026-06-05T09:00:00Z", "2026-06-08T09:00:00.000Z"},  // Fri -> Mon
      {"0 0 1 * MON", "UTC", "2026-06-02T00:00:00Z", "2026-06-08T00:00:00.000Z"},  // Vixie: a Monday
      {"0 0 1 * MON", "UTC", "2026-06-29T00:00:00Z", "2026-07-01T00:00:00.000Z"},  // Vixie: the 1st
      {"15,45 */6 * * *", "UTC", "2026-06-01T06:45:00Z", "2026-06-01T12:15:00.000Z"},
      {"0 0 * * *", "UTC", "1970-01-01T00:00:00Z", "1970-01-02T00:00:00.000Z"},
  };
  for (const auto& c : cases) expect_next(c);
}

TEST(CronNextTick, ImpossibleExpressionsHaveNoTick) {
  for (const char* text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *", "59 59 23 30 2 *"}) {
    const CronExpression cron = parse_cron(text);
    for (const char* name : {"UTC", "Europe/Berlin"}) {
      EXPECT_EQ(next_tick(cron, zone(name), at("2026-01-01T00:00:00Z")), std::nullopt) << text;
      EXPECT_EQ(latest_tick(cron, zone(name), at("2026-01-01T00:00:00Z")), std::nullopt) << text;
    }
  }
}

TEST(CronNextTick, OutOfRangeInstantsThrow) {
  const CronExpression cron = parse_cron("@daily");
  EXPECT_THROW((void)next_tick(cron, zone("UTC"), at("1899-12-31T23:59:59Z")), std::out_of_range);
  EXPECT_THROW((void)latest_tick(cron, zone("UTC"), at("9991-01-01T00:00:00Z")), std::out_of_range);
  EXPECT_EQ(iso(latest_tick(cron, zone("UTC"), at("1970-01-01T00:00:00.001Z"))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(next_tick(cron, zone("UTC"), at("1969-12-31T23:59:59.999Z")), at("1970-01-01T00:00:00Z"));
}

// Europe/Berlin 2026: CET (+1) -> CEST (+2) at 2026-03-29 01:00Z (02:00 local
// jumps to 03:00); CEST -> CET at 2026-10-25 01:00Z (03:00 local back to 02:00).
TEST(CronNextTick, BerlinDailyAt0230AcrossDst) {
  const TickCase cases[] = {
      {"30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-28T01:30:00.000Z"},  // CET
      // 02:30 does not exist on the 29th: the first valid instant after the gap, 03:00 CEST
      {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00.000Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00.000Z"},  // CEST
      // 02:30 happens twice on 25 October: once, at its first (CEST) instant
      {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00.000Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00.000Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-10-25T01:29:59Z", "2026-10-26T01:30:00.000Z"},  // no 2nd
  };
  for (const auto& c : cases) expect_next(c);
}

TEST(CronNextTick, BerlinDailyAt0300AcrossDst) {
  const TickCase cases[] = {
      {"0 3 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-28T02:00:00.000Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-03-28T02:00:00Z", "2026-03-29T01:00:00.000Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00.000Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", "2026-10-24T01:00:00.000Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-10-24T01:00:00Z", "2026-10-25T02:00:00.000Z"},  // 03:00 CET
      {"0 3 * * *", "Europe/Berlin", "2026-10-25T02:00:00Z", "2026-10-26T02:00:00.000Z"},
      // the example: nightly-digest at 03:00 Berlin, summer and winter
      {"0 3 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", "2026-07-01T01:00:00.000Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-12-01T00:00:00Z", "2026-12-01T02:00:00.000Z"},
  };
  for (const auto& c : cases) expect_next(c);
}

std::vector<std::string> ticks_between(const char* text, const char* name, const char* from, const char* to) {
  const CronExpression cron = parse_cron(text);
  std::vector<std::string> out;
  std::optional<CronInstant> t = at(from);
  while ((t = next_tick(cron, zone(name), *t)) && *t <= at(to)) out.push_back(iso(*t));
  return out;
}

TEST(CronNextTick, BerlinHourlyAcrossDst) {
  // Spring: local 02:00 does not exist and ticks at the gap's end, with 03:00.
  EXPECT_EQ(ticks_between("0 * * * *", "Europe/Berlin", "2026-03-28T22:30:00Z", "2026-03-29T02:30:00Z"),
            (std::vector<std::string>{"2026-03-28T23:00:00.000Z", "2026-03-29T00:00:00.000Z",
                                      "2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000Z"}));
  // Autumn: local 02:00 happens twice and ticks once (00:00Z); the repeated
  // hour has no tick, so 01:00Z passes without one.
  EXPECT_EQ(ticks_between("0 * * * *", "Europe/Berlin", "2026-10-24T22:30:00Z", "2026-10-25T03:30:00Z"),
            (std::vector<std::string>{"2026-10-24T23:00:00.000Z", "2026-10-25T00:00:00.000Z",
                                      "2026-10-25T02:00:00.000Z", "2026-10-25T03:00:00.000Z"}));
  // Several local times in the gap make one tick.
  EXPECT_EQ(ticks_between("*/15 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z"),
            (std::vector<std::string>{"2026-03-29T01:00:00.000Z", "2026-03-30T00:00:00.000Z",
                                      "2026-03-30T00:15:00.000Z", "2026-03-30T00:30:00.000Z",
                                      "2026-03-30T00:45:00.000Z"}));
}

// America/New_York 2026: EST (-5) -> EDT (-4) on 8 March at 07:00Z; back on
// 1 November at 06:00Z (02:00 EDT -> 01:00 EST).
TEST(CronNextTick, NewYorkAcrossDst) {
  const TickCase cases[] = {
      {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00.000Z"},  // gap
      {"30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00.000Z"},
      {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00.000Z"},  // EDT
      {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00.000Z"},
      {"0 9 * * MON-FRI", "America/New_York", "2026-11-01T00:00:00Z", "2026-11-02T14:00:00.000Z"},
  };
  for (const auto& c : cases) expect_next(c);
}

// latest_tick is next_tick's mirror: around every instant of two DST days,
// in steps of 10 minutes, latest_tick(t) is the tick before next_tick(t).
TEST(CronLatestTick, MirrorsNextTick) {
  for (const char* text : {"0 * * * *", "30 2 * * *", "*/15 2 * * *", "0 3 * * *", "*/7 * * * * *"}) {
    const CronExpression cron = parse_cron(text);
    for (const char* name : {"Europe/Berlin", "UTC", "America/New_York"}) {
      const date::time_zone* tz = zone(name);
      for (const char* day : {"2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z", "2026-11-01T00:00:00Z"}) {
        for (CronInstant t = at(day); t < at(day) + hours{12}; t += minutes{10}) {
          const std::optional<CronInstant> latest = latest_tick(cron, tz, t);
          ASSERT_TRUE(latest) << text;
          EXPECT_LE(*latest, t);
          EXPECT_EQ(next_tick(cron, tz, *latest - milliseconds{1}), latest) << text << " " << name << " " << iso(t);
          EXPECT_EQ(next_tick(cron, tz, *latest), next_tick(cron, tz, t)) << text << " " << name << " " << iso(t);
        }
      }
    }
  }
}

// ---- zones and options -------------------------------------------------

TEST(CronZone, UnknownZonesAreNamed) {
  EXPECT_NE(locate_time_zone("Europe/Berlin"), nullptr);
  EXPECT_NE(locate_time_zone("UTC"), nullptr);
  EXPECT_NE(locate_time_zone("Etc/GMT+5"), nullptr);
  for (const char* name : {"Europe/Berln", "", "berlin", "../../etc/passwd", "Europe/Berlin\n", "localtime",
                           "posix/Europe/Berlin", "right/UTC", "zone.tab", "Factory"}) {
    try {
      (void)locate_time_zone(name);
      ADD_FAILURE() << name;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(e.what(), "unknown time zone " + quote(name) +
                              " (expected an IANA name like 'Europe/Berlin' or 'UTC')");
    }
  }
}

TEST(SchedulePolicy, ParseAndName) {
  for (CatchUp c : {CatchUp::none, CatchUp::one, CatchUp::all}) EXPECT_EQ(parse_catch_up(to_string(c)), c);
  for (Overlap o : {Overlap::allow, Overlap::skip, Overlap::cancel_previous}) {
    EXPECT_EQ(parse_overlap(to_string(o)), o);
  }
  try {
    (void)parse_catch_up("some");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "catch_up 'some': expected none, one or all");
  }
  try {
    (void)parse_overlap("Skip");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "overlap 'Skip': expected allow, skip or cancel_previous");
  }
}

// ---- due_ticks -----------------------------------------------------------

TEST(CronDueTicks, Table) {
  const struct {
    const char* text;
    const char* zone;
    const char* last;
    const char* now;
    CatchUp catch_up;
    const char* fire;
    const char* first_skipped;
    const char* next;
  } cases[] = {
      // nothing due yet
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T10:00:30Z", CatchUp::none, "", "none",
       "2026-06-01T11:00:00.000Z"},
      // on time: every policy fires it
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:05Z", CatchUp::none,
       "2026-06-01T11:00:00.000Z", "none", "2026-06-01T12:00:00.000Z"},
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:05Z", CatchUp::one,
       "2026-06-01T11:00:00.000Z", "none", "2026-06-01T12:00:00.000Z"},
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:05Z", CatchUp::all,
       "2026-06-01T11:00:00.000Z", "none", "2026-06-01T12:00:00.000Z"},
      // exactly the grace late is on time; a ms more is late
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:01:00Z", CatchUp::none,
       "2026-06-01T11:00:00.000Z", "none", "2026-06-01T12:00:00.000Z"},
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:01:00.001Z", CatchUp::none, "",
       "2026-06-01T11:00:00.000Z", "2026-06-01T12:00:00.000Z"},
      // down from 10:00 to 14:30: four ticks missed
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T14:30:00Z", CatchUp::none, "",
       "2026-06-01T11:00:00.000Z", "2026-06-01T15:00:00.000Z"},
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T14:30:00Z", CatchUp::one,
       "2026-06-01T14:00:00.000Z", "2026-06-01T11:00:00.000Z", "2026-06-01T15:00:00.000Z"},
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T14:30:00Z", CatchUp::all,
       "2026-06-01T11:00:00.000Z 2026-06-01T12:00:00.000Z 2026-06-01T13:00:00.000Z 2026-06-01T14:00:00.000Z",
       "none", "2026-06-01T15:00:00.000Z"},
      // back just in time for a tick after missing others: none fires the on-time one only
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T13:00:30Z", CatchUp::none,
       "2026-06-01T13:00:00.000Z", "2026-06-01T11:00:00.000Z", "2026-06-01T14:00:00.000Z"},
      // `last` is the creation time, between ticks
      {"@daily", "UTC", "2026-06-01T15:20:00Z", "2026-06-02T00:00:01Z", CatchUp::none,
       "2026-06-02T00:00:00.000Z", "none", "2026-06-03T00:00:00.000Z"},
      // the clock went back: nothing fires twice, next is after `last`
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T09:30:00Z", CatchUp::all, "", "none",
       "2026-06-01T11:00:00.000Z"},
      {"0 * * * *", "UTC", "2026-06-01T10:00:00Z", "2026-06-01T10:00:00Z", CatchUp::all, "", "none",
       "2026-06-01T11:00:00.000Z"},
      // Berlin 02:30 daily, down over the spring change: the gap's tick is one of them
      {"30 2 * * *", "Europe/Berlin", "2026-03-28T01:30:00Z", "2026-03-31T12:00:00Z", CatchUp::all,
       "2026-03-29T01:00:00.000Z 2026-03-30T00:30:00.000Z 2026-03-31T00:30:00.000Z", "none",
       "2026-04-01T00:30:00.000Z"},
      // ... and over the autumn change: 02:30 once
      {"30 2 * * *", "Europe/Berlin", "2026-10-24T00:30:00Z", "2026-10-26T12:00:00Z", CatchUp::all,
       "2026-10-25T00:30:00.000Z 2026-10-26T01:30:00.000Z", "none", "2026-10-27T01:30:00.000Z"},
      // an expression without ticks: nothing, and no next
      {"0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", CatchUp::all, "", "none", "none"},
  };
  for (const auto& c : cases) {
    const DueTicks due = due_ticks(parse_cron(c.text), zone(c.zone), at(c.last), at(c.now), c.catch_up);
    SCOPED_TRACE(std::string(c.text) + " last " + c.last + " now " + c.now + " " +
                 std::string(to_string(c.catch_up)));
    EXPECT_EQ(iso(due.fire), c.fire);
    EXPECT_EQ(iso(due.first_skipped), c.first_skipped);
    EXPECT_EQ(iso(due.next), c.next);
  }
}

TEST(CronDueTicks, AllIsBoundedAndKeepsTheNewest) {
  const CronExpression every_minute = parse_cron("* * * * *");
  const CronInstant start = at("2026-06-01T00:00:00Z");
  const DueTicks due = due_ticks(every_minute, zone("UTC"), start, start + minutes{1000}, CatchUp::all);
  ASSERT_EQ(due.fire.size(), 100U);
  EXPECT_EQ(due.fire.front(), start + minutes{901});
  EXPECT_EQ(due.fire.back(), start + minutes{1000});
  EXPECT_EQ(due.first_skipped, start + minutes{1});
  EXPECT_EQ(due.next, start + minutes{1001});

  const DueTicks three = due_ticks(every_minute, zone("UTC"), start, start + minutes{10}, CatchUp::all, 3);
  EXPECT_EQ(iso(three.fire), "2026-06-01T00:08:00.000Z 2026-06-01T00:09:00.000Z 2026-06-01T00:10:00.000Z");
  EXPECT_EQ(three.first_skipped, start + minutes{1});

  // exactly the limit: nothing skipped
  const DueTicks hundred = due_ticks(every_minute, zone("UTC"), start, start + minutes{100}, CatchUp::all);
  EXPECT_EQ(hundred.fire.size(), 100U);
  EXPECT_EQ(hundred.first_skipped, std::nullopt);

  EXPECT_THROW((void)due_ticks(every_minute, zone("UTC"), start, start + minutes{10}, CatchUp::all, 0),
               std::invalid_argument);
}

// An every-second schedule down for a year: as cheap as a short outage.
TEST(CronDueTicks, LongOutageOfAFrequentSchedule) {
  const CronExpression every_second = parse_cron("* * * * * *");
  const CronInstant last = at("2025-06-01T00:00:00Z");
  const CronInstant now = at("2026-06-01T00:00:00.250Z");
  for (CatchUp c : {CatchUp::none, CatchUp::one, CatchUp::all}) {
    const DueTicks due = due_ticks(every_second, zone("Europe/Berlin"), last, now, c);
    EXPECT_EQ(due.fire.size(), c == CatchUp::all ? 100U : 1U);
    EXPECT_EQ(due.fire.back(), at("2026-06-01T00:00:00Z"));
    EXPECT_EQ(due.first_skipped, last + seconds{1});
    EXPECT_EQ(due.next, at("2026-06-01T00:00:01Z"));
  }
}

}  // namespace
}  // namespace steadfast::engine
