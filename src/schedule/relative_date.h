// Dates relative to a schedule's run, as a query's conditions use them:
// "today + 3d", "now - 90d". They are resolved on the schedule's wall clock,
// so "today + 3d" is a local midnight even across a daylight-saving change.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"
#include "schedule/time_zone.h"

namespace herald::schedule {

struct RelativeDate {
  enum class Base { Now, Today };
  Base base = Base::Now;
  int64_t offset_s = 0;  // added on the local wall clock
};

// "now" or "today", then any number of "+ DURATION" / "- DURATION" terms
// ("90d", "12h", "30m", "1w"). The error says what was expected where.
Result<RelativeDate> parse_relative_date(std::string_view text);

// The instant (unix seconds) for a run whose "now" is `now_s`.
int64_t resolve(const RelativeDate& date, int64_t now_s, const TimeZone& zone);

// How a date is written in the producer's column.
enum class DateFormat {
  Iso8601,  // 2026-11-23T08:00:00Z (UTC)
  Sqlite,   // 2026-11-23 08:00:00 (UTC, as SQLite's datetime() writes it)
  Local,    // 2026-11-23T09:00:00 (the schedule's wall clock, no offset)
  Date,     // 2026-11-23 (the schedule's calendar day)
  Unix,     // seconds since 1970, an integer
  UnixMs,   // milliseconds since 1970, an integer
};

Result<DateFormat> parse_date_format(std::string_view name);

// The value to compare the column with: text, or an integer for the Unix forms.
std::variant<std::string, int64_t> format_date(int64_t instant_s, DateFormat format, const TimeZone& zone);

}  // namespace herald::schedule
