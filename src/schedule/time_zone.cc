#include "schedule/time_zone.h"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>

namespace herald::schedule {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the clamp keeps every sum
// with an offset far from overflow and every date printable as four digits.
constexpr int64_t kMinSeconds = -62'135'596'800;
constexpr int64_t kMaxSeconds = 253'402'300'799;

int64_t clamp_seconds(int64_t s) { return std::clamp(s, kMinSeconds, kMaxSeconds); }

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) --q;
  return q;
}

}  // namespace

Result<TimeZone> TimeZone::locate(std::string_view name) {
  // Answered without the database, so UTC schedules work even where tzdata
  // is missing.
  if (name == "UTC" || name == "Etc/UTC") return TimeZone(std::string(name), nullptr);
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return Error("cannot read the time-zone database: " + std::string(e.what()));
  }
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // A zone reads its file on first use and throws if that fails: do it now,
    // so the failure is this value and the conversions never throw.
    zone->get_info(date::sys_seconds{});
    return TimeZone(std::string(name), zone);
  } catch (const std::exception&) {
    return Error("unknown time zone '" + std::string(name) + "'");
  }
}

int64_t TimeZone::to_local(int64_t utc_s) const {
  utc_s = clamp_seconds(utc_s);
  if (zone_ == nullptr) return utc_s;
  return utc_s + zone_->get_info(date::sys_seconds{std::chrono::seconds{utc_s}}).offset.count();
}

int64_t TimeZone::from_local(int64_t local_s) const {
  local_s = clamp_seconds(local_s);
  if (zone_ == nullptr) return local_s;
  const date::local_info info = zone_->get_info(date::local_seconds{std::chrono::seconds{local_s}});
  if (info.result == date::local_info::nonexistent) return info.second.begin.time_since_epoch().count();
  // Unique, or ambiguous: `first` is the period before the transition, the
  // one whose reading of this wall-clock time comes first.
  return local_s - info.first.offset.count();
}

std::string TimeZone::format(int64_t utc_s) const {
  utc_s = clamp_seconds(utc_s);
  const int64_t local = to_local(utc_s);
  const int64_t days = floor_div(local, kSecondsPerDay);
  const int64_t in_day = local - days * kSecondsPerDay;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  const int64_t offset = local - utc_s;
  const int64_t abs_offset = offset < 0 ? -offset : offset;

  char text[64];
  int n = std::snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(in_day / 3600),
      static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60), offset < 0 ? '-' : '+',
      static_cast<int>(abs_offset / 3600), static_cast<int>(abs_offset / 60 % 60));
  std::string out(text, static_cast<size_t>(std::max(n, 0)));
  // Mean time offsets (Paris until 1911: +00:09:21) keep their seconds
  // rather than print a wrong offset.
  if (abs_offset % 60 != 0) {
    std::snprintf(text, sizeof text, ":%02d", static_cast<int>(abs_offset % 60));
    out += text;
  }
  return out;
}

int64_t align_down(int64_t utc_s, int64_t period_s, const TimeZone& zone) {
  if (period_s <= 0) return utc_s;
  const int64_t local = zone.to_local(utc_s);
  return zone.from_local(floor_div(local, period_s) * period_s);
}

}  // namespace herald::schedule
