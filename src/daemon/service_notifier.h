// Tells systemd (Type=notify) how heraldd is doing: READY, RELOADING,
// STOPPING, STATUS and the watchdog keep-alive. Does nothing when heraldd was
// not started by systemd (NOTIFY_SOCKET unset).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace herald::daemon {

class ServiceNotifier {
 public:
  explicit ServiceNotifier(boost::asio::io_context& io);
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return enabled_; }

  // Sends WATCHDOG=1 from the event loop at half of WatchdogSec, so a stuck
  // loop misses it and systemd restarts heraldd. No-op without a watchdog.
  void start_watchdog();
  // Every `period` asks status_source for the text, which it hands to the
  // callback (on the loop, at once or later; "" sends nothing), and sends
  // STATUS= when the text changed.
  using StatusSource = std::function<void(std::function<void(std::string)>)>;
  void start_status(StatusSource status_source, std::chrono::milliseconds period = std::chrono::seconds(5));

  void ready(const std::string& status);
  void status(const std::string& status);
  // RELOADING=1 with MONOTONIC_USEC (Type=notify-reload wants both); ready() ends it.
  void reloading();
  // The watchdog keeps going while attempts finish: the loop must stay live.
  void stopping();

 private:
  void send(const std::string& state);
  void arm_watchdog();
  void arm_status();

  bool enabled_ = false;
  std::chrono::microseconds watchdog_period_{0};
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer status_timer_;
  StatusSource status_source_;
  std::chrono::milliseconds status_period_{0};
  std::string last_status_;
};

}  // namespace herald::daemon
