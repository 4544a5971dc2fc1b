// Render-time failures of the producer database come back as temporary
// errors (the daemon retries them); problems with the event's values or the
// mapping stay permanent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "db/sqlite.h"
#include "mapping/mapping.h"

namespace herald::mapping {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
PRAGMA synchronous = OFF;
CREATE TABLE people (PersonID INTEGER PRIMARY KEY, ObjectID TEXT, Email TEXT, Active TEXT);
INSERT INTO people VALUES (1, '{79036D80-8322-404F-B146-F37AF6B016B4}', 'ada@example.com', '1'),
                          (2, NULL, 'bob@example.com', 'maybe');
CREATE VIEW vPeople AS SELECT PersonID, ObjectID, Email, Active FROM people;
)sql";

// The endpoint and the body both read the producer database.
constexpr const char* kMapping = R"(<Notification>
  <DataSources>
    <DataSource ID="People" View="vPeople" Lookup="PersonID" />
  </DataSources>
  <Endpoint URL="/people/{People.ObjectID}/edited" />
  <Body>
    <Property JPath="person.email"><Source Retrieval="People" Field="Email" /></Property>
    <Property JPath="person.active"><Source Retrieval="People" Field="Active" EncodingFormat="Boolean" /></Property>
  </Body>
</Notification>
)";

// Only the body reads the database, so the first query runs for a property.
constexpr const char* kBodyOnlyMapping = R"(<Notification>
  <DataSources>
    <DataSource ID="People" View="vPeople" Lookup="PersonID" />
  </DataSources>
  <Endpoint URL="/people" />
  <Body>
    <Property JPath="person.email"><Source Retrieval="People" Field="Email" /></Property>
  </Body>
</Notification>
)";

class MappingTransientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::path(::testing::TempDir()) /
           ("herald_transient_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "producer.db").string();
    // Rollback journal (the default), so an exclusive lock blocks readers.
    auto setup = db::Database::open(db_path_, db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(setup) << setup.error().message;
    auto s = setup->exec(kSchema);
    ASSERT_TRUE(s) << s.error().message;
    // The connection the mapping reads through waits only briefly on a lock.
    auto db = db::Database::open(db_path_, db::Database::Mode::ReadOnly, /*busy_timeout_ms=*/20);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(db).value();
    auto other = db::Database::open(db_path_, db::Database::Mode::ReadWriteCreate, /*busy_timeout_ms=*/20);
    ASSERT_TRUE(other) << other.error().message;
    other_ = std::move(other).value();
  }

  void TearDown() override {
    db_ = db::Database();
    other_ = db::Database();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::shared_ptr<Mapping> load(const std::string& xml, const std::string& name = "m.xml") {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << xml;
    auto m = Mapping::load(path, &db_);
    EXPECT_TRUE(m) << m.error().message;
    return m ? *m : nullptr;
  }

  static Result<RenderedMessage> render(Mapping& m, int person) {
    Event e;
    e.id = 7;
    e.entity = "identity";
    e.action = "UPDATE";
    e.keys = {{"PersonID", person}};
    return m.render(RenderContext{e});
  }

  std::string path(const std::string& name = "m.xml") const { return (dir_ / name).string(); }

  fs::path dir_;
  std::string db_path_;
  db::Database db_;     // what the mapping reads through
  db::Database other_;  // another process's connection: the producer
};

TEST_F(MappingTransientTest, LockedDatabaseIsTemporaryAndRecovers) {
  auto m = load(kMapping);
  ASSERT_TRUE(m);
  ASSERT_TRUE(render(*m, 1));

  auto s = other_.exec("BEGIN EXCLUSIVE");
  ASSERT_TRUE(s) << s.error().message;
  auto r = render(*m, 1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr(path() + ":5: <Endpoint>: placeholder {People.ObjectID}: "));
  EXPECT_THAT(r.error().message,
              HasSubstr("data source \"People\" (vPeople): database is locked (SQLITE_BUSY)"));

  s = other_.exec("ROLLBACK");
  ASSERT_TRUE(s) << s.error().message;
  r = render(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->path, "/people/79036D80-8322-404F-B146-F37AF6B016B4/edited");
  EXPECT_EQ(r->body, json::parse(R"({"person": {"email": "ada@example.com", "active": true}})"));
}

TEST_F(MappingTransientTest, LockSeenFromAPropertyIsTemporary) {
  auto m = load(kBodyOnlyMapping);
  ASSERT_TRUE(m);
  auto s = other_.exec("BEGIN EXCLUSIVE");
  ASSERT_TRUE(s) << s.error().message;
  auto r = render(*m, 1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr(path() + ":7: <Property JPath=\"person.email\">: data source"));
  EXPECT_THAT(r.error().message, HasSubstr("SQLITE_BUSY"));
  ASSERT_TRUE(other_.exec("ROLLBACK"));
  r = render(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, json::parse(R"({"person": {"email": "ada@example.com"}})"));
}

TEST_F(MappingTransientTest, DroppedViewIsTemporaryAndRecovers) {
  auto m = load(kMapping);
  ASSERT_TRUE(m);
  ASSERT_TRUE(render(*m, 1));

  auto s = other_.exec("DROP VIEW vPeople");
  ASSERT_TRUE(s) << s.error().message;
  auto r = render(*m, 1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr("data source \"People\" (vPeople): no such table"));

  // The producer puts the view back (a migration finished): the retry works.
  s = other_.exec("CREATE VIEW vPeople AS SELECT PersonID, ObjectID, Email, Active FROM people");
  ASSERT_TRUE(s) << s.error().message;
  r = render(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body["person"]["email"], "ada@example.com");
}

TEST_F(MappingTransientTest, ViewRedefinedWithoutAUsedColumnIsTemporary) {
  auto m = load(kMapping);
  ASSERT_TRUE(m);
  auto s =
      other_.exec("DROP VIEW vPeople; CREATE VIEW vPeople AS SELECT PersonID, ObjectID, Active FROM people");
  ASSERT_TRUE(s) << s.error().message;
  auto r = render(*m, 1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr("the view has no column \"Email\" any more"));

  // Columns in another order are fine: they are found by name.
  s = other_.exec(
      "DROP VIEW vPeople; CREATE VIEW vPeople AS SELECT Active, Email, ObjectID, PersonID FROM people");
  ASSERT_TRUE(s) << s.error().message;
  r = render(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->path, "/people/79036D80-8322-404F-B146-F37AF6B016B4/edited");
  EXPECT_EQ(r->body, json::parse(R"({"person": {"email": "ada@example.com", "active": true}})"));
}

// The columns' places are remembered between renders and looked up again
// once SQLite prepared the statement anew for a changed schema.
TEST_F(MappingTransientTest, ColumnsMovedBetweenRendersAreFoundByName) {
  auto m = load(kMapping);
  ASSERT_TRUE(m);
  const json expected = json::parse(R"({"person": {"email": "ada@example.com", "active": true}})");
  auto r = render(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, expected);
  auto s = other_.exec(
      "DROP VIEW vPeople; CREATE VIEW vPeople AS SELECT Active, Email, ObjectID, PersonID FROM people");
  ASSERT_TRUE(s) << s.error().message;
  for (int i = 0; i < 2; ++i) {
    r = render(*m, 1);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->path, "/people/79036D80-8322-404F-B146-F37AF6B016B4/edited");
    EXPECT_EQ(r->body, expected);
  }
}

TEST_F(MappingTransientTest, BadValuesAndMissingPlaceholdersStayPermanent) {
  auto m = load(kMapping);
  ASSERT_TRUE(m);
  // Person 2 has no ObjectID: the URL has a hole.
  auto r = render(*m, 2);
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().transient) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr("{People.ObjectID} has no value"));

  // With an ObjectID, its Active value "maybe" is not a Boolean.
  ASSERT_TRUE(other_.exec("UPDATE people SET ObjectID = '{X}' WHERE PersonID = 2"));
  r = render(*m, 2);
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().transient) << r.error().message;
  EXPECT_THAT(r.error().message,
              HasSubstr("<Property JPath=\"person.active\">: value \"maybe\" is not a Boolean"));

  // No such row: nothing to look up, permanently.
  r = render(*m, 99);
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().transient) << r.error().message;
}

}  // namespace
}  // namespace herald::mapping
