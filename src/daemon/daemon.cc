#include "daemon/daemon.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/targets.h"
#include "delivery/message.h"

namespace herald::daemon {

using namespace std::chrono_literals;

namespace {
// Attempt results written together: at most this many, after at most this long.
constexpr size_t kRecordBatch = 256;
constexpr auto kRecordDelay = 5ms;
// Events kept in memory after ingest, so that their first attempts need not
// read and parse them back from the state database.
constexpr size_t kRecentEvents = 1024;
// How long ingest waits for room in the window when it claims what it
// creates (an endpoint that hangs must not hold back everything else).
constexpr auto kRoomWait = 100ms;
// Attempts claimed and prepared beyond the window (max_in_flight), ready to
// take a slot the moment it frees: at least a window, and room for a full
// batch in each stage of ingest (one read, kIngestWritesAhead written, one
// being sent). With less, ingest claims what little room has freed, and the
// worker spends its time on small transactions while the loop waits for them
// (448 gave about a quarter less throughput than four batches of 500). The
// cap bounds the memory the prepared bodies take.
constexpr int kMinReadyAhead = 448;
constexpr int kMaxReadyAhead = 4096;
// Ingest transactions queued on the worker behind the read of the next batch.
constexpr int kIngestWritesAhead = 2;
// Deliveries each get an info line up to this many per window; past it they
// are counted and summed up in one line when the window ends (a line per
// delivery at thousands per second would flood the journal, whose rate
// limit then drops lines without choosing).
constexpr size_t kDeliveryLinesPerWindow = 10;
constexpr auto kDeliveryLogWindow = 10s;
}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Daemon::Daemon(boost::asio::io_context& io, std::shared_ptr<Runtime> runtime, state::StateStore store,
               state::StateStore work_store, DaemonOptions options)
    : io_(io),
      runtime_(std::move(runtime)),
      store_(std::move(store)),
      options_(options),
      http_(io),
      tokens_(http_),
      watcher_(io, runtime_->config().outbox_db, runtime_->config().poll_interval,
               [this] { schedule_ingest(); }),
      dispatch_timer_(io),
      retry_ingest_timer_(io),
      stop_timer_(io),
      reload_timer_(io),
      record_timer_(io),
      flush_timer_(io),
      delivery_log_timer_(io),
      config_watcher_(
          io,
          [this] {
            // Editors write in several steps: wait for the burst to settle.
            reload_timer_.expires_after(300ms);
            reload_timer_.async_wait([this](boost::system::error_code ec) {
              if (!ec) (void)reload();
            });
          },
          FileWatcher::Changes::Saves) {
  worker_ = std::make_unique<state::StateWorker>(io, std::move(work_store));
}

Daemon::~Daemon() {
  stopping_ = true;
  watcher_.stop();
  dispatch_timer_.cancel();
  retry_ingest_timer_.cancel();
  stop_timer_.cancel();
  reload_timer_.cancel();
  record_timer_.cancel();
  flush_timer_.cancel();
  delivery_log_timer_.cancel();
  room_timer_.cancel();
  sweep_timer_.cancel();
  for (auto& [name, timer] : schedule_timers_) timer->cancel();
  config_watcher_.stop();
}

Status Daemon::reload() {
  if (reload_hooks_.starting) reload_hooks_.starting();
  Status done = apply_configuration();
  if (reload_hooks_.finished) reload_hooks_.finished(done);
  return done;
}

Status Daemon::apply_configuration() {
  const std::string path = runtime_->config().path;
  auto fresh = Runtime::load(path, Runtime::RenderOn::Worker);
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
  if (next->config().admin.listen != runtime_->config().admin.listen) {
    spdlog::warn("[admin] listen changed: it takes effect at the next restart");
  }
  if (auto s = store_.limit_size(next->config().state_db_max_bytes); !s) {
    spdlog::error("{}: state_db_max_size: {}", next->config().state_db, s.error().message);
  }
  worker_->post([max = next->config().state_db_max_bytes](state::StateStore& s) { return s.limit_size(max); },
                [path = next->config().state_db](Status s) {
                  if (!s) spdlog::error("{}: state_db_max_size: {}", path, s.error().message);
                });
  runtime_ = std::move(next);
  ++reloads_;
  if (config_watched_) watch_configuration();
  spdlog::info("configuration reloaded from {}: {} endpoint(s), {} notification(s)", path,
               runtime_->config().endpoints.size(), runtime_->config().notifications.size());
  // A reload is also the operator's "try again now".
  retry_ingest_timer_.cancel();
  ingest_backing_off_ = false;
  ingest_backoff_ = std::chrono::seconds(1);
  // Timers follow the new timetables; what ran at start does not run again.
  start_schedules(false);
  schedule_ingest();
  dispatch_due();
  return {};
}

void Daemon::watch_configuration() {
  config_watched_ = true;
  std::vector<std::string> files = {runtime_->config().path};
  files.insert(files.end(), runtime_->config().dropins.begin(), runtime_->config().dropins.end());
  for (const auto& n : runtime_->config().notifications) {
    for (const std::string* f : {&n.mapping, &n.script, &n.recipients.script}) {
      if (!f->empty()) files.push_back(*f);
    }
  }
  if (!config_watcher_.watch(files)) spdlog::warn("cannot watch the configuration files; reload with SIGHUP");
}

Result<std::unique_ptr<Daemon>> Daemon::create(boost::asio::io_context& io, const std::string& config_path,
                                               DaemonOptions options) {
  auto rt = Runtime::load(config_path, Runtime::RenderOn::Worker);
  if (!rt) return rt.error();
  const config::Config& cfg = rt.value()->config();
  auto open = [&]() -> Result<state::StateStore> {
    auto store = state::StateStore::open(cfg.state_db);
    if (!store) return store.error();
    if (auto s = store->limit_size(cfg.state_db_max_bytes); !s) return s.error();
    if (auto s = store->set_synchronous(cfg.state_synchronous_full); !s) return s.error();
    return store;
  };
  auto store = open();
  if (!store) return Error{cfg.state_db + ": " + store.error().message};
  auto work_store = open();
  if (!work_store) return Error{cfg.state_db + ": " + work_store.error().message};
  // The worker's connection writes nearly everything: its commits wake the
  // checkpointer. The loop's own commits (schedules, start) leave it be.
  if (auto s = work_store->checkpoint_in_background(); !s)
    return Error{cfg.state_db + ": " + s.error().message};
  if (auto s = store->no_auto_checkpoint(); !s) return Error{cfg.state_db + ": " + s.error().message};
  return std::make_unique<Daemon>(io, std::move(rt.value()), std::move(store.value()),
                                  std::move(work_store.value()), options);
}

Status Daemon::start() {
  for (const auto& w : runtime_->config().warnings) spdlog::warn("{}", w);
  if (auto s = start_admin(); !s) return s;
  auto cursor = store_.cursor(runtime_->outbox().source());
  if (!cursor) return cursor.error();
  cursor_ = read_cursor_ = written_cursor_ = cursor.value();
  auto recovered = store_.recover_in_flight(now_ms());
  if (!recovered) return recovered.error();
  if (recovered.value() > 0) {
    spdlog::warn("{} notification(s) were in flight when Herald last stopped; they will be sent again",
                 recovered.value());
  }
  if (!options_.drain) watcher_.start();
  start_schedules(true);
  schedule_ingest();
  schedule_dispatch();  // backlog_ starts set: what a previous run left is claimed first
  if (!options_.drain) arm_state_sweep();
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
  room_timer_.cancel();
  sweep_timer_.cancel();
  for (auto& [name, timer] : schedule_timers_) timer->cancel();
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
  // Jobs on the worker report back first (each calls again when it does).
  if (ingest_busy() || claiming_ || records_running_ > 0 || schedule_runs_out_ > 0) return;
  // Claimed, never sent: back to where the claim took them from.
  if (waiting_to_start() > 0) {
    std::vector<int64_t> ids;
    for (const auto& p : ready_) ids.push_back(p.row.id);
    for (const auto& [name, q] : parked_) {
      for (const auto& p : q) ids.push_back(p.row.id);
    }
    ready_.clear();
    parked_.clear();
    parked_count_ = 0;
    if (auto n = store_.unclaim(ids, now_ms()); !n) {
      spdlog::warn(
          "stopping: {} claimed notification(s) could not be given back ({}); they count as "
          "interrupted at the next start",
          ids.size(), n.error().message);
    }
  }
  stop_timer_.cancel();
  // One last try for results the database did not take; what is left is
  // recovered as in flight at the next start and sent again.
  flush_armed_ = flush_now_ = false;
  flush_timer_.cancel();
  for (auto& o : to_record_) pending_records_.push_back(std::move(o));
  to_record_.clear();
  size_t unrecorded = record(pending_records_) ? 0 : pending_records_.size();
  pending_records_.clear();
  record_timer_.cancel();
  if (unrecorded > 0) {
    spdlog::warn("stopping: {} attempt result(s) could not be recorded; they will be sent again", unrecorded);
  }
  delivery_log_timer_.cancel();
  end_delivery_window();
  auto done = std::move(on_stopped_);
  on_stopped_ = nullptr;
  boost::asio::post(io_, std::move(done));
}

void Daemon::schedule_ingest() {
  // While backing off, file events and the poll timer do not cut the wait short.
  if (ingest_scheduled_ || stopping_ || ingest_backing_off_) return;
  if (reading_ || writes_out_ >= kIngestWritesAhead) {
    ingest_again_ = true;
    return;
  }
  ingest_scheduled_ = true;
  boost::asio::post(io_, [this] { ingest(); });
}

void Daemon::ingest_job_done() {
  if (stopping_) return maybe_finish_stop();
  if (ingest_again_ && !reading_ && writes_out_ < kIngestWritesAhead) {
    ingest_again_ = false;
    schedule_ingest();
  }
}

bool Daemon::ingest_far_ahead() const { return dispatch_saturated_ && cursor_ > newest_claimed_event_; }

int Daemon::claim_room() const {
  const int window = runtime_->config().max_in_flight;
  const int ahead = std::clamp(4 * runtime_->config().batch_size, kMinReadyAhead, kMaxReadyAhead);
  return window + std::max(window, ahead) - static_cast<int>(in_flight_ + waiting_to_start()) -
         ingest_claims_out_ - rows_at_rules_;
}

void Daemon::ingest() {
  ingest_scheduled_ = false;
  if (stopping_ || reading_ || writes_out_ >= kIngestWritesAhead) return;
  // Claims that come back short (nothing due, endpoints at capacity, entities
  // waiting in order) clear dispatch_saturated_, so this never holds events
  // back from an idle dispatcher.
  if (ingest_far_ahead()) {
    ingest_paused_ = true;
    return;
  }
  const auto& cfg = runtime_->config();
  int limit = cfg.batch_size;
  if (!backlog_ && !room_wait_over_) {
    // What this ingest creates is claimed by it: read about what the window
    // can take, once it can take a batch worth a transaction.
    const auto [room, wanted] = ingest_room();
    if (room < wanted) {
      ingest_paused_ = true;
      if (!room_timer_armed_) {
        room_timer_armed_ = true;
        room_timer_.expires_after(kRoomWait);
        room_timer_.async_wait([this](boost::system::error_code ec) {
          if (ec) return;  // cancelled: whoever cancelled it cleared room_timer_armed_
          room_timer_armed_ = false;
          if (stopping_ || !ingest_paused_) return;
          room_wait_over_ = true;  // the window does not move: ingest without claiming
          ingest_paused_ = false;
          schedule_ingest();
        });
      }
      return;
    }
    limit = std::min(limit, room);
  }
  ingest_paused_ = false;
  room_wait_over_ = false;
  if (room_timer_armed_) {
    room_timer_armed_ = false;
    room_timer_.cancel();
  }
  // Read, parsed and matched against the rules on the worker, through a
  // connection of its own: the loop only decides what to claim.
  reading_ = true;
  worker_->post(
      [rt = runtime_, after = read_cursor_, limit](state::StateStore&) mutable {
        Read read;
        auto rows = rt->render_outbox().read_after(after, limit);
        if (!rows) {
          read.error = rows.error().message;
        } else {
          read.count = static_cast<int>(rows->size());
          if (!rows->empty()) read.last_id = rows->back().event.id;
          match_rows(*rt, std::move(rows.value()), read);
        }
        read.rt = std::move(rt);  // the runtime is let go on the loop
        return read;
      },
      [this, limit, epoch = ingest_epoch_](Read read) {
        reading_ = false;
        // Read after a batch that failed: read again from where it began.
        if (stopping_ || epoch != ingest_epoch_) return ingest_job_done();
        if (!read.error && read.count == limit) {
          // More is waiting: the next batch is read while this one is
          // written.
          read_cursor_ = read.last_id;
          rows_at_rules_ = read.count;  // about what they will claim
          if (writes_out_ < kIngestWritesAhead && !ingest_backing_off_) {
            ingest();  // not posted: the worker would wait for the claims below
          } else {
            ingest_again_ = true;
          }
        }
        ingest_rows(std::move(read));
      });
}

void Daemon::match_rows(Runtime& rt, std::vector<outbox::OutboxRow> rows, Read& read) {
  read.items.reserve(rows.size());
  for (auto& row : rows) {
    state::IngestItem item;
    item.event = std::move(row.event);
    if (!row.error.empty()) {
      item.rejected_reason = row.error;
      read.warnings.push_back("outbox row " + std::to_string(item.event.id) + " rejected: " + row.error);
      read.items.push_back(std::move(item));
      continue;
    }
    auto targets = targets_for(rt, item.event, read.warnings, Runtime::RenderOn::Worker);
    // A busy producer database clears by itself: ingest this batch again later.
    if (!targets) {
      read.error = targets.error().message;
      return;
    }
    item.targets = std::move(targets.value());
    read.items.push_back(std::move(item));
  }
}

void Daemon::ingest_rows(Read read) {
  for (const auto& w : read.warnings) spdlog::warn("{}", w);
  if (read.error) return ingest_later(*read.error);
  if (read.count == 0) {
    const bool again = ingest_again_;
    ingest_again_ = false;
    if (again) return schedule_ingest();
    ingest_caught_up_ = true;
    check_drained();
    return;
  }
  // Reloaded since the worker matched these: the rules of the new
  // configuration decide (on this thread, with the loop's own rules).
  if (read.rt != runtime_) {
    for (auto& item : read.items) {
      if (!item.rejected_reason.empty()) continue;
      std::vector<std::string> warnings;
      auto targets = targets_for(*runtime_, item.event, warnings);
      for (const auto& w : warnings) spdlog::warn("{}", w);
      if (!targets) return ingest_later(targets.error().message);
      item.targets = std::move(targets.value());
    }
  }
  // Claimed here while nothing due waits, up to the room in the window and,
  // for an endpoint with its own max_in_flight, up to its room (while none
  // of its notifications waits).
  rows_at_rules_ = 0;
  int room = backlog_ ? 0 : claim_room();
  int asked = 0;
  bool left_pending = false;
  // Per capped endpoint: the claims it can still take, those asked, and
  // whether some were left pending.
  struct CappedSlot {
    std::string endpoint;
    int room = 0;
    int took = 0;
    bool left = false;
  };
  std::vector<CappedSlot> capped;
  auto capped_slot = [&](const std::string& name, const config::EndpointConfig& ep) -> CappedSlot& {
    for (auto& c : capped) {
      if (c.endpoint == name) return c;
    }
    return capped.emplace_back(CappedSlot{name, capped_[name].due ? 0 : endpoint_room(name, ep)});
  };
  for (auto& item : read.items) {
    for (auto& t : item.targets) {
      const config::EndpointConfig* ep = runtime_->endpoint(t.endpoint);
      if (ep && ep->max_in_flight > 0) {
        CappedSlot& c = capped_slot(t.endpoint, *ep);
        if (asked < room && c.took < c.room) {
          t.claim = true;
          ++asked;
          ++c.took;
        } else {
          c.left = true;
        }
      } else if (asked < room) {
        t.claim = true;
        ++asked;
      } else {
        left_pending = true;
      }
    }
  }
  std::vector<state::IngestItem>& items = read.items;
  if (left_pending) note_backlog();
  for (const auto& c : capped) {
    Capped& state = capped_[c.endpoint];
    state.claims_out += c.took;
    if (c.left) {
      note_capped_due(c.endpoint);
      ++state.writes_leaving;
    }
  }
  const int64_t after = written_cursor_;
  const int64_t last_id = items.back().event.id;
  written_cursor_ = last_id;
  read_cursor_ = std::max(read_cursor_, last_id);
  // The transaction runs on the worker; the rows stay in the outbox until
  // it commits the new cursor with them. What it claimed renders there too,
  // from one snapshot of the producer's database.
  struct Ingested {
    Result<int64_t> created = int64_t{0};
    std::vector<Prepared> attempts;
    std::shared_ptr<Runtime> rt;  // let go on the loop
    size_t rows = 0;
    size_t rejected = 0;
  };
  auto batch = std::make_shared<std::vector<state::IngestItem>>(std::move(items));
  ++writes_out_;
  ingest_claims_out_ += asked;
  if (left_pending) ++writes_leaving_pending_;
  worker_->post(
      [source = runtime_->outbox().source(), after, last_id, batch, now = now_ms(), recent = recent_,
       rt = runtime_](state::StateStore& store) mutable {
        Ingested out;
        out.rows = batch->size();
        out.rejected = static_cast<size_t>(
            std::count_if(batch->begin(), batch->end(), [](auto& i) { return !i.rejected_reason.empty(); }));
        std::vector<state::NotificationRow> claimed;
        out.created = store.ingest(source, last_id, *batch, now, &claimed, after);
        if (out.created) recent->remember(*batch);
        // Freed here, where its strings and trees were made.
        batch.reset();
        if (!claimed.empty()) {
          db::ReadSnapshot snapshot(rt->render_outbox().database());
          for (auto& r : claimed) out.attempts.push_back(prepare(store, *rt, *recent, std::move(r)));
        }
        out.rt = std::move(rt);
        return out;
      },
      [this, last_id, asked, left_pending, capped = std::move(capped), epoch = ingest_epoch_](Ingested done) {
        --writes_out_;
        ingest_claims_out_ -= asked;
        if (left_pending) --writes_leaving_pending_;
        for (const auto& c : capped) {
          Capped& state = capped_[c.endpoint];
          state.claims_out -= c.took;
          if (c.left) --state.writes_leaving;
        }
        const auto claimed = static_cast<int64_t>(done.attempts.size());
        // In flight in the database: sent, or given back at a stop.
        take_claimed(done.attempts, done.rt);
        if (stopping_) return maybe_finish_stop();
        start_ready();
        if (!done.created) {
          // Batches behind a refused one are refused for it: one error, one back-off.
          if (epoch != ingest_epoch_) return ingest_job_done();
          return ingest_later(runtime_->config().state_db + ": ingest: " + done.created.error().message,
                              true);
        }
        const int64_t created = done.created.value();
        cursor_ = last_id;
        metrics_.ingested(done.rows - done.rejected, done.rejected, created);
        ingest_backoff_ = std::chrono::seconds(1);
        spdlog::debug("ingested outbox rows up to id {}: {} notification(s), {} claimed at once", last_id,
                      created, claimed);
        if (created > claimed) schedule_dispatch();
        if (!reading_ && writes_out_ == 0 && !ingest_again_ && !ingest_scheduled_) {
          ingest_caught_up_ = true;
          check_drained();
        }
        ingest_job_done();
      });
  ingest_job_done();  // a read asked for while this one ran
}

void Daemon::ingest_later(const std::string& what, bool write_failed) {
  // What was read or written after the failed batch is dropped, and
  // reading starts again at that batch.
  ++ingest_epoch_;
  if (write_failed) written_cursor_ = cursor_;
  read_cursor_ = written_cursor_;
  spdlog::error("{}; retrying in {} s", what, ingest_backoff_.count());
  retry_ingest_timer_.expires_after(ingest_backoff_);
  ingest_backoff_ = std::min<std::chrono::seconds>(ingest_backoff_ * 2, std::chrono::seconds(30));
  ingest_backing_off_ = true;
  ingest_again_ = false;
  retry_ingest_timer_.async_wait([this](boost::system::error_code ec) {
    ingest_backing_off_ = false;
    if (!ec) schedule_ingest();
  });
}

void Daemon::note_backlog() {
  backlog_ = true;
  ++backlog_generation_;
  for (const auto& [name, ep] : runtime_->config().endpoints) {
    if (ep.max_in_flight > 0) note_capped_due(name);
  }
}

void Daemon::note_capped_due(const std::string& endpoint) {
  Capped& c = capped_[endpoint];
  c.due = true;
  ++c.generation;
}

int Daemon::endpoint_capacity(const config::EndpointConfig& ep) const {
  // Ahead as the window is, but by no more than 32 times the cap: a slow
  // endpoint with a small cap holds few notifications claimed and unsent.
  const int ahead = std::min(32 * ep.max_in_flight,
                             std::clamp(4 * runtime_->config().batch_size, kMinReadyAhead, kMaxReadyAhead));
  return ep.max_in_flight + ahead;
}

int Daemon::endpoint_room(const std::string& name, const config::EndpointConfig& ep) {
  return endpoint_capacity(ep) - static_cast<int>(busy_[name]) - capped_[name].claims_out;
}

std::pair<int, int> Daemon::ingest_room() {
  const int window = runtime_->config().max_in_flight;
  int room = 0;
  int capacity = 0;
  for (const auto& [name, ep] : runtime_->config().endpoints) {
    if (ep.max_in_flight <= 0) return {claim_room(), std::max(1, window / 2)};
    if (!capped_[name].due) room += std::max(0, endpoint_room(name, ep));
    capacity += endpoint_capacity(ep);
  }
  // Rows on their way through the rules are about what they will claim.
  return {std::min(claim_room(), room - rows_at_rules_), std::max(1, std::min(window, capacity) / 2)};
}

bool Daemon::endpoint_full(const std::string& name) {
  const config::EndpointConfig* ep = runtime_->endpoint(name);
  return ep && ep->max_in_flight > 0 && started_[name] >= ep->max_in_flight;
}

void Daemon::dispatch_due() {
  note_backlog();
  schedule_dispatch();
}

void Daemon::arm_state_sweep() {
  sweep_timer_.expires_after(runtime_->config().poll_interval);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    // Idle, nothing writes and nothing is claimed; under load this costs one
    // claim per interval (the worker's own commits count as changes too).
    if (auto v = store_.data_version(); v && v.value() != state_version_) {
      state_version_ = v.value();
      if (!backlog_) dispatch_due();
    }
    arm_state_sweep();
  });
}

