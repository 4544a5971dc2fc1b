#include "admin/herald_metrics.h"

#include <algorithm>
#include <set>

namespace herald::admin {
namespace {

// Seconds: from a fast local receiver to retries a day apart.
const std::vector<double> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,    2.5,   5,
                                             10,    30,   60,    300,  600, 1800, 3600, 7200, 21600, 86400};
// One request: bounded by the endpoint's timeout (30 s by default).
const std::vector<double> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                              1,     2.5,  5,     10,   30,  60};

}  // namespace

HeraldMetrics::HeraldMetrics() {
  auto& r = registry_;
  r.gauge("herald_build_info", "Herald's version; always 1.");
  r.counter("herald_events_ingested_total", "Outbox rows ingested (rejected ones not included).");
  r.counter("herald_events_rejected_total",
            "Outbox rows that could not be read and were recorded as rejected.");
  r.counter("herald_notifications_created_total", "Notifications created by ingest.");
  r.gauge("herald_notifications", "Notifications in the state database, by endpoint and state.");
  r.counter("herald_attempts_total",
            "Delivery attempts finished, by endpoint and outcome (delivered, retry, failed).");
  r.counter("herald_attempt_responses_total",
            "Finished attempts that got a response, by endpoint, protocol (http, smtp) and status class (2xx "
            "... 5xx).");
  r.counter("herald_attempt_errors_total",
            "Attempts that did not deliver, by endpoint and error class (dns, connect, tls, timeout, "
            "protocol, http, "
            "smtp, render, build, auth, ...).");
  r.histogram("herald_delivery_latency_seconds",
              "Seconds from a notification's creation to its delivery, retries included, by endpoint.",
              kLatencyBuckets);
  r.histogram("herald_attempt_duration_seconds", "Seconds one attempt took, by endpoint.", kDurationBuckets);
  r.gauge("herald_oldest_waiting_seconds",
          "Age of the oldest notification still owed to an endpoint (pending, held, waiting or in flight); "
          "0 when none.");
  r.gauge("herald_in_flight", "Attempts on the network now.");
  r.counter("herald_reloads_total", "Configuration reloads applied since start.");
  r.counter("herald_schedule_runs_total", "Schedule runs, by schedule and outcome (ok, error).");
  r.counter("herald_schedule_events_total", "Events emitted by schedules, by schedule.");

  r.set("herald_build_info", {{"version", HERALD_VERSION}}, 1);
  // Label-less series exist from the start, so rates work from the first scrape.
  r.add("herald_events_ingested_total", {}, 0);
  r.add("herald_events_rejected_total", {}, 0);
  r.add("herald_notifications_created_total", {}, 0);
}

void HeraldMetrics::ingested(uint64_t accepted, uint64_t rejected, uint64_t notifications) {
  registry_.add("herald_events_ingested_total", {}, static_cast<double>(accepted));
  registry_.add("herald_events_rejected_total", {}, static_cast<double>(rejected));
  registry_.add("herald_notifications_created_total", {}, static_cast<double>(notifications));
}

void HeraldMetrics::schedule_run(const std::string& schedule, bool ok, uint64_t events) {
  registry_.add("herald_schedule_runs_total", {{"schedule", schedule}, {"outcome", ok ? "ok" : "error"}});
  registry_.add("herald_schedule_events_total", {{"schedule", schedule}}, static_cast<double>(events));
}

HeraldMetrics::EndpointSeries& HeraldMetrics::series(const std::string& endpoint) {
  auto found = endpoints_.find(endpoint);
  if (found != endpoints_.end()) return found->second;
  EndpointSeries& s = endpoints_[endpoint];
  s.duration = registry_.histogram_series("herald_attempt_duration_seconds", {{"endpoint", endpoint}});
  return s;
}

void HeraldMetrics::attempt(const state::NotificationRow& row, const state::AttemptRow& a,
                            const std::string& protocol) {
  const std::string& ep = row.endpoint;
  EndpointSeries& s = series(ep);
  auto outcome = s.outcomes.find(a.outcome);
  if (outcome == s.outcomes.end()) {
    outcome = s.outcomes
                  .emplace(a.outcome, registry_.counter_series("herald_attempts_total",
                                                               {{"endpoint", ep}, {"outcome", a.outcome}}))
                  .first;
  }
  ++*outcome->second;
  if (a.http_status && *a.http_status >= 100 && *a.http_status <= 599) {
    const bool smtp = protocol == "SMTP";
    const int cls = static_cast<int>(*a.http_status / 100);
    double*& response = s.responses[static_cast<size_t>((smtp ? 5 : 0) + cls - 1)];
    if (!response) {
      response = registry_.counter_series(
          "herald_attempt_responses_total",
          {{"endpoint", ep}, {"protocol", smtp ? "smtp" : "http"}, {"class", std::to_string(cls) + "xx"}});
    }
    ++*response;
  }
  if (!a.error_class.empty()) {
    registry_.add("herald_attempt_errors_total", {{"endpoint", ep}, {"class", a.error_class}});
  }
  Registry::observe(s.duration, static_cast<double>(a.finished_at - a.started_at) / 1000.0);
  if (a.outcome == "delivered") {
    if (!s.latency) {
      s.latency = registry_.histogram_series("herald_delivery_latency_seconds", {{"endpoint", ep}});
    }
    Registry::observe(s.latency,
                      static_cast<double>(std::max<int64_t>(0, a.finished_at - row.created_at)) / 1000.0);
  }
}

std::string HeraldMetrics::scrape(const std::vector<state::EndpointStatus>& status, const Snapshot& s) {
  registry_.reset("herald_notifications");
  registry_.reset("herald_oldest_waiting_seconds");
  // Configured endpoints and those the database still holds rows for (e.g. removed from the configuration).
  std::set<std::string> endpoints(s.endpoints.begin(), s.endpoints.end());
  for (const auto& e : status) endpoints.insert(e.endpoint);
  for (const auto& ep : endpoints) {
    const state::EndpointStatus* found = nullptr;
    for (const auto& e : status) {
      if (e.endpoint == ep) found = &e;
    }
    for (state::State state : state::kAllStates) {
      const char* st = state::to_string(state);
      double n = 0;
      if (found) {
        auto it = found->counts.find(st);
        if (it != found->counts.end()) n = static_cast<double>(it->second);
      }
      registry_.set("herald_notifications", {{"endpoint", ep}, {"state", st}}, n);
    }
    double oldest = found ? static_cast<double>(found->oldest_waiting_ms) / 1000.0 : 0;
    registry_.set("herald_oldest_waiting_seconds", {{"endpoint", ep}}, oldest);
  }
  registry_.set("herald_in_flight", {}, static_cast<double>(s.in_flight));
  registry_.set("herald_reloads_total", {}, static_cast<double>(s.reloads));
  return registry_.render();
}

}  // namespace herald::admin
