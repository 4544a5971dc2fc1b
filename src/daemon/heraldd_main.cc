// heraldd: the Herald notification daemon.
#include <cstring>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/logging.h"
#include "daemon/daemon.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: heraldd --config FILE [--drain] [--log-level LEVEL]\n"
         "  --config FILE      the TOML configuration (required)\n"
         "  --drain            process everything due now, then exit 0\n"
         "  --log-level LEVEL  trace, debug, info, warn or error (overrides [daemon] log_level)\n"
         "  --version          print the version and exit\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, log_level;
  herald::daemon::DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--drain") {
      options.drain = true;
    } else if (a == "--log-level" && i + 1 < argc) {
      log_level = argv[++i];
    } else if (a == "--version") {
      std::cout << "heraldd " << HERALD_VERSION << "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else {
      std::cerr << "heraldd: unknown argument '" << a << "'\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (config_path.empty()) {
    usage(std::cerr);
    return 2;
  }
  herald::setup_logging(log_level.empty() ? "info" : log_level);

  boost::asio::io_context io;
  auto daemon = herald::daemon::Daemon::create(io, config_path, options);
  if (!daemon) {
    spdlog::error("{}", daemon.error().message);
    return 1;
  }
  if (log_level.empty()) herald::setup_logging(daemon.value()->runtime().config().log_level);
  if (auto s = daemon.value()->start(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }

  if (!options.drain) daemon.value()->watch_configuration();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          // A refused reload is logged by reload() and leaves the running set in place.
          spdlog::info("SIGHUP: reloading {}", config_path);
          (void)daemon.value()->reload();
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("{}: stopping", strsignal(sig));
        daemon.value()->stop([&] { io.stop(); });
      };
  signals.async_wait(on_signal);
  io.run();
  return 0;
}
