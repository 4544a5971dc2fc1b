#include "schedule/cron.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "schedule/time_zone.h"
#include "support/unix_time.h"

namespace herald::schedule {
namespace {

int64_t utc(const char* iso) { return test::unix_seconds(iso); }

CronExpression cron(const char* text) {
  Result<CronExpression> parsed = CronExpression::parse(text);
  if (!parsed.ok()) {
    ADD_FAILURE() << text << ": " << parsed.error().message;
    return *CronExpression::parse("* * * * *");
  }
  return *parsed;
}

TimeZone zone(const char* name) {
  Result<TimeZone> z = TimeZone::locate(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.error().message;
  return z.ok() ? *z : TimeZone::utc();
}

// The next `count` firings after `after`, as UTC instants.
std::vector<int64_t> firings(const char* text, const char* after, int count,
                             const TimeZone& z = TimeZone::utc()) {
  const CronExpression c = cron(text);
  std::vector<int64_t> out;
  int64_t t = utc(after);
  for (int i = 0; i < count; ++i) {
    std::optional<int64_t> next = c.next_after(t, z);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::vector<int64_t> at(std::initializer_list<const char*> isos) {
  std::vector<int64_t> out;
  for (const char* iso : isos) out.push_back(utc(iso));
  return out;
}

TEST(CronTest, SixFieldsWithSeconds) {
  EXPECT_EQ(firings("0 0 */2 * * *", "2026-11-23T08:00:00Z", 3),
            at({"2026-11-23T10:00:00Z", "2026-11-23T12:00:00Z", "2026-11-23T14:00:00Z"}));
  EXPECT_EQ(firings("0 0 */2 * * *", "2026-11-23T07:59:59Z", 1), std::vector<int64_t>{1'795'420'800});
  EXPECT_EQ(firings("15,45 * * * * *", "2026-11-23T08:00:00Z", 3),
            at({"2026-11-23T08:00:15Z", "2026-11-23T08:00:45Z", "2026-11-23T08:01:15Z"}));
  // Even hours of the zone's wall clock: 10:00 and 12:00 CET.
  EXPECT_EQ(firings("0 0 */2 * * *", "2026-11-23T07:00:00Z", 2, zone("Europe/Paris")),
            at({"2026-11-23T09:00:00Z", "2026-11-23T11:00:00Z"}));
}

TEST(CronTest, FiveFieldsFireAtSecondZero) {
  // 2026-11-20 is a Friday, 2026-11-23 a Monday.
  EXPECT_EQ(firings("30 8 * * 1-5", "2026-11-20T09:00:00Z", 3),
            at({"2026-11-23T08:30:00Z", "2026-11-24T08:30:00Z", "2026-11-25T08:30:00Z"}));
  EXPECT_EQ(firings("30 8 * * 1-5", "2026-11-23T08:29:59Z", 1), at({"2026-11-23T08:30:00Z"}));
  EXPECT_EQ(firings("* * * * *", "2026-11-23T08:00:00Z", 2),
            at({"2026-11-23T08:01:00Z", "2026-11-23T08:02:00Z"}));
}

TEST(CronTest, RangesStepsAndLists) {
  EXPECT_EQ(firings("5-20/5 9 * * *", "2026-11-23T09:00:00Z", 5),
            at({"2026-11-23T09:05:00Z", "2026-11-23T09:10:00Z", "2026-11-23T09:15:00Z",
                "2026-11-23T09:20:00Z", "2026-11-24T09:05:00Z"}));
  EXPECT_EQ(
      firings("10/20 * * * *", "2026-11-23T09:00:00Z", 4),
      at({"2026-11-23T09:10:00Z", "2026-11-23T09:30:00Z", "2026-11-23T09:50:00Z", "2026-11-23T10:10:00Z"}));
  EXPECT_EQ(
      firings("0 0 1-2,15 * *", "2026-11-23T09:00:00Z", 4),
      at({"2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "2026-12-15T00:00:00Z", "2027-01-01T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 6 1 */6 *", "2026-11-23T09:00:00Z", 2),
            at({"2027-01-01T06:00:00Z", "2027-07-01T06:00:00Z"}));
  EXPECT_EQ(
      firings("0 22-23,0-1/1 * * *", "2026-11-23T09:00:00Z", 4),
      at({"2026-11-23T22:00:00Z", "2026-11-23T23:00:00Z", "2026-11-24T00:00:00Z", "2026-11-24T01:00:00Z"}));
}

TEST(CronTest, MonthAndWeekdayNames) {
  EXPECT_EQ(firings("0 12 1 jan,JUL *", "2026-11-23T09:00:00Z", 2),
            at({"2027-01-01T12:00:00Z", "2027-07-01T12:00:00Z"}));
  EXPECT_EQ(firings("0 9 * * mon-FRI", "2026-11-20T10:00:00Z", 20),
            firings("0 9 * * 1-5", "2026-11-20T10:00:00Z", 20));
  EXPECT_EQ(firings("0 0 * * Sat-Sun", "2026-11-23T09:00:00Z", 3),
            at({"2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z", "2026-12-05T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 1 Nov-dec *", "2026-11-23T09:00:00Z", 2),
            at({"2026-12-01T00:00:00Z", "2027-11-01T00:00:00Z"}));
}

TEST(CronTest, ZeroAndSevenAreBothSunday) {
  const std::vector<int64_t> sundays = at({"2026-11-29T00:00:00Z", "2026-12-06T00:00:00Z"});
  EXPECT_EQ(firings("0 0 * * 0", "2026-11-23T09:00:00Z", 2), sundays);
  EXPECT_EQ(firings("0 0 * * 7", "2026-11-23T09:00:00Z", 2), sundays);
  EXPECT_EQ(firings("0 0 * * SUN", "2026-11-23T09:00:00Z", 2), sundays);
  EXPECT_EQ(firings("0 0 * * 6-7", "2026-11-23T09:00:00Z", 2),
            at({"2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z"}));
}

TEST(CronTest, Macros) {
  const char* from = "2026-11-23T08:00:00Z";
  EXPECT_EQ(firings("@yearly", from, 2), at({"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}));
  EXPECT_EQ(firings("@annually", from, 1), at({"2027-01-01T00:00:00Z"}));
  EXPECT_EQ(firings("@monthly", from, 2), at({"2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"}));
  EXPECT_EQ(firings("@weekly", from, 2), at({"2026-11-29T00:00:00Z", "2026-12-06T00:00:00Z"}));
  EXPECT_EQ(firings("@daily", from, 2), at({"2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z"}));
  EXPECT_EQ(firings("@midnight", from, 1), at({"2026-11-24T00:00:00Z"}));
  EXPECT_EQ(firings("@hourly", from, 2), at({"2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"}));
  EXPECT_EQ(firings("  @HOURLY ", from, 1), at({"2026-11-23T09:00:00Z"}));
  EXPECT_EQ(cron(" @daily ").text(), "@daily");
}

TEST(CronTest, BothDayFieldsRestrictedMatchEither) {
  // The 13th or a Friday: 2026-12-13 is a Sunday.
  EXPECT_EQ(firings("0 0 13 * FRI", "2026-11-23T09:00:00Z", 5),
            at({"2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z",
                "2026-12-13T00:00:00Z", "2026-12-18T00:00:00Z"}));
  // Odd days or Fridays.
  EXPECT_EQ(firings("0 0 1-31/2 * FRI", "2026-11-23T09:00:00Z", 6),
            at({"2026-11-25T00:00:00Z", "2026-11-27T00:00:00Z", "2026-11-29T00:00:00Z",
                "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z"}));
}

TEST(CronTest, AnUnrestrictedDayFieldMakesBothMatch) {
  EXPECT_EQ(firings("0 0 * * FRI", "2026-11-23T09:00:00Z", 2),
            at({"2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 13 * *", "2026-11-23T09:00:00Z", 2),
            at({"2026-12-13T00:00:00Z", "2027-01-13T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 0 ? * MON", "2026-11-23T09:00:00Z", 2),
            at({"2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 0 13 * ?", "2026-11-23T09:00:00Z", 1), at({"2026-12-13T00:00:00Z"}));
  // As in Vixie cron, a field starting with * is unrestricted even with a
  // step: Fridays that are odd days, not odd days or Fridays.
  EXPECT_EQ(firings("0 0 */2 * FRI", "2026-11-23T09:00:00Z", 3),
            at({"2026-11-27T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-25T00:00:00Z"}));
}

TEST(CronTest, LeapDays) {
  EXPECT_EQ(firings("0 0 0 29 2 *", "2026-01-01T00:00:00Z", 2),
            at({"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
  EXPECT_EQ(cron("0 0 29 2 *").latest_at_or_before(utc("2031-06-01T00:00:00Z"), TimeZone::utc()),
            utc("2028-02-29T00:00:00Z"));
  // The 29th of every month skips February outside leap years.
  EXPECT_EQ(firings("0 0 29 * *", "2027-01-30T00:00:00Z", 1), at({"2027-03-29T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 29 * *", "2028-01-30T00:00:00Z", 1), at({"2028-02-29T00:00:00Z"}));
  EXPECT_EQ(firings("0 0 31 * *", "2026-11-23T00:00:00Z", 3),
            at({"2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-03-31T00:00:00Z"}));
}

TEST(CronTest, ExpressionsThatNeverFire) {
  for (const char* text : {"0 0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 2 *"}) {
    const CronExpression c = cron(text);
    EXPECT_EQ(c.next_after(utc("2026-11-23T08:00:00Z"), TimeZone::utc()), std::nullopt) << text;
    EXPECT_EQ(c.latest_at_or_before(utc("2026-11-23T08:00:00Z"), TimeZone::utc()), std::nullopt) << text;
  }
}

TEST(CronTest, LatestAtOrBefore) {
  const TimeZone z = TimeZone::utc();
  EXPECT_EQ(cron("0 0 */2 * * *").latest_at_or_before(utc("2026-11-23T09:30:00Z"), z), 1'795'420'800);
  EXPECT_EQ(cron("0 0 */2 * * *").latest_at_or_before(utc("2026-11-23T08:00:00Z"), z),
            utc("2026-11-23T08:00:00Z"));
  EXPECT_EQ(cron("0 0 */2 * * *").latest_at_or_before(utc("2026-11-23T07:59:59Z"), z),
            utc("2026-11-23T06:00:00Z"));
  // Sunday back to Friday.
  EXPECT_EQ(cron("30 8 * * 1-5").latest_at_or_before(utc("2026-11-22T12:00:00Z"), z),
            utc("2026-11-20T08:30:00Z"));
  EXPECT_EQ(cron("@yearly").latest_at_or_before(utc("2026-11-23T08:00:00Z"), z), utc("2026-01-01T00:00:00Z"));
  EXPECT_EQ(cron("@yearly").latest_at_or_before(utc("2026-01-01T00:00:00Z"), z), utc("2026-01-01T00:00:00Z"));
  EXPECT_EQ(cron("@yearly").latest_at_or_before(utc("2025-12-31T23:59:59Z"), z), utc("2025-01-01T00:00:00Z"));
  EXPECT_EQ(cron("0 0 13 * FRI").latest_at_or_before(utc("2026-12-14T00:00:00Z"), z),
            utc("2026-12-13T00:00:00Z"));
  EXPECT_EQ(cron("59 23 31 * *").latest_at_or_before(utc("2026-11-23T00:00:00Z"), z),
            utc("2026-10-31T23:59:00Z"));
  EXPECT_EQ(cron("0 0 1 */6 *").latest_at_or_before(utc("2026-11-23T00:00:00Z"), z),
            utc("2026-07-01T00:00:00Z"));
}

TEST(CronTest, TextIsKeptWithoutSurroundingBlanks) {
  EXPECT_EQ(cron("  0 0 * * *\t").text(), "0 0 * * *");
  EXPECT_EQ(cron("0  0\t*  * *").text(), "0  0\t*  * *");
  EXPECT_EQ(cron("0 0 * * 7"), cron("0 0 * * 7"));
}

TEST(CronTest, ParseErrorsNameTheField) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"61 * * * * *", "second field '61': value out of range 0-59"},
      {"* 60 * * * *", "minute field '60': value out of range 0-59"},
      {"0 25 * * *", "hour field '25': value out of range 0-23"},
      {"0 0 25 * * *", "hour field '25': value out of range 0-23"},
      {"0 0 32 * *", "day-of-month field '32': value out of range 1-31"},
      {"0 0 0 * *", "day-of-month field '0': value out of range 1-31"},
      {"0 0 1 13 *", "month field '13': value out of range 1-12"},
      {"0 0 1 FOO *", "month field 'FOO': invalid value 'FOO'"},
      {"0 0 1 JANUARY *", "month field 'JANUARY': invalid value 'JANUARY'"},
      {"0 0 * * 8", "day-of-week field '8': value out of range 0-7"},
      {"0 0 * * MON-JAN", "day-of-week field 'MON-JAN': invalid value 'JAN'"},
      {"0 0 1 * MON#2", "day-of-week field 'MON#2': invalid value 'MON#2'"},
      {"0 0 L * *", "day-of-month field 'L': invalid value 'L'"},
      {"*/0 * * * *", "minute field '*/0': step out of range 1-59"},
      {"*/60 * * * *", "minute field '*/60': step out of range 1-59"},
      {"0 */x * * *", "hour field '*/x': invalid step 'x'"},
      {"0 1/ * * *", "hour field '1/': invalid step ''"},
      {"0 5-2 * * *", "hour field '5-2': range start after its end"},
      {"0 1,,2 * * *", "hour field '1,,2': empty list item"},
      {"0 1, * * *", "hour field '1,': empty list item"},
      {"0 -5 * * *", "hour field '-5': missing value"},
      {"0 5- * * *", "hour field '5-': missing value"},
      {"0 ? * * *", "hour field '?': '?' is only for the day fields"},
      {"0 0 1,? * *", "day-of-month field '1,?': '?' must be the whole field"},
      {"0 0 * 1 ? *", "month field '?': '?' is only for the day fields"},
      {"0 0 * * 1-99999", "day-of-week field '1-99999': value out of range 0-7"},
      {"1 2 3 4", "cron expression '1 2 3 4': expected 5 or 6 fields, got 4"},
      {"1 2 3 4 5 6 7", "cron expression '1 2 3 4 5 6 7': expected 5 or 6 fields, got 7"},
      {"", "cron expression '': expected 5 or 6 fields, got 0"},
      {"  ", "cron expression '': expected 5 or 6 fields, got 0"},
      {"@daily 5", "cron expression '@daily 5': @daily takes no fields"},
      {"@fortnightly",
       "cron expression '@fortnightly': unknown macro (expected @yearly, @annually, @monthly, @weekly, "
       "@daily, "
       "@midnight or @hourly)"},
  };
  for (const Case& c : cases) {
    Result<CronExpression> parsed = CronExpression::parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().message, c.message) << c.text;
  }
}

// Paris springs forward on 2026-03-29 at 01:00Z (02:00 CET becomes 03:00
// CEST) and falls back on 2026-10-25 at 01:00Z (03:00 CEST becomes 02:00 CET).
TEST(CronTest, ParisSpringForwardFiresOnceWhenTheGapEnds) {
  const TimeZone paris = zone("Europe/Paris");
  const std::vector<int64_t> got = firings("30 2 * * *", "2026-03-27T12:00:00Z", 3, paris);
  EXPECT_EQ(got, at({"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(paris.format(got[1]), "2026-03-29T03:00:00+02:00");
  EXPECT_EQ(paris.format(got[2]), "2026-03-30T02:30:00+02:00");

  // Every quarter of the missing hour collapses into one firing.
  EXPECT_EQ(firings("*/15 2 * * *", "2026-03-28T23:00:00Z", 2, paris),
            at({"2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}));
  // 02:00 (skipped) and 03:00 are the same instant, fired once.
  EXPECT_EQ(firings("0 2,3 * * *", "2026-03-28T23:00:00Z", 2, paris),
            at({"2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}));
  EXPECT_EQ(firings("0 * * * *", "2026-03-28T23:30:00Z", 3, paris),
            at({"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}));

  const CronExpression c = cron("30 2 * * *");
  EXPECT_EQ(c.latest_at_or_before(utc("2026-03-29T01:00:00Z"), paris), utc("2026-03-29T01:00:00Z"));
  EXPECT_EQ(c.latest_at_or_before(utc("2026-03-29T00:59:59Z"), paris), utc("2026-03-28T01:30:00Z"));
}

TEST(CronTest, ParisFallBackFiresOnceAtTheFirstOccurrence) {
  const TimeZone paris = zone("Europe/Paris");
  const std::vector<int64_t> got = firings("30 2 * * *", "2026-10-24T12:00:00Z", 2, paris);
  EXPECT_EQ(got, at({"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(paris.format(got[0]), "2026-10-25T02:30:00+02:00");
  EXPECT_EQ(paris.format(got[1]), "2026-10-26T02:30:00+01:00");

  const CronExpression c = cron("30 2 * * *");
  // From inside the repeated hour (02:15 CET), 02:30 has already fired.
  EXPECT_EQ(c.next_after(utc("2026-10-25T01:15:00Z"), paris), utc("2026-10-26T01:30:00Z"));
  EXPECT_EQ(c.latest_at_or_before(utc("2026-10-25T01:45:00Z"), paris), utc("2026-10-25T00:30:00Z"));
  EXPECT_EQ(c.latest_at_or_before(utc("2026-10-25T00:30:00Z"), paris), utc("2026-10-25T00:30:00Z"));
  EXPECT_EQ(c.latest_at_or_before(utc("2026-10-25T00:29:59Z"), paris), utc("2026-10-24T00:30:00Z"));

  // Wall-clock hourly runs skip the repeated hour: two real hours pass
  // between 02:00 CEST and 03:00 CET.
  EXPECT_EQ(
      firings("0 * * * *", "2026-10-24T22:30:00Z", 4, paris),
      at({"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}));
}

// New York springs forward on 2026-03-08 at 07:00Z (02:00 EST becomes 03:00
// EDT) and falls back on 2026-11-01 at 06:00Z (02:00 EDT becomes 01:00 EST).
TEST(CronTest, NewYorkGapAndOverlap) {
  const TimeZone new_york = zone("America/New_York");
  EXPECT_EQ(firings("30 2 * * *", "2026-03-07T00:00:00Z", 3, new_york),
            at({"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));
  EXPECT_EQ(firings("30 1 * * *", "2026-10-31T12:00:00Z", 3, new_york),
            at({"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"}));
  // 02:30 is not repeated in New York: the repeated hour is 01:00-01:59.
  EXPECT_EQ(firings("30 2 * * *", "2026-10-31T12:00:00Z", 2, new_york),
            at({"2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"}));
  EXPECT_EQ(cron("30 1 * * *").next_after(utc("2026-11-01T06:15:00Z"), new_york),
            utc("2026-11-02T06:30:00Z"));
  EXPECT_EQ(cron("30 1 * * *").latest_at_or_before(utc("2026-11-01T06:45:00Z"), new_york),
            utc("2026-11-01T05:30:00Z"));
}

// Santiago springs forward at midnight: 2026-09-06 starts at 01:00 -03.
TEST(CronTest, MidnightThatDoesNotExist) {
  const TimeZone santiago = zone("America/Santiago");
  const std::vector<int64_t> got = firings("@daily", "2026-09-05T12:00:00Z", 2, santiago);
  EXPECT_EQ(got, at({"2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(santiago.format(got[0]), "2026-09-06T01:00:00-03:00");
}

// The searches agree with each other: stepping forward from each firing and
// back from just before it visit the same instants, DST days included.
TEST(CronTest, NextAndLatestAgree) {
  for (const char* name :
       {"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago"}) {
    const TimeZone z = zone(name);
    for (const char* text : {"*/15 * * * *", "30 2 * * *", "0 */2 * * *", "0 0 13 * FRI", "0 30 1 * * 0",
                             "45 1,2 * * *", "0 0 29 2 *"}) {
      const CronExpression c = cron(text);
      std::optional<int64_t> previous = c.latest_at_or_before(utc("2026-01-01T00:00:00Z"), z);
      int64_t t = utc("2026-01-01T00:00:00Z");
      for (int i = 0; i < 300; ++i) {
        std::optional<int64_t> next = c.next_after(t, z);
        if (!next) break;
        ASSERT_GT(*next, t) << name << " " << text;
        ASSERT_EQ(c.latest_at_or_before(*next, z), next) << name << " " << text;
        ASSERT_EQ(c.latest_at_or_before(*next - 1, z), previous)
            << name << " " << text << " " << z.format(*next);
        previous = next;
        t = *next;
      }
    }
  }
}

// In UTC the firings equal a minute-by-minute scan with gmtime.
TEST(CronTest, MatchesABruteForceScan) {
  struct Case {
    const char* text;
    std::function<bool(const struct tm&)> matches;
  };
  const Case cases[] = {
      {"0 */7 1-10,20 * MON",
       [](const struct tm& t) {
         return t.tm_min == 0 && t.tm_hour % 7 == 0 && (t.tm_mday <= 10 || t.tm_mday == 20 || t.tm_wday == 1);
       }},
      {"15 3 */2 * FRI",
       [](const struct tm& t) {
         return t.tm_min == 15 && t.tm_hour == 3 && t.tm_mday % 2 == 1 && t.tm_wday == 5;
       }},
      {"*/20 6-8 * FEB,3 *",
       [](const struct tm& t) {
         return t.tm_min % 20 == 0 && t.tm_hour >= 6 && t.tm_hour <= 8 && (t.tm_mon == 1 || t.tm_mon == 2);
       }},
      {"59 23 31 * *",
       [](const struct tm& t) { return t.tm_min == 59 && t.tm_hour == 23 && t.tm_mday == 31; }},
      {"0 12 29 2 *",
       [](const struct tm& t) {
         return t.tm_min == 0 && t.tm_hour == 12 && t.tm_mday == 29 && t.tm_mon == 1;
       }},
  };
  const int64_t start = utc("2027-06-01T00:00:00Z");
  const int64_t end = utc("2028-07-01T00:00:00Z");
  for (const Case& c : cases) {
    std::vector<int64_t> expected;
    for (int64_t t = start + 60; t < end; t += 60) {
      const time_t tt = t;
      struct tm parts = {};
      gmtime_r(&tt, &parts);
      if (c.matches(parts)) expected.push_back(t);
    }
    std::vector<int64_t> got;
    const CronExpression e = cron(c.text);
    for (std::optional<int64_t> t = e.next_after(start, TimeZone::utc()); t && *t < end;
         t = e.next_after(*t, TimeZone::utc())) {
      got.push_back(*t);
    }
    EXPECT_FALSE(expected.empty()) << c.text;
    EXPECT_EQ(got, expected) << c.text;
  }
}

TEST(CronTest, OutOfRangeInstantsGiveNothing) {
  const CronExpression c = cron("* * * * *");
  EXPECT_EQ(c.next_after(std::numeric_limits<int64_t>::max(), TimeZone::utc()), std::nullopt);
  EXPECT_EQ(c.next_after(std::numeric_limits<int64_t>::min(), TimeZone::utc()), std::nullopt);
  EXPECT_EQ(c.latest_at_or_before(std::numeric_limits<int64_t>::max(), TimeZone::utc()), std::nullopt);
  EXPECT_EQ(c.latest_at_or_before(std::numeric_limits<int64_t>::min(), TimeZone::utc()), std::nullopt);
}

// Microseconds per call, not milliseconds: generous bounds for shared or
// sanitized builds.
TEST(CronTest, NextAfterIsFast) {
  const TimeZone paris = zone("Europe/Paris");
  const CronExpression every_second = cron("* * * * * *");
  const CronExpression leap = cron("0 0 0 29 2 *");
  const CronExpression never = cron("0 0 0 30 2 *");
  const CronExpression weekly = cron("0 30 2 * * SUN");
  const int64_t from = utc("2026-01-01T00:00:00Z");
  int64_t sink = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5'000; ++i) {
    const int64_t t = from + i * 3'607;
    sink += every_second.next_after(t, paris).value_or(0);
    sink += leap.next_after(t, paris).value_or(0);
    sink += never.next_after(t, paris).value_or(0);
    sink += weekly.latest_at_or_before(t, paris).value_or(0);
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_NE(sink, 0);
  EXPECT_LT(elapsed, std::chrono::seconds(1))
      << "20000 searches took " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
      << " ms";
}

}  // namespace
}  // namespace herald::schedule
