#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace herald {

void setup_logging(const std::string& level) {
  spdlog::drop("herald");
  auto logger = spdlog::stderr_logger_mt("herald");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_default_logger(logger);
  auto lvl = spdlog::level::from_str(level);
  spdlog::set_level(lvl == spdlog::level::off ? spdlog::level::info : lvl);
  spdlog::flush_on(spdlog::level::trace);
}

}  // namespace herald
