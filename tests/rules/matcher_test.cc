#include "rules/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace herald::rules {
namespace {

using ::testing::HasSubstr;

config::NotificationConfig notification(std::string name, std::string entity, std::string action,
                                        std::string rule = "") {
  config::NotificationConfig n;
  n.name = std::move(name);
  n.entity = std::move(entity);
  n.action = std::move(action);
  n.rule = std::move(rule);
  n.endpoint = "e";
  return n;
}

Event update(nlohmann::json old_values, nlohmann::json new_values) {
  Event e;
  e.id = 1;
  e.entity = "identity";
  e.action = "UPDATE";
  e.keys = {{"PersonID", "7"}};
  e.old_values = std::move(old_values);
  e.new_values = std::move(new_values);
  return e;
}

std::vector<std::string> names(const config::Config& cfg, const std::vector<Match>& matches) {
  std::vector<std::string> out;
  for (const auto& m : matches) out.push_back(cfg.notifications[m.index].name);
  return out;
}

TEST(Matcher, EveryMatchingConfigurationGivesItsOwnMatchWithRuleValues) {
  config::Config cfg;
  cfg.path = "h.toml";
  cfg.notifications = {notification("a", "identity", "UPDATE", "firstName:John->Johny"),
                       notification("b", "identity", "UPDATE", "firstName:CHANGED"),
                       notification("c", "identity", "UPDATE", "lastName:CHANGED"),
                       notification("d", "IDENTITY", "update"), notification("e", "device", "UPDATE")};
  cfg.notifications[0].topic = "hr";
  cfg.notifications[0].level = "WARNING";
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m) << m.error().message;
  std::vector<std::string> errors;
  auto got = m.value()->match(update({{"firstName", "John"}}, {{"firstName", "Johny"}}), errors);
  EXPECT_THAT(names(cfg, got), ::testing::ElementsAre("a", "b", "d"));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(got[0].rule["attribute"], "firstName");
  EXPECT_EQ(got[0].rule["old"], "John");
  EXPECT_EQ(got[0].rule["new"], "Johny");
  EXPECT_EQ(got[0].rule["topic"], "hr");
  EXPECT_EQ(got[0].rule["level"], "WARNING");
  EXPECT_EQ(got[0].rule["rule"], "firstName:John->Johny");
}

TEST(Matcher, DisabledConfigurationsNeverMatch) {
  config::Config cfg;
  cfg.notifications = {notification("a", "identity", "UPDATE")};
  cfg.notifications[0].enabled = false;
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m);
  std::vector<std::string> errors;
  EXPECT_TRUE(m.value()->match(update({}, {{"x", 1}}), errors).empty());
}

TEST(Matcher, ActionAllowListAndEntityWithoutAction) {
  config::Config cfg;
  cfg.notifications = {notification("policy", "policy", "")};
  cfg.notifications[0].actions = {"ENABLE", "DISABLE", "UPDATE", "DELETE"};
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m);
  std::vector<std::string> errors;
  Event e = update({}, {});
  e.entity = "policy";
  for (const char* action : {"ENABLE", "disable", "UPDATE", "DELETE"}) {
    e.action = action;
    EXPECT_EQ(m.value()->match(e, errors).size(), 1u) << action;
  }
  e.action = "CREATE";
  EXPECT_TRUE(m.value()->match(e, errors).empty());
}

TEST(Matcher, FormProjectionAndSystemFilters) {
  config::Config cfg;
  cfg.notifications = {notification("fp", "identity", "UPDATE"), notification("sys", "identity", "UPDATE")};
  cfg.notifications[0].form_projection = "contractor";
  cfg.notifications[1].system = "AD";
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m);
  std::vector<std::string> errors;
  EXPECT_TRUE(m.value()->match(update({}, {{"formProjection", "employee"}}), errors).empty());
  EXPECT_THAT(names(cfg, m.value()->match(update({}, {{"formProjection", "contractor"}}), errors)),
              ::testing::ElementsAre("fp"));
  Event e = update({}, {});
  e.keys["System"] = "AD";
  EXPECT_THAT(names(cfg, m.value()->match(e, errors)), ::testing::ElementsAre("sys"));
}

