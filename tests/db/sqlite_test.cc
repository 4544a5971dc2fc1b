#include "db/sqlite.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace herald::db {
namespace {

// A text bound without a copy is what the row gets, and the statement works
// again after a reset with other texts.
TEST(Statement, TextBoundWithoutACopyIsStoredAsGiven) {
  test::TempDir dir;
  auto db = Database::open(dir.file("t.db"), Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  auto ins = db->prepare("INSERT INTO t (id, v) VALUES (?1, ?2)");
  ASSERT_TRUE(ins) << ins.error().message;
  for (int i = 1; i <= 3; ++i) {
    const std::string big(5000 + i, static_cast<char>('a' + i));
    ASSERT_TRUE(ins->bind(1, i).bind_unowned(2, big).run());
  }
  auto sel = db->prepare("SELECT v FROM t ORDER BY id");
  ASSERT_TRUE(sel);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(sel->step().value());
    EXPECT_EQ(sel->column_text(0), std::string(5000 + i, static_cast<char>('a' + i)));
  }
  EXPECT_FALSE(sel->step().value());
}

}  // namespace
}  // namespace herald::db
