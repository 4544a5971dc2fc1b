#include "daemon/daemon.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/targets.h"
#include "delivery/message.h"

namespace herald::daemon {

using namespace std::chrono_literals;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Daemon::Daemon(boost::asio::io_context& io, std::shared_ptr<Runtime> runtime, state::StateStore store,
               DaemonOptions options)
    : io_(io),
      runtime_(std::move(runtime)),
      store_(std::move(store)),
      options_(options),
      http_(io),
      watcher_(io, runtime_->config().outbox_db, runtime_->config().poll_interval,
               [this] { schedule_ingest(); }),
      dispatch_timer_(io),
      retry_ingest_timer_(io),
      stop_timer_(io),
      reload_timer_(io),
      config_watcher_(io, [this] {
        // Editors write in several steps: wait for the burst to settle.
        reload_timer_.expires_after(300ms);
        reload_timer_.async_wait([this](boost::system::error_code ec) {
          if (!ec) (void)reload();
        });
      }) {}

Daemon::~Daemon() {
  stopping_ = true;
  watcher_.stop();
  dispatch_timer_.cancel();
  retry_ingest_timer_.cancel();
  stop_timer_.cancel();
  reload_timer_.cancel();
  config_watcher_.stop();
}

Status Daemon::reload() {
  const std::string path = runtime_->config().path;
  auto fresh = Runtime::load(path);
  if (!fresh) {
    spdlog::error("reload refused, the running configuration stays: {}", fresh.error().message);
    return fresh.error();
  }
  std::shared_ptr<Runtime> next = std::move(fresh.value());
  // Herald's own files and the producer's database are tied to the cursor
  // and the open connections: changing them needs a restart.
  if (next->config().state_db != runtime_->config().state_db ||
      next->config().outbox_db != runtime_->config().outbox_db) {
    std::string msg =
        "reload refused: [daemon] state_db and [outbox] database cannot change while heraldd runs; "
        "restart instead";
    spdlog::error("{}", msg);
    return Error{msg};
  }
  for (const auto& w : next->config().warnings) spdlog::warn("{}", w);
  runtime_ = std::move(next);
  ++reloads_;
  if (config_watched_) watch_configuration();
  spdlog::info("configuration reloaded from {}: {} endpoint(s), {} notification(s)", path,
               runtime_->config().endpoints.size(), runtime_->config().notifications.size());
  schedule_ingest();
  schedule_dispatch();
  return {};
}

void Daemon::watch_configuration() {
  config_watched_ = true;
  std::vector<std::string> files = {runtime_->config().path};
  for (const auto& n : runtime_->config().notifications) {
    for (const std::string* f : {&n.mapping, &n.script, &n.recipients.script}) {
      if (!f->empty()) files.push_back(*f);
    }
  }
  if (!config_watcher_.watch(files)) spdlog::warn("cannot watch the configuration files; reload with SIGHUP");
}

Result<std::unique_ptr<Daemon>> Daemon::create(boost::asio::io_context& io, const std::string& config_path,
                                               DaemonOptions options) {
  auto rt = Runtime::load(config_path);
  if (!rt) return rt.error();
  auto store = state::StateStore::open(rt.value()->config().state_db);
  if (!store) return Error{rt.value()->config().state_db + ": " + store.error().message};
  return std::make_unique<Daemon>(io, std::move(rt.value()), std::move(store.value()), options);
}

Status Daemon::start() {
  for (const auto& w : runtime_->config().warnings) spdlog::warn("{}", w);
  auto cursor = store_.cursor(runtime_->outbox().source());
  if (!cursor) return cursor.error();
  cursor_ = cursor.value();
  auto recovered = store_.recover_in_flight(now_ms());
  if (!recovered) return recovered.error();
  if (recovered.value() > 0) {
    spdlog::warn("{} notification(s) were in flight when Herald last stopped; they will be sent again",
                 recovered.value());
  }
  if (!options_.drain) watcher_.start();
  schedule_ingest();
  schedule_dispatch();
  spdlog::info("herald {} started: {} endpoint(s), {} notification(s), outbox {} after id {}", HERALD_VERSION,
               runtime_->config().endpoints.size(), runtime_->config().notifications.size(),
               runtime_->config().outbox_db, cursor_);
  return {};
}

void Daemon::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  on_stopped_ = std::move(done);
  watcher_.stop();
  dispatch_timer_.cancel();
  retry_ingest_timer_.cancel();
  if (in_flight_ > 0) {
    spdlog::info("stopping: waiting up to {} ms for {} attempt(s) in flight",
                 runtime_->config().shutdown_grace.count(), in_flight_);
    stop_timer_.expires_after(runtime_->config().shutdown_grace);
    stop_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      spdlog::warn("stopping: {} attempt(s) still in flight; they will be sent again at the next start",
                   in_flight_);
      maybe_finish_stop();
    });
  }
  maybe_finish_stop();
}

