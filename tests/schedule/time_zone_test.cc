#include "schedule/time_zone.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include "support/unix_time.h"

namespace herald::schedule {
namespace {

int64_t utc(const char* iso) { return test::unix_seconds(iso); }

TimeZone zone(const char* name) {
  Result<TimeZone> z = TimeZone::locate(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.error().message;
  return z.ok() ? *z : TimeZone::utc();
}

TEST(TimeZoneTest, UtcIsTheIdentity) {
  const TimeZone z = TimeZone::utc();
  EXPECT_EQ(z.name(), "UTC");
  EXPECT_EQ(z.to_local(1'795'420'800), 1'795'420'800);
  EXPECT_EQ(z.from_local(1'795'420'800), 1'795'420'800);
  EXPECT_EQ(z.format(0), "1970-01-01T00:00:00+00:00");
  EXPECT_EQ(z.format(1'795'420'800), "2026-11-23T08:00:00+00:00");
  EXPECT_EQ(TimeZone(), TimeZone::utc());
}

TEST(TimeZoneTest, LocatesUtcAndIanaNames) {
  for (const char* name : {"UTC", "Etc/UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"}) {
    Result<TimeZone> z = TimeZone::locate(name);
    ASSERT_TRUE(z.ok()) << name << ": " << z.error().message;
    EXPECT_EQ(z->name(), name);
  }
  EXPECT_EQ(zone("Etc/UTC").to_local(utc("2026-07-01T12:00:00Z")), utc("2026-07-01T12:00:00Z"));
}

TEST(TimeZoneTest, UnknownZoneIsAnError) {
  for (const char* name : {"Mars/Olympus_Mons", "", "europe/paris", "../../etc/passwd", "Europe/"}) {
    Result<TimeZone> z = TimeZone::locate(name);
    ASSERT_FALSE(z.ok()) << name;
    EXPECT_EQ(z.error().message, "unknown time zone '" + std::string(name) + "'");
  }
}

TEST(TimeZoneTest, ToLocalAddsTheOffsetInForce) {
  const TimeZone paris = zone("Europe/Paris");
  EXPECT_EQ(paris.to_local(utc("2026-11-23T07:00:00Z")), utc("2026-11-23T08:00:00Z"));
  EXPECT_EQ(paris.to_local(utc("2026-07-01T07:00:00Z")), utc("2026-07-01T09:00:00Z"));
  const TimeZone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.to_local(utc("2026-11-23T13:00:00Z")), utc("2026-11-23T08:00:00Z"));
  EXPECT_EQ(new_york.to_local(utc("2026-07-01T12:00:00Z")), utc("2026-07-01T08:00:00Z"));
}

TEST(TimeZoneTest, FromLocalOutsideTransitions) {
  const TimeZone paris = zone("Europe/Paris");
  EXPECT_EQ(paris.from_local(utc("2026-11-23T08:00:00Z")), 1'795'417'200);  // 07:00Z
  EXPECT_EQ(paris.from_local(utc("2026-07-01T09:00:00Z")), utc("2026-07-01T07:00:00Z"));
}

// Paris springs forward on 2026-03-29 at 01:00Z: 02:00 CET becomes 03:00
// CEST, so 02:00-02:59:59 never shows on the wall clock.
TEST(TimeZoneTest, FromLocalInAGapGivesTheGapEnd) {
  const TimeZone paris = zone("Europe/Paris");
  EXPECT_EQ(paris.from_local(utc("2026-03-29T01:59:59Z")), utc("2026-03-29T00:59:59Z"));
  EXPECT_EQ(paris.from_local(utc("2026-03-29T02:00:00Z")), 1'774'746'000);  // 01:00Z
  EXPECT_EQ(paris.from_local(utc("2026-03-29T02:30:00Z")), utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2026-03-29T02:59:59Z")), utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2026-03-29T03:00:00Z")), utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2026-03-29T03:00:01Z")), utc("2026-03-29T01:00:01Z"));

  // New York: 2026-03-08 at 07:00Z, 02:00 EST becomes 03:00 EDT.
  const TimeZone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.from_local(utc("2026-03-08T02:30:00Z")), 1'772'953'200);  // 07:00Z
  EXPECT_EQ(new_york.from_local(utc("2026-03-08T01:59:59Z")), utc("2026-03-08T06:59:59Z"));
}

// Paris falls back on 2026-10-25 at 01:00Z: 03:00 CEST becomes 02:00 CET, so
// 02:00-02:59:59 shows twice.
TEST(TimeZoneTest, FromLocalInAnOverlapGivesTheEarlierInstant) {
  const TimeZone paris = zone("Europe/Paris");
  EXPECT_EQ(paris.from_local(utc("2026-10-25T01:59:59Z")), utc("2026-10-24T23:59:59Z"));
  EXPECT_EQ(paris.from_local(utc("2026-10-25T02:00:00Z")), utc("2026-10-25T00:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2026-10-25T02:30:00Z")), 1'792'888'200);  // 00:30Z
  EXPECT_EQ(paris.from_local(utc("2026-10-25T02:59:59Z")), utc("2026-10-25T00:59:59Z"));
  EXPECT_EQ(paris.from_local(utc("2026-10-25T03:00:00Z")), utc("2026-10-25T02:00:00Z"));
  // Both readings of 02:30 are 02:30 on the wall clock.
  EXPECT_EQ(paris.to_local(utc("2026-10-25T00:30:00Z")), utc("2026-10-25T02:30:00Z"));
  EXPECT_EQ(paris.to_local(utc("2026-10-25T01:30:00Z")), utc("2026-10-25T02:30:00Z"));

  // New York: 2026-11-01 at 06:00Z, 02:00 EDT becomes 01:00 EST.
  const TimeZone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.from_local(utc("2026-11-01T01:30:00Z")), 1'793'511'000);  // 05:30Z
  EXPECT_EQ(new_york.from_local(utc("2026-11-01T02:00:00Z")), utc("2026-11-01T07:00:00Z"));
}

TEST(TimeZoneTest, FormatPrintsTheOffsetInForce) {
  EXPECT_EQ(zone("Europe/Paris").format(utc("2026-11-23T07:00:00Z")), "2026-11-23T08:00:00+01:00");
  EXPECT_EQ(zone("Europe/Paris").format(utc("2026-07-01T07:00:00Z")), "2026-07-01T09:00:00+02:00");
  EXPECT_EQ(zone("Europe/Paris").format(utc("2026-10-25T00:30:00Z")), "2026-10-25T02:30:00+02:00");
  EXPECT_EQ(zone("Europe/Paris").format(utc("2026-10-25T01:30:00Z")), "2026-10-25T02:30:00+01:00");
  EXPECT_EQ(zone("America/New_York").format(utc("2026-11-23T13:00:00Z")), "2026-11-23T08:00:00-05:00");
  EXPECT_EQ(zone("America/New_York").format(utc("2026-07-01T12:00:00Z")), "2026-07-01T08:00:00-04:00");
  EXPECT_EQ(zone("Asia/Kolkata").format(utc("2026-11-23T02:30:00Z")), "2026-11-23T08:00:00+05:30");
  EXPECT_EQ(zone("America/St_Johns").format(utc("2026-11-23T11:30:00Z")), "2026-11-23T08:00:00-03:30");
  EXPECT_EQ(zone("Asia/Kathmandu").format(utc("2026-11-23T02:15:00Z")), "2026-11-23T08:00:00+05:45");
  EXPECT_EQ(TimeZone::utc().format(utc("1969-12-31T23:59:59Z")), "1969-12-31T23:59:59+00:00");
  // Paris ran on its mean time, +00:09:21, until 1911.
  EXPECT_EQ(zone("Europe/Paris").format(utc("1880-01-01T00:00:00Z")), "1880-01-01T00:09:21+00:09:21");
}

TEST(TimeZoneTest, AlignDownToLocalDays) {
  const TimeZone paris = zone("Europe/Paris");
  const int64_t day = 86'400;
  EXPECT_EQ(align_down(utc("2026-11-23T07:00:00Z"), day, paris), 1'795'388'400);  // 2026-11-22T23:00Z
  EXPECT_EQ(align_down(utc("2026-11-22T23:00:00Z"), day, paris), utc("2026-11-22T23:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-11-22T22:59:59Z"), day, paris), utc("2026-11-21T23:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-07-01T21:59:59Z"), day, paris), utc("2026-06-30T22:00:00Z"));
  // Days of 23 and 25 hours start at local midnight too.
  EXPECT_EQ(align_down(utc("2026-03-29T21:00:00Z"), day, paris), 1'774'738'800);  // 2026-03-28T23:00Z
  EXPECT_EQ(align_down(utc("2026-03-29T22:00:00Z"), day, paris), utc("2026-03-29T22:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-03-29T21:59:59Z"), day, paris), utc("2026-03-28T23:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-10-25T22:59:59Z"), day, paris), utc("2026-10-24T22:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-10-25T23:00:00Z"), day, paris), utc("2026-10-25T23:00:00Z"));
}

TEST(TimeZoneTest, AlignDownToADayWithoutMidnight) {
  // Santiago springs forward at midnight: 2026-09-06 starts at 01:00 -03.
  const TimeZone santiago = zone("America/Santiago");
  EXPECT_EQ(align_down(utc("2026-09-06T15:00:00Z"), 86'400, santiago), utc("2026-09-06T04:00:00Z"));
  EXPECT_EQ(santiago.format(utc("2026-09-06T04:00:00Z")), "2026-09-06T01:00:00-03:00");
}

TEST(TimeZoneTest, AlignDownToTwoHoursInUtc) {
  const TimeZone z = TimeZone::utc();
  const int64_t two_hours = 7'200;
  EXPECT_EQ(align_down(utc("2026-11-23T09:59:59Z"), two_hours, z), utc("2026-11-23T08:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-11-23T10:00:00Z"), two_hours, z), utc("2026-11-23T10:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-11-23T00:30:00Z"), two_hours, z), 1'795'392'000);  // 2026-11-23T00:00Z
  // Before 1970 the floor still goes down.
  EXPECT_EQ(align_down(-1, two_hours, z), -7'200);
  EXPECT_EQ(align_down(utc("2026-11-23T09:59:59Z"), 0, z), utc("2026-11-23T09:59:59Z"));
}

TEST(TimeZoneTest, AlignDownToTwoHoursOnTheWallClock) {
  // Even hours of Paris time: odd UTC hours in winter.
  const TimeZone paris = zone("Europe/Paris");
  EXPECT_EQ(align_down(utc("2026-11-23T08:59:59Z"), 7'200, paris), utc("2026-11-23T07:00:00Z"));
  EXPECT_EQ(align_down(utc("2026-11-23T09:00:00Z"), 7'200, paris), utc("2026-11-23T09:00:00Z"));
}

// The zone files list changes up to 2037; the years after follow the rule at
// each file's end.
TEST(TimeZoneTest, LaterYearsFollowTheRuleAtTheFilesEnd) {
  const TimeZone paris = zone("Europe/Paris");
  EXPECT_EQ(paris.format(utc("2040-07-01T12:00:00Z")), "2040-07-01T14:00:00+02:00");
  EXPECT_EQ(paris.format(utc("2040-01-15T12:00:00Z")), "2040-01-15T13:00:00+01:00");
  EXPECT_EQ(paris.format(utc("2099-08-01T00:00:00Z")), "2099-08-01T02:00:00+02:00");
  EXPECT_EQ(paris.from_local(utc("2040-03-25T02:30:00Z")), utc("2040-03-25T01:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2040-10-28T02:30:00Z")), utc("2040-10-28T00:30:00Z"));
  EXPECT_EQ(align_down(utc("2040-07-01T12:00:00Z"), 86'400, paris), utc("2040-06-30T22:00:00Z"));
  EXPECT_EQ(zone("America/New_York").format(utc("2050-07-04T16:00:00Z")), "2050-07-04T12:00:00-04:00");
  EXPECT_EQ(zone("Australia/Sydney").format(utc("2045-01-15T00:00:00Z")), "2045-01-15T11:00:00+11:00");
  EXPECT_EQ(zone("Asia/Kolkata").format(utc("2045-01-15T00:00:00Z")), "2045-01-15T05:30:00+05:30");
}

// libc reads the same rule: both must give the same offset everywhere, in
// the listed years and after them.
TEST(TimeZoneTest, OffsetsAgreeWithLibcBeyondTheListedYears) {
  const char* saved = std::getenv("TZ");
  const std::optional<std::string> before = saved ? std::optional<std::string>(saved) : std::nullopt;
  for (const char* name : {"Europe/Paris", "America/New_York", "Australia/Sydney", "Europe/Dublin",
                           "Asia/Jerusalem", "America/Nuuk", "America/Santiago", "Asia/Kolkata"}) {
    const TimeZone z = zone(name);
    setenv("TZ", name, 1);
    tzset();
    int mismatches = 0;
    for (int64_t t = utc("2035-01-01T00:00:00Z"); t < utc("2065-01-01T00:00:00Z") && mismatches < 5;
         t += 7'919) {
      const time_t tt = static_cast<time_t>(t);
      struct tm tm = {};
      ASSERT_NE(localtime_r(&tt, &tm), nullptr);
      const int64_t local = z.to_local(t);
      // The wall-clock time read back gives this instant, or the earlier
      // one when the clocks show it twice.
      const int64_t back = z.from_local(local);
      if (local - t != tm.tm_gmtoff || back > t || z.to_local(back) != local) {
        ADD_FAILURE() << name << " at " << t << ": offset " << local - t << " against libc's " << tm.tm_gmtoff
                      << ", read back as " << back;
        ++mismatches;
      }
    }
  }
  if (before) {
    setenv("TZ", before->c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST(TimeZoneTest, ExtremeInstantsDoNotOverflow) {
  const TimeZone paris = zone("Europe/Paris");
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(TimeZone::utc().format(big), "9999-12-31T23:59:59+00:00");
  EXPECT_EQ(TimeZone::utc().format(small), "0001-01-01T00:00:00+00:00");
  EXPECT_GT(paris.to_local(big), 0);
  EXPECT_LT(paris.from_local(small), 0);
  EXPECT_LE(align_down(big, big, paris), big);
}

}  // namespace
}  // namespace herald::schedule
