// heraldd under systemd: sd_notify messages on a real notification socket, the
// journal log format, and the shipped unit checked by systemd-analyze.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// The NOTIFY_SOCKET end systemd would hold: collects every datagram on a thread,
// so heraldd never blocks on a full queue while the test looks elsewhere.
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + path);
    }
    timeval tv{0, 50000};  // lets the thread see done_ soon
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    reader_ = std::thread([this] {
      char buf[4096];
      while (!done_) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard lock(mu_);
        messages_.emplace_back(buf, static_cast<size_t>(n));
      }
    });
  }
  ~NotifyListener() {
    done_ = true;
    reader_.join();
    ::close(fd_);
  }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  size_t size() const { return messages().size(); }
  // Index of the first datagram from `from` on holding the line `line` (or starting with it, for
  // "STATUS="), or -1.
  int find(const std::string& line, size_t from = 0) const {
    auto all = messages();
    for (size_t i = from; i < all.size(); ++i) {
      std::istringstream in(all[i]);
      for (std::string l; std::getline(in, l);) {
        if (l == line || (line.back() == '=' && l.rfind(line, 0) == 0)) return static_cast<int>(i);
      }
    }
    return -1;
  }
  size_t count(const std::string& line) const {
    size_t n = 0;
    for (int i = find(line); i >= 0; i = find(line, i + 1)) ++n;
    return n;
  }
  std::string describe() const {
    std::string out;
    for (const auto& m : messages()) out += "[" + m + "] ";
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> done_{false};
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
  std::thread reader_;
};

test::Scenario scenario(const std::string& url) {
  test::Scenario s;
  s.sink_url = url;
  return s;
}

TEST(ServiceNotifier, ReadyWatchdogStatusReloadAndStop) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  const std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  NotifyListener notify(dir.file("notify"));
  test::DaemonProcess d(cfg, dir.file("heraldd.log"), {notify.env(), "WATCHDOG_USEC=200000"});

  ASSERT_TRUE(test::wait_until([&] { return notify.find("READY=1") >= 0; }, 15s))
      << notify.describe() << d.log();
  // READY comes after the start is complete, with the live counts.
  EXPECT_THAT(d.log(), HasSubstr("started"));
  EXPECT_THAT(notify.messages().at(notify.find("READY=1")),
              HasSubstr("STATUS=0 in flight, 0 pending, 0 waiting for a retry"));
  // The event loop pings every 100 ms (half of WATCHDOG_USEC).
  ASSERT_TRUE(test::wait_until([&] { return notify.count("WATCHDOG=1") >= 4; }, 5s)) << notify.describe();

  // SIGHUP: RELOADING=1 (with MONOTONIC_USEC for Type=notify-reload), then READY=1.
  size_t mark = notify.size();
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  ASSERT_TRUE(test::wait_until(
      [&] {
        int r = notify.find("RELOADING=1", mark);
        return r >= 0 && notify.find("READY=1", r + 1) >= 0;
      },
      10s))
      << notify.describe();
  EXPECT_THAT(notify.messages().at(notify.find("RELOADING=1", mark)), HasSubstr("MONOTONIC_USEC="));

  // A refused reload is READY=1 again, and STATUS says why.
  const std::string valid = test::read_file(cfg);
  test::write_file(cfg, valid + "\nnot toml at all = = =\n");
  mark = notify.size();
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  ASSERT_TRUE(test::wait_until(
      [&] {
        int r = notify.find("RELOADING=1", mark);
        return r >= 0 && notify.find("READY=1", r + 1) >= 0;
      },
      10s))
      << notify.describe();
  const std::string refused = notify.messages().at(notify.find("READY=1", notify.find("RELOADING=1", mark)));
  EXPECT_THAT(refused, HasSubstr("STATUS=reload refused, the running configuration stays"));

  // An edited file reloads by itself, and systemd hears of it the same way:
  // RELOADING=1, then READY=1 with the live counts (the broken edit above
  // may still be answered first, refused).
  mark = notify.size();
  test::write_file(cfg, valid);
  ASSERT_TRUE(test::wait_until(
      [&] {
        int r = notify.find("RELOADING=1", mark);
        for (int i = r < 0 ? -1 : notify.find("READY=1", r + 1); i >= 0; i = notify.find("READY=1", i + 1)) {
          if (notify.messages().at(i).find("STATUS=0 in flight, 0 pending, 0 waiting for a retry") !=
              std::string::npos)
            return true;
        }
        return false;
      },
      10s))
      << notify.describe() << d.log();

  mark = notify.size();
  EXPECT_EQ(d.stop(), 0);
  ASSERT_TRUE(test::wait_until([&] { return notify.find("STOPPING=1", mark) >= 0; }, 5s))
      << notify.describe();
}