void Daemon::maybe_finish_stop() {
  if (!stopping_ || !on_stopped_) return;
  if (in_flight_ > 0 && stop_timer_.expiry() > std::chrono::steady_clock::now()) return;
  stop_timer_.cancel();
  auto done = std::move(on_stopped_);
  on_stopped_ = nullptr;
  boost::asio::post(io_, std::move(done));
}

void Daemon::schedule_ingest() {
  if (ingest_scheduled_ || stopping_) return;
  ingest_scheduled_ = true;
  boost::asio::post(io_, [this] { ingest(); });
}

void Daemon::ingest() {
  ingest_scheduled_ = false;
  if (stopping_) return;
  const auto& cfg = runtime_->config();
  auto rows = runtime_->outbox().read_after(cursor_, cfg.batch_size);
  auto retry_later = [this](const std::string& what) {
    spdlog::error("{}; retrying in 1s", what);
    retry_ingest_timer_.expires_after(1s);
    retry_ingest_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) schedule_ingest();
    });
  };
  if (!rows) return retry_later(rows.error().message);
  if (rows->empty()) {
    ingest_caught_up_ = true;
    check_drained();
    return;
  }
  std::vector<state::IngestItem> items;
  items.reserve(rows->size());
  for (auto& row : rows.value()) {
    state::IngestItem item;
    item.event = std::move(row.event);
    if (!row.error.empty()) {
      item.rejected_reason = row.error;
      spdlog::warn("outbox row {} rejected: {}", item.event.id, row.error);
      items.push_back(std::move(item));
      continue;
    }
    std::vector<std::string> warnings;
    auto targets = targets_for(*runtime_, item.event, warnings);
    for (const auto& w : warnings) spdlog::warn("{}", w);
    // A busy producer database clears by itself: ingest this batch again later.
    if (!targets) return retry_later(targets.error().message);
    item.targets = std::move(targets.value());
    items.push_back(std::move(item));
  }
  int64_t last_id = items.back().event.id;
  auto created = store_.ingest(runtime_->outbox().source(), last_id, items, now_ms());
  if (!created) return retry_later(cfg.state_db + ": ingest: " + created.error().message);
  cursor_ = last_id;
  spdlog::debug("ingested outbox rows up to id {}: {} notification(s)", last_id, created.value());
  if (created.value() > 0) schedule_dispatch();
  if (static_cast<int>(rows->size()) == cfg.batch_size) {
    schedule_ingest();
  } else {
    ingest_caught_up_ = true;
    check_drained();
  }
}

void Daemon::schedule_dispatch() {
  if (dispatch_scheduled_ || stopping_) return;
  dispatch_scheduled_ = true;
  boost::asio::post(io_, [this] { dispatch(); });
}

void Daemon::dispatch() {
  dispatch_scheduled_ = false;
  if (stopping_) return;
  int capacity = runtime_->config().max_in_flight - static_cast<int>(in_flight_);
  if (capacity > 0) {
    auto rows = store_.claim_due(now_ms(), capacity);
    if (!rows) {
      spdlog::error("{}: claiming due notifications: {}", runtime_->config().state_db, rows.error().message);
    } else {
      for (auto& row : rows.value()) start_attempt(std::move(row));
    }
  }
  arm_dispatch_timer();
  check_drained();
}

void Daemon::arm_dispatch_timer() {
  // When full, a completing attempt triggers the next dispatch instead.
  if (stopping_ || in_flight_ >= static_cast<size_t>(runtime_->config().max_in_flight)) return;
  auto next = store_.next_due_at();
  if (!next) {
    spdlog::error("{}: {}", runtime_->config().state_db, next.error().message);
    return;
  }
  if (!next.value()) {
    dispatch_timer_.cancel();
    return;
  }
  auto delay = std::chrono::milliseconds(std::max<int64_t>(0, *next.value() - now_ms()));
  dispatch_timer_.expires_after(delay);
  dispatch_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) schedule_dispatch();
  });
}

