#include "schedule/time_zone.h"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "schedule/civil_days.h"
#include "schedule/posix_tz_rule.h"

namespace herald::schedule {
namespace {

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the clamp keeps every sum
// with an offset far from overflow and every date printable as four digits.
constexpr int64_t kMinSeconds = -62'135'596'800;
constexpr int64_t kMaxSeconds = 253'402'300'799;

int64_t clamp_seconds(int64_t s) { return std::clamp(s, kMinSeconds, kMaxSeconds); }

int64_t seconds_of(date::sys_seconds t) { return t.time_since_epoch().count(); }

date::sys_seconds sys(int64_t s) { return date::sys_seconds{std::chrono::seconds{s}}; }

// The TZ string a zone file of version 2 or later ends with, between two
// newlines after the binary data; empty when there is none.
std::string footer_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (data.size() < 6 || data.compare(0, 4, "TZif") != 0 || data[4] < '2' || data.back() != '\n') return {};
  const size_t start = data.rfind('\n', data.size() - 2);
  return start == std::string::npos ? std::string() : data.substr(start + 1, data.size() - start - 2);
}

// Whether `rule` gives the offsets the file lists over the year before its
// last transition and after it: both are constant between the changes of
// either, so comparing them at every change of both (and where the window
// starts) compares them everywhere.
bool agrees(const date::time_zone& zone, const PosixTzRule& rule, int64_t last_change) {
  const int64_t from = last_change - 400 * kSecondsPerDay;
  std::set<int64_t> points{from, last_change};
  for (int64_t t = from; t < last_change;) {
    const int64_t end = seconds_of(zone.get_info(sys(t)).end);
    points.insert(end);
    t = end;
  }
  for (int y = year_of(from); y <= year_of(last_change); ++y) {
    const auto [start, end] = rule.changes_in(y);
    for (int64_t c : {start, end}) {
      if (c > from && c <= last_change) points.insert(c);
    }
  }
  for (int64_t t : points) {
    if (zone.get_info(sys(t)).offset.count() != rule.offset_at(t)) return false;
  }
  return true;
}

}  // namespace

struct TimeZone::LaterYears {
  PosixTzRule rule;
  // A day past the file's last transition: from here on the rule answers.
  // Its next change is months later, so either answers the same in between.
  int64_t from_s = 0;
};

const TimeZone::LaterYears* TimeZone::later_years(const date::time_zone& zone) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const LaterYears>> known;
  std::lock_guard lock(mutex);
  const std::string name(zone.name());
  if (auto it = known.find(name); it != known.end()) return it->second.get();
  std::unique_ptr<const LaterYears> later;
  auto rule = PosixTzRule::parse(footer_of("/usr/share/zoneinfo/" + name));
  const int64_t last_change = seconds_of(zone.get_info(sys(kMaxSeconds)).begin);
  if (rule && last_change > kMinSeconds + 400 * kSecondsPerDay && agrees(zone, *rule, last_change)) {
    later =
        std::make_unique<const LaterYears>(LaterYears{std::move(rule).value(), last_change + kSecondsPerDay});
  }
  return known.emplace(name, std::move(later)).first->second.get();
}

Result<TimeZone> TimeZone::locate(std::string_view name) {
  // Answered without the database, so UTC schedules work even where tzdata
  // is missing.
  if (name == "UTC" || name == "Etc/UTC") return TimeZone(std::string(name), nullptr, nullptr);
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
    return TimeZone(std::string(name), zone, later_years(*zone));
  } catch (const std::exception&) {
    return Error("unknown time zone '" + std::string(name) + "'");
  }
}

int64_t TimeZone::to_local(int64_t utc_s) const {
  utc_s = clamp_seconds(utc_s);
  if (zone_ == nullptr) return utc_s;
  if (later_ != nullptr && utc_s >= later_->from_s) return utc_s + later_->rule.offset_at(utc_s);
  return utc_s + zone_->get_info(sys(utc_s)).offset.count();
}

int64_t TimeZone::from_local(int64_t local_s) const {
  local_s = clamp_seconds(local_s);
  if (zone_ == nullptr) return local_s;
  if (later_ != nullptr && local_s >= later_->from_s + kSecondsPerDay)
    return later_->rule.from_local(local_s);
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
