#include "rules/rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace herald::rules {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Event update(json old_values, json new_values) {
  Event e;
  e.id = 1;
  e.entity = "identity";
  e.action = "UPDATE";
  e.keys = {{"PersonID", 3}};
  e.old_values = std::move(old_values);
  e.new_values = std::move(new_values);
  return e;
}

Event create(json new_values) {
  Event e = update(nullptr, std::move(new_values));
  e.action = "CREATE";
  return e;
}

Event remove(json old_values) {
  Event e = update(std::move(old_values), nullptr);
  e.action = "DELETE";
  return e;
}

Event eav(json old_eav, json new_eav) {
  json o = json::object();
  json n = json::object();
  if (!old_eav.is_null()) o["eav"] = std::move(old_eav);
  if (!new_eav.is_null()) n["eav"] = std::move(new_eav);
  return update(std::move(o), std::move(n));
}

Rule rule(const std::string& text) {
  auto r = Rule::parse(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  if (!r) return Rule::parse("!").value();
  return std::move(r).value();
}

bool matches(const std::string& text, const Event& e) { return rule(text).evaluate(e).has_value(); }

std::string parse_error(const std::string& text) {
  auto r = Rule::parse(text);
  EXPECT_FALSE(r) << text << " parsed";
  return r ? std::string() : r.error().message;
}

// --- The manual's "Rule examples in practice", row by row. ---

TEST(RuleExamples, StandardAttributeFromOneValueToAnother) {
  const std::string r = "firstName:John->Johny";
  EXPECT_TRUE(matches(r, update({{"firstName", "John"}}, {{"firstName", "Johny"}})));
  EXPECT_FALSE(matches(r, update({{"firstName", "John"}}, {{"firstName", "Jon"}})));
  EXPECT_FALSE(matches(r, update({{"firstName", "Jon"}}, {{"firstName", "Johny"}})));
  EXPECT_FALSE(matches(r, update({{"firstName", "Johny"}}, {{"firstName", "John"}})));
  EXPECT_FALSE(matches(r, update({{"firstName", "john"}}, {{"firstName", "Johny"}})));  // case-sensitive
  EXPECT_FALSE(matches(r, create({{"firstName", "Johny"}})));                           // old absent
  EXPECT_FALSE(matches(r, update({{"lastName", "John"}}, {{"lastName", "Johny"}})));
  EXPECT_FALSE(matches(r, eav({{"firstName", "John"}}, {{"firstName", "Johny"}})));  // not an EAV rule

  auto m = rule(r).evaluate(update({{"firstName", "John"}, {"x", 1}}, {{"firstName", "Johny"}, {"x", 2}}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attribute, "firstName");
  EXPECT_EQ(m->old_value, "John");
  EXPECT_EQ(m->new_value, "Johny");
  EXPECT_EQ(m->rule_text, r);
}

TEST(RuleExamples, ExtendedAttributeNumbers) {
  const std::string r = "EAV:clinicCode:100->200";
  EXPECT_TRUE(matches(r, eav({{"clinicCode", 100}}, {{"clinicCode", 200}})));
  EXPECT_TRUE(matches(r, eav({{"clinicCode", "100"}}, {{"clinicCode", "200"}})));  // same text
  EXPECT_FALSE(matches(r, eav({{"clinicCode", 100}}, {{"clinicCode", 300}})));
  EXPECT_FALSE(matches(r, eav({{"clinicCode", 200}}, {{"clinicCode", 100}})));
  EXPECT_FALSE(matches(r, eav({{"clinicCode", 100.0}}, {{"clinicCode", 200.0}})));  // "100.0" is not "100"
  EXPECT_FALSE(matches(r, update({{"clinicCode", 100}}, {{"clinicCode", 200}})));   // not under "eav"
  EXPECT_FALSE(matches(r, eav(nullptr, {{"clinicCode", 200}})));

  auto m = rule(r).evaluate(eav({{"clinicCode", 100}}, {{"clinicCode", 200}}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attribute, "EAV:clinicCode");
  EXPECT_EQ(m->old_value, 100);
  EXPECT_EQ(m->new_value, 200);
}

TEST(RuleExamples, ExtendedAttributeAddresses) {
  const std::string r = "EAV:alternateEmail:john@example.tld->johny@externist_example.tld";
  EXPECT_TRUE(matches(
      r, eav({{"alternateEmail", "john@example.tld"}}, {{"alternateEmail", "johny@externist_example.tld"}})));
  EXPECT_FALSE(
      matches(r, eav({{"alternateEmail", "john@example.tld"}}, {{"alternateEmail", "johny@example.tld"}})));
  EXPECT_FALSE(matches(
      r, eav({{"alternateEmail", "JOHN@example.tld"}}, {{"alternateEmail", "johny@externist_example.tld"}})));
}

TEST(RuleExamples, ExtendedAttributeFromAnyValueToTrue) {
  const std::string r = "EAV:supervisor:*->true";
  EXPECT_TRUE(matches(r, eav({{"supervisor", false}}, {{"supervisor", true}})));
  EXPECT_TRUE(matches(r, eav({{"supervisor", "no"}}, {{"supervisor", "true"}})));
  EXPECT_TRUE(matches(r, eav(json::object(), {{"supervisor", true}})));  // from absent
  EXPECT_TRUE(matches(r, eav({{"supervisor", nullptr}}, {{"supervisor", true}})));
  Event created = create({{"eav", {{"supervisor", true}}}});
  EXPECT_TRUE(matches(r, created));                                               // a CREATE that sets it
  EXPECT_FALSE(matches(r, eav({{"supervisor", true}}, {{"supervisor", true}})));  // no change
  EXPECT_FALSE(matches(r, eav({{"supervisor", true}}, {{"supervisor", false}})));
  EXPECT_FALSE(matches(r, eav({{"supervisor", false}}, {{"supervisor", "TRUE"}})));
}

TEST(RuleExamples, StandardAttributeDeleted) {
  const std::string r = "email:*->null";
  EXPECT_TRUE(matches(r, update({{"email", "a@example.com"}}, json::object())));
  EXPECT_TRUE(matches(r, update({{"email", "a@example.com"}}, {{"email", nullptr}})));
  EXPECT_TRUE(matches(r, update({{"email", "a@example.com"}}, {{"email", ""}})));
  EXPECT_TRUE(matches(r, remove({{"email", "a@example.com"}})));            // DELETE: no new values
  EXPECT_FALSE(matches(r, update(json::object(), json::object())));         // never set
  EXPECT_FALSE(matches(r, update({{"email", ""}}, {{"email", nullptr}})));  // empty stays empty
  EXPECT_FALSE(matches(r, update({{"email", "a@example.com"}}, {{"email", "b@example.com"}})));
  EXPECT_FALSE(matches(r, create({{"email", "a@example.com"}})));
  EXPECT_FALSE(matches(r, remove(json::object())));

  auto m = rule(r).evaluate(remove({{"email", "a@example.com"}}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->old_value, "a@example.com");
  EXPECT_TRUE(m->new_value.is_null());
}

TEST(RuleExamples, StandardAttributeChanged) {
  const std::string r = "externalCode:CHANGED";
  EXPECT_TRUE(matches(r, update({{"externalCode", "E1"}}, {{"externalCode", "E2"}})));
  EXPECT_TRUE(matches(r, update(json::object(), {{"externalCode", "E2"}})));          // null -> value
  EXPECT_TRUE(matches(r, update({{"externalCode", "E1"}}, {{"externalCode", ""}})));  // value -> null
  EXPECT_TRUE(matches(r, create({{"externalCode", "E1"}})));
  EXPECT_TRUE(matches(r, remove({{"externalCode", "E1"}})));
  EXPECT_TRUE(matches(r, update({{"externalCode", 7}}, {{"externalCode", "07"}})));
  EXPECT_FALSE(matches(r, update({{"externalCode", "E1"}}, {{"externalCode", "E1"}})));
  EXPECT_FALSE(matches(r, update({{"externalCode", 7}}, {{"externalCode", "7"}})));  // same text
  EXPECT_FALSE(matches(r, update({{"externalCode", ""}}, {{"externalCode", nullptr}})));
  EXPECT_FALSE(matches(r, update({{"other", 1}}, {{"other", 2}})));
  EXPECT_FALSE(matches(r, create(json::object())));

  Rule c = rule(r);
  EXPECT_TRUE(c.changed());
  EXPECT_FALSE(c.always());
  EXPECT_EQ(c.attribute(), "externalCode");
  auto m = c.evaluate(create({{"externalCode", "E1"}}));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->old_value.is_null());
  EXPECT_EQ(m->new_value, "E1");
}

// --- Keywords and edge cases. ---

TEST(RuleEvaluate, AlwaysMatchesEveryEvent) {
  Rule r = rule("!");
  EXPECT_TRUE(r.always());
  EXPECT_EQ(r.attribute(), "");
  EXPECT_FALSE(r.is_eav());
  auto m = r.evaluate(update(nullptr, nullptr));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->attribute, "");
  EXPECT_TRUE(m->old_value.is_null());
  EXPECT_TRUE(m->new_value.is_null());
  EXPECT_EQ(m->rule_text, "!");
  EXPECT_TRUE(r.evaluate(update({{"a", 1}}, {{"a", 1}})));
  EXPECT_TRUE(rule("  !  ").always());
}

TEST(RuleEvaluate, NullMatchesAbsentJsonNullAndEmptyString) {
  const std::string r = "phone:null->*";
  EXPECT_TRUE(matches(r, update(json::object(), {{"phone", "1"}})));
  EXPECT_TRUE(matches(r, update({{"phone", nullptr}}, {{"phone", "1"}})));
  EXPECT_TRUE(matches(r, update({{"phone", ""}}, {{"phone", "1"}})));
  EXPECT_TRUE(matches(r, create({{"phone", "1"}})));
  EXPECT_FALSE(matches(r, update({{"phone", "0"}}, {{"phone", "1"}})));
  EXPECT_FALSE(matches(r, update({{"phone", " "}}, {{"phone", "1"}})));  // a space is a value
  EXPECT_FALSE(matches(r, update({{"phone", 0}}, {{"phone", 1}})));
  EXPECT_FALSE(matches(r, update({{"phone", false}}, {{"phone", true}})));
}

TEST(RuleEvaluate, StarMatchesAnyValueButNeedsAChange) {
  EXPECT_TRUE(matches("a:*->*", update({{"a", 1}}, {{"a", 2}})));
  EXPECT_TRUE(matches("a:*->*", create({{"a", 2}})));
  EXPECT_FALSE(matches("a:*->*", update({{"a", 1}}, {{"a", 1}})));
  EXPECT_TRUE(matches("a:x->*", update({{"a", "x"}}, json::object())));
  EXPECT_TRUE(matches("a:x->*", remove({{"a", "x"}})));
  EXPECT_FALSE(matches("a:x->*", update({{"a", "y"}}, {{"a", "z"}})));
}

TEST(RuleEvaluate, NumbersAndBooleansCompareAsTheirJsonText) {
  EXPECT_TRUE(matches("enabled:true->false", update({{"enabled", true}}, {{"enabled", false}})));
  EXPECT_TRUE(matches("enabled:true->false", update({{"enabled", "true"}}, {{"enabled", "false"}})));
  EXPECT_FALSE(matches("enabled:true->false", update({{"enabled", 1}}, {{"enabled", 0}})));
  EXPECT_TRUE(matches("version:6->7", update({{"version", 6}}, {{"version", 7}})));
  EXPECT_TRUE(matches("ratio:0.5->1.5", update({{"ratio", 0.5}}, {{"ratio", 1.5}})));
  EXPECT_TRUE(matches("n:-1->18446744073709551615", update({{"n", -1}}, {{"n", 18446744073709551615ULL}})));
  EXPECT_TRUE(matches("tags:CHANGED", update({{"tags", {"a"}}}, {{"tags", {"a", "b"}}})));
  EXPECT_FALSE(matches("tags:CHANGED", update({{"tags", {"a"}}}, {{"tags", {"a"}}})));
  EXPECT_TRUE(matches(R"(tags:["a"]->["a","b"])", update({{"tags", {"a"}}}, {{"tags", {"a", "b"}}})));
}

TEST(RuleEvaluate, MissingSidesAndWrongShapes) {
  EXPECT_FALSE(matches("a:CHANGED", update(nullptr, nullptr)));
  EXPECT_FALSE(matches("a:CHANGED", update(json::array({1}), "text")));
  // An "eav" that is not an object holds no extended attributes.
  EXPECT_TRUE(matches("EAV:a:CHANGED", update({{"eav", "not an object"}}, {{"eav", {{"a", 1}}}})));
  EXPECT_FALSE(matches("EAV:a:CHANGED", update({{"eav", nullptr}}, {{"eav", nullptr}})));
  EXPECT_FALSE(matches("EAV:a:null->1", remove(nullptr)));
  EXPECT_TRUE(matches("a.b:CHANGED", update({{"a", 1}}, {{"a", {{"b", 1}}}})));  // absent -> 1
}

TEST(RuleEvaluate, ExtendedAttributesLiveUnderEav) {
  Rule r = rule("EAV:badgeColour:blue->green");
  EXPECT_TRUE(r.is_eav());
  EXPECT_EQ(r.attribute(), "EAV:badgeColour");
  // The demo's own event.
  EXPECT_TRUE(
      r.evaluate(update({{"email", "zoe@old.example.com"}, {"eav", {{"badgeColour", "blue"}}}},
                        {{"email", "zoe.achterberg@example.com"}, {"eav", {{"badgeColour", "green"}}}})));
  EXPECT_FALSE(r.evaluate(update({{"badgeColour", "blue"}}, {{"badgeColour", "green"}})));
  EXPECT_TRUE(matches("EAV:badge:CHANGED", create({{"eav", {{"badge", "A"}}}})));
  EXPECT_TRUE(matches("EAV:badge:*->null", remove({{"eav", {{"badge", "A"}}}})));
}

TEST(RuleEvaluate, DottedPathsWalkIntoObjects) {
  Rule r = rule("address.city:Oslo->Bergen");
  EXPECT_EQ(r.attribute(), "address.city");
  EXPECT_TRUE(r.evaluate(update({{"address", {{"city", "Oslo"}}}}, {{"address", {{"city", "Bergen"}}}})));
  EXPECT_FALSE(r.evaluate(update({{"address", {{"city", "Oslo"}}}}, {{"address", "Bergen"}})));
  // A key with the dotted name itself wins over the walk.
  EXPECT_TRUE(r.evaluate(update({{"address.city", "Oslo"}, {"address", {{"city", "x"}}}},
                                {{"address.city", "Bergen"}, {"address", {{"city", "x"}}}})));
  EXPECT_TRUE(matches("a.b.c:CHANGED", update({{"a", {{"b", {{"c", 1}}}}}}, {{"a", {{"b", {{"c", 2}}}}}})));
  EXPECT_TRUE(matches("EAV:org.unit:CHANGED", eav({{"org", {{"unit", 1}}}}, {{"org", {{"unit", 2}}}})));
}

TEST(RuleEvaluate, NamesAndKeywordsAreCaseSensitive) {
  EXPECT_FALSE(matches("FirstName:John->Johny", update({{"firstName", "John"}}, {{"firstName", "Johny"}})));
  // NULL is a literal, not the keyword.
  EXPECT_FALSE(matches("a:NULL->x", update(json::object(), {{"a", "x"}})));
  EXPECT_TRUE(matches("a:NULL->x", update({{"a", "NULL"}}, {{"a", "x"}})));
  // eav:... is the standard attribute "eav", not an extended one.
  Rule r = rule("eav:CHANGED");
  EXPECT_FALSE(r.is_eav());
}

// --- Escaping and whitespace. ---

TEST(RuleParse, ValuesMayContainColonsUnescaped) {
  EXPECT_TRUE(matches("time:10:00->11:30", update({{"time", "10:00"}}, {{"time", "11:30"}})));
  EXPECT_TRUE(matches("EAV:slot:a:b->c:d", eav({{"slot", "a:b"}}, {{"slot", "c:d"}})));
  EXPECT_TRUE(matches(R"(url:http\://a->http\://b)", update({{"url", "http://a"}}, {{"url", "http://b"}})));
}

TEST(RuleParse, BackslashEscapes) {
  EXPECT_TRUE(matches(R"(a:x\->y->z)", update({{"a", "x->y"}}, {{"a", "z"}})));
  EXPECT_TRUE(matches(R"(a:x-\>y->z)", update({{"a", "x->y"}}, {{"a", "z"}})));
  EXPECT_TRUE(matches(R"(a:z->x\->y)", update({{"a", "z"}}, {{"a", "x->y"}})));
  EXPECT_TRUE(matches(R"(a:back\\slash->b)", update({{"a", "back\\slash"}}, {{"a", "b"}})));
  EXPECT_TRUE(matches(R"(a:\*->b)", update({{"a", "*"}}, {{"a", "b"}})));
  EXPECT_FALSE(matches(R"(a:\*->b)", update({{"a", "x"}}, {{"a", "b"}})));  // a literal star
  EXPECT_TRUE(matches(R"(a:\null->b)", update({{"a", "null"}}, {{"a", "b"}})));
  EXPECT_FALSE(matches(R"(a:\null->b)", update(json::object(), {{"a", "b"}})));
  EXPECT_TRUE(matches(R"(a:\ x->y)", update({{"a", " x"}}, {{"a", "y"}})));
}

TEST(RuleParse, QuotedValues) {
  EXPECT_TRUE(matches(R"(a:"x->y"->"z")", update({{"a", "x->y"}}, {{"a", "z"}})));
  EXPECT_TRUE(matches(R"(a:"null"->"*")", update({{"a", "null"}}, {{"a", "*"}})));
  EXPECT_FALSE(matches(R"(a:"null"->"*")", update(json::object(), {{"a", "*"}})));
  EXPECT_TRUE(matches(R"(a:" padded "->x)", update({{"a", " padded "}}, {{"a", "x"}})));
  EXPECT_TRUE(matches(R"(a:"say \"hi\""->"c:\\d")", update({{"a", "say \"hi\""}}, {{"a", "c:\\d"}})));
  EXPECT_TRUE(matches(R"(a: "x" -> "y" )", update({{"a", "x"}}, {{"a", "y"}})));
  EXPECT_TRUE(matches(R"(size:5"->6")", update({{"size", "5\""}}, {{"size", "6\""}})));  // not at the start
}