void Daemon::take_claimed(std::vector<Prepared>& attempts, const std::shared_ptr<Runtime>& rt) {
  for (auto& attempt : attempts) {
    ++busy_[attempt.row.endpoint];
    newest_claimed_event_ = std::max(newest_claimed_event_, attempt.row.event_id);
    if (attempt.failure) {
      start_attempt(std::move(attempt));  // records why it cannot be sent
      continue;
    }
    attempt.rt = rt;
    ready_.push_back(std::move(attempt));
  }
  attempts.clear();
}

void Daemon::schedule_dispatch() {
  if (dispatch_scheduled_ || stopping_) return;
  dispatch_scheduled_ = true;
  boost::asio::post(io_, [this] { dispatch(); });
}

void Daemon::dispatch() {
  dispatch_scheduled_ = false;
  if (stopping_) return;
  if (claiming_) {
    dispatch_again_ = true;
    return;
  }
  // Claims fill the window (max_in_flight) and the prepared attempts
  // waiting in ready_ (claim_room()).
  const int window = runtime_->config().max_in_flight;
  const int claimed_now = static_cast<int>(in_flight_ + waiting_to_start());
  // At most two windows at once: one claim is one job on the worker, which
  // renders what it claims.
  int capacity = std::min(claim_room(), 2 * window);
  // Under load, claim in batches: while most is claimed, the attempts that
  // finish call again. One claim per free slot would cost a transaction per
  // notification.
  if (claimed_now > 0 && capacity < std::max(1, window / 2)) return;
  if (capacity <= 0) return;
  // Endpoints with their own max_in_flight are claimed one by one, up to
  // their room, those with notifications waiting; the others together with
  // what is left.
  std::vector<std::string> capped;
  std::vector<Claimed::Asked> asked;
  for (const auto& [name, ep] : runtime_->config().endpoints) {
    if (ep.max_in_flight <= 0) continue;
    capped.push_back(name);
    Capped& c = capped_[name];
    if (!c.due) continue;
    const int left = std::min(endpoint_room(name, ep), capacity);
    if (left <= 0) continue;
    // An ingest that left notifications pending may commit after this claim
    // ran (claims go first on the worker): then a short claim proves nothing.
    asked.push_back({name, left, c.writes_leaving == 0, c.generation});
    c.claims_out += left;
  }
  // Without a backlog, ingest claims what it creates; what comes due later
  // sets backlog_ through dispatch_timer_.
  const bool others = backlog_;
  if (!others && asked.empty()) return;
  claiming_ = true;
  const bool may_clear_backlog = writes_leaving_pending_ == 0;
  worker_->post(
      [capacity, capped = std::move(capped), asked = std::move(asked), now = now_ms(), rt = runtime_,
       recent = recent_, others, may_clear_backlog,
       generation = backlog_generation_](state::StateStore& store) mutable {
        Claimed out;
        out.may_clear_backlog = may_clear_backlog;
        out.backlog_generation = generation;
        std::vector<state::NotificationRow> rows;
        int left = capacity;
        auto claim = [&](int limit, const state::StateStore::EndpointFilter& filter) {
          auto got = store.claim_due(now, limit, filter);
          if (!got) {
            out.error = got.error().message;
            return false;
          }
          left -= static_cast<int>(got->size());
          if (!filter.endpoint) out.saturated = static_cast<int>(got->size()) == limit;
          for (auto& r : got.value()) rows.push_back(std::move(r));
          return true;
        };
        bool ok = true;
        for (auto& a : asked) {
          const int limit = std::min(a.claims, left);
          state::StateStore::EndpointFilter only;
          only.endpoint = a.endpoint;
          const size_t before = rows.size();
          if (limit <= 0 || !(ok = claim(limit, only))) {
            a.may_clear = false;  // not asked
            if (!ok) break;
            continue;
          }
          // Short: none of its own is left.
          a.full = static_cast<int>(rows.size() - before) == limit;
          if (a.full) a.may_clear = false;
        }
        out.asked = std::move(asked);
        if (ok && others && left > 0) {
          state::StateStore::EndpointFilter rest;
          rest.exclude = capped;
          claim(left, rest);
        } else if (ok && others) {
          out.saturated = true;  // the others were not asked: more may be due
        }
        out.may_clear_backlog = out.may_clear_backlog && others;
        {
          // The batch renders from one snapshot of the producer's database.
          std::optional<db::ReadSnapshot> snapshot;
          if (!rows.empty()) snapshot.emplace(rt->render_outbox().database());
          for (auto& r : rows) out.attempts.push_back(prepare(store, *rt, *recent, std::move(r)));
        }
        out.rt = std::move(rt);  // let go on the loop
        return out;
      },
      [this](Claimed result) { claimed(std::move(result)); }, state::StateWorker::Priority::Urgent);
}

