#include "daemon/service_notifier.h"

#include <time.h>

#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace herald::daemon {

namespace {

// A newline would end the STATUS= assignment and start another one.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

ServiceNotifier::ServiceNotifier(boost::asio::io_context& io) : watchdog_timer_(io), status_timer_(io) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
}

void ServiceNotifier::send(const std::string& state) {
  if (!enabled_) return;
  // Failing to reach systemd must not stop notification delivery.
  if (int r = sd_notify(0, state.c_str()); r < 0) {
    spdlog::debug("sd_notify failed: {}", std::strerror(-r));
  }
}

void ServiceNotifier::start_watchdog() {
  if (!enabled_) return;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_period_ = std::chrono::microseconds(usec / 2);
  send("WATCHDOG=1");
  arm_watchdog();
}

void ServiceNotifier::arm_watchdog() {
  watchdog_timer_.expires_after(watchdog_period_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    send("WATCHDOG=1");
    arm_watchdog();
  });
}

void ServiceNotifier::start_status(StatusSource status_source, std::chrono::milliseconds period) {
  if (!enabled_) return;
  status_source_ = std::move(status_source);
  status_period_ = period;
  arm_status();
}

void ServiceNotifier::arm_status() {
  status_timer_.expires_after(status_period_);
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    status_source_([this](std::string text) {
      if (!text.empty() && text != last_status_) status(text);
      arm_status();
    });
  });
}

void ServiceNotifier::ready(const std::string& text) {
  const std::string status = one_line(text);
  last_status_ = status;
  send(status.empty() ? "READY=1" : "READY=1\nSTATUS=" + status);
}

void ServiceNotifier::status(const std::string& text) {
  const std::string status = one_line(text);
  last_status_ = status;
  send("STATUS=" + status);
}

void ServiceNotifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() { send("STOPPING=1\nSTATUS=stopping"); }

}  // namespace herald::daemon
