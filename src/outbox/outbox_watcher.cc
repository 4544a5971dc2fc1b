#include "outbox/outbox_watcher.h"

#include <spdlog/spdlog.h>

namespace herald::outbox {

OutboxWatcher::OutboxWatcher(boost::asio::io_context& io, std::string database_path,
                             std::chrono::milliseconds fallback, std::function<void()> on_change)
    : path_(std::move(database_path)),
      fallback_(fallback),
      on_change_(std::move(on_change)),
      files_(io, [this] { on_change_(); }),
      timer_(io) {}

bool OutboxWatcher::start() {
  stopped_ = false;
  arm_fallback();
  if (!files_.watch({path_, path_ + "-wal", path_ + "-journal"})) {
    spdlog::warn("cannot watch {} for changes; checking the outbox every {} ms", path_, fallback_.count());
    return false;
  }
  return true;
}

void OutboxWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
  files_.stop();
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
