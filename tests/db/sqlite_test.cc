#include "db/sqlite.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "support/test_env.h"

namespace herald::db {
namespace {

// A database with a table t (id, v), and `ins`, the statement that inserts into it.
class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Database::open(dir.file("t.db"), Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(opened) << opened.error().message;
    db = std::move(opened.value());
    ASSERT_TRUE(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
    auto prepared = db.prepare("INSERT INTO t (id, v) VALUES (?1, ?2)");
    ASSERT_TRUE(prepared) << prepared.error().message;
    ins.emplace(std::move(prepared.value()));
  }

  test::TempDir dir;
  Database db;
  std::optional<Statement> ins;
};

// A reset that keeps the bindings leaves each value for the next step until
// it is bound again; the default reset sets them all to NULL.
TEST_F(StatementTest, ResetKeepsOrClearsTheBoundValues) {
  {
    const std::string first(300, 'a');  // bound with a copy
    ASSERT_TRUE(ins->bind(1, 1).bind(2, first).run(Statement::Bindings::Keep));
  }
  ASSERT_TRUE(ins->bind(1, 2).bind(2, std::string(200, 'b')).run(Statement::Bindings::Keep));
  ASSERT_TRUE(ins->bind(1, 3).run(Statement::Bindings::Keep));  // v as before
  ASSERT_TRUE(ins->bind(1, 4).run());                           // v as before, then cleared
  ASSERT_TRUE(ins->bind(1, 5).run());                           // v NULL
  auto sel = db.prepare("SELECT id, COALESCE(v, 'NULL') FROM t ORDER BY id");
  ASSERT_TRUE(sel);
  const std::vector<std::string> expected = {std::string(300, 'a'), std::string(200, 'b'),
                                             std::string(200, 'b'), std::string(200, 'b'), "NULL"};
  for (const auto& v : expected) {
    ASSERT_TRUE(sel->step().value());
    EXPECT_EQ(sel->column_text(1), v) << "row " << sel->column_int(0);
  }
  EXPECT_FALSE(sel->step().value());
}

// SQLite's temporary files open in this process (it names them etilqs_*).
int open_temp_files() {
  int n = 0;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.filename().string().find("etilqs_") != std::string::npos) ++n;
  }
  return n;
}

// A multi-row INSERT inside a transaction that changes a few hundred KiB of
// existing index pages keeps its statement journal in memory, where SQLite's
// default would move it to a temporary file past 64 KiB.
TEST(Database, StatementJournalOfABatchStaysInMemory) {
  test::TempDir dir;
  auto db = Database::open(dir.file("j.db"), Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(
      db->exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE)"));
  // 20,000 keys in random order: the index spreads over some 300 pages.
  ASSERT_TRUE(
      db->exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
               "INSERT INTO t (k) SELECT hex(randomblob(16)) FROM n"));
  ASSERT_TRUE(db->exec("BEGIN IMMEDIATE"));
  // 100 rows in one statement, each key landing on its own page of the index.
  ASSERT_TRUE(
      db->exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
               "INSERT INTO t (k) SELECT hex(randomblob(16)) FROM n"));
  EXPECT_EQ(open_temp_files(), 0);
  ASSERT_TRUE(db->exec("COMMIT"));
  auto count = db->prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count);
  ASSERT_TRUE(count->step().value());
  EXPECT_EQ(count->column_int(0), 20100);
}

// A text bound without a copy is what the row gets, and the statement works
// again after a reset with other texts.
TEST_F(StatementTest, TextBoundWithoutACopyIsStoredAsGiven) {
  for (int i = 1; i <= 3; ++i) {
    const std::string big(5000 + i, static_cast<char>('a' + i));
    ASSERT_TRUE(ins->bind(1, i).bind_unowned(2, big).run());
  }
  auto sel = db.prepare("SELECT v FROM t ORDER BY id");
  ASSERT_TRUE(sel);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(sel->step().value());
    EXPECT_EQ(sel->column_text(0), std::string(5000 + i, static_cast<char>('a' + i)));
  }
  EXPECT_FALSE(sel->step().value());
}

}  // namespace
}  // namespace herald::db
