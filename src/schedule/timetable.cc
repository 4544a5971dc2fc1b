#include "schedule/timetable.h"

#include <algorithm>

namespace herald::schedule {
namespace {

constexpr int64_t kYear = 366 * 86'400;

// The later (or earlier) of two optional instants, an absent one losing.
std::optional<int64_t> pick(std::optional<int64_t> a, std::optional<int64_t> b, bool earliest) {
  if (!a) return b;
  if (!b) return a;
  return earliest ? std::min(*a, *b) : std::max(*a, *b);
}

}  // namespace

Result<Timetable> Timetable::make(const config::ScheduleConfig& schedule) {
  auto zone = TimeZone::locate(schedule.time_zone.empty() ? "UTC" : schedule.time_zone);
  if (!zone) return zone.error();
  std::optional<CronExpression> cron;
  if (!schedule.cron.empty()) {
    auto c = CronExpression::parse(schedule.cron);
    if (!c) return c.error();
    cron = std::move(c).value();
  }
  return Timetable(std::move(zone).value(), std::move(cron), schedule.every.count() / 1000,
                   schedule.once_per.count() / 1000);
}

std::optional<int64_t> Timetable::next_after(int64_t t) const {
  std::optional<int64_t> by_interval;
  if (every_s_ > 0) {
    // Slots are multiples of the interval on the local wall clock (2h: even
    // hours); a slot that a clock change skips or repeats moves on.
    int64_t slot = zone_.from_local(zone_.to_local(align_down(t, every_s_, zone_)) + every_s_);
    while (slot <= t) slot = zone_.from_local(zone_.to_local(slot) + every_s_);
    by_interval = slot;
  }
  return pick(cron_ ? cron_->next_after(t, zone_) : std::nullopt, by_interval, true);
}

std::optional<int64_t> Timetable::latest_at_or_before(int64_t t) const {
  std::optional<int64_t> by_interval;
  if (every_s_ > 0) by_interval = align_down(t, every_s_, zone_);
  return pick(cron_ ? cron_->latest_at_or_before(t, zone_) : std::nullopt, by_interval, false);
}

Timetable::Period Timetable::period_of(int64_t t) const {
  if (once_per_s_ > 0) {
    int64_t start = align_down(t, once_per_s_, zone_);
    return {zone_.format(start), zone_.from_local(zone_.to_local(start) + once_per_s_)};
  }
  int64_t start = latest_at_or_before(t).value_or(t);
  return {zone_.format(start), next_after(start).value_or(start + kYear)};
}

}  // namespace herald::schedule
