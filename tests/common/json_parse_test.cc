// parse_json must give what nlohmann::json::parse(text, nullptr, false)
// gives, down to the number types: events parsed either way are the same.
#include "common/json_parse.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/json_text.h"
#include "support/random_json.h"

namespace herald {
namespace {

using json = nlohmann::json;

// operator== calls 5 and 5u equal; the types must match too.
bool same(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !same(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_discarded()) return true;
  return a == b;
}

void expect_as_nlohmann(const std::string& text) {
  const json theirs = json::parse(text, nullptr, false);
  const json ours = parse_json(text);
  EXPECT_TRUE(same(ours, theirs)) << "text: " << text << "\nours:   " << ours.dump() << " ("
                                  << ours.type_name() << ")\ntheirs: " << theirs.dump() << " ("
                                  << theirs.type_name() << ")";
}

TEST(JsonParse, ReadsWhatNlohmannReads) {
  for (const char* text : {
           R"({"PersonID":"P00001","n":5,"neg":-5,"zero":0,"negzero":-0,"t":true,"f":false,"z":null})",
           R"({"a":[1,[2,[]],{}],"b":{"c":{"d":"e"}}})",
           " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : \"x\" } \n",
           R"({"esc":"q\" b\\ s\/ \b\f\n\r\t end"})",
           R"({"u":"\u00e9\ud83d\ude00","mixed":"a\u0041b"})",
           R"({"utf8":"Zoë € 🔑","del":""})",
           R"({"dup":1,"dup":2})",
           R"({"max":18446744073709551615,"min":-9223372036854775808})",
           R"({"big":18446744073709551616,"small":-9223372036854775809})",
           R"({"f":1.5,"e":1e5,"E":-2E-3,"z":0.0})",
           "[]",
           "{}",
           "\"text\"",
           "42",
           "-1",
           "null",
           "\xef\xbb\xbf{\"bom\":1}",
       }) {
    expect_as_nlohmann(text);
  }
}

TEST(JsonParse, RefusesWhatNlohmannRefuses) {
  for (const char* text : {
           "",
           " ",
           "{",
           "}",
           "[1,]",
           R"({"a":1,})",
           R"({"a" 1})",
           R"({a:1})",
           "{'a':1}",
           R"({"a":01})",
           R"({"a":-})",
           R"({"a":1.})",
           R"({"a":.5})",
           R"({"a":+1})",
           R"({"a":tru})",
           R"({"a":nul})",
           R"({"a":"unterminated})",
           R"({"a":"bad \x escape"})",
           R"({"a":"\u12"})",
           R"({"a":"\ud800"})",
           "{\"a\":\"raw\ttab\"}",
           "{\"a\":\"raw\nnewline\"}",
           "{\"a\":\"\xc3\"}",
           "{\"a\":\"\xc0\xaf\"}",
           "{\"a\":\"\xed\xa0\x80\"}",
           "{\"\xff\":1}",
           R"({"a":1} trailing)",
           R"({"a":1}{"b":2})",
           "[1 2]",
           "nan",
           "-Infinity",
           "1e",
       }) {
    expect_as_nlohmann(text);
    EXPECT_TRUE(parse_json(text).is_discarded()) << text;
  }
}

TEST(JsonParse, ReadsDeepDocumentsLikeNlohmann) {
  // Past the quick parser's depth, nlohmann's parser takes the document.
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{\"a\":[";
  deep += "1";
  for (int i = 0; i < 200; ++i) deep += "]}";
  expect_as_nlohmann(deep);
  EXPECT_FALSE(parse_json(deep).is_discarded());
}

// Random documents written compactly and spaced out, and each cut short or
// with one byte changed: every answer must match nlohmann's.
TEST(JsonParse, ReadsRandomDocumentsLikeNlohmann) {
  static constexpr std::string_view kReplacements = "\"\\{}[],:0a\x01\xff ";
  std::mt19937 rng(1123);
  for (int i = 0; i < 3000; ++i) {
    const json j = test::random_json(rng);
    const std::string compact = json_text(j);
    expect_as_nlohmann(compact);
    expect_as_nlohmann(j.dump(2));
    if (!compact.empty()) {
      expect_as_nlohmann(compact.substr(0, rng() % compact.size()));
      std::string changed = compact;
      changed[rng() % changed.size()] = kReplacements[rng() % kReplacements.size()];
      expect_as_nlohmann(changed);
    }
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

TEST(JsonContainerEnd, FindsTheClosingBracketPastStringsAndNesting) {
  constexpr auto npos = std::string_view::npos;
  EXPECT_EQ(json_container_end("{}", 0), 2u);
  EXPECT_EQ(json_container_end("[1,{\"a\":[]}],\"x\"", 0), 12u);
  // Brackets and quotes inside strings, and a string ending in a backslash.
  const std::string_view tricky = R"({"a":"}]\"{[","b":["\\"],"c":"\\\""} tail)";
  EXPECT_EQ(json_container_end(tricky, 0), tricky.find(" tail"));
  EXPECT_EQ(json_container_end("x{\"a\":1}", 1), 8u);
  EXPECT_EQ(json_container_end("{\"a\":[1}", 0), npos);  // brackets that do not match
  EXPECT_EQ(json_container_end("{\"a\":\"}", 0), npos);  // a string never closed
  EXPECT_EQ(json_container_end("{\"a\":{}", 0), npos);   // an object never closed
  EXPECT_EQ(json_container_end("\"{}\"", 0), npos);      // not at a bracket
  EXPECT_EQ(json_container_end("", 0), npos);
}

TEST(JsonContainerEnd, EndsWhereRandomDocumentsEnd) {
  std::mt19937 rng(4411);
  int containers = 0;
  for (int i = 0; i < 4000; ++i) {
    const nlohmann::json j = test::random_json(rng);
    if (!j.is_object() && !j.is_array()) continue;
    ++containers;
    const std::string text = json_text(j);
    EXPECT_EQ(json_container_end(text + ",\"more\":[]}", 0), text.size()) << text;
    // Cut anywhere inside, it is not closed.
    EXPECT_EQ(json_container_end(text.substr(0, rng() % text.size()), 0), std::string_view::npos) << text;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(containers, 500);
}

}  // namespace
}  // namespace herald
