// Calls back when any of a set of files is written, created or replaced.
// inotify watches each file's folder (editors and SQLite replace or append
// to files in ways a watch on the file itself would miss).
//
// A folder watch also reports the writes to every other file in it: the state
// database beside herald.toml (the default) would send an event per write.
// Files that are saved whole (configuration, mappings, scripts) are watched
// for their close after writing instead, which such writes do not raise.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace herald {

class FileWatcher {
 public:
  enum class Changes {
    Writes,  // every write: files that stay open while written to (SQLite's)
    Saves,   // a file closed after writing, created or moved into place
  };

  FileWatcher(boost::asio::io_context& io, std::function<void()> on_change,
              Changes changes = Changes::Writes);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Replaces the watched set. False when inotify is unavailable or a folder
  // cannot be watched (the caller then relies on a timer or a signal).
  bool watch(const std::vector<std::string>& files);
  void stop();

  // Batches of events read so far, relevant or not: each one woke the loop.
  size_t wakeups() const { return wakeups_; }

 private:
  void read_events();

  boost::asio::io_context& io_;
  std::function<void()> on_change_;
  Changes changes_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  std::map<int, std::set<std::string>> names_by_watch_;  // watch descriptor -> file names in that folder
  std::array<char, 8192> buffer_{};
  size_t wakeups_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace herald
