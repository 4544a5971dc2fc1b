// The Daemon's side of the admin listener: starting it, and what /metrics
// and /healthz read.
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"

namespace herald::daemon {

Status Daemon::start_admin() {
  const auto& cfg = runtime_->config().admin;
  // A --drain run next to the running daemon must not fight it for the port.
  if (!cfg.enabled() || options_.drain || admin_) return {};
  admin::AdminHandlers handlers;
  handlers.metrics = [this](admin::AdminHandlers::MetricsReply reply) { scrape_metrics(std::move(reply)); };
  handlers.health = [this] { return health(); };
  auto server = admin::AdminServer::start(io_, cfg.host, cfg.port, std::move(handlers));
  if (!server)
    return Error{runtime_->config().path + ": [admin] listen = \"" + cfg.listen +
                 "\": " + server.error().message};
  admin_ = std::move(server.value());
  const bool v6 = cfg.host.find(':') != std::string::npos;
  spdlog::info("admin listener on {}:{} (GET /metrics, /healthz)", v6 ? "[" + cfg.host + "]" : cfg.host,
               admin_->port());
  return {};
}

void Daemon::scrape_metrics(admin::AdminHandlers::MetricsReply reply) {
  // The count reads every row (about 0.65 s a million on the test machine):
  // on the loop it would stop deliveries for that long at every scrape.
  const int64_t now = now_ms();
  worker_->post([now](state::StateStore& store) { return store.endpoint_status(now); },
                [this, now, reply = std::move(reply)](Result<std::vector<state::EndpointStatus>> status) {
                  if (!status) {
                    return reply(Error{runtime_->config().state_db + ": " + status.error().message});
                  }
                  admin::HeraldMetrics::Snapshot s;
                  for (const auto& [name, ep] : runtime_->config().endpoints) s.endpoints.push_back(name);
                  s.in_flight = in_flight_;
                  s.reloads = reloads_;
                  s.now_ms = now;
                  reply(metrics_.scrape(status.value(), s));
                });
}

namespace {

struct Owed {
  Result<int64_t> pending = int64_t{0};
  Result<int64_t> waiting = int64_t{0};
  Result<int64_t> held = int64_t{0};
  std::optional<Error> error() const {
    for (const auto* r : {&pending, &waiting, &held}) {
      if (!*r) return r->error();
    }
    return std::nullopt;
  }
};

// Each count reads an index of that state alone.
Owed count_owed(state::StateStore& store) {
  return {store.count_in(state::State::Pending), store.count_in(state::State::Waiting),
          store.count_in(state::State::Held)};
}

std::string status_line(size_t in_flight, const Owed& owed) {
  std::string line =
      std::to_string(in_flight) + " in flight, " + std::to_string(owed.pending.value()) + " pending, ";
  if (owed.held.value() > 0) line += std::to_string(owed.held.value()) + " held in order, ";
  return line + std::to_string(owed.waiting.value()) + " waiting for a retry";
}

}  // namespace

Result<std::string> Daemon::status_now() {
  Owed owed = count_owed(store_);
  if (auto e = owed.error()) return *e;
  return status_line(in_flight_, owed);
}

void Daemon::status_later(std::function<void(std::string)> reply) {
  worker_->post([](state::StateStore& store) { return count_owed(store); },
                [this, reply = std::move(reply)](Owed owed) {
                  if (owed.error()) return reply({});
                  reply(status_line(in_flight_, owed));
                });
}

Status Daemon::health() {
  // Answering at all means the loop runs; the state database must answer too.
  if (stopping_) return Error{"stopping"};
  if (auto s = store_.probe(); !s) {
    return Error{"state database " + runtime_->config().state_db + ": " + s.error().message};
  }
  return {};
}

}  // namespace herald::daemon
