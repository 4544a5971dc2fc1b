// Time zones of schedules: conversions between UTC instants and a zone's wall
// clock, with one fixed answer for the wall-clock times DST skips or repeats.
// Times are unix seconds (int64_t); "local seconds" count wall-clock seconds
// since 1970-01-01T00:00 on that zone's clock, so calendar arithmetic on them
// needs no zone. Instants outside the years 0001-9999 are clamped into them.
// The system zone files list transitions up to 2037; later years follow the
// POSIX TZ rule at each file's end, which the date library does not read.
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
  // The zone file's rule for the years past its last listed transition.
  struct LaterYears;
  static const LaterYears* later_years(const date::time_zone& zone);

  TimeZone(std::string name, const date::time_zone* zone, const LaterYears* later)
      : name_(std::move(name)), zone_(zone), later_(later) {}

  std::string name_;
  // Owned by the date library's database, which lives as long as the process;
  // null for UTC.
  const date::time_zone* zone_ = nullptr;
  // Kept as long as the process too, one per zone; null when the file has no
  // daylight-saving rule to follow (or one that disagrees with its own list).
  const LaterYears* later_ = nullptr;
};

// Floors utc_s to a multiple of period_s counted on the zone's wall clock from
// 1970-01-01T00:00 local, as a UTC instant: a period of a day gives local
// midnight, 2h even local hours (7 days gives Thursdays: 1970-01-01 was one).
// The floor of a wall-clock time DST skips or repeats maps as from_local().
// A period_s <= 0 returns utc_s unchanged.
int64_t align_down(int64_t utc_s, int64_t period_s, const TimeZone& zone);

}  // namespace herald::schedule