void Daemon::claimed(Claimed result) {
  claiming_ = false;
  for (const auto& a : result.asked) {
    Capped& c = capped_[a.endpoint];
    c.claims_out -= a.claims;
    if (!result.error && a.may_clear && a.generation == c.generation) c.due = false;
  }
  // Claimed rows are in_flight in the database: they go out even during a
  // stop (within its grace period), as if claimed just before it.
  dispatch_saturated_ = result.saturated;
  // With no endpoint but capped ones, all of them with notifications
  // waiting, a full claim holds ingest back as the others' does
  // (ingest_far_ahead()): it claims at ingest again once they caught up.
  // While one of them has none waiting, ingest goes on for it.
  if (!dispatch_saturated_ &&
      std::any_of(result.asked.begin(), result.asked.end(), [](const auto& a) { return a.full; })) {
    const auto& endpoints = runtime_->config().endpoints;
    dispatch_saturated_ = std::all_of(endpoints.begin(), endpoints.end(), [&](const auto& e) {
      return e.second.max_in_flight > 0 && capped_[e.first].due;
    });
  }
  if (!result.error) {
    if (result.saturated) {
      note_backlog();
    } else if (result.may_clear_backlog && result.backlog_generation == backlog_generation_) {
      backlog_ = false;
    }
  }
  take_claimed(result.attempts, result.rt);
  // During a stop, what is ready stays unsent; maybe_finish_stop gives it back.
  if (stopping_) return maybe_finish_stop();
  start_ready();
  if (result.error) {
    spdlog::error("{}: claiming due notifications: {}; trying again in 1 s", runtime_->config().state_db,
                  *result.error);
    // Not arm_dispatch_timer(): what is due now would be retried at once, in a loop.
    dispatch_timer_.expires_after(1s);
    dispatch_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) dispatch_due();
    });
    return;
  }
  if (dispatch_again_) {
    dispatch_again_ = false;
    schedule_dispatch();
  }
  if (ingest_paused_ && !ingest_far_ahead()) {
    ingest_paused_ = false;
    schedule_ingest();  // ingest() decides again, room included
  }
  arm_dispatch_timer();
  check_drained();
}

