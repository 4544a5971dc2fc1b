// Wakes the ingest loop when the producer writes to its database: inotify on
// the database's folder (the main file and its -wal/-journal), plus a slow
// fallback timer for file systems that do not report changes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace herald::outbox {

class OutboxWatcher {
 public:
  OutboxWatcher(boost::asio::io_context& io, std::string database_path, std::chrono::milliseconds fallback,
                std::function<void()> on_change);
  ~OutboxWatcher();
  OutboxWatcher(const OutboxWatcher&) = delete;
  OutboxWatcher& operator=(const OutboxWatcher&) = delete;

  // False when inotify is unavailable (the fallback timer still runs).
  bool start();
  void stop();

 private:
  void read_events();
  void arm_fallback();

  boost::asio::io_context& io_;
  std::string dir_;
  std::string base_;
  std::chrono::milliseconds fallback_;
  std::function<void()> on_change_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  boost::asio::steady_timer timer_;
  std::array<char, 4096> buffer_{};
  bool stopped_ = false;
};

}  // namespace herald::outbox
