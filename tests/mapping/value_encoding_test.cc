// Pure helpers of the mapping module: value conversions, URLs, JPaths.
#include "mapping/value_encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "mapping/jpath.h"
#include "mapping/url.h"

namespace herald::mapping {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

Value text(const std::string& s) { return Value::of_json(s); }

std::string iso(const Value& v) {
  auto r = to_iso8601_utc(v);
  return r ? *r : "ERROR: " + r.error().message;
}

TEST(MappingValueEncodingTest, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("h"), "aA==");
  EXPECT_EQ(base64_encode("he"), "aGU=");
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_encode(std::string("\x00\xff\xfe", 3)), "AP/+");
}

TEST(MappingValueEncodingTest, HexDecode) {
  EXPECT_EQ(hex_decode("48656c6C6f"), "Hello");
  EXPECT_EQ(hex_decode("0x4869"), "Hi");
  EXPECT_EQ(hex_decode("48 69\r\n"), "Hi");
  EXPECT_EQ(hex_decode(""), "");
  EXPECT_FALSE(hex_decode("486"));
  EXPECT_FALSE(hex_decode("4G"));
}

TEST(MappingValueEncodingTest, Utf8ValidationAndSubstring) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xff"));

  const std::string s = "Zo\xc3\xab\xe2\x82\xac!";  // Z o ë € !
  EXPECT_EQ(utf8_substring(s, 2, 2), "\xc3\xab\xe2\x82\xac");
  EXPECT_EQ(utf8_substring(s, 3, std::nullopt), "\xe2\x82\xac!");
  EXPECT_EQ(utf8_substring(s, 0, 0), "");
  EXPECT_EQ(utf8_substring(s, 5, 1), "");    // start at the end
  EXPECT_EQ(utf8_substring(s, 99, 1), "");   // start beyond the end
  EXPECT_EQ(utf8_substring(s, 4, 99), "!");  // length past the end
}

TEST(MappingValueEncodingTest, GuidBraces) {
  EXPECT_EQ(strip_guid_braces("{79036D80-8322-404F-B146-F37AF6B016B4}"),
            "79036D80-8322-404F-B146-F37AF6B016B4");
  EXPECT_EQ(strip_guid_braces("79036D80"), "79036D80");
  EXPECT_EQ(strip_guid_braces("{abc"), "{abc");
  EXPECT_EQ(strip_guid_braces("{}"), "");
}

TEST(MappingValueEncodingTest, Boolean) {
  for (const char* t : {"1", "true", "TRUE", "Yes", " yes "}) EXPECT_TRUE(*to_boolean(text(t))) << t;
  for (const char* t : {"0", "false", "False", "NO"}) EXPECT_FALSE(*to_boolean(text(t))) << t;
  EXPECT_TRUE(*to_boolean(Value::of_json(1)));
  EXPECT_FALSE(*to_boolean(Value::of_json(0)));
  EXPECT_TRUE(*to_boolean(Value::of_json(true)));
  EXPECT_FALSE(to_boolean(Value::of_json(2)));
  EXPECT_FALSE(to_boolean(text("maybe")));
  EXPECT_FALSE(to_boolean(text("")));
  EXPECT_FALSE(to_boolean(Value::of_bytes("1")));
  EXPECT_THAT(to_boolean(text("maybe")).error().message, HasSubstr("\"maybe\" is not a Boolean"));
}

TEST(MappingValueEncodingTest, DateTextForms) {
  EXPECT_EQ(iso(text("2024-02-12")), "2024-02-12T00:00:00.000Z");
  EXPECT_EQ(iso(text("2024-02-12 09:30")), "2024-02-12T09:30:00.000Z");
  EXPECT_EQ(iso(text("2024-02-12 09:30:05")), "2024-02-12T09:30:05.000Z");
  EXPECT_EQ(iso(text("2024-02-12T09:30:05")), "2024-02-12T09:30:05.000Z");
  EXPECT_EQ(iso(text("2024-02-12 09:30:05.123")), "2024-02-12T09:30:05.123Z");
  EXPECT_EQ(iso(text("2024-02-12 09:30:05.5")), "2024-02-12T09:30:05.500Z");
  EXPECT_EQ(iso(text("2024-02-12 09:30:05.123456")), "2024-02-12T09:30:05.123Z");  // truncated
  EXPECT_EQ(iso(text("2024-02-12T09:30:05Z")), "2024-02-12T09:30:05.000Z");
  EXPECT_EQ(iso(text("2024-02-12T09:30:05.250Z")), "2024-02-12T09:30:05.250Z");
  EXPECT_EQ(iso(text(" 2024-02-12 09:30 ")), "2024-02-12T09:30:00.000Z");
}

