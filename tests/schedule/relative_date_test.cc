#include "schedule/relative_date.h"

#include <gtest/gtest.h>

namespace herald::schedule {
namespace {

// 2026-11-23T15:30:00Z, a Monday.
constexpr int64_t kMonday = 1'795'447'800;

TEST(RelativeDate, ParsesBasesAndTerms) {
  auto d = parse_relative_date(" today + 3d ");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->base, RelativeDate::Base::Today);
  EXPECT_EQ(d->offset_s, 3 * 86'400);
  d = parse_relative_date("NOW-90d+12h");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->base, RelativeDate::Base::Now);
  EXPECT_EQ(d->offset_s, -90 * 86'400 + 12 * 3'600);
  EXPECT_EQ(parse_relative_date("today + 2w")->offset_s, 14 * 86'400);
  EXPECT_EQ(parse_relative_date("now")->offset_s, 0);
}

TEST(RelativeDate, ErrorsSayWhatWasExpected) {
  EXPECT_NE(parse_relative_date("tomorrow").error().message.find("starts with 'now' or 'today'"),
            std::string::npos);
  EXPECT_NE(parse_relative_date("today 3d").error().message.find("expected '+' or '-'"), std::string::npos);
  EXPECT_NE(parse_relative_date("today + 3 days").error().message.find("expected a duration"),
            std::string::npos);
  EXPECT_NE(parse_relative_date("now +").error().message.find("expected a duration"), std::string::npos);
}

TEST(RelativeDate, ResolvesOnTheScheduleWallClock) {
  auto utc = TimeZone::utc();
  EXPECT_EQ(resolve(*parse_relative_date("now"), kMonday, utc), kMonday);
  // today = 2026-11-23T00:00Z; + 3d = 2026-11-26T00:00Z.
  EXPECT_EQ(resolve(*parse_relative_date("today + 3d"), kMonday, utc), 1'795'651'200);
  EXPECT_EQ(resolve(*parse_relative_date("now - 90d"), kMonday, utc), kMonday - 90 * 86'400);

  // In Paris "today" starts at 23:00Z the evening before (UTC+1 in November).
  auto paris = TimeZone::locate("Europe/Paris").value();
  EXPECT_EQ(resolve(*parse_relative_date("today"), kMonday, paris), 1'795'388'400);  // 2026-11-22T23:00Z
  // Local midnight stays midnight across the change to summer time:
  // 2026-03-27 00:00 CET + 3d = 2026-03-30 00:00 CEST = 2026-03-29T22:00Z.
  int64_t friday_noon = 1'774'612'800;  // 2026-03-27T12:00Z
  EXPECT_EQ(resolve(*parse_relative_date("today + 3d"), friday_noon, paris), 1'774'821'600);
}

TEST(RelativeDate, FormatsAsTheColumnIsWritten) {
  auto paris = TimeZone::locate("Europe/Paris").value();
  auto text = [&](DateFormat f) { return std::get<std::string>(format_date(kMonday, f, paris)); };
  EXPECT_EQ(text(DateFormat::Iso8601), "2026-11-23T15:30:00Z");
  EXPECT_EQ(text(DateFormat::Sqlite), "2026-11-23 15:30:00");
  EXPECT_EQ(text(DateFormat::Local), "2026-11-23T16:30:00");
  EXPECT_EQ(text(DateFormat::Date), "2026-11-23");
  EXPECT_EQ(std::get<int64_t>(format_date(kMonday, DateFormat::Unix, paris)), kMonday);
  EXPECT_EQ(std::get<int64_t>(format_date(kMonday, DateFormat::UnixMs, paris)), kMonday * 1000);
  EXPECT_EQ(*parse_date_format("UNIX_MS"), DateFormat::UnixMs);
  EXPECT_NE(parse_date_format("epoch").error().message.find("unknown date format 'epoch'"),
            std::string::npos);
}

}  // namespace
}  // namespace herald::schedule
