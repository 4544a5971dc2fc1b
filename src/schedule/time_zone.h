// Time zones of schedules: conversions between UTC instants and a zone's wall
// clock, with one fixed answer for the wall-clock times DST skips or repeats.
// Times are unix seconds (int64_t); "local seconds" count wall-clock seconds
// since 1970-01-01T00:00 on that zone's clock, so calendar arithmetic on them
// needs no zone. Instants outside the years 0001-9999 are clamped into them.
// Limit: the date library reads only the transitions listed in the system
// zone files (Debian's run to 2037) and not the rule for later years, so no
// DST is applied after the last listed transition.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

// Kept out of this header: only time_zone.cc compiles against the date library.
namespace date {
class time_zone;
}

namespace herald::schedule {

class TimeZone {
 public:
  // UTC, so a schedule without a zone needs no lookup.
  TimeZone() : name_("UTC") {}

  // "UTC", "Etc/UTC" or an IANA name from the system database
  // (/usr/share/zoneinfo): "Europe/Paris". Fails with "unknown time zone 'X'".
  static Result<TimeZone> locate(std::string_view name);
  static TimeZone utc() { return TimeZone(); }

  // The name as given to locate().
  const std::string& name() const { return name_; }

  int64_t to_local(int64_t utc_s) const;
  // A wall-clock time the clocks skip (DST gap) gives the instant the gap
  // ends; one they show twice (overlap) gives the earlier instant. Both keep
  // the result non-decreasing in local_s.
  int64_t from_local(int64_t local_s) const;

  // ISO 8601 with the offset in force: "2026-11-23T08:00:00+01:00"
  // ("+00:00" for UTC; local mean time offsets such as Paris's +00:09:21
  // until 1911 keep their seconds: "+00:09:21").
  std::string format(int64_t utc_s) const;

  bool operator==(const TimeZone&) const = default;

 private:
  TimeZone(std::string name, const date::time_zone* zone) : name_(std::move(name)), zone_(zone) {}

  std::string name_;
  // Owned by the date library's database, which lives as long as the process;
  // null for UTC.
  const date::time_zone* zone_ = nullptr;
};

// Floors utc_s to a multiple of period_s counted on the zone's wall clock from
// 1970-01-01T00:00 local, as a UTC instant: a period of a day gives local
// midnight, 2h even local hours (7 days gives Thursdays: 1970-01-01 was one).
// The floor of a wall-clock time DST skips or repeats maps as from_local().
// A period_s <= 0 returns utc_s unchanged.
int64_t align_down(int64_t utc_s, int64_t period_s, const TimeZone& zone);

}  // namespace herald::schedule
