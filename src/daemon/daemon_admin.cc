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

std::string status_line(size_t in_flight, int64_t pending, int64_t waiting) {
  return std::to_string(in_flight) + " in flight, " + std::to_string(pending) + " pending, " +
         std::to_string(waiting) + " waiting for a retry";
}

struct Owed {
  Result<int64_t> pending = int64_t{0};
  Result<int64_t> waiting = int64_t{0};
};

Owed count_owed(state::StateStore& store) {
  return {store.count_in(state::State::Pending), store.count_in(state::State::Waiting)};
}

}  // namespace

Result<std::string> Daemon::status_now() {
  Owed owed = count_owed(store_);
  if (!owed.pending) return owed.pending.error();
  if (!owed.waiting) return owed.waiting.error();
  return status_line(in_flight_, owed.pending.value(), owed.waiting.value());
}

void Daemon::status_later(std::function<void(std::string)> reply) {
  worker_->post([](state::StateStore& store) { return count_owed(store); },
                [this, reply = std::move(reply)](Owed owed) {
                  if (!owed.pending || !owed.waiting) return reply({});
                  reply(status_line(in_flight_, owed.pending.value(), owed.waiting.value()));
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
