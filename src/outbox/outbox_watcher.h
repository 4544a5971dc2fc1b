// Wakes the ingest loop when the producer writes to its database: file
// events on the database and its -wal/-journal files, plus a slow fallback
// timer for file systems that do not report changes.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/file_watcher.h"

namespace herald::outbox {

class OutboxWatcher {
 public:
  OutboxWatcher(boost::asio::io_context& io, std::string database_path, std::chrono::milliseconds fallback,
                std::function<void()> on_change);
  OutboxWatcher(const OutboxWatcher&) = delete;
  OutboxWatcher& operator=(const OutboxWatcher&) = delete;

  // False when file events are unavailable (the fallback timer still runs).
  bool start();
  void stop();

 private:
  void arm_fallback();

  std::string path_;
  std::chrono::milliseconds fallback_;
  std::function<void()> on_change_;
  FileWatcher files_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace herald::outbox
