#include "outbox/outbox_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>

#include <spdlog/spdlog.h>

namespace herald::outbox {

OutboxWatcher::OutboxWatcher(boost::asio::io_context& io, std::string database_path,
                             std::chrono::milliseconds fallback, std::function<void()> on_change)
    : io_(io), fallback_(fallback), on_change_(std::move(on_change)), timer_(io) {
  std::filesystem::path p = std::filesystem::absolute(database_path);
  dir_ = p.parent_path().string();
  base_ = p.filename().string();
}

OutboxWatcher::~OutboxWatcher() { stop(); }

bool OutboxWatcher::start() {
  stopped_ = false;
  arm_fallback();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("inotify unavailable; polling the outbox every {} ms", fallback_.count());
    return false;
  }
  // Watching the folder (not the file) also sees the -wal file appear and
  // the database being replaced.
  if (inotify_add_watch(fd, dir_.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0) {
    ::close(fd);
    spdlog::warn("cannot watch {}; polling the outbox every {} ms", dir_, fallback_.count());
    return false;
  }
  inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
  read_events();
  return true;
}

void OutboxWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
  if (inotify_) {
    boost::system::error_code ec;
    inotify_->close(ec);
    inotify_.reset();
  }
}

void OutboxWatcher::read_events() {
  inotify_->async_read_some(boost::asio::buffer(buffer_), [this](boost::system::error_code ec, size_t n) {
    if (ec || stopped_) return;
    bool relevant = false;
    for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer_.data() + off);
      if (ev->len > 0) {
        std::string_view name(ev->name);
        if (name == base_ || name == base_ + "-wal" || name == base_ + "-journal") relevant = true;
      }
      off += sizeof(inotify_event) + ev->len;
    }
    if (relevant) on_change_();
    read_events();
  });
}

void OutboxWatcher::arm_fallback() {
  timer_.expires_after(fallback_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    on_change_();
    arm_fallback();
  });
}

}  // namespace herald::outbox
