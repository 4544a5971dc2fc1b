// json_text must write exactly what nlohmann::json::dump() writes: payloads
// stored before and after it, and receivers comparing bodies, see one text.
#include "common/json_text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/text.h"
#include "support/random_json.h"

namespace herald {
namespace {

using json = nlohmann::json;

TEST(JsonText, WritesWhatDumpWrites) {
  const json cases[] = {
      nullptr,
      true,
      false,
      0,
      -1,
      std::numeric_limits<int64_t>::min(),
      std::numeric_limits<int64_t>::max(),
      std::numeric_limits<uint64_t>::max(),
      1.5,
      -0.0,
      1e300,
      0.1,
      "",
      "plain",
      "quote \" backslash \\ slash /",
      "\b\f\n\r\t",
      std::string("\x00\x01\x1f\x7f", 4),
      "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x94\x91",
      json::object(),
      json::array(),
      json{{"b", 1}, {"a", {1, "x", nullptr}}, {"c\n", {{"nested", json::object()}}}},
      json::parse(R"({"person":{"name":{"first":"Ana","last":"Ng"}},"tags":["a",null,2.25]})"),
  };
  for (const auto& j : cases) EXPECT_EQ(json_text(j), j.dump()) << j.dump();
}

// Random documents over the characters that matter: every control byte,
// quotes, backslashes, DEL, multibyte sequences, numbers of every kind.
TEST(JsonText, WritesWhatDumpWritesForRandomDocuments) {
  std::mt19937 rng(20261123);
  for (int i = 0; i < 5000; ++i) {
    const json j = test::random_json(rng);
    ASSERT_EQ(json_text(j), j.dump()) << "document " << i;
  }
}

TEST(JsonText, SeesEveryByteOfLongStrings) {
  // Strings are scanned eight bytes at a time: whatever needs escaping or
  // checking must be found at any position.
  for (const std::string special :
       {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", " ", "\xc3\xa9", "\xe2\x82\xac"}) {
    for (std::size_t at = 0; at <= 24; ++at) {
      std::string s(24, 'x');
      s.insert(at, special);
      EXPECT_EQ(json_text(json(s)), json(s).dump()) << at;
      const json object = {{s, s}};
      EXPECT_EQ(json_text(object), object.dump()) << at;
    }
  }
  std::string cut(24, 'x');
  cut.insert(7, "\xe2\x82");  // a sequence cut short across a word boundary
  EXPECT_THROW(json_text(json(cut)), json::type_error);
}

TEST(JsonText, RefusesMalformedUtf8AsDumpDoes) {
  for (const char* bad : {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xff", "ok \xf4\x90\x80\x80"}) {
    const json as_value = std::string(bad);
    const json as_key = {{std::string(bad), 1}};
    EXPECT_THROW(json_text(as_value), json::type_error) << bad;
    EXPECT_THROW(json_text(as_key), json::type_error) << bad;
    EXPECT_THROW((void)as_value.dump(), json::type_error) << bad;
  }
}

TEST(JsonText, AppendsToWhatIsThere) {
  std::string out = "body=";
  append_json(out, json{{"k", "v"}});
  EXPECT_EQ(out, R"(body={"k":"v"})");
}

TEST(Utf8, ChecksEveryByteOfLongText) {
  // The ASCII fast path reads eight bytes at a time: a bad byte at any
  // position, and a sequence split across two words, must still be seen.
  const std::string ascii(40, 'a');
  for (std::size_t at = 0; at < ascii.size(); ++at) {
    std::string s = ascii;
    s[at] = '\xff';
    EXPECT_FALSE(is_valid_utf8(s)) << at;
    std::string ok = ascii;
    ok.replace(at, 1, "\xe2\x82\xac");
    EXPECT_TRUE(is_valid_utf8(ok)) << at;
    EXPECT_FALSE(is_valid_utf8(ok.substr(0, at + 2))) << "truncated at " << at;
  }
}

}  // namespace
}  // namespace herald