// Started and waiting: systemd sees it up (READY) and why it does nothing yet.
TEST(ServiceNotifier, WaitingForTheProducerDatabaseIsReadyWithTheReason) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  const std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  std::filesystem::rename(dir.file("producer.db"), dir.file("later.db"));
  NotifyListener notify(dir.file("notify"));
  test::DaemonProcess d(cfg, dir.file("heraldd.log"), {notify.env()});

  ASSERT_TRUE(test::wait_until([&] { return notify.find("STATUS=") >= 0; }, 10s)) << d.log();
  EXPECT_THAT(notify.messages().at(notify.find("STATUS=")), HasSubstr("STATUS=waiting: "));
  EXPECT_THAT(notify.messages().at(notify.find("STATUS=")), HasSubstr("producer.db"));
  EXPECT_THAT(notify.messages().at(notify.find("STATUS=")), HasSubstr("READY=1")) << notify.describe();

  // The producer's database appears; SIGHUP tries at once, and heraldd runs.
  std::filesystem::rename(dir.file("later.db"), dir.file("producer.db"));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  ASSERT_TRUE(test::wait_until([&] { return d.log().find(" started: ") != std::string::npos; }, 10s))
      << notify.describe() << d.log();
  EXPECT_EQ(d.stop(), 0);
}

TEST(ServiceNotifier, NothingWithoutNotifySocket) {
  // Outside systemd heraldd runs as before; the watchdog variables alone change nothing.
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  const std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  test::DaemonProcess d(cfg, dir.file("heraldd.log"), {"NOTIFY_SOCKET=", "WATCHDOG_USEC=1000"});
  ASSERT_TRUE(test::wait_until([&] { return d.log().find("started") != std::string::npos; }, 15s)) << d.log();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// "DEV:INODE" of a file, as systemd writes JOURNAL_STREAM for the stream it connects.
std::string device_inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("stat " + path);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(JournalLogging, PriorityPrefixesAndNoTimestamps) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  const std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  // DaemonProcess truncates the log file in place, so its inode is known now.
  const std::string log = dir.file("heraldd.log");
  test::write_file(log, "");
  test::DaemonProcess d(cfg, log, {"JOURNAL_STREAM=" + device_inode(log)});
  ASSERT_TRUE(test::wait_until([&] { return d.log().find("started") != std::string::npos; }, 15s)) << d.log();
  test::write_file(cfg, test::read_file(cfg) + "\nnot toml at all = = =\n");
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  ASSERT_TRUE(test::wait_until([&] { return d.log().find("reload refused") != std::string::npos; }, 10s))
      << d.log();
  EXPECT_EQ(d.stop(), 0);

  const std::string text = test::read_file(log);
  EXPECT_THAT(text, HasSubstr("<6>herald " HERALD_VERSION " started"));
  EXPECT_THAT(text, HasSubstr("<3>reload refused"));
  std::istringstream in(text);
  const std::regex timestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d)");
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(std::regex_search(line, std::regex("^<[2-7]>"))) << line;
    EXPECT_FALSE(std::regex_search(line, timestamp)) << line;
  }
}

TEST(JournalLogging, InheritedVariableForAnotherStreamKeepsTheUsualFormat) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  const std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  // stderr is a file here, not the stream JOURNAL_STREAM names.
  test::DaemonProcess d(cfg, dir.file("heraldd.log"), {"JOURNAL_STREAM=1:1"});
  ASSERT_TRUE(test::wait_until([&] { return d.log().find("started") != std::string::npos; }, 15s)) << d.log();
  EXPECT_EQ(d.stop(), 0);
  EXPECT_TRUE(std::regex_search(d.log(), std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info  )")))
      << d.log();
}

// The shipped unit with ExecStart pointing at the heraldd just built, since
// verify checks the program exists.
std::string unit_copy(const test::TempDir& dir) {
  std::string unit = test::read_file(HERALD_SOURCE_DIR "/config/systemd/herald.service");
  const std::string installed = "/usr/bin/heraldd";
  const size_t at = unit.find("ExecStart=" + installed);
  if (at == std::string::npos) throw std::runtime_error("no ExecStart=/usr/bin/heraldd in herald.service");
  unit.replace(at + 10, installed.size(), HERALDD_PATH);
  test::write_file(dir.file("herald.service"), unit);
  return dir.file("herald.service");
}

bool have_systemd_analyze() {
  return test::run_process("sh -c 'command -v systemd-analyze'", 10).exit_code == 0;
}

TEST(SystemdUnit, VerifiesCleanly) {
  if (!have_systemd_analyze()) GTEST_SKIP() << "systemd-analyze is not installed";
  test::TempDir dir;
  auto r = test::run_process("systemd-analyze verify " + unit_copy(dir), 60);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
}

TEST(SystemdUnit, ExposureIsOkOrBetter) {
  if (!have_systemd_analyze()) GTEST_SKIP() << "systemd-analyze is not installed";
  test::TempDir dir;
  const std::string unit = unit_copy(dir);
  auto r = test::run_process("systemd-analyze security --offline=true " + unit, 60);
  if (r.output.find("--offline") != std::string::npos && r.exit_code != 0) {
    GTEST_SKIP() << "this systemd-analyze has no --offline (systemd < 252): " << r.output;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m,
                                std::regex(R"(Overall exposure level for herald\.service: ([0-9.]+) (\w+))")))
      << r.output;
  EXPECT_LE(std::stod(m[1]), 4.9) << r.output;
  EXPECT_THAT((std::vector<std::string>{"OK", "SAFE"}), ::testing::Contains(m[2].str())) << r.output;
}

}  // namespace
}  // namespace herald
