#include "common/file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>

namespace herald {

FileWatcher::FileWatcher(boost::asio::io_context& io, std::function<void()> on_change, Changes changes)
    : io_(io), on_change_(std::move(on_change)), changes_(changes) {}

FileWatcher::~FileWatcher() {
  *alive_ = false;
  stop();
}

bool FileWatcher::watch(const std::vector<std::string>& files) {
  stop();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return false;
  std::map<std::string, std::set<std::string>> by_dir;
  for (const auto& f : files) {
    std::filesystem::path p = std::filesystem::absolute(f);
    by_dir[p.parent_path().string()].insert(p.filename().string());
  }
  const uint32_t mask =
      IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | (changes_ == Changes::Writes ? IN_MODIFY : 0u);
  bool all = true;
  for (const auto& [dir, names] : by_dir) {
    int wd = inotify_add_watch(fd, dir.c_str(), mask);
    if (wd < 0) {
      all = false;
      continue;
    }
    names_by_watch_[wd].insert(names.begin(), names.end());
  }
  inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
  read_events();
  return all;
}

void FileWatcher::stop() {
  if (inotify_) {
    boost::system::error_code ec;
    inotify_->close(ec);
    inotify_.reset();
  }
  names_by_watch_.clear();
}

void FileWatcher::read_events() {
  inotify_->async_read_some(boost::asio::buffer(buffer_),
                            [this, alive = alive_](boost::system::error_code ec, size_t n) {
                              if (ec || !*alive || !inotify_) return;
                              ++wakeups_;
                              bool relevant = false;
                              for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
                                const auto* ev = reinterpret_cast<const inotify_event*>(buffer_.data() + off);
                                if (ev->len > 0) {
                                  auto it = names_by_watch_.find(ev->wd);
                                  if (it != names_by_watch_.end() && it->second.count(ev->name))
                                    relevant = true;
                                }
                                off += sizeof(inotify_event) + ev->len;
                              }
                              if (relevant) on_change_();
                              if (inotify_) read_events();
                            });
}

}  // namespace herald
