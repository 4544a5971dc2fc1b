#include "schedule/timetable.h"

#include <gtest/gtest.h>

namespace herald::schedule {
namespace {

constexpr int64_t kMonday = 1'795'447'800;    // 2026-11-23T15:30:00Z
constexpr int64_t kMidnight = 1'795'392'000;  // 2026-11-23T00:00:00Z
constexpr int64_t kHour = 3'600;

config::ScheduleConfig schedule(std::string cron, std::chrono::milliseconds every = {},
                                std::chrono::milliseconds once_per = {}, std::string zone = "UTC") {
  config::ScheduleConfig s;
  s.name = "t";
  s.cron = std::move(cron);
  s.every = every;
  s.once_per = once_per;
  s.time_zone = std::move(zone);
  return s;
}

TEST(Timetable, AnIntervalCountsFromLocalMidnight) {
  auto t = Timetable::make(schedule("", std::chrono::hours(2))).value();
  EXPECT_EQ(t.latest_at_or_before(kMonday), kMidnight + 14 * kHour);
  EXPECT_EQ(t.next_after(kMonday), kMidnight + 16 * kHour);
  EXPECT_EQ(t.next_after(kMidnight + 16 * kHour), kMidnight + 18 * kHour) << "strictly after";
  // In Paris (UTC+1) even local hours are odd UTC hours.
  auto paris = Timetable::make(schedule("", std::chrono::hours(2), {}, "Europe/Paris")).value();
  EXPECT_EQ(paris.next_after(kMonday), kMidnight + 17 * kHour);
}

TEST(Timetable, CronAndIntervalTogetherRunAtEitherSlot) {
  // Daily at 15:45, and every 6 hours.
  auto t = Timetable::make(schedule("0 45 15 * * *", std::chrono::hours(6))).value();
  EXPECT_EQ(t.next_after(kMonday), kMonday + 15 * 60);
  EXPECT_EQ(t.next_after(kMonday + 15 * 60), kMidnight + 18 * kHour);
  EXPECT_EQ(t.latest_at_or_before(kMonday), kMidnight + 12 * kHour);
}

TEST(Timetable, APeriodRunsFromASlotToTheNext) {
  auto t = Timetable::make(schedule("0 0 8 * * *")).value();
  auto p = t.period_of(kMonday);
  EXPECT_EQ(p.key, "2026-11-23T08:00:00+00:00");
  EXPECT_EQ(p.end_s, kMidnight + 32 * kHour);
  // Before today's slot, the run belongs to yesterday's period.
  EXPECT_EQ(t.period_of(kMidnight + 7 * kHour).key, "2026-11-22T08:00:00+00:00");
}

TEST(Timetable, OncePerGroupsSlotsOnTheLocalCalendar) {
  auto t =
      Timetable::make(schedule("", std::chrono::hours(1), std::chrono::hours(24), "Europe/Paris")).value();
  auto p = t.period_of(kMonday);
  EXPECT_EQ(p.key, "2026-11-23T00:00:00+01:00");
  EXPECT_EQ(p.end_s, kMidnight + 23 * kHour);  // 2026-11-24T00:00+01:00
  EXPECT_EQ(t.period_of(kMidnight + 22 * kHour + 59 * 60).key, "2026-11-23T00:00:00+01:00");
  EXPECT_EQ(t.period_of(kMidnight + 23 * kHour).key, "2026-11-24T00:00:00+01:00");
}

TEST(Timetable, BadCronOrZoneIsAnError) {
  EXPECT_FALSE(Timetable::make(schedule("61 * * * *")));
  EXPECT_FALSE(Timetable::make(schedule("", std::chrono::hours(1), {}, "Mars/Olympus")));
}

}  // namespace
}  // namespace herald::schedule
