// Copies a WAL database's log back into the database file on a thread of its
// own, so that the connection that writes never stops for a checkpoint (a
// copy of a thousand pages plus an fsync, in SQLite's default, done by
// whichever commit crosses the threshold).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "db/sqlite.h"

namespace herald::db {

class WalCheckpointer {
 public:
  // Takes over `writer`'s automatic checkpoints: after a commit leaves at
  // least `threshold` frames in the log, a second connection to the same
  // file checkpoints it (PASSIVE: readers and the writer go on meanwhile).
  // When the log reaches `restart_threshold` frames anyway, because the
  // writer never paused long enough for the log to start over, the next
  // checkpoint is a RESTART, which waits for the writer once.
  static Result<std::unique_ptr<WalCheckpointer>> start(Database& writer, int threshold = 1000,
                                                        int restart_threshold = 20000);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints run so far (tests, metrics).
  uint64_t checkpoints() const;

 private:
  WalCheckpointer(sqlite3* writer, Database own, int threshold, int restart_threshold);
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);
  void run();

  sqlite3* writer_;  // the connection whose commits are watched
  Database own_;
  const int threshold_;
  const int restart_threshold_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  int frames_ = 0;  // in the log after the latest commit
  bool stop_ = false;
  uint64_t checkpoints_ = 0;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace herald::db
