// When a schedule runs: its cron expression and/or its interval, on the
// wall clock of its time zone, and the period each run belongs to (what
// "once per period" counts in).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "schedule/cron.h"
#include "schedule/time_zone.h"

namespace herald::schedule {

class Timetable {
 public:
  static Result<Timetable> make(const config::ScheduleConfig& schedule);

  const TimeZone& zone() const { return zone_; }
  // The first slot strictly after t (unix seconds); nullopt when none within years.
  std::optional<int64_t> next_after(int64_t t) const;
  // The latest slot at or before t.
  std::optional<int64_t> latest_at_or_before(int64_t t) const;

  struct Period {
    std::string key;    // its start on the schedule's wall clock, ISO 8601 with offset
    int64_t end_s = 0;  // when the next period starts
  };
  // The period of a run whose "now" is t: the `once_per` window containing
  // t, or else the slot at or before t up to the next slot.
  Period period_of(int64_t t) const;

 private:
  Timetable(TimeZone zone, std::optional<CronExpression> cron, int64_t every_s, int64_t once_per_s)
      : zone_(std::move(zone)), cron_(std::move(cron)), every_s_(every_s), once_per_s_(once_per_s) {}

  TimeZone zone_;
  std::optional<CronExpression> cron_;
  int64_t every_s_ = 0;  // 0: no interval
  int64_t once_per_s_ = 0;
};

}  // namespace herald::schedule
