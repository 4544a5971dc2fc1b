#include "db/wal_checkpointer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace herald::db {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(Database& writer, int threshold,
                                                                int restart_threshold) {
  // Waits for the writer when a RESTART needs it; a PASSIVE one never waits.
  auto own = Database::open(writer.path(), Database::Mode::ReadWriteCreate, 10000);
  if (!own) return own.error();
  // A connection reads the file lazily; until it has, it does not know the
  // database is in WAL mode and its checkpoints do nothing.
  if (auto s = own->exec("PRAGMA journal_mode=WAL"); !s) return s.error();
  return std::unique_ptr<WalCheckpointer>(
      new WalCheckpointer(writer.handle(), std::move(own.value()), threshold, restart_threshold));
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, Database own, int threshold, int restart_threshold)
    : writer_(writer),
      own_(std::move(own)),
      threshold_(threshold),
      restart_threshold_(restart_threshold),
      thread_([this] { run(); }) {
  // Replaces the automatic checkpoint, which SQLite implements with this hook.
  sqlite3_wal_hook(writer_, &WalCheckpointer::on_commit, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (frames < c->threshold_) return SQLITE_OK;
  {
    std::lock_guard lock(c->mutex_);
    c->frames_ = frames;
  }
  c->wake_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  pthread_setname_np(pthread_self(), "wal-checkpoint");  // for top -H and perf
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || frames_ >= threshold_; });
    if (stop_) return;
    const int mode = frames_ >= restart_threshold_ ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
    frames_ = 0;
    lock.unlock();
    int log = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(own_.handle(), nullptr, mode, &log, &copied);
    // BUSY: another checkpoint ran, or the writer held on; the next commit
    // over the threshold asks again.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("{}: checkpoint: {}", own_.path(), own_.error_message());
    }
    lock.lock();
    ++checkpoints_;
  }
}

}  // namespace herald::db
