// A real heraldd running in the background, as systemd would run it, for tests that need it alive
// (its memory, its own retry timers). Its stdout and stderr go to a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace herald::test {

class DaemonProcess {
 public:
  // Starts `heraldd --config CONFIG` with this process's environment plus `environment` ("NAME=value"
  // entries, replacing same-named ones); throws std::runtime_error if it cannot be started. The child
  // gets SIGTERM should the test process die first, so no daemon outlives a crashed test.
  DaemonProcess(const std::string& config, const std::string& log_path,
                const std::vector<std::string>& environment = {});
  ~DaemonProcess();  // stop()s
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Peak resident set size (VmHWM) in KiB; nullopt once the process is gone.
  std::optional<long> peak_rss_kib() const;
  // SIGTERM, then waits up to `grace` before SIGKILL. Returns the exit code, -1 if it did not exit
  // normally. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

// Polls pred() every few milliseconds until it holds or `bound` passed; returns pred().
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds bound = std::chrono::seconds(20));

}  // namespace herald::test