TEST(Matcher, RuleThatDoesNotParseIsRefusedWithFileLineAndColumn) {
  config::Config cfg;
  cfg.path = "/etc/herald/h.toml";
  cfg.notifications = {notification("a", "identity", "UPDATE", "firstName:John=>Johny")};
  cfg.notifications[0].rule_line = 12;
  auto m = Matcher::build(cfg);
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("/etc/herald/h.toml:12: key 'notification[0].rule': column "));
  EXPECT_THAT(m.error().message, HasSubstr("firstName:John=>Johny"));
}

TEST(Matcher, ScriptWinsOverRuleAndAFailingScriptSkipsOnlyItsConfiguration) {
  test::TempDir dir;
  test::write_file(dir.file("yes.lua"), "return new.firstName == 'Ann'\n");
  test::write_file(dir.file("bad.lua"), "local x = nil\nreturn x.y\n");
  config::Config cfg;
  cfg.notifications = {notification("script", "identity", "UPDATE", "firstName:never->matches"),
                       notification("broken", "identity", "UPDATE"),
                       notification("plain", "identity", "UPDATE")};
  cfg.notifications[0].script = dir.file("yes.lua");
  cfg.notifications[1].script = dir.file("bad.lua");
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m) << m.error().message;
  std::vector<std::string> errors;
  auto got = m.value()->match(update({{"firstName", "Bo"}}, {{"firstName", "Ann"}}), errors);
  EXPECT_THAT(names(cfg, got), ::testing::ElementsAre("script", "plain"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("notification 'broken' skipped"));
  EXPECT_THAT(errors[0], HasSubstr("bad.lua:2"));
}

TEST(Matcher, RecipientsScriptIdentitiesComeWithTheMatch) {
  test::TempDir dir;
  test::write_file(dir.file("r.lua"), "return { '12', 13 }\n");
  config::Config cfg;
  cfg.notifications = {notification("a", "identity", "UPDATE")};
  cfg.notifications[0].recipients.script = dir.file("r.lua");
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m) << m.error().message;
  std::vector<std::string> errors;
  auto got = m.value()->match(update({}, {{"a", 1}}), errors);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(got[0].script_recipients, ::testing::ElementsAre("12", "13"));
}

TEST(Matcher, IndexEvaluatesOnlyConfigurationsWatchingTouchedAttributes) {
  config::Config cfg;
  for (int i = 0; i < 10'000; ++i) {
    cfg.notifications.push_back(
        notification("n" + std::to_string(i), "identity", "UPDATE", "attr" + std::to_string(i) + ":CHANGED"));
  }
  cfg.notifications.push_back(notification("eav", "identity", "UPDATE", "EAV:badge:*->green"));
  cfg.notifications.push_back(notification("device", "device", "UPDATE"));
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m);
  std::vector<std::string> errors;
  auto got = m.value()->match(update({{"attr42", 1}}, {{"attr42", 2}}), errors);
  EXPECT_THAT(names(cfg, got), ::testing::ElementsAre("n42"));
  EXPECT_EQ(m.value()->last_candidates(), 1u);
  got = m.value()->match(update({{"eav", {{"badge", "blue"}}}}, {{"eav", {{"badge", "green"}}}}), errors);
  EXPECT_THAT(names(cfg, got), ::testing::ElementsAre("eav"));
  EXPECT_EQ(m.value()->last_candidates(), 1u);
}

TEST(Matcher, LifecycleNameMatchesCaseSensitively) {
  config::Config cfg;
  auto n = notification("named", "", "");
  n.on = "REST Person Added";
  cfg.notifications = {n};
  auto m = Matcher::build(cfg);
  ASSERT_TRUE(m);
  std::vector<std::string> errors;
  Event e = update({}, {});
  e.name = "REST Person Added";
  EXPECT_EQ(m.value()->match(e, errors).size(), 1u);
  e.name = "rest person added";
  EXPECT_TRUE(m.value()->match(e, errors).empty());
}

}  // namespace
}  // namespace herald::rules
