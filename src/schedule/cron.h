// Cron expressions of schedules, evaluated on a time zone's wall clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "schedule/time_zone.h"

namespace herald::schedule {

class CronExpression {
 public:
  // Five fields "minute hour day-of-month month day-of-week" (second 0) or
  // six with the second first: "0 0 */2 * * *". A field is a comma list of
  // *, a, a-b, */n, a-b/n or a/n (a to the end, every n); "?" may stand for a
  // whole day-of-month or day-of-week field. Months JAN-DEC and weekdays
  // SUN-SAT are accepted in any case; 0 and 7 are both Sunday, and a weekday
  // range may end on Sunday (SAT-SUN). Also @yearly (@annually), @monthly,
  // @weekly, @daily (@midnight) and @hourly. Errors name the field:
  // "hour field '25': value out of range 0-23".
  static Result<CronExpression> parse(std::string_view text);

  // The text parsed, without surrounding blanks.
  const std::string& text() const { return text_; }

  // First firing strictly after after_utc_s, or nullopt when there is none in
  // the next 5 years ("0 0 0 30 2 *"). Days follow Vixie cron: when both day
  // fields are restricted (neither starts with * or ?), a day matches if
  // either does; otherwise both must ("*/2" counts as unrestricted there).
  // On DST days a wall-clock time the clocks skip fires once, when the gap
  // ends, and one they show twice fires once, at its first occurrence.
  // Instants outside the years 0010-9989 give nullopt.
  std::optional<int64_t> next_after(int64_t after_utc_s, const TimeZone& zone) const;
  // Latest firing at or before at_utc_s (missed runs, period keys), or
  // nullopt when there is none in the 5 years before; the same firings as
  // next_after().
  std::optional<int64_t> latest_at_or_before(int64_t at_utc_s, const TimeZone& zone) const;

  bool operator==(const CronExpression&) const = default;

 private:
  CronExpression() = default;

  // Bit i set: value i matches. Days of month 1-31, months 1-12, weekdays
  // 0-6 from Sunday.
  struct Fields {
    uint64_t seconds = 0;
    uint64_t minutes = 0;
    uint64_t hours = 0;
    uint64_t days_of_month = 0;
    uint64_t months = 0;
    uint64_t days_of_week = 0;
    bool any_day_of_month = false;
    bool any_day_of_week = false;
    bool operator==(const Fields&) const = default;
  };

  // First/last matching wall-clock time in [from, limit] / [limit, from].
  std::optional<int64_t> next_local(int64_t from, int64_t limit) const;
  std::optional<int64_t> prev_local(int64_t from, int64_t limit) const;
  uint64_t matching_days(int year, unsigned month) const;

  std::string text_;
  Fields fields_;
};

}  // namespace herald::schedule