void Daemon::start_attempt(state::NotificationRow row) {
  int64_t started = now_ms();
  auto event = store_.event(row.event_id);
  if (!event || !event.value()) {
    finish(row, started,
           {HERALD_OUTCOME_FAILED, "event " + std::to_string(row.event_id) + " is missing", "state"});
    return;
  }
  const config::EndpointConfig* endpoint = runtime_->endpoint(row.endpoint);
  plugin::Channel* channel = runtime_->channel(row.endpoint);
  if (!endpoint || !channel) {
    finish(row, started,
           {HERALD_OUTCOME_FAILED, "endpoint '" + row.endpoint + "' is no longer configured", "config"});
    return;
  }

  delivery::Rendered rendered;
  if (row.payload) {
    auto r = delivery::Rendered::from_json(*row.payload);
    if (!r) return finish(row, started, {HERALD_OUTCOME_FAILED, r.error().message, "state"});
    rendered = std::move(r.value());
  } else {
    const auto* ncfg = runtime_->config().find_notification(row.notification);
    mapping::Mapping* mapping = ncfg ? runtime_->mapping_for(row.notification) : nullptr;
    nlohmann::json extra = {{"Rule", row.rule.is_object() ? row.rule : nlohmann::json::object()}};
    auto r = delivery::render(*endpoint, mapping, *event.value(), &extra);
    if (!r) {
      // A producer database that is locked or unreachable may recover; a
      // mapping that cannot produce this message will not.
      auto outcome = r.error().transient ? HERALD_OUTCOME_RETRY : HERALD_OUTCOME_FAILED;
      return finish(row, started, {outcome, "render: " + r.error().message, "render"});
    }
    rendered = std::move(r.value());
    if (auto s = store_.save_payload(row.id, rendered.to_json().dump()); !s) {
      spdlog::error("notification {}: saving its payload: {}", row.id, s.error().message);
    }
  }

  auto message =
      std::make_shared<delivery::Message>(row.id, row.message_id, static_cast<uint32_t>(row.attempts + 1),
                                          row.notification, rendered, *event.value());
  auto built = channel->build(message->get());
  if (built.result == HERALD_BUILD_RETRY) {
    return finish(row, started, {HERALD_OUTCOME_RETRY, "build: " + built.error, "build"});
  }
  if (built.result != HERALD_BUILD_OK) {
    return finish(row, started, {HERALD_OUTCOME_FAILED, "build: " + built.error, "build"});
  }

  net::HttpRequest req;
  req.method = std::move(built.request.method);
  req.url = std::move(built.request.url);
  req.headers = std::move(built.request.headers);
  req.headers.emplace_back("User-Agent", std::string("herald/") + HERALD_VERSION);
  req.headers.insert(req.headers.end(), endpoint->headers.begin(), endpoint->headers.end());
  req.body = std::move(built.request.body);
  req.basic_auth = std::move(built.request.basic_auth);
  req.timeout = endpoint->timeout;
  req.connect_timeout = endpoint->connect_timeout;
  req.tls_verify = endpoint->tls_verify;
  req.ca_file = endpoint->ca_file;
  req.client_cert = endpoint->client_cert;
  req.client_key = endpoint->client_key;
  req.max_response_bytes = runtime_->config().max_response_bytes;

  ++in_flight_;
  http_.send(std::move(req), [this, row = std::move(row), started, message, channel,
                              keep_alive = runtime_](net::HttpResponse resp) {
    // The channel and endpoint belong to the runtime the attempt started
    // with, which stays alive until here even across a reload.
    const config::EndpointConfig& ep = *keep_alive->endpoint(row.endpoint);
    --in_flight_;
    herald_response hr{};
    hr.struct_size = sizeof hr;
    hr.http_status = resp.status;
    hr.transport_error = resp.transport_error;
    hr.error_text = resp.error.c_str();
    hr.body = resp.body.c_str();
    hr.body_size = resp.body.size();
    auto judged = channel->classify(message->get(), hr);
    AttemptResult result;
    result.outcome = override_outcome(ep, resp.status, judged.outcome);
    result.error = resp.transport_error ? resp.error : judged.note;
    if (result.error.empty() && result.outcome != HERALD_OUTCOME_DELIVERED) {
      result.error = "HTTP " + std::to_string(resp.status);
    }
    result.error_class = resp.transport_error                         ? net::transport_error_class(resp)
                         : result.outcome != HERALD_OUTCOME_DELIVERED ? "http"
                                                                      : "";
    if (resp.status) result.status = resp.status;
    result.response = std::move(resp.body);
    if (auto wait = net::retry_after(resp, std::chrono::system_clock::now())) {
      result.retry_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count();
    }
    finish(row, started, std::move(result));
    if (stopping_) {
      maybe_finish_stop();
    } else {
      schedule_dispatch();
    }
  });
}

