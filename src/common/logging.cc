#include "common/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace herald {

namespace {

// The syslog priority journald reads from the start of each line (sd-daemon.h SD_ERR ...).
class SyslogPriority : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* p = "<6>";
    switch (msg.level) {
      case spdlog::level::critical:
        p = "<2>";
        break;
      case spdlog::level::err:
        p = "<3>";
        break;
      case spdlog::level::warn:
        p = "<4>";
        break;
      case spdlog::level::info:
        p = "<6>";
        break;
      default:
        p = "<7>";
        break;
    }
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriority>(); }
};

}  // namespace

bool stderr_is_journal() {
  // systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected; a child
  // whose stderr was redirected elsewhere inherits the variable but not the stream.
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void setup_logging(const std::string& level) {
  spdlog::drop("herald");
  auto logger = spdlog::stderr_logger_mt("herald");
  if (stderr_is_journal()) {
    // The journal stamps each line itself and keeps the level from the prefix.
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SyslogPriority>('*').set_pattern("%*%v");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
  spdlog::set_default_logger(logger);
  auto lvl = spdlog::level::from_str(level);
  spdlog::set_level(lvl == spdlog::level::off ? spdlog::level::info : lvl);
  spdlog::flush_on(spdlog::level::trace);
}

}  // namespace herald
