// A schedule's query on a real SQLite producer database.
#include "schedule/schedule_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace herald::schedule {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'795'447'800;  // 2026-11-23T15:30:00Z

class ScheduleQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = db::Database::open(dir_.file("producer.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db);
    db_.emplace(std::move(db.value()));
    ASSERT_TRUE(db_->exec(R"sql(
CREATE TABLE accounts (PersonID INTEGER PRIMARY KEY, Logon TEXT, Enabled INTEGER, Expires TEXT, ExpiresUnix INTEGER);
CREATE VIEW vAccounts AS SELECT PersonID, Logon, Enabled, Expires, ExpiresUnix FROM accounts;
INSERT INTO accounts VALUES
  (1, 'ann',  1, '2026-11-26T09:00:00Z', 1795683600),  -- in [today+3d, today+4d)
  (2, 'bob',  1, '2026-11-26T23:59:59Z', 1795737599),  -- in, last second
  (3, 'cid',  1, '2026-11-27T00:00:00Z', 1795737600),  -- out: the window is half-open
  (4, 'dee',  0, '2026-11-26T10:00:00Z', 1795687200),  -- disabled
  (5, 'eve',  1, '2026-11-25T23:59:59Z', 1795651199);  -- out: a day early
)sql"));
    s_.name = "pw";
    s_.view = "vAccounts";
    s_.entity = "identity";
    s_.action = "NOTICE";
    s_.event = "Password Expires Soon";
    s_.keys = {{"PersonID", "PersonID"}};
    s_.values = {{"LogonName", "Logon"}, {"ExpiresAt", "Expires"}};
    s_.where = {where("Enabled", "=", "1"), window("Expires", "ge", "today + 3d"),
                window("Expires", "lt", "today + 4d")};
  }

  static config::ScheduleWhereConfig where(std::string field, std::string op, std::string value) {
    config::ScheduleWhereConfig w;
    w.field = std::move(field);
    w.op = std::move(op);
    w.values = {std::move(value)};
    return w;
  }
  static config::ScheduleWhereConfig window(std::string field, std::string op, std::string date,
                                            std::string format = "iso8601") {
    config::ScheduleWhereConfig w;
    w.field = std::move(field);
    w.op = std::move(op);
    w.date = std::move(date);
    w.format = std::move(format);
    return w;
  }

  std::vector<std::string> logons(const QueryResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.events) out.push_back(e.new_values["LogonName"].get<std::string>());
    return out;
  }

  test::TempDir dir_;
  std::optional<db::Database> db_;
  config::ScheduleConfig s_;
};

TEST_F(ScheduleQueryTest, SelectsTheRowsOfTheDateWindowAsEvents) {
  auto q = ScheduleQuery::prepare(s_, TimeZone::utc(), *db_);
  ASSERT_TRUE(q) << q.error().message;
  auto r = q->run(kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(logons(*r), (std::vector<std::string>{"ann", "bob"}));
  const Event& e = r->events[0];
  EXPECT_EQ(e.entity, "identity");
  EXPECT_EQ(e.action, "NOTICE");
  EXPECT_EQ(e.name, "Password Expires Soon");
  EXPECT_EQ(e.keys, (nlohmann::json{{"PersonID", 1}}));
  EXPECT_EQ(e.new_values["ExpiresAt"], "2026-11-26T09:00:00Z");
  EXPECT_TRUE(e.old_values.is_null());
  EXPECT_EQ(e.occurred_at, "2026-11-23T15:30:00Z");
  // A day later the window has moved on.
  EXPECT_EQ(logons(q->run(kNow + 86'400).value()), (std::vector<std::string>{"cid"}));
}

TEST_F(ScheduleQueryTest, UnixColumnsCompareAsIntegers) {
  s_.where = {window("ExpiresUnix", "ge", "today + 3d", "unix"),
              window("ExpiresUnix", "lt", "today + 4d", "unix")};
  auto q = ScheduleQuery::prepare(s_, TimeZone::utc(), *db_);
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(logons(q->run(kNow).value()), (std::vector<std::string>{"ann", "bob", "dee"}));
}

TEST_F(ScheduleQueryTest, TheWindowFollowsTheScheduleTimeZone) {
  // In Tokyo (UTC+9) it is already 2026-11-24 00:30: the window is
  // [2026-11-26T15:00Z, 2026-11-27T15:00Z).
  auto q = ScheduleQuery::prepare(s_, TimeZone::locate("Asia/Tokyo").value(), *db_);
  ASSERT_TRUE(q);
  EXPECT_EQ(logons(q->run(kNow).value()), (std::vector<std::string>{"bob", "cid"}));
}

TEST_F(ScheduleQueryTest, MoreRowsThanMaxRowsAreLeftForTheNextRun) {
  s_.where = {};
  s_.max_rows = 2;
  auto r = ScheduleQuery::prepare(s_, TimeZone::utc(), *db_)->run(kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events.size(), 2u);
  EXPECT_TRUE(r->truncated);
}

TEST_F(ScheduleQueryTest, EveryColumnIsCheckedAgainstTheView) {
  auto expect_error = [&](const std::string& what) {
    auto q = ScheduleQuery::prepare(s_, TimeZone::utc(), *db_);
    ASSERT_FALSE(q);
    EXPECT_THAT(q.error().message, HasSubstr(what));
  };
  auto saved = s_;
  s_.where.push_back(where("Enabld", "=", "1"));
  expect_error("view 'vAccounts' has no column 'Enabld' (where)");
  s_ = saved;
  s_.keys = {{"PersonID", "PersonId2"}};
  expect_error("no column 'PersonId2' (keys)");
  s_ = saved;
  s_.values = {{"Mail", "Email"}};
  expect_error("no column 'Email' (values)");
  s_ = saved;
  s_.view = "vNothing";
  expect_error("view 'vNothing'");
}

TEST_F(ScheduleQueryTest, ValuesAreBoundNotSpliced) {
  s_.where = {where("Logon", "=", "x' OR '1'='1")};
  EXPECT_TRUE(ScheduleQuery::prepare(s_, TimeZone::utc(), *db_)->run(kNow)->events.empty());
  s_.where = {where("Logon", "like", "%e%")};
  EXPECT_EQ(logons(ScheduleQuery::prepare(s_, TimeZone::utc(), *db_)->run(kNow).value()),
            (std::vector<std::string>{"dee", "eve"}));
}

}  // namespace
}  // namespace herald::schedule