std::vector<std::string> Daemon::endpoints_at_capacity() {
  std::vector<std::string> full;
  for (const auto& [name, ep] : runtime_->config().endpoints) {
    if (ep.max_in_flight > 0 && endpoint_room(name, ep) <= 0) full.push_back(name);
  }
  return full;
}

void Daemon::arm_dispatch_timer() {
  if (stopping_) return;
  // With a backlog and a full window, a completing attempt triggers the
  // next dispatch instead. Without one, dispatch() leaves the due ones to
  // this timer.
  if (backlog_ && claim_room() <= 0) return;
  auto next = store_.next_due_at(endpoints_at_capacity());
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
    if (ec) return;
    note_backlog();  // what comes due goes before fresh notifications
    schedule_dispatch();
  });
}

void Daemon::RecentEvents::remember(std::vector<state::IngestItem>& items) {
  for (auto& item : items) {
    if (item.targets.empty() || !item.rejected_reason.empty()) continue;
    const int64_t id = item.event.id;
    if (by_id.emplace(id, std::make_shared<const Event>(std::move(item.event))).second) order.push_back(id);
  }
  while (order.size() > kRecentEvents) {
    by_id.erase(order.front());
    order.pop_front();
  }
}

Daemon::Prepared Daemon::prepare(state::StateStore& store, Runtime& rt, RecentEvents& recent,
                                 state::NotificationRow row) {
  Prepared p;
  p.started = now_ms();
  p.row = std::move(row);
  auto fail = [&](herald_outcome outcome, std::string error, const char* error_class) {
    p.failure = AttemptResult(outcome, std::move(error), error_class);
    return std::move(p);
  };
  std::shared_ptr<const Event> event;
  if (auto it = recent.by_id.find(p.row.event_id); it != recent.by_id.end()) {
    event = it->second;
  } else if (auto stored = store.event(p.row.event_id); stored && stored.value()) {
    event = std::make_shared<const Event>(std::move(*stored.value()));
  }
  if (!event) {
    return fail(HERALD_OUTCOME_FAILED, "event " + std::to_string(p.row.event_id) + " is missing", "state");
  }
  const config::EndpointConfig* endpoint = rt.endpoint(p.row.endpoint);
  plugin::Channel* channel = rt.channel(p.row.endpoint);
  if (!endpoint || !channel) {
    return fail(HERALD_OUTCOME_FAILED, "endpoint '" + p.row.endpoint + "' is no longer configured", "config");
  }
  // A channel that takes the body as it is gets it as text, made here.
  const uint64_t flags = channel->flags();
  const bool as_text = (flags & HERALD_PLUGIN_NO_FIELDS) && !(flags & HERALD_PLUGIN_WANTS_XML_BODY);
  std::shared_ptr<const delivery::Rendered> rendered;
  if (p.row.payload) {
    auto r = delivery::Rendered::from_stored(*p.row.payload, as_text);
    if (!r) return fail(HERALD_OUTCOME_FAILED, r.error().message, "state");
    rendered = std::make_shared<const delivery::Rendered>(std::move(r.value()));
  } else {
    const auto* ncfg = rt.config().find_notification(p.row.notification);
    mapping::Mapping* mapping = ncfg ? rt.mapping_for(p.row.notification) : nullptr;
    // The rule's values are lent to the render and taken back, not copied.
    const bool has_rule = p.row.rule.is_object();
    nlohmann::json extra = nlohmann::json::object();
    extra["Rule"] = has_rule ? std::move(p.row.rule) : nlohmann::json::object();
    auto r = delivery::render(*endpoint, mapping, *event, &extra, as_text);
    if (has_rule) p.row.rule = std::move(extra["Rule"]);
    if (!r) {
      // A producer database that is locked or unreachable may recover; a
      // mapping that cannot produce this message will not.
      auto outcome = r.error().transient ? HERALD_OUTCOME_RETRY : HERALD_OUTCOME_FAILED;
      return fail(outcome, "render: " + r.error().message, "render");
    }
    rendered = std::make_shared<const delivery::Rendered>(std::move(r.value()));
    p.fresh = true;  // kept for the next attempts if this one ends waiting (see finish())
  }
  if ((flags & HERALD_PLUGIN_BUILD_ANY_THREAD) && endpoint->auth_type != "oauth2") {
    // The loop would otherwise do this between two sends (an OAuth2 token is
    // the one thing a request could need from it).
    p.message = message_for(p.row, rendered, *event, flags);
    auto built = build_request(*channel, *p.message, *endpoint, rt.config().max_response_bytes);
    if (auto* failed = std::get_if<AttemptResult>(&built)) {
      p.failure = std::move(*failed);
    } else {
      p.request = std::make_unique<net::HttpRequest>(std::move(std::get<net::HttpRequest>(built)));
    }
  } else {
    p.event = std::move(event);
  }
  p.rendered = std::move(rendered);
  return p;
}

