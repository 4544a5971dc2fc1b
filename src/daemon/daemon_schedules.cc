// The Daemon's side of [[schedule]]: timers on the wall clock, runs at start
// (run_at_start, or a slot missed while Herald was down), and each run's rows
// turned into events once per period (docs/schedules.md).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/daemon.h"
#include "daemon/targets.h"

namespace herald::daemon {

using namespace std::chrono_literals;

namespace {

int64_t now_s() { return now_ms() / 1000; }

// A timer wakes at least this often to look at the wall clock, so that a
// suspend or a clock change does not leave a slot waiting on a stale delay.
constexpr auto kLongestSleep = 60s;
// A run the producer database refused (busy, locked) is tried again after this.
constexpr auto kRunRetry = 30s;
// Rows per state transaction.
constexpr size_t kEmitBatch = 500;

}  // namespace

void Daemon::start_schedules(bool at_start) {
  for (auto& [name, timer] : schedule_timers_) timer->cancel();
  schedule_timers_.clear();
  for (auto& s : runtime_->schedules()) {
    const std::string& name = s.config->name;
    schedule_timers_.emplace(name, std::make_unique<boost::asio::steady_timer>(io_));
    bool retrying = false;
    if (at_start) {
      const int64_t now = now_s();
      auto latest = s.timetable.latest_at_or_before(now);
      auto last = store_.schedule_last_slot(name);
      if (!last) {
        spdlog::error("schedule '{}': {}: {}", name, runtime_->config().state_db, last.error().message);
      } else if (s.config->run_at_start) {
        retrying = !run_schedule(name, now, latest.value_or(now), "run at start");
      } else if (last.value() && latest && *latest > *last.value()) {
        // However many slots went by, the schedule runs once, for the latest.
        retrying = !run_schedule(name, *latest, *latest, "missed while Herald was not running");
      } else if (!last.value() && latest) {
        // First sight: slots from here on count as missed when Herald is down.
        if (auto r = store_.record_schedule_run(name, *latest, now_ms(), 0); !r)
          spdlog::error("schedule '{}': {}", name, r.error().message);
      }
    }
    if (!retrying) arm_schedule(name);
  }
}

void Daemon::arm_schedule(const std::string& name) {
  if (options_.drain || stopping_) return;
  Schedule* s = runtime_->schedule(name);
  auto timer = schedule_timers_.find(name);
  if (!s || timer == schedule_timers_.end()) return;
  auto next = s->timetable.next_after(now_s());
  if (!next) {
    spdlog::warn("schedule '{}' has no slot in the coming years; it will not run", name);
    return;
  }
  wait_for_slot(name, *next);
}

void Daemon::wait_for_slot(const std::string& name, int64_t slot) {
  auto timer = schedule_timers_.find(name);
  if (timer == schedule_timers_.end()) return;
  auto wait = std::chrono::milliseconds(std::max<int64_t>(0, slot * 1000 - now_ms()));
  timer->second->expires_after(std::min<std::chrono::milliseconds>(wait, kLongestSleep));
  timer->second->async_wait([this, name, slot](boost::system::error_code ec) {
    if (ec || stopping_) return;
    if (now_ms() < slot * 1000) return wait_for_slot(name, slot);
    if (run_schedule(name, slot, slot, "scheduled")) arm_schedule(name);
  });
}

bool Daemon::run_schedule(const std::string& name, int64_t now, int64_t slot, const char* why) {
  Schedule* s = runtime_->schedule(name);
  if (!s) return true;
  const config::ScheduleConfig& sc = *s->config;
  // The run is tried again (same slot, same "now") while the databases
  // refuse it; its slot is recorded only once it went through.
  auto retry_later = [&](const std::string& what) {
    metrics_.schedule_run(name, false, 0);
    if (options_.drain || stopping_) {
      spdlog::error("schedule '{}' ({}): {}", name, why, what);
      return false;
    }
    spdlog::error("schedule '{}' ({}): {}; trying again in {} s", name, why, what, kRunRetry.count());
    auto timer = schedule_timers_.find(name);
    if (timer == schedule_timers_.end()) return false;
    std::string reason = why;
    timer->second->expires_after(kRunRetry);
    timer->second->async_wait([this, name, now, slot, reason](boost::system::error_code ec) {
      if (ec || stopping_) return;
      if (run_schedule(name, now, slot, reason.c_str())) arm_schedule(name);
    });
    return false;
  };

  auto rows = s->query.run(now);
  if (!rows) return retry_later(rows.error().message);
  if (rows->truncated) {
    spdlog::warn("schedule '{}': more than max_rows = {} rows matched; the rest wait for the next run", name,
                 sc.max_rows);
  }
  const auto period = s->timetable.period_of(now);
  int64_t events = 0, notifications = 0;
  auto& all = rows->events;
  for (size_t begin = 0; begin < all.size(); begin += kEmitBatch) {
    const size_t end = std::min(all.size(), begin + kEmitBatch);
    std::vector<std::string> keys;
    for (size_t i = begin; i < end; ++i) keys.push_back(all[i].keys.dump());
    // Rows already notified this period skip the recipient lookups too.
    auto seen = store_.emitted(name, period.key, keys);
    if (!seen) return retry_later(runtime_->config().state_db + ": " + seen.error().message);
    std::vector<state::ScheduledItem> items;
    for (size_t i = begin; i < end; ++i) {
      if (seen.value()[i - begin]) continue;
      state::ScheduledItem item;
      item.row_key = std::move(keys[i - begin]);
      item.item.event = all[i];
      std::vector<std::string> warnings;
      auto targets = targets_for(*runtime_, item.item.event, warnings);
      for (const auto& w : warnings) spdlog::warn("schedule '{}': {}", name, w);
      if (!targets) return retry_later(targets.error().message);
      item.item.targets = std::move(targets.value());
      items.push_back(std::move(item));
    }
    if (items.empty()) continue;
    auto emitted = store_.emit_scheduled(name, period.key, period.end_s * 1000, std::move(items), now_ms());
    if (!emitted) return retry_later(runtime_->config().state_db + ": " + emitted.error().message);
    events += emitted->events;
    notifications += emitted->notifications;
  }
  if (auto r = store_.record_schedule_run(name, slot, now_ms(), events); !r)
    spdlog::error("schedule '{}': {}: {}", name, runtime_->config().state_db, r.error().message);
  metrics_.schedule_run(name, true, static_cast<uint64_t>(events));
  spdlog::info("schedule '{}' ({}, period {}): {} row(s), {} new event(s), {} notification(s)", name, why,
               period.key, all.size(), events, notifications);
  if (notifications > 0) dispatch_due();
  return true;
}

}  // namespace herald::daemon