TEST(RuleParse, WhitespaceAroundPartsIsIgnored) {
  Rule r = rule("  status : Awaiting Issue -> Completed  ");
  EXPECT_EQ(r.text(), "status : Awaiting Issue -> Completed");
  EXPECT_EQ(r.attribute(), "status");
  EXPECT_TRUE(r.evaluate(update({{"status", "Awaiting Issue"}}, {{"status", "Completed"}})));
  EXPECT_FALSE(r.evaluate(update({{"status", "Awaiting  Issue"}}, {{"status", "Completed"}})));
  EXPECT_TRUE(matches(" EAV : code : CHANGED ", eav({{"code", 1}}, {{"code", 2}})));
  EXPECT_TRUE(matches("a:\tnull\t->\t*", update(json::object(), {{"a", 1}})));
}

TEST(RuleParse, NonAsciiValues) {
  EXPECT_TRUE(matches("firstName:Zoe->Zoë", update({{"firstName", "Zoe"}}, {{"firstName", "Zoë"}})));
  EXPECT_TRUE(matches("příjmení:CHANGED", update({{"příjmení", "a"}}, {{"příjmení", "b"}})));
}

// --- Errors, with the column they point at. ---

TEST(RuleParse, ErrorsNameTheColumn) {
  EXPECT_EQ(parse_error(""), "column 1: empty rule");
  EXPECT_EQ(parse_error("   "), "column 1: empty rule");
  EXPECT_EQ(parse_error("firstName"), "column 10: expected ':' after the attribute name");
  EXPECT_THAT(parse_error(":a->b"), StartsWith("column 1: missing attribute name"));
  EXPECT_THAT(parse_error("first name:a->b"), StartsWith("column 6: whitespace inside the attribute name"));
  EXPECT_THAT(parse_error("a\"b:CHANGED"), StartsWith("column 2: '\"' is not allowed"));
  EXPECT_THAT(parse_error("a..b:CHANGED"), StartsWith("column 2: empty part"));
  EXPECT_THAT(parse_error(".a:CHANGED"), StartsWith("column 1: empty part"));
  EXPECT_THAT(parse_error("a:"), StartsWith("column 3: expected 'old->new' or CHANGED"));
  EXPECT_THAT(parse_error("firstName:John"), StartsWith("column 15: expected '->'"));
  EXPECT_THAT(parse_error("firstName:John->"), StartsWith("column 17: empty value"));
  EXPECT_THAT(parse_error("firstName:->x"), StartsWith("column 11: empty value"));
  EXPECT_THAT(parse_error("a:\"\"->x"), StartsWith("column 3: empty value"));
  EXPECT_THAT(parse_error("a:x->y->z"), StartsWith("column 7: a second '->'"));
  EXPECT_THAT(parse_error("a:\"x->y"), StartsWith("column 3: unterminated quoted value"));
  EXPECT_THAT(parse_error("a:\"x\"y->z"), StartsWith("column 6: unexpected text after the quoted value"));
  EXPECT_THAT(parse_error("a:x->\"y\" z"), StartsWith("column 10: unexpected text after the quoted value"));
  EXPECT_THAT(parse_error("a:\"x\""), StartsWith("column 6: expected '->'"));
  EXPECT_THAT(parse_error("a:x->y\\"), StartsWith("column 7: '\\' at the end of the rule"));
  EXPECT_THAT(parse_error("!x"), StartsWith("column 2: unexpected text after '!'"));
  EXPECT_THAT(parse_error("EAV:code"),
              StartsWith("column 9: expected ':' after the extended attribute code"));
  EXPECT_THAT(parse_error("EAV::x->y"), StartsWith("column 5: missing extended attribute code"));
  EXPECT_THAT(parse_error("a:changed"), StartsWith("column 3: write CHANGED in capitals"));
}

TEST(RuleParse, ImpossibleRulesAreRefused) {
  EXPECT_THAT(parse_error("a:x->x"), StartsWith("column 6: the old and the new value are the same"));
  EXPECT_THAT(parse_error("a:null->null"), StartsWith("column 9: the old and the new value are the same"));
  EXPECT_THAT(parse_error("a:x->\"x\""), StartsWith("column 6: the old and the new value are the same"));
  EXPECT_TRUE(Rule::parse("a:*->*"));
  EXPECT_TRUE(Rule::parse("a:null->\"null\""));
  EXPECT_TRUE(Rule::parse("a:CHANGED->x"));  // the old value is the text CHANGED
}

TEST(RuleParse, ColumnsCountCharactersNotBytes) {
  EXPECT_THAT(parse_error("příjmení:x"), StartsWith("column 11: expected '->'"));
  EXPECT_THAT(parse_error("Zoë:x->x"), StartsWith("column 8: the old and the new value are the same"));
}

}  // namespace
}  // namespace herald::rules