void Daemon::start_ready() {
  const auto window = static_cast<size_t>(runtime_->config().max_in_flight);
  // Parked attempts first: they were claimed before anything of their
  // endpoint in ready_.
  for (auto it = parked_.begin(); it != parked_.end() && !stopping_ && in_flight_ < window;) {
    auto& q = it->second;
    while (!q.empty() && in_flight_ < window && !endpoint_full(it->first)) {
      Prepared next = std::move(q.front());
      q.pop_front();
      --parked_count_;
      start_attempt(std::move(next));
    }
    it = q.empty() ? parked_.erase(it) : std::next(it);
  }
  const auto& endpoints = runtime_->config().endpoints;
  const bool capped = std::any_of(endpoints.begin(), endpoints.end(),
                                  [](const auto& e) { return e.second.max_in_flight > 0; });
  while (!stopping_ && !ready_.empty() && in_flight_ < window) {
    Prepared next = std::move(ready_.front());
    ready_.pop_front();
    if (capped && endpoint_full(next.row.endpoint)) {
      parked_[next.row.endpoint].push_back(std::move(next));
      ++parked_count_;
      continue;
    }
    start_attempt(std::move(next));
  }
}

void Daemon::start_attempt(Prepared attempt) {
  ++started_[attempt.row.endpoint];  // finish() counts it down
  const state::NotificationRow& r = attempt.row;
  // Kept for finish() even when the worker's build failed: a build that may
  // succeed later leaves the notification waiting with what was rendered.
  if (attempt.fresh) fresh_renders_[r.id] = attempt.rendered;
  if (attempt.failure) {
    if (attempt.message) worker_garbage_.push_back(std::move(attempt.message));
    return finish(attempt.row, attempt.started, std::move(*attempt.failure));
  }
  std::shared_ptr<Runtime> rt = std::move(attempt.rt);
  std::shared_ptr<delivery::Message> message = std::move(attempt.message);
  if (!message) {
    message = message_for(r, std::move(attempt.rendered), *attempt.event, rt->channel(r.endpoint)->flags());
  }
  // The message copied what it needs of the event, whose JSON trees the worker
  // built: freed there too.
  if (attempt.event) worker_garbage_.push_back(std::move(attempt.event));
  auto row = std::make_shared<state::NotificationRow>(std::move(attempt.row));
  if (attempt.request) {
    send_attempt(std::move(row), attempt.started, std::move(message), rt, false, std::move(attempt.request));
  } else if (rt->endpoint(row->endpoint)->auth_type == "oauth2") {
    authorize_and_send(std::move(row), attempt.started, std::move(message), rt, false);
  } else {
    send_attempt(std::move(row), attempt.started, std::move(message), rt, false);
  }
}

