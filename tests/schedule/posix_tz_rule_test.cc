#include "schedule/posix_tz_rule.h"

#include <string>

#include <gtest/gtest.h>
#include "support/unix_time.h"

namespace herald::schedule {
namespace {

int64_t utc(const char* iso) { return test::unix_seconds(iso); }

PosixTzRule rule(const char* text) {
  auto r = PosixTzRule::parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
  return r.ok() ? *r : PosixTzRule::parse("CET-1CEST,M3.5.0,M10.5.0/3").value();
}

TEST(PosixTzRuleTest, ReadsOffsetsEastOfUtc) {
  const PosixTzRule paris = rule("CET-1CEST,M3.5.0,M10.5.0/3");
  EXPECT_EQ(paris.standard_offset(), 3'600);
  EXPECT_EQ(paris.daylight_offset(), 7'200);
  const PosixTzRule new_york = rule("EST5EDT,M3.2.0,M11.1.0");
  EXPECT_EQ(new_york.standard_offset(), -18'000);
  EXPECT_EQ(new_york.daylight_offset(), -14'400);  // an hour ahead when not given
  const PosixTzRule nuuk = rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  EXPECT_EQ(nuuk.standard_offset(), -7'200);
  EXPECT_EQ(nuuk.daylight_offset(), -3'600);
  const PosixTzRule chatham = rule("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45");
  EXPECT_EQ(chatham.standard_offset(), 45'900);
  EXPECT_EQ(chatham.daylight_offset(), 49'500);
}

TEST(PosixTzRuleTest, MonthWeekDayRulesFallOnTheirSundays) {
  // Paris in 2040: the last Sundays of March (25th) and October (28th), at
  // 01:00 UTC both times.
  const auto paris = rule("CET-1CEST,M3.5.0,M10.5.0/3").changes_in(2040);
  EXPECT_EQ(paris.first, utc("2040-03-25T01:00:00Z"));
  EXPECT_EQ(paris.second, utc("2040-10-28T01:00:00Z"));
  // New York: the second Sunday of March, the first of November, 02:00 local.
  const auto new_york = rule("EST5EDT,M3.2.0,M11.1.0").changes_in(2041);
  EXPECT_EQ(new_york.first, utc("2041-03-10T07:00:00Z"));
  EXPECT_EQ(new_york.second, utc("2041-11-03T06:00:00Z"));
  // Sydney starts in October and ends in April.
  const auto sydney = rule("AEST-10AEDT,M10.1.0,M4.1.0/3").changes_in(2045);
  EXPECT_EQ(sydney.first, utc("2045-09-30T16:00:00Z"));
  EXPECT_EQ(sydney.second, utc("2045-04-01T16:00:00Z"));
}

TEST(PosixTzRuleTest, RuleTimesBeyondTheDayAndBeforeIt) {
  // Jerusalem: the Thursday before the last Sunday of March, "26:00" being
  // Friday 02:00.
  const auto jerusalem = rule("IST-2IDT,M3.4.4/26,M10.5.0").changes_in(2040);
  EXPECT_EQ(jerusalem.first, utc("2040-03-23T00:00:00Z"));
  // Nuuk: "-1" is 23:00 on the Saturday before the last Sunday of March.
  const auto nuuk = rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0").changes_in(2040);
  EXPECT_EQ(nuuk.first, utc("2040-03-25T01:00:00Z"));
  EXPECT_EQ(nuuk.second, utc("2040-10-28T01:00:00Z"));
}

TEST(PosixTzRuleTest, JulianAndZeroBasedDays) {
  // J60 is March 1 every year; 59 is February 29 in a leap year, March 1
  // in others.
  const PosixTzRule julian = rule("AAA0BBB,J60/0,J300/0");
  EXPECT_EQ(julian.changes_in(2040).first, utc("2040-03-01T00:00:00Z"));
  EXPECT_EQ(julian.changes_in(2041).first, utc("2041-03-01T00:00:00Z"));
  const PosixTzRule zero_based = rule("AAA0BBB,59/0,299/0");
  EXPECT_EQ(zero_based.changes_in(2040).first, utc("2040-02-29T00:00:00Z"));
  EXPECT_EQ(zero_based.changes_in(2041).first, utc("2041-03-01T00:00:00Z"));
}

TEST(PosixTzRuleTest, OffsetInForceNorthAndSouth) {
  const PosixTzRule paris = rule("CET-1CEST,M3.5.0,M10.5.0/3");
  EXPECT_EQ(paris.offset_at(utc("2040-03-25T00:59:59Z")), 3'600);
  EXPECT_EQ(paris.offset_at(utc("2040-03-25T01:00:00Z")), 7'200);
  EXPECT_EQ(paris.offset_at(utc("2040-10-28T00:59:59Z")), 7'200);
  EXPECT_EQ(paris.offset_at(utc("2040-10-28T01:00:00Z")), 3'600);
  const PosixTzRule sydney = rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
  EXPECT_EQ(sydney.offset_at(utc("2045-01-01T00:30:00Z")), 39'600);  // summer across the new year
  EXPECT_EQ(sydney.offset_at(utc("2045-12-31T23:30:00Z")), 39'600);
  EXPECT_EQ(sydney.offset_at(utc("2045-07-01T00:00:00Z")), 36'000);
  // Dublin keeps "IST" in summer and names winter time as the saving.
  const PosixTzRule dublin = rule("IST-1GMT0,M10.5.0,M3.5.0/1");
  EXPECT_EQ(dublin.offset_at(utc("2040-07-01T12:00:00Z")), 3'600);
  EXPECT_EQ(dublin.offset_at(utc("2040-01-15T12:00:00Z")), 0);
}

TEST(PosixTzRuleTest, FromLocalGapAndOverlap) {
  const PosixTzRule paris = rule("CET-1CEST,M3.5.0,M10.5.0/3");
  // 02:00-02:59 never shows on 2040-03-25: its instants map to 01:00Z.
  EXPECT_EQ(paris.from_local(utc("2040-03-25T01:59:59Z")), utc("2040-03-25T00:59:59Z"));
  EXPECT_EQ(paris.from_local(utc("2040-03-25T02:30:00Z")), utc("2040-03-25T01:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2040-03-25T03:00:00Z")), utc("2040-03-25T01:00:00Z"));
  // 02:00-02:59 shows twice on 2040-10-28: the first time is taken.
  EXPECT_EQ(paris.from_local(utc("2040-10-28T02:30:00Z")), utc("2040-10-28T00:30:00Z"));
  EXPECT_EQ(paris.from_local(utc("2040-10-28T03:00:00Z")), utc("2040-10-28T02:00:00Z"));
  EXPECT_EQ(paris.from_local(utc("2040-07-01T12:00:00Z")), utc("2040-07-01T10:00:00Z"));
  const PosixTzRule dublin = rule("IST-1GMT0,M10.5.0,M3.5.0/1");
  EXPECT_EQ(dublin.from_local(utc("2040-03-25T01:30:00Z")), utc("2040-03-25T01:00:00Z"));
  EXPECT_EQ(dublin.from_local(utc("2040-10-28T01:30:00Z")), utc("2040-10-28T00:30:00Z"));
}

TEST(PosixTzRuleTest, MalformedOrRulelessStringsAreErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected the standard time's name"},
      {"CE-1", "expected the standard time's name"},
      {"<>-1X", "expected the standard time's name"},
      {"CET", "expected the standard time's offset"},
      {"CET-1", "no daylight saving"},
      {"<+03>-3", "no daylight saving"},
      {"CET-1CEST", "no rules for daylight saving"},
      {"CET-1CEST,M3.5.0", "expected ',' and the end rule"},
      {"CET-1CEST,M13.5.0,M10.5.0", "expected Mm.w.d"},
      {"CET-1CEST,M3.0.0,M10.5.0", "expected Mm.w.d"},
      {"CET-1CEST,M3.5.7,M10.5.0", "expected Mm.w.d"},
      {"CET-1CEST,J0,J100", "expected Jn, n from 1 to 365"},
      {"CET-1CEST,366,100", "expected a rule: Mm.w.d, Jn or n"},
      {"CET-1CEST,M3.5.0/168,M10.5.0", "expected the rule's time after '/'"},
      {"CET-1CEST,M3.5.0,M10.5.0/3x", "unexpected text after the end rule"},
  };
  for (const auto& [text, why] : cases) {
    auto r = PosixTzRule::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().message, "TZ rule '" + std::string(text) + "': " + why);
  }
}

}  // namespace
}  // namespace herald::schedule
