#include "support/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/test_env.h"

namespace herald::test {

using namespace std::chrono_literals;

DaemonProcess::DaemonProcess(const std::string& config, const std::string& log_path,
                             const std::vector<std::string>& environment)
    : DaemonProcess(std::vector<std::string>{HERALDD_PATH, "--config", config}, log_path, environment) {}

DaemonProcess::DaemonProcess(std::vector<std::string> args, const std::string& log_path,
                             const std::vector<std::string>& environment)
    : log_path_(log_path) {
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed in a threaded process.
  if (args.empty()) throw std::invalid_argument("DaemonProcess: no program");
  const std::string program = args.front();
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> variables;
  for (char** v = environ; *v != nullptr; ++v) {
    const std::string variable = *v;
    const std::string name = variable.substr(0, variable.find('='));
    bool replaced = false;
    for (const std::string& e : environment) replaced |= e.substr(0, e.find('=')) == name;
    if (!replaced) variables.push_back(variable);
  }
  variables.insert(variables.end(), environment.begin(), environment.end());
  std::vector<char*> envp;
  for (std::string& v : variables) envp.push_back(v.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0) ::_exit(127);
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
}

DaemonProcess::~DaemonProcess() { stop(); }

std::optional<long> DaemonProcess::status_kib(const std::string& field) const {
  if (pid_ <= 0) return std::nullopt;
  std::istringstream status(read_file("/proc/" + std::to_string(pid_) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + field.size(), nullptr, 10);
  }
  return std::nullopt;  // a zombie has no memory left to report
}

std::optional<long> DaemonProcess::peak_rss_kib() const { return status_kib("VmHWM:"); }

std::optional<long> DaemonProcess::rss_kib() const { return status_kib("VmRSS:"); }

std::optional<double> DaemonProcess::cpu_seconds() const {
  if (pid_ <= 0) return std::nullopt;
  // Fields 14 and 15 of /proc/PID/stat, counted after the command name, which may hold spaces.
  const std::string stat = read_file("/proc/" + std::to_string(pid_) + "/stat");
  const auto end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(end_of_name + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtol(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtol(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int DaemonProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, SIGTERM);
  int status = 0;
  pid_t done = 0;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    done = ::waitpid(pid_, &status, 0);
  }
  exit_code_ = done == pid_ && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  pid_ = -1;
  return exit_code_;
}

bool DaemonProcess::kill_abruptly() {
  if (pid_ <= 0) return false;
  ::kill(pid_, SIGKILL);
  int status = 0;
  const bool killed =
      ::waitpid(pid_, &status, 0) == pid_ && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  pid_ = -1;
  return killed;
}

std::string DaemonProcess::log() const { return read_file(log_path_); }

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::string asan_options_without_quarantine() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  return "ASAN_OPTIONS=" + std::string(asan != nullptr ? std::string(asan) + ":" : "") +
         "quarantine_size_mb=0";
}

}  // namespace herald::test