namespace {

net::OAuth2Credentials oauth2_credentials(const config::EndpointConfig& ep) {
  net::OAuth2Credentials c;
  c.token_url = ep.oauth2.token_url;
  c.client_id = ep.oauth2.client_id;
  c.client_secret = ep.oauth2.client_secret;
  c.scopes = ep.oauth2.scopes;
  c.client_auth = ep.oauth2.client_auth;
  c.connection = ep.connection;
  return c;
}

}  // namespace

void Daemon::authorize_and_send(std::shared_ptr<state::NotificationRow> row, int64_t started,
                                std::shared_ptr<delivery::Message> message, std::shared_ptr<Runtime> rt,
                                bool token_refreshed) {
  const config::EndpointConfig& ep = *rt->endpoint(row->endpoint);
  ++in_flight_;
  // May answer at once from the cache, or after the one token request in flight.
  tokens_.get(oauth2_credentials(ep),
              [this, row, started, message, rt, token_refreshed](Result<std::string> token) {
                --in_flight_;
                if (!token) {
                  finish(*row, started, {HERALD_OUTCOME_RETRY, "oauth2: " + token.error().message, "auth"});
                  return after_attempt();
                }
                message->set_auth_token(token.value());
                send_attempt(row, started, message, rt, token_refreshed);
              });
}

std::shared_ptr<delivery::Message> Daemon::message_for(const state::NotificationRow& row,
                                                       std::shared_ptr<const delivery::Rendered> rendered,
                                                       const Event& event, uint64_t plugin_flags) {
  return std::make_shared<delivery::Message>(row.id, row.message_id, static_cast<uint32_t>(row.attempts + 1),
                                             row.notification, std::move(rendered), event, row.rule,
                                             row.recipients, plugin_flags);
}

