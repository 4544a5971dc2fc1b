#include "common/file_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "support/test_env.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct Watched {
  boost::asio::io_context io;
  int changes = 0;
  FileWatcher watcher;

  explicit Watched(FileWatcher::Changes kind)
      : watcher(
            io, [this] { ++changes; }, kind) {}

  // Runs the loop until a callback or `bound` passed; the callbacks so far.
  int run_until_change(std::chrono::milliseconds bound) {
    const int before = changes;
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (changes == before && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(10ms);
    }
    return changes;
  }
};

void append(int fd, const std::string& text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), ssize_t(text.size()));
}

TEST(FileWatcher, SavesReportTheCloseNotEachWrite) {
  test::TempDir dir;
  const std::string file = dir.file("herald.toml");
  test::write_file(file, "a = 1\n");
  Watched w(FileWatcher::Changes::Saves);
  ASSERT_TRUE(w.watcher.watch({file}));

  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  append(fd, "b = 2\n");
  EXPECT_EQ(w.run_until_change(300ms), 0);  // half written: not yet
  ::close(fd);
  EXPECT_EQ(w.run_until_change(5s), 1);

  // Replaced by a rename, as many editors save.
  test::write_file(dir.file("herald.toml.new"), "c = 3\n");
  ASSERT_EQ(std::rename(dir.file("herald.toml.new").c_str(), file.c_str()), 0);
  EXPECT_EQ(w.run_until_change(5s), 2);
}

TEST(FileWatcher, SavesIgnoreADatabaseWrittenBesideThem) {
  test::TempDir dir;
  const std::string file = dir.file("herald.toml");
  test::write_file(file, "a = 1\n");
  // Opened before the watch, as the state database is: only its writes follow.
  const int fd = ::open(dir.file("state.db-wal").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  Watched w(FileWatcher::Changes::Saves);
  ASSERT_TRUE(w.watcher.watch({file}));
  for (int i = 0; i < 100; ++i) append(fd, std::string(4096, 'x'));
  EXPECT_EQ(w.run_until_change(300ms), 0);
  EXPECT_EQ(w.watcher.wakeups(), 0u);  // not even woken
  // The watch still works.
  test::write_file(file, "a = 2\n");
  EXPECT_EQ(w.run_until_change(5s), 1);
  ::close(fd);
}

TEST(FileWatcher, WritesReportAFileKeptOpen) {
  test::TempDir dir;
  const std::string file = dir.file("outbox.db-wal");
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  Watched w(FileWatcher::Changes::Writes);
  ASSERT_TRUE(w.watcher.watch({file}));
  append(fd, "frame");
  EXPECT_EQ(w.run_until_change(5s), 1);
  ::close(fd);
}

}  // namespace
}  // namespace herald
