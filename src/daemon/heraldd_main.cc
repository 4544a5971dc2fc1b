// heraldd: the Herald notification daemon.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admin/admin_server.h"
#include "common/logging.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/service_notifier.h"

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
  std::unique_ptr<herald::daemon::Daemon> daemon;
  int exit_code = 0;
  // systemd: READY/RELOADING/STOPPING, STATUS and the watchdog. A drain run is
  // a one-shot job, not a service, and its loop must be able to run dry.
  herald::daemon::ServiceNotifier notifier(io);
  auto status_text = [&]() -> std::string {
    if (!daemon) return {};
    auto text = daemon->status_now();
    return text ? text.value() : std::string();
  };
  // While heraldd waits for its producer, the admin listener already answers,
  // with the reason (503 on /healthz, 500 on /metrics), rather than refusing
  // connections: a probe then tells "waiting for X" from "not running".
  std::unique_ptr<herald::admin::AdminServer> waiting_admin;
  std::string waiting_listen;
  auto waiting_reason = std::make_shared<std::string>();
  auto listen_while_waiting = [&](const std::string& reason) {
    *waiting_reason = "waiting: " + reason;
    auto cfg = herald::config::load(config_path);
    if (!cfg || !cfg->admin.enabled()) {
      waiting_admin.reset();
      return;
    }
    if (waiting_admin && waiting_listen == cfg->admin.listen) return;
    waiting_admin.reset();
    herald::admin::AdminHandlers handlers;
    handlers.health = [waiting_reason]() -> herald::Status { return herald::Error{*waiting_reason}; };
    handlers.metrics = [waiting_reason](herald::admin::AdminHandlers::MetricsReply reply) {
      reply(herald::Error{*waiting_reason});
    };
    auto server =
        herald::admin::AdminServer::start(io, cfg->admin.host, cfg->admin.port, std::move(handlers));
    if (!server) {
      spdlog::error("{}: [admin] listen = \"{}\": {}", config_path, cfg->admin.listen,
                    server.error().message);
      return;
    }
    waiting_admin = std::move(server.value());
    waiting_listen = cfg->admin.listen;
    spdlog::info("admin listener on port {} answers 503 until heraldd has started", waiting_admin->port());
  };
  // A producer database that is missing or locked at start may appear or
  // clear: wait for it (backing off up to 30 s) instead of exiting.
  boost::asio::steady_timer retry(io);
  std::chrono::seconds backoff(1);
  std::function<void()> try_start = [&] {
    auto created = herald::daemon::Daemon::create(io, config_path, options);
    if (!created) {
      if (created.error().transient && !options.drain) {
        spdlog::error("{}; trying again in {} s", created.error().message, backoff.count());
        // Up and waiting is a state systemd should see as started: a package
        // installed before its producer must not fail to start.
        notifier.ready("waiting: " + created.error().message);
        listen_while_waiting(created.error().message);
        retry.expires_after(backoff);
        backoff = std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(30));
        retry.async_wait([&](const boost::system::error_code& ec) {
          if (!ec) try_start();
        });
        return;
      }
      spdlog::error("{}", created.error().message);
      exit_code = 1;
      io.stop();
      return;
    }
    waiting_admin.reset();  // the daemon's own listener takes over the address
    daemon = std::move(created.value());
    if (log_level.empty()) herald::setup_logging(daemon->runtime().config().log_level);
    if (auto s = daemon->start(); !s) {
      spdlog::error("{}", s.error().message);
      exit_code = 1;
      io.stop();
      return;
    }
    if (!options.drain) daemon->watch_configuration();
    // systemd hears of every reload, a SIGHUP's or an edited file's.
    daemon->set_reload_hooks({[&] { notifier.reloading(); },
                              [&](const herald::Status& reloaded) {
                                notifier.ready(reloaded
                                                   ? status_text()
                                                   : "reload refused, the running configuration stays: " +
                                                         reloaded.error().message);
                              }});
    notifier.ready(status_text());
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          if (daemon) {
            // A refused reload is logged by reload() and leaves the running set in place.
            spdlog::info("SIGHUP: reloading {}", config_path);
            (void)daemon->reload();
          } else {
            retry.cancel();
            backoff = std::chrono::seconds(1);
            try_start();
          }
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("{}: stopping", strsignal(sig));
        notifier.stopping();
        retry.cancel();
        if (daemon) {
          daemon->stop([&] { io.stop(); });
        } else {
          io.stop();
        }
      };
  signals.async_wait(on_signal);
  if (!options.drain) {
    notifier.start_watchdog();
    notifier.start_status([&](std::function<void(std::string)> reply) {
      if (!daemon) return reply({});
      daemon->status_later(std::move(reply));
    });
  }
  // Signals are caught from here on: a SIGTERM during start is a clean stop.
  try_start();
  if (exit_code == 0) io.run();
  return exit_code;
}