TEST(MappingValueEncodingTest, DateOffsetsConvertToUtc) {
  EXPECT_EQ(iso(text("2024-01-01T00:30:00+01:00")), "2023-12-31T23:30:00.000Z");
  EXPECT_EQ(iso(text("2024-02-28 22:00:00-05:30")), "2024-02-29T03:30:00.000Z");  // leap day
  EXPECT_EQ(iso(text("2023-06-01T14:05:09.250+01:00")), "2023-06-01T13:05:09.250Z");
  EXPECT_EQ(iso(text("2024-03-10 12:00 +00:00")), "2024-03-10T12:00:00.000Z");
}

TEST(MappingValueEncodingTest, DateNumbers) {
  EXPECT_EQ(iso(Value::of_json(2460000.5)), "2023-02-25T00:00:00.000Z");  // Julian day
  EXPECT_EQ(iso(Value::of_json(2460000.75)), "2023-02-25T06:00:00.000Z");
  EXPECT_EQ(iso(text("2460000.5")), "2023-02-25T00:00:00.000Z");
  EXPECT_EQ(iso(Value::of_json(1700000000)), "2023-11-14T22:13:20.000Z");  // unix seconds
  EXPECT_EQ(iso(Value::of_json(1700000000.25)), "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(iso(text("1700000000")), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(iso(Value::of_json(-86400)), "1969-12-31T00:00:00.000Z");
}

TEST(MappingValueEncodingTest, DateRejectsNonDates) {
  for (const char* bad :
       {"", "tomorrow", "2024-02-30", "2024-13-01", "2023-02-29", "2024-02-12 24:00", "2024-02-12 10:60",
        "2024-02-12 10:00:60", "2024-2-12", "2024-02-12Z", "2024-02-12 10:00:00.", "2024-02-12 10:00 +1:00",
        "2024-02-12 10:00 UTC", "12:30"}) {
    EXPECT_THAT(iso(text(bad)), HasSubstr("ERROR")) << bad;
  }
  EXPECT_THAT(iso(Value::of_json(true)), HasSubstr("ERROR"));
  EXPECT_THAT(iso(Value::of_json(10.0)), HasSubstr("ERROR"));  // Julian day 10 is before year 0
  EXPECT_THAT(iso(Value::of_json(1e15)), HasSubstr("ERROR"));
  EXPECT_THAT(iso(Value::of_bytes("2024-01-01")), HasSubstr("ERROR"));
}

TEST(MappingValueEncodingTest, HexedB64Certificate) {
  // hex of "MIIBszCCAV2g\r\nAwIBAgIU"
  auto r = decode_hexed_b64_certificate(text("4d494942737a4343415632670d0a4177494241674955"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "MIIBszCCAV2gAwIBAgIU");
  EXPECT_FALSE(decode_hexed_b64_certificate(text("not hex")));
  EXPECT_FALSE(decode_hexed_b64_certificate(text("2a2a")));  // "**" is not base64
  auto blob = decode_hexed_b64_certificate(Value::of_bytes("QUJD\r\nREVG"));
  ASSERT_TRUE(blob);
  EXPECT_EQ(*blob, "QUJDREVG");
}

TEST(MappingValueEncodingTest, ValueToText) {
  EXPECT_EQ(value_to_text(text("x")), "x");
  EXPECT_EQ(value_to_text(Value::of_json(42)), "42");
  EXPECT_EQ(value_to_text(Value::of_json(1.5)), "1.5");
  EXPECT_EQ(value_to_text(Value::of_json(false)), "false");
  EXPECT_EQ(value_to_text(Value::of_json(json{{"a", 1}})), "{\"a\":1}");
  EXPECT_EQ(value_to_text(Value::of_bytes("hello")), "aGVsbG8=");
  EXPECT_FALSE(Value::of_json(nullptr).present());
}

TEST(MappingUrlTest, JoinUrl) {
  EXPECT_EQ(join_url("https://h/Notify", "/devices/x"), "https://h/Notify/devices/x");
  EXPECT_EQ(join_url("https://h/Notify/", "/devices/x"), "https://h/Notify/devices/x");
  EXPECT_EQ(join_url("https://h/Notify/", "devices/x"), "https://h/Notify/devices/x");
  EXPECT_EQ(join_url("https://h/Notify", "devices/x"), "https://h/Notify/devices/x");
  EXPECT_EQ(join_url("https://h/Notify//", "//devices"), "https://h/Notify/devices");
  EXPECT_EQ(join_url("https://h/Notify", ""), "https://h/Notify");
  EXPECT_EQ(join_url("https://h/Notify/", ""), "https://h/Notify/");
  EXPECT_EQ(join_url("", "/devices"), "/devices");
  EXPECT_EQ(join_url("https://h/Notify", "?a=1"), "https://h/Notify?a=1");
  EXPECT_EQ(join_url("https://h", "/"), "https://h/");
}

TEST(MappingUrlTest, UnsafeSegmentFromValue) {
  // "/a/../b" with ".." written from a value.
  auto u = unsafe_segment_from_value("/a/../b", {{3, 5}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->value, 0u);
  EXPECT_EQ(u->segment, "..");
  u = unsafe_segment_from_value("/a/./b", {{1, 2}, {3, 4}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->value, 1u);
  EXPECT_EQ(u->segment, ".");
  // At the very end, and made of two values.
  EXPECT_TRUE(unsafe_segment_from_value("/a/..", {{3, 4}, {4, 5}}));
  // Empty values that leave a whole segment empty: "/a//b", "/a/", "", "/b".
  for (const auto& [path, at] : std::vector<std::pair<std::string, std::size_t>>{
           {"/a//b", 3}, {"/a/", 3}, {"", 0}, {"/b", 0}, {"/a/?q=1", 3}}) {
    u = unsafe_segment_from_value(path, {{at, at}});
    ASSERT_TRUE(u) << path;
    EXPECT_EQ(u->segment, "") << path;
  }
  // Not a whole segment, not from a value, or past the path.
  EXPECT_FALSE(unsafe_segment_from_value("/a/x../b", {{4, 6}}));
  EXPECT_FALSE(unsafe_segment_from_value("/a/.../b", {{3, 6}}));
  EXPECT_FALSE(unsafe_segment_from_value("/../b/..x", {{7, 9}}));
  EXPECT_FALSE(unsafe_segment_from_value("/a?q=/../", {{6, 8}}));
  EXPECT_FALSE(unsafe_segment_from_value("/a#/..", {{4, 6}}));
  EXPECT_FALSE(unsafe_segment_from_value("/ax/b", {{2, 2}}));  // "a" + "" + "x"
  EXPECT_FALSE(unsafe_segment_from_value("/a?q=", {{5, 5}}));  // an empty query value
  EXPECT_FALSE(unsafe_segment_from_value("/a//b", {{1, 2}}));  // the literal "//" is the mapping's
  EXPECT_FALSE(unsafe_segment_from_value("", {}));
}

TEST(MappingUrlTest, PercentEncodeSegment) {
  EXPECT_EQ(percent_encode_segment("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode_segment("a/b c?d#e%f"), "a%2Fb%20c%3Fd%23e%25f");
  EXPECT_EQ(percent_encode_segment("Zo\xc3\xab"), "Zo%C3%AB");
  EXPECT_EQ(percent_encode_segment("{x}+&="), "%7Bx%7D%2B%26%3D");
  EXPECT_EQ(percent_encode_segment(""), "");
}

TEST(MappingUrlTest, ParseTemplate) {
  auto parts = parse_url_template("/devices/{Devices.ObjectID}/x/{Event.new.a}");
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 4u);
  EXPECT_FALSE((*parts)[0].placeholder);
  EXPECT_EQ((*parts)[0].text, "/devices/");
  EXPECT_TRUE((*parts)[1].placeholder);
  EXPECT_EQ((*parts)[1].source, "Devices");
  EXPECT_EQ((*parts)[1].field, "ObjectID");
  EXPECT_EQ((*parts)[2].text, "/x/");
  EXPECT_EQ((*parts)[3].source, "Event");
  EXPECT_EQ((*parts)[3].field, "new.a");

  auto plain = parse_url_template("/devices/deviceIssued");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->size(), 1u);
  EXPECT_TRUE(parse_url_template("")->empty());

  EXPECT_THAT(parse_url_template("/a/{Devices.ObjectID").error().message, HasSubstr("unmatched '{'"));
  EXPECT_THAT(parse_url_template("/a/Devices.ObjectID}").error().message, HasSubstr("unmatched '}'"));
  EXPECT_THAT(parse_url_template("/a/{Dev{ices.ObjectID}").error().message, HasSubstr("unmatched '{'"));
  EXPECT_THAT(parse_url_template("/a/{}").error().message, HasSubstr("empty placeholder"));
  EXPECT_THAT(parse_url_template("/a/{Devices}").error().message, HasSubstr("{Source.Field}"));
  EXPECT_THAT(parse_url_template("/a/{.x}").error().message, HasSubstr("{Source.Field}"));
  EXPECT_THAT(parse_url_template("/a/{x.}").error().message, HasSubstr("{Source.Field}"));
}

TEST(MappingJPathTest, ParseAndSet) {
  json body = json::object();
  jpath_set(body, *parse_jpath("device.validity.enabled"), true);
  jpath_set(body, *parse_jpath("items[1].id"), 7);
  jpath_set(body, *parse_jpath("items[0].id"), 6);
  jpath_set(body, *parse_jpath("tags[1]"), "b");
  jpath_set(body, *parse_jpath("grid[1][2]"), 1);
  EXPECT_EQ(body, json::parse(R"({
    "device": {"validity": {"enabled": true}},
    "items": [{"id": 6}, {"id": 7}],
    "tags": [null, "b"],
    "grid": [null, [null, null, 1]]
  })"));
  EXPECT_EQ(jpath_to_string(*parse_jpath("a.b[2].c")), "a.b[2].c");
}

TEST(MappingJPathTest, RejectsMalformedPaths) {
  for (const char* bad :
       {"", ".a", "a.", "a..b", "[0]", "a[", "a[]", "a[x]", "a[-1]", "a[1]b", "a]", "a[99999]"}) {
    EXPECT_FALSE(parse_jpath(bad)) << bad;
  }
}

TEST(MappingJPathTest, ReserveDetectsCollisions) {
  json skeleton = json::object();
  EXPECT_TRUE(jpath_reserve(skeleton, *parse_jpath("a.b")));
  EXPECT_TRUE(jpath_reserve(skeleton, *parse_jpath("a.c")));
  EXPECT_TRUE(jpath_reserve(skeleton, *parse_jpath("list[0]")));
  EXPECT_TRUE(jpath_reserve(skeleton, *parse_jpath("list[2]")));
  EXPECT_THAT(jpath_reserve(skeleton, *parse_jpath("a.b")).error().message, HasSubstr("used twice"));
  EXPECT_THAT(jpath_reserve(skeleton, *parse_jpath("a.b.x")).error().message,
              HasSubstr("inside the value of a.b"));
  EXPECT_THAT(jpath_reserve(skeleton, *parse_jpath("a")).error().message, HasSubstr("replace"));
  EXPECT_THAT(jpath_reserve(skeleton, *parse_jpath("a[0]")).error().message, HasSubstr("array index"));
  EXPECT_THAT(jpath_reserve(skeleton, *parse_jpath("list.x")).error().message, HasSubstr("object key"));
  EXPECT_TRUE(jpath_reserve(skeleton, *parse_jpath("list[1]")));
}

}  // namespace
}  // namespace herald::mapping
