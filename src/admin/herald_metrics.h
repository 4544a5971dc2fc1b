// heraldd's metrics: what the daemon counts as it works, and the gauges read
// from the state database at each scrape. Names and labels are listed in
// docs/operations.md ("Metrics and health").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "admin/metrics.h"
#include "common/result.h"
#include "state/state_store.h"

namespace herald::admin {

class HeraldMetrics {
 public:
  HeraldMetrics();
  HeraldMetrics(const HeraldMetrics&) = delete;  // holds handles into its registry
  HeraldMetrics& operator=(const HeraldMetrics&) = delete;

  // One ingest transaction: outbox rows taken and rejected, notifications created.
  void ingested(uint64_t accepted, uint64_t rejected, uint64_t notifications);
  // One run of a schedule and the events it emitted.
  void schedule_run(const std::string& schedule, bool ok, uint64_t events);
  // An attempt whose result the state database has taken (counted once).
  void attempt(const state::NotificationRow& row, const state::AttemptRow& attempt,
               const std::string& protocol);

  // What only the daemon knows at scrape time.
  struct Snapshot {
    std::vector<std::string> endpoints;  // configured ones, so that idle endpoints show zeros
    size_t in_flight = 0;
    uint64_t reloads = 0;
    int64_t now_ms = 0;
  };
  // Refreshes the gauges from what StateStore::endpoint_status read (one
  // grouped COUNT over the state database, run on the state worker) and the
  // snapshot, and renders everything.
  std::string scrape(const std::vector<state::EndpointStatus>& status, const Snapshot& snapshot);

  const Registry& registry() const { return registry_; }

 private:
  // One endpoint's series that every attempt updates, found once.
  struct EndpointSeries {
    std::map<std::string, double*, std::less<>> outcomes;
    std::array<double*, 10> responses{};  // http 1xx..5xx, then smtp 1xx..5xx
    Registry::Histogram* duration = nullptr;
    Registry::Histogram* latency = nullptr;  // from the first delivery on
  };
  EndpointSeries& series(const std::string& endpoint);

  Registry registry_;
  std::unordered_map<std::string, EndpointSeries> endpoints_;
};

}  // namespace herald::admin
