// The daylight-saving rule of a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"),
// which a zone file of version 2 or later carries after its transitions: the
// zone's offsets for the years past the last transition the file lists.
// Times are unix seconds; offsets are seconds east of UTC.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace herald::schedule {

class PosixTzRule {
 public:
  // A standard time, a daylight-saving time and the two rules that switch
  // between them: "Mm.w.d" (day d of week w of month m, 5 the last), "Jn"
  // (day n of 1-365, February 29 never counted) or "n" (day n of 0-365),
  // each with an optional "/time" of the wall clock (02:00 by default; RFC
  // 8536 allows -167 to 167 hours). A string without daylight saving, or
  // one that names it without rules, is an error: its zone has no rule to
  // follow.
  static Result<PosixTzRule> parse(std::string_view text);

  int64_t standard_offset() const { return std_offset_; }
  int64_t daylight_offset() const { return dst_offset_; }

  // The offset in force at utc_s.
  int64_t offset_at(int64_t utc_s) const;

  // As TimeZone::from_local: a wall-clock time the clocks skip gives the
  // instant they skip it, one they show twice the earlier instant.
  int64_t from_local(int64_t local_s) const;

  // The instants daylight saving starts and ends in `year` (in the southern
  // hemisphere the end comes first).
  std::pair<int64_t, int64_t> changes_in(int year) const;

 private:
  struct Change {
    enum class Kind { MonthWeekDay, Julian, ZeroBasedDay };
    Kind kind = Kind::MonthWeekDay;
    int month = 0;
    int week = 0;
    int weekday = 0;  // 0 = Sunday
    int day = 0;      // Julian: 1-365; ZeroBasedDay: 0-365
    int64_t time_s = 7'200;
  };

  // The change's instant in `year`, its wall-clock time read with the
  // offset in force before it.
  static int64_t instant(int year, const Change& c, int64_t offset_before);

  int64_t std_offset_ = 0;
  int64_t dst_offset_ = 0;
  Change start_;
  Change end_;
};

}  // namespace herald::schedule
