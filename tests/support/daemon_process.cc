#include "support/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
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

namespace {

// The fields of a /proc/.../stat text after the command name (which may hold
// spaces and parentheses): [0] is field 3, the state.
std::vector<std::string> stat_fields(const std::string& stat) {
  std::vector<std::string> out;
  const auto end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos || end_of_name + 2 > stat.size()) return out;
  std::istringstream fields(stat.substr(end_of_name + 2));
  for (std::string field; fields >> field;) out.push_back(field);
  return out;
}

// User and system CPU seconds of a /proc/.../stat text (fields 14 and 15).
std::optional<double> stat_cpu_seconds(const std::string& stat) {
  const auto f = stat_fields(stat);
  if (f.size() < 13) return std::nullopt;
  const long ticks = std::strtol(f[11].c_str(), nullptr, 10) + std::strtol(f[12].c_str(), nullptr, 10);
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

std::optional<double> DaemonProcess::cpu_seconds() const {
  if (pid_ <= 0) return std::nullopt;
  return stat_cpu_seconds(read_file("/proc/" + std::to_string(pid_) + "/stat"));
}

std::vector<std::pair<std::string, double>> DaemonProcess::thread_cpu_seconds() const {
  std::vector<std::pair<std::string, double>> out;
  if (pid_ <= 0) return out;
  std::vector<long> tids;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec)) {
    tids.push_back(std::strtol(e.path().filename().c_str(), nullptr, 10));
  }
  std::sort(tids.begin(), tids.end());  // the main thread first
  for (long tid : tids) {
    const std::string task = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid);
    std::string name = read_file(task + "/comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    const auto cpu = stat_cpu_seconds(read_file(task + "/stat"));
    if (!cpu) continue;  // ended meanwhile
    auto same = std::find_if(out.begin(), out.end(), [&](const auto& t) { return t.first == name; });
    if (same == out.end()) {
      out.emplace_back(name, *cpu);
    } else {
      same->second += *cpu;
    }
  }
  return out;
}

std::optional<double> DaemonProcess::tree_cpu_seconds() const {
  auto total = cpu_seconds();
  if (!total) return std::nullopt;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(e.path().string() + "/stat");
    const auto f = stat_fields(stat);
    if (f.size() < 13 || std::strtol(f[1].c_str(), nullptr, 10) != pid_) continue;  // field 4: the parent
    *total += stat_cpu_seconds(stat).value_or(0);
  }
  return total;
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
