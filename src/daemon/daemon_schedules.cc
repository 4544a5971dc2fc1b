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
    bool running = false;  // the run arms the timer when it ends
    if (at_start) {
      const int64_t now = now_s();
      auto latest = s.timetable.latest_at_or_before(now);
      auto last = store_.schedule_last_slot(name);
      if (!last) {
        spdlog::error("schedule '{}': {}: {}", name, runtime_->config().state_db, last.error().message);
      } else if (s.config->run_at_start) {
        running = true;
        run_schedule(name, now, latest.value_or(now), "run at start");
      } else if (last.value() && latest && *latest > *last.value()) {
        // However many slots went by, the schedule runs once, for the latest.
        running = true;
        run_schedule(name, *latest, *latest, "missed while Herald was not running");
      } else if (!last.value() && latest) {
        // First sight: slots from here on count as missed when Herald is down.
        if (auto r = store_.record_schedule_run(name, *latest, now_ms(), 0); !r)
          spdlog::error("schedule '{}': {}", name, r.error().message);
      }
    }
    if (!running) arm_schedule(name);
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
    run_schedule(name, slot, slot, "scheduled");
  });
}

void Daemon::run_schedule(const std::string& name, int64_t now, int64_t slot, std::string why) {
  if (!runtime_->schedule(name)) return;
  ++schedule_runs_out_;
  worker_->post(
      [rt = runtime_, name, now, slot](state::StateStore& store) mutable {
        ScheduleRun run = schedule_job(store, *rt, name, now, slot);
        run.rt = std::move(rt);
        return run;
      },
      [this, name, now, slot, why = std::move(why)](ScheduleRun run) {
        --schedule_runs_out_;
        schedule_ran(name, now, slot, why, std::move(run));
      });
}

Daemon::ScheduleRun Daemon::schedule_job(state::StateStore& store, Runtime& rt, const std::string& name,
                                         int64_t now, int64_t slot) {
  ScheduleRun out;
  Schedule* s = rt.schedule(name);
  if (!s) return out;
  auto rows = s->query.run(now);
  if (!rows) {
    out.error = rows.error().message;
    return out;
  }
  out.rows = rows->events.size();
  out.truncated = rows->truncated;
  const auto period = s->timetable.period_of(now);
  out.period = period.key;
  auto& all = rows->events;
  for (size_t begin = 0; begin < all.size(); begin += kEmitBatch) {
    const size_t end = std::min(all.size(), begin + kEmitBatch);
    std::vector<std::string> keys;
    for (size_t i = begin; i < end; ++i) keys.push_back(all[i].keys.dump());
    // Rows already notified this period skip the recipient lookups too.
    auto seen = store.emitted(name, period.key, keys);
    if (!seen) {
      out.error = rt.config().state_db + ": " + seen.error().message;
      return out;
    }
    std::vector<state::ScheduledItem> items;
    for (size_t i = begin; i < end; ++i) {
      if (seen.value()[i - begin]) continue;
      state::ScheduledItem item;
      item.row_key = std::move(keys[i - begin]);
      item.item.event = all[i];
      auto targets = targets_for(rt, item.item.event, out.warnings, Runtime::RenderOn::Worker);
      if (!targets) {
        out.error = targets.error().message;
        return out;
      }
      item.item.targets = std::move(targets.value());
      items.push_back(std::move(item));
    }
    if (items.empty()) continue;
    auto emitted = store.emit_scheduled(name, period.key, period.end_s * 1000, std::move(items), now_ms());
    if (!emitted) {
      out.error = rt.config().state_db + ": " + emitted.error().message;
      return out;
    }
    out.events += emitted->events;
    out.notifications += emitted->notifications;
  }
  if (auto r = store.record_schedule_run(name, slot, now_ms(), out.events); !r) {
    out.record_error = rt.config().state_db + ": " + r.error().message;
  }
  return out;
}

void Daemon::schedule_ran(const std::string& name, int64_t now, int64_t slot, const std::string& why,
                          ScheduleRun run) {
  for (const auto& w : run.warnings) spdlog::warn("schedule '{}': {}", name, w);
  // What a run before a reload made still goes out; the new schedules keep
  // their own timers.
  const bool current = run.rt == runtime_;
  if (run.error) {
    metrics_.schedule_run(name, false, 0);
    // The run is tried again (same slot, same "now") while the databases
    // refuse it; its slot is recorded only once it went through.
    if (options_.drain || stopping_ || !current) {
      spdlog::error("schedule '{}' ({}): {}", name, why, *run.error);
    } else if (auto timer = schedule_timers_.find(name); timer != schedule_timers_.end()) {
      spdlog::error("schedule '{}' ({}): {}; trying again in {} s", name, why, *run.error, kRunRetry.count());
      timer->second->expires_after(kRunRetry);
      timer->second->async_wait([this, name, now, slot, why](boost::system::error_code ec) {
        if (ec || stopping_) return;
        run_schedule(name, now, slot, why);
      });
    }
  } else {
    if (run.truncated) {
      const Schedule* s = run.rt->schedule(name);
      spdlog::warn("schedule '{}': more than max_rows = {} rows matched; the rest wait for the next run",
                   name, s ? s->config->max_rows : 0);
    }
    if (run.record_error) spdlog::error("schedule '{}': {}", name, *run.record_error);
    metrics_.schedule_run(name, true, static_cast<uint64_t>(run.events));
    spdlog::info("schedule '{}' ({}, period {}): {} row(s), {} new event(s), {} notification(s)", name, why,
                 run.period, run.rows, run.events, run.notifications);
    if (run.notifications > 0) dispatch_due();
    if (current) arm_schedule(name);
  }
  if (stopping_) return maybe_finish_stop();
  check_drained();
}

}  // namespace herald::daemon
