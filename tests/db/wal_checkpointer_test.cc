#include "db/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/test_env.h"

namespace herald::db {
namespace {

using namespace std::chrono_literals;

// A WAL database whose own connection never checkpoints: pages reach the
// database file only through a checkpoint.
Database wal_without_autocheckpoint(const std::string& path) {
  auto db = Database::open(path, Database::Mode::ReadWriteCreate);
  EXPECT_TRUE(db) << db.error().message;
  EXPECT_TRUE(db->exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"));
  sqlite3_wal_autocheckpoint(db->handle(), 0);
  return std::move(db.value());
}

void write_rows(Database& db, int rows) {
  for (int i = 0; i < rows; ++i) {
    auto st = db.prepare("INSERT INTO t (v) VALUES (zeroblob(4000))");
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->run());  // a commit of its own each
  }
}

bool wait_for(const std::function<bool()>& pred) {
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(WalCheckpointer, CopiesTheLogIntoTheDatabaseFromItsOwnThread) {
  test::TempDir dir;
  const std::string path = dir.file("state.db");
  Database db = wal_without_autocheckpoint(path);
  auto checkpointer = WalCheckpointer::start(db, 50);
  ASSERT_TRUE(checkpointer) << checkpointer.error().message;
  write_rows(db, 300);  // about 300 frames of 4 KiB
  ASSERT_TRUE(wait_for([&] { return checkpointer.value()->checkpoints() > 0; }));
  // The writer never checkpointed, yet its pages are in the database file.
  ASSERT_TRUE(wait_for([&] { return std::filesystem::file_size(path) > 100 * 4096; }))
      << std::filesystem::file_size(path);
}

TEST(WalCheckpointer, BelowTheThresholdTheLogStaysAsItIs) {
  test::TempDir dir;
  const std::string path = dir.file("state.db");
  Database db = wal_without_autocheckpoint(path);
  const auto before = std::filesystem::file_size(path);
  auto checkpointer = WalCheckpointer::start(db, 10000);
  ASSERT_TRUE(checkpointer);
  write_rows(db, 50);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(checkpointer.value()->checkpoints(), 0u);
  EXPECT_EQ(std::filesystem::file_size(path), before);
}

TEST(WalCheckpointer, StopsWatchingWhenDestroyed) {
  test::TempDir dir;
  Database db = wal_without_autocheckpoint(dir.file("state.db"));
  {
    auto checkpointer = WalCheckpointer::start(db, 1);
    ASSERT_TRUE(checkpointer);
    write_rows(db, 5);
  }
  // The hook is gone: further commits call nothing that was freed.
  write_rows(db, 5);
  auto st = db.prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->step().value());
  EXPECT_EQ(st->column_int(0), 10);
}

}  // namespace
}  // namespace herald::db
