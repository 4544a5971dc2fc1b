#include "db/sqlite_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>

#include "db/sqlite.h"
#include "support/test_env.h"

namespace herald::db {
namespace {

// Opening a connection installs the caches (SQLite initialises then).
Database open_db(const test::TempDir& dir) {
  auto db = Database::open(dir.file("m.db"), Database::Mode::ReadWriteCreate);
  EXPECT_TRUE(db) << db.error().message;
  return std::move(db.value());
}

// A table t (id, v) and the statement that inserts into it.
Statement table_t(Database& db) {
  EXPECT_TRUE(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  auto ins = db.prepare("INSERT INTO t (id, v) VALUES (?1, ?2)");
  EXPECT_TRUE(ins);
  return std::move(ins.value());
}

TEST(SqliteMemory, SqliteAllocatesThroughTheCaches) {
  test::TempDir dir;
  Database db = open_db(dir);
  // Each UPDATE reads the row's texts into buffers freed at its reset: the
  // second and later ones are served by what the first gave back.
  ASSERT_TRUE(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, n INTEGER)"));
  ASSERT_TRUE(db.exec("INSERT INTO t VALUES (1, 'some text', 'more text', 0)"));
  const SqliteMemoryCounts before = sqlite_memory_counts();
  auto up = db.prepare("UPDATE t SET n = n + 1 WHERE id = 1");
  ASSERT_TRUE(up);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(up->run());
  const SqliteMemoryCounts after = sqlite_memory_counts();
  EXPECT_GE(after.reused - before.reused, 100u);
  EXPECT_LT(after.fresh - before.fresh, 50u);
}

TEST(SqliteMemory, BlockSizesAndReuse) {
  test::TempDir dir;
  Database db = open_db(dir);
  void* p = sqlite3_malloc(100);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sqlite3_msize(p), 128u);  // the class it came from, all usable
  // Growing within the block keeps it; beyond it moves, keeping the bytes.
  std::memset(p, 'x', 128);
  EXPECT_EQ(sqlite3_realloc(p, 120), p);
  void* q = sqlite3_realloc(p, 3000);
  ASSERT_NE(q, nullptr);
  EXPECT_GE(sqlite3_msize(q), 3000u);
  EXPECT_EQ(std::string(static_cast<char*>(q), 128), std::string(128, 'x'));
  sqlite3_free(q);
  // A block freed on this thread serves the next request of its size here.
  void* a = sqlite3_malloc(40);
  sqlite3_free(a);
  void* b = sqlite3_malloc(60);
  EXPECT_EQ(a, b);
  sqlite3_free(b);
  EXPECT_EQ(sqlite3_malloc(0), nullptr);
}

TEST(SqliteMemory, ValuesOfEverySizeSurviveAndTheCacheStaysBounded) {
  test::TempDir dir;
  Database db = open_db(dir);
  Statement ins = table_t(db);
  auto text_of = [](int i) {
    return std::string(static_cast<size_t>(i * 37 % 5000), static_cast<char>('a' + i % 26));
  };
  for (int i = 1; i <= 400; ++i) ASSERT_TRUE(ins.bind(1, i).bind(2, text_of(i)).run());
  auto sel = db.prepare("SELECT id, v, upper(v) || v FROM t ORDER BY id");
  ASSERT_TRUE(sel);
  int rows = 0;
  while (sel->step().value()) {
    const int i = static_cast<int>(sel->column_int(0));
    ASSERT_EQ(sel->column_text(1), text_of(i));
    ASSERT_EQ(sel->column_text(2).size(), 2 * text_of(i).size());
    ++rows;
  }
  EXPECT_EQ(rows, 400);
  // Thousands of blocks went through; a thread keeps 64 KB per size at most.
  EXPECT_LE(sqlite_memory_counts().cached_bytes, 7u * 64 * 1024);
}

TEST(SqliteMemory, AConnectionMovesBetweenThreads) {
  test::TempDir dir;
  Database db = open_db(dir);
  Statement ins = table_t(db);
  // Prepared on this thread, used (and its memory freed) on others whose
  // caches end with them, then finalised here.
  for (int t = 0; t < 4; ++t) {
    std::thread([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int id = t * 1000 + i;
        ASSERT_TRUE(ins.bind(1, id).bind(2, std::string(static_cast<size_t>(i * 13 % 3000), 'v')).run());
      }
    }).join();
  }
  auto count = db.prepare("SELECT count(*), sum(length(v)) FROM t");
  ASSERT_TRUE(count);
  ASSERT_TRUE(count->step().value());
  EXPECT_EQ(count->column_int(0), 800);
  int64_t bytes = 0;
  for (int i = 0; i < 200; ++i) bytes += i * 13 % 3000;
  EXPECT_EQ(count->column_int(1), 4 * bytes);
}

}  // namespace
}  // namespace herald::db
