// Seconds and days counted from 1970-01-01, on a wall clock or in UTC alike:
// the arithmetic the schedule clock's parts share.
#pragma once

#include <chrono>
#include <cstdint>

namespace herald::schedule {

inline constexpr int64_t kSecondsPerDay = 86'400;

// Rounds toward negative infinity, unlike `/`: times before 1970 are negative.
constexpr int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

// The calendar date of a time in seconds.
constexpr std::chrono::year_month_day date_of(int64_t s) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{floor_div(s, kSecondsPerDay)}}};
}

// The calendar year of a time in seconds.
constexpr int year_of(int64_t s) { return static_cast<int>(date_of(s).year()); }

// The days from 1970-01-01 to a date.
constexpr int64_t days_of(std::chrono::sys_days date) { return date.time_since_epoch().count(); }

}  // namespace herald::schedule