std::variant<net::HttpRequest, Daemon::AttemptResult> Daemon::build_request(
    plugin::Channel& channel, const delivery::Message& message, const config::EndpointConfig& endpoint,
    size_t max_response_bytes) {
  auto built = channel.build(message.get());
  if (built.result == HERALD_BUILD_RETRY)
    return AttemptResult(HERALD_OUTCOME_RETRY, "build: " + built.error, "build");
  if (built.result != HERALD_BUILD_OK)
    return AttemptResult(HERALD_OUTCOME_FAILED, "build: " + built.error, "build");

  net::HttpRequest req;
  const bool mail = built.request.is_mail();
  req.method = std::move(built.request.method);
  req.url = std::move(built.request.url);
  req.headers = std::move(built.request.headers);
  if (!mail) {
    static const std::string user_agent = std::string("herald/") + HERALD_VERSION;
    req.headers.emplace_back("User-Agent", user_agent);
    req.headers.insert(req.headers.end(), endpoint.headers.begin(), endpoint.headers.end());
  }
  req.body = std::move(built.request.body);
  req.basic_auth = std::move(built.request.basic_auth);
  req.mail_from = std::move(built.request.mail_from);
  req.mail_recipients = std::move(built.request.mail_recipients);
  req.require_tls = built.request.require_tls;
  req.connection = endpoint.connection;
  req.max_response_bytes = max_response_bytes;
  // Of the answer's headers only Retry-After is read (see send_attempt).
  static const auto kResponseHeaders = std::make_shared<const std::vector<std::string>>(1, "Retry-After");
  req.response_headers = kResponseHeaders;
  return req;
}

void Daemon::send_attempt(std::shared_ptr<state::NotificationRow> row, int64_t started,
                          std::shared_ptr<delivery::Message> message, std::shared_ptr<Runtime> rt,
                          bool token_refreshed, std::unique_ptr<net::HttpRequest> request) {
  // The channel and endpoint belong to the runtime the attempt started
  // with, which `rt` keeps alive until the attempt ends, even across a reload.
  plugin::Channel* channel = rt->channel(row->endpoint);
  const bool built_on_worker = request != nullptr;
  net::HttpRequest built_here;
  if (!request) {
    auto built = build_request(*channel, *message, *rt->endpoint(row->endpoint),
                               runtime_->config().max_response_bytes);
    if (auto* failed = std::get_if<AttemptResult>(&built)) {
      finish(*row, started, std::move(*failed));
      return after_attempt();
    }
    built_here = std::move(std::get<net::HttpRequest>(built));
  }
  net::HttpRequest& req = request ? *request : built_here;
  const bool mail = req.is_mail();

  ++in_flight_;
  http_.send(std::move(req), [this, row, started, message, channel, rt, mail, token_refreshed,
                              built_on_worker](net::HttpResponse resp) mutable {
    const config::EndpointConfig& ep = *rt->endpoint(row->endpoint);
    --in_flight_;
    // A 401 with a cached token: the token may have been revoked or expired
    // early. Ask for a fresh one once before the attempt counts.
    if (!mail && resp.status == 401 && ep.auth_type == "oauth2" && !token_refreshed && !stopping_) {
      if (const char* used = message->get().auth_token) tokens_.invalidate(oauth2_credentials(ep), used);
      spdlog::info("notification {} ({} -> {}): HTTP 401; retrying once with a new OAuth2 token", row->id,
                   row->notification, row->endpoint);
      return authorize_and_send(row, started, message, rt, true);
    }
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
    // curl's words say what broke; the plugin's note may say what to do about it.
    if (resp.transport_error && !judged.note.empty()) result.error += " (" + judged.note + ")";
    const char* protocol = mail ? "SMTP" : "HTTP";
    result.protocol = protocol;
    if (result.error.empty() && result.outcome != HERALD_OUTCOME_DELIVERED) {
      result.error = std::string(protocol) + " " + std::to_string(resp.status);
    }
    if (mail && resp.status >= 400) {
      result.error_class = "smtp";  // the server's reply, whatever curl calls the failure
    } else if (resp.transport_error) {
      result.error_class = net::transport_error_class(resp);
    } else if (result.outcome != HERALD_OUTCOME_DELIVERED) {
      result.error_class = mail ? "smtp" : "http";
    }
    if (resp.status) result.status = resp.status;
    result.response = std::move(resp.body);
    if (!mail) {
      if (auto wait = net::retry_after(resp, std::chrono::system_clock::now())) {
        result.retry_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count();
      }
    }
    finish(*row, started, std::move(result));
    // The row's strings and trees were made on the worker: freed there, with
    // the message when the worker made it too.
    worker_garbage_.push_back(std::move(row));
    if (built_on_worker) worker_garbage_.push_back(std::move(message));
    after_attempt();
  });
}

void Daemon::after_attempt() {
  if (stopping_) {
    maybe_finish_stop();
  } else {
    start_ready();
    schedule_dispatch();
    // An ingest waiting for room in the window (see ingest()).
    if (ingest_paused_ && !backlog_) {
      const auto [room, wanted] = ingest_room();
      if (room < wanted) return;
      ingest_paused_ = false;
      schedule_ingest();
    }
  }
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
  if (auto it = busy_.find(row.endpoint); it != busy_.end() && it->second > 0) --it->second;
  if (auto it = started_.find(row.endpoint); it != started_.end() && it->second > 0) --it->second;
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
  // A retry sends what the first attempt rendered, so the payload is stored
  // when one is due; delivered and failed notifications do without.
  std::optional<std::string> payload;
  if (auto it = fresh_renders_.find(row.id); it != fresh_renders_.end()) {
    if (next == state::State::Waiting) payload = it->second->stored();
    // Freed by the worker, whose thread built it (freeing a tree another
    // thread allocated costs the loop more than building the message did).
    worker_garbage_.push_back(std::move(it->second));
    fresh_renders_.erase(it);
  }
  // Logging and metrics read the row's ids, names and creation time alone:
  // its rule and recipients (JSON trees) are not copied.
  state::NotificationRow brief;
  brief.id = row.id;
  brief.event_id = row.event_id;
  brief.notification = row.notification;
  brief.endpoint = row.endpoint;
  brief.attempts = row.attempts;
  brief.created_at = row.created_at;
  to_record_.push_back({std::move(brief), std::move(a), next, next_at, std::move(last_error), started_ms,
                        result.protocol, std::move(payload)});
  // Results are written in batches: one transaction for everything that
  // finished within a few milliseconds (a commit per result would cap the
  // rate). The notification went out already, so this delays no delivery.
  // A full batch is written at once (the 0 ms wait replaces a pending one,
  // once: results finishing before it runs join the batch).
  const bool full = to_record_.size() >= kRecordBatch;
  if (flush_armed_ && (!full || flush_now_)) return;
  flush_armed_ = true;
  flush_now_ = full;
  flush_timer_.expires_after(full ? 0ms : kRecordDelay);
  flush_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) flush_records();
  });
}

