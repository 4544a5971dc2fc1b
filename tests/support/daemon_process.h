// A real heraldd running in the background, as systemd would run it, for tests that need it alive
// (its memory, its own retry timers). Its stdout and stderr go to a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace herald::test {

class DaemonProcess {
 public:
  // Starts `heraldd --config CONFIG` with this process's environment plus `environment` ("NAME=value"
  // entries, replacing same-named ones); throws std::runtime_error if it cannot be started. The child
  // gets SIGTERM should the test process die first, so no daemon outlives a crashed test.
  DaemonProcess(const std::string& config, const std::string& log_path,
                const std::vector<std::string>& environment = {});
  // The same for any program: argv[0] is its path (benchmarks run nginx and peers this way).
  DaemonProcess(std::vector<std::string> argv, const std::string& log_path,
                const std::vector<std::string>& environment = {});
  ~DaemonProcess();  // stop()s
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Peak resident set size (VmHWM) in KiB; nullopt once the process is gone.
  std::optional<long> peak_rss_kib() const;
  // Resident set size now (VmRSS) in KiB; nullopt once the process is gone.
  std::optional<long> rss_kib() const;
  // CPU time used so far, user and system, all threads; nullopt once the process is gone.
  std::optional<double> cpu_seconds() const;
  // CPU seconds per thread name (threads of the same name summed), the main thread first.
  std::vector<std::pair<std::string, double>> thread_cpu_seconds() const;
  // CPU seconds of the process and its children (e.g. nginx's master and workers); nullopt once
  // the process is gone.
  std::optional<double> tree_cpu_seconds() const;
  // SIGTERM, then waits up to `grace` before SIGKILL. Returns the exit code, -1 if it did not exit
  // normally. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL, as a crash would: no chance to clean up. True when it died of it. Idempotent.
  bool kill_abruptly();
  std::string log() const;

 private:
  std::optional<long> status_kib(const std::string& field) const;

  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

// An environment entry for DaemonProcess: the current ASAN_OPTIONS plus quarantine_size_mb=0. In the
// AddressSanitizer build freed memory sits in a 256 MB quarantine, so a peak RSS would count every
// buffer ever freed; without it the peak is memory actually held. Other builds ignore it.
std::string asan_options_without_quarantine();

// Polls pred() every few milliseconds until it holds or `bound` passed; returns pred().
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds bound = std::chrono::seconds(20));

}  // namespace herald::test