herald_outcome override_outcome(const config::EndpointConfig& endpoint, long status, herald_outcome judged) {
  if (status == 0 || endpoint.outcomes.empty()) return judged;
  std::string code = std::to_string(status);
  auto it = endpoint.outcomes.find(code);
  if (it == endpoint.outcomes.end()) it = endpoint.outcomes.find(code.substr(0, 1) + "xx");
  if (it == endpoint.outcomes.end()) return judged;
  return it->second == "delivered" ? HERALD_OUTCOME_DELIVERED
         : it->second == "retry"   ? HERALD_OUTCOME_RETRY
                                   : HERALD_OUTCOME_FAILED;
}

void Daemon::finish(const state::NotificationRow& row, int64_t started_ms, AttemptResult result) {
  herald_outcome outcome = result.outcome;
  const std::optional<long>& status = result.status;
  const std::string& error = result.error;
  const auto& schedule = runtime_->config().retry_schedule;
  state::AttemptRow a;
  a.notification_id = row.id;
  a.number = row.attempts + 1;
  a.started_at = started_ms;
  a.finished_at = now_ms();
  if (status) a.http_status = *status;
  a.error = error;
  a.response = std::move(result.response);
  a.error_class = result.error_class;

  state::State next = state::State::Failed;
  std::optional<int64_t> next_at;
  std::string last_error = error;
  switch (outcome) {
    case HERALD_OUTCOME_DELIVERED:
      a.outcome = "delivered";
      next = state::State::Delivered;
      last_error.clear();
      break;
    case HERALD_OUTCOME_RETRY:
      a.outcome = "retry";
      if (static_cast<size_t>(a.number) <= schedule.size()) {
        next = state::State::Waiting;
        int64_t wait = schedule[a.number - 1].count();
        // The server may ask for a longer pause (Retry-After); honoured up
        // to [retry] retry_after_max.
        if (result.retry_after_ms && *result.retry_after_ms > wait) {
          wait = std::min<int64_t>(*result.retry_after_ms, runtime_->config().retry_after_max.count());
          wait = std::max<int64_t>(wait, schedule[a.number - 1].count());
        }
        next_at = a.finished_at + wait;
      } else {
        next = state::State::Failed;
        last_error = "gave up after " + std::to_string(a.number) + " attempts; last error: " + error;
      }
      break;
    default:
      a.outcome = "failed";
      next = state::State::Failed;
      break;
  }
  if (auto s = store_.finish_attempt(a, next, next_at, last_error); !s) {
    // The notification stays in_flight in the database and is sent again
    // after a restart: a duplicate at worst, never a loss.
    spdlog::error("notification {}: recording attempt {}: {}", row.id, a.number, s.error().message);
    return;
  }
  std::string status_text = status ? "HTTP " + std::to_string(*status) : "no HTTP status";
  if (next == state::State::Delivered) {
    spdlog::info("notification {} ({} -> {}) delivered: {} in {} ms", row.id, row.notification, row.endpoint,
                 status_text, a.finished_at - started_ms);
  } else if (next == state::State::Waiting) {
    spdlog::warn("notification {} ({} -> {}) attempt {} failed ({}): {}; next attempt in {} s", row.id,
                 row.notification, row.endpoint, a.number, status_text, error,
                 (*next_at - a.finished_at) / 1000);
  } else {
    spdlog::error("notification {} ({} -> {}) failed ({}): {}", row.id, row.notification, row.endpoint,
                  status_text, last_error);
  }
}

void Daemon::check_drained() {
  if (!options_.drain || stopping_ || !ingest_caught_up_ || in_flight_ > 0 || ingest_scheduled_ ||
      dispatch_scheduled_) {
    return;
  }
  auto next = store_.next_due_at();
  if (next && next.value() && *next.value() <= now_ms()) return;
  spdlog::info("drained: nothing in flight and nothing due");
  stopping_ = true;
  watcher_.stop();
  dispatch_timer_.cancel();
  retry_ingest_timer_.cancel();
  io_.stop();
}

}  // namespace herald::daemon