void Daemon::flush_records() {
  flush_armed_ = flush_now_ = false;
  auto batch = std::make_shared<std::vector<Outcome>>(std::move(to_record_));
  to_record_.clear();
  to_record_.reserve(kRecordBatch);  // the next batch, without regrowing (an Outcome moves at each step)
  ++records_running_;
  // The records are made here and go when the answer is back, here too.
  auto records = std::make_shared<const std::vector<state::StateStore::AttemptRecord>>(records_of(*batch));
  worker_->post(
      [records, garbage = std::exchange(worker_garbage_, {})](state::StateStore& store) mutable {
        garbage.clear();
        return store.finish_attempts(*records);
      },
      [this, batch, records](Status written) {
        --records_running_;
        recorded(*batch, written);
        if (!written) {
          // The notifications stay in_flight in the database, so nothing
          // sends them again meanwhile; the results wait in memory and are
          // written as soon as the database takes them (after a restart:
          // sent again, a duplicate at worst).
          for (auto& o : *batch) pending_records_.push_back(std::move(o));
          arm_record_retry();
        }
        // The next due time may have changed (a retry is now waiting,
        // or a notification held back in order is free to go).
        if (stopping_) {
          maybe_finish_stop();
        } else if (backlog_) {
          schedule_dispatch();
        } else {
          arm_dispatch_timer();
          check_drained();
        }
      });
}

std::vector<state::StateStore::AttemptRecord> Daemon::records_of(const std::vector<Outcome>& outcomes) {
  std::vector<state::StateStore::AttemptRecord> records;
  records.reserve(outcomes.size());
  for (const auto& o : outcomes) records.push_back({o.attempt, o.next, o.next_at, o.last_error, o.payload});
  return records;
}

void Daemon::recorded(const std::vector<Outcome>& outcomes, const Status& written) {
  if (!written) {
    spdlog::error("{}: recording {} attempt result(s): {}", runtime_->config().state_db, outcomes.size(),
                  written.error().message);
    return;
  }
  for (const auto& o : outcomes) log_recorded(o);
}

bool Daemon::record(const std::vector<Outcome>& outcomes) {
  if (outcomes.empty()) return true;
  Status written = store_.finish_attempts(records_of(outcomes));
  recorded(outcomes, written);
  return written.ok();
}

void Daemon::log_recorded(const Outcome& o) {
  metrics_.attempt(o.row, o.attempt, o.protocol);
  const auto& a = o.attempt;
  const auto& row = o.row;
  auto status_text = [&] {
    return a.http_status ? o.protocol + " " + std::to_string(*a.http_status) : "no " + o.protocol + " status";
  };
  if (o.next == state::State::Delivered) {
    if (!delivery_window_armed_) {
      delivery_window_armed_ = true;
      delivery_log_timer_.expires_after(kDeliveryLogWindow);
      delivery_log_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) end_delivery_window();
      });
    }
    const bool line = delivery_lines_ < kDeliveryLinesPerWindow;
    if (line) {
      ++delivery_lines_;
    } else {
      ++unlogged_deliveries_[row.endpoint];
    }
    const auto level = line ? spdlog::level::info : spdlog::level::debug;
    if (spdlog::should_log(level)) {  // most deliveries at full rate are not
      spdlog::log(level, "notification {} ({} -> {}) delivered: {} in {} ms", row.id, row.notification,
                  row.endpoint, status_text(), a.finished_at - o.started_ms);
    }
  } else if (o.next == state::State::Waiting) {
    spdlog::warn("notification {} ({} -> {}) attempt {} failed ({}): {}; next attempt in {} s", row.id,
                 row.notification, row.endpoint, a.number, status_text(), a.error,
                 (*o.next_at - a.finished_at) / 1000);
  } else {
    spdlog::error("notification {} ({} -> {}) failed ({}): {}", row.id, row.notification, row.endpoint,
                  status_text(), o.last_error);
  }
}

void Daemon::end_delivery_window() {
  delivery_window_armed_ = false;
  delivery_lines_ = 0;
  if (unlogged_deliveries_.empty()) return;
  uint64_t total = 0;
  std::string per_endpoint;
  for (const auto& [endpoint, n] : unlogged_deliveries_) {
    total += n;
    per_endpoint += (per_endpoint.empty() ? "" : ", ") + endpoint + " " + std::to_string(n);
  }
  unlogged_deliveries_.clear();
  spdlog::info("{} more notification(s) delivered in the last {} s without a line each ({})", total,
               std::chrono::duration_cast<std::chrono::seconds>(kDeliveryLogWindow).count(), per_endpoint);
}

void Daemon::arm_record_retry() {
  if (record_retry_armed_) return;
  record_retry_armed_ = true;
  spdlog::warn("{} attempt result(s) wait to be recorded; trying again in {} s", pending_records_.size(),
               record_backoff_.count());
  record_timer_.expires_after(record_backoff_);
  record_backoff_ = std::min<std::chrono::seconds>(record_backoff_ * 2, std::chrono::seconds(30));
  record_timer_.async_wait([this](boost::system::error_code ec) {
    record_retry_armed_ = false;
    if (ec) return;
    if (!record(pending_records_)) return arm_record_retry();
    pending_records_.clear();
    record_backoff_ = std::chrono::seconds(1);
    dispatch_due();
  });
}

void Daemon::check_drained() {
  if (!options_.drain || stopping_ || !ingest_caught_up_ || in_flight_ > 0 || ingest_scheduled_ ||
      dispatch_scheduled_ || flush_armed_ || ingest_busy() || claiming_ || records_running_ > 0 ||
      schedule_runs_out_ > 0 || waiting_to_start() > 0) {
    return;
  }
  auto next = store_.next_due_at();
  if (next && next.value() && *next.value() <= now_ms()) return;
  delivery_log_timer_.cancel();
  end_delivery_window();
  spdlog::info("drained: nothing in flight and nothing due");
  stopping_ = true;
  watcher_.stop();
  dispatch_timer_.cancel();
  retry_ingest_timer_.cancel();
  io_.stop();
}

}  // namespace herald::daemon
