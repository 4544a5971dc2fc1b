// The processes the end-to-end benchmark runs besides heraldd: nginx as the
// receiving endpoint on 127.0.0.1 and syslog-ng as the peer. Each is a
// child process stopped when its object goes out of scope.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "support/daemon_process.h"

namespace herald::bench {

// nginx answering 200 to everything on 127.0.0.1:port (a free one when 0),
// with a request counter (stub_status) and an access log with millisecond
// times for the paths under /lat/ and /b/.
class Nginx {
 public:
  explicit Nginx(const std::string& dir, uint16_t port = 0);
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "$msec $request_uri" per request under /lat/ and /b/.
  const std::string& timed_log() const { return timed_log_; }
  // Requests nginx has taken so far, this query included.
  int64_t requests() const;
  // CPU seconds nginx (master and worker) has used so far.
  double cpu_seconds() const;

 private:
  std::string timed_log_;
  uint16_t port_ = 0;
  std::unique_ptr<test::DaemonProcess> process_;
};

// Counts the requests nginx receives from now on, leaving out its own queries.
class RequestCounter {
 public:
  explicit RequestCounter(const Nginx& nginx) : nginx_(nginx), base_(nginx.requests()) {}
  int64_t received() {
    ++queries_;
    return nginx_.requests() - base_ - queries_;
  }
  const Nginx& nginx() const { return nginx_; }

 private:
  const Nginx& nginx_;
  int64_t base_;
  int64_t queries_ = 0;
};

// A free TCP port on 127.0.0.1 (bound and released at once).
uint16_t free_port();

// Set by SIGINT/SIGTERM: every wait gives up and the children are stopped.
bool interrupted();
void install_interrupt_handlers();

// Sleeps in small steps until pred() or the time is up or interrupted(); returns pred().
template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds bound, std::chrono::milliseconds step) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!interrupted() && std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

}  // namespace herald::bench
