// Cron expressions as written in a schedule of the workflows file: parsing
// (pure), and their ticks in a time zone (the system tz database, through
// date::time_zone from engine/time_zone.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace steadfast::engine {

// An instant, ms since the Unix epoch (Redis TIME).
using CronInstant = std::chrono::sys_time<std::chrono::milliseconds>;

// A parsed expression: for each field the set of values it allows, as a bit
// mask (bit v set = value v allowed).
struct CronExpression {
  std::string text;                 // as written, for messages
  std::uint64_t seconds = 0;        // bits 0-59; just bit 0 for a five-field expression
  std::uint64_t minutes = 0;        // bits 0-59
  std::uint32_t hours = 0;          // bits 0-23
  std::uint32_t days_of_month = 0;  // bits 1-31
  std::uint16_t months = 0;         // bits 1-12
  std::uint8_t days_of_week = 0;    // bits 0-6, 0 = Sunday (a written 7 is Sunday too)
  // Vixie cron's rule: when both day fields are restricted (neither starts
  // with '*'), a day matches if EITHER matches; otherwise both must (the
  // '*' one always does).
  bool day_of_month_restricted = false;
  bool day_of_week_restricted = false;
};

// "minute hour day-of-month month day-of-week", or six fields with a leading
// second, or a macro: @yearly = @annually = "0 0 1 1 *", @monthly =
// "0 0 1 * *", @weekly = "0 0 * * 0", @daily = @midnight = "0 0 * * *",
// @hourly = "0 * * * *". Fields are separated by spaces or tabs. A field is a
// comma list of items; an item is '*', a value, a range "a-b", each with an
// optional step "/n" (n >= 1), or "a/n" (a to the field's maximum, step n).
// Values are numbers; months also JAN-DEC and days of week SUN-SAT (any
// case); day of week 0-7 with both 0 and 7 Sunday.
// Throws std::invalid_argument naming the expression, the field and the
// offending text: cron '0 25 * * *': hour: 25 is out of range 0-23.
[[nodiscard]] CronExpression parse_cron(std::string_view text);

// Whether the local wall-clock time `local` (seconds since 1970-01-01 00:00
// local, as date::local_seconds counts) matches the expression.
[[nodiscard]] bool matches(const CronExpression& cron, std::chrono::seconds local);

// How far the tick searches go before they conclude that an expression has
// no tick ("0 0 30 2 *"): eight years, enough for "0 0 29 2 *" across 2100.
inline constexpr int kCronSearchYears = 8;

// The ticks of an expression in `zone`: each local wall-clock time L that
// matches is one tick, at the first instant whose local time is >= L. So
//  * a unique L ticks at L;
//  * an L in a gap (02:30 on Europe/Berlin's spring-forward day, a time that
//    does not exist) ticks at the end of the gap, the first valid instant
//    after it (03:00 CEST = 01:00Z); several L in one gap tick once there;
//  * an L in an overlap (02:30 on the fall-back day, which happens twice)
//    ticks once, at its earlier instant (02:30 CEST = 00:30Z). An hourly or
//    every-minute schedule therefore pauses during the repeated hour.
// Ticks fall on whole seconds.

// The first tick strictly after `after`; nullopt if there is none within
// kCronSearchYears of it. Throws std::out_of_range for an `after` outside
// the years 1900..9990 (the search stays far from date's calendar limits).
[[nodiscard]] std::optional<CronInstant> next_tick(const CronExpression& cron,
                                                   const date::time_zone* zone, CronInstant after);

// The last tick at or before `at`; nullopt if there is none within
// kCronSearchYears before it. Same range as next_tick().
[[nodiscard]] std::optional<CronInstant> latest_tick(const CronExpression& cron,
                                                     const date::time_zone* zone, CronInstant at);

}  // namespace steadfast::engine
