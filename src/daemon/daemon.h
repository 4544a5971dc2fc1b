// heraldd's engine: one Asio event loop that matches events to rules and
// sends due notifications through their channel plugins, and a state worker
// (state/state_worker.h) that does the database work for it: reading the
// outbox, writing notifications, claiming and rendering what is due, and
// recording every attempt. Plugins are only ever called on the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admin/admin_server.h"
#include "admin/herald_metrics.h"
#include "common/file_watcher.h"
#include "common/result.h"
#include "daemon/runtime.h"
#include "delivery/message.h"
#include "net/http_client.h"
#include "net/oauth2_tokens.h"
#include "outbox/outbox_reader.h"
#include "outbox/outbox_watcher.h"
#include "state/state_store.h"
#include "state/state_worker.h"

namespace herald::daemon {

struct DaemonOptions {
  // Process everything due now, then stop the loop (heraldd --drain).
  bool drain = false;
};

class Daemon {
 public:
  // `store` serves the event loop (reads, schedules, operator actions);
  // `work_store`, a second connection to the same file, serves the state
  // worker's thread (ingest, claims, attempt results).
  Daemon(boost::asio::io_context& io, std::shared_ptr<Runtime> runtime, state::StateStore store,
         state::StateStore work_store, DaemonOptions options = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the state database and the configuration, then creates the daemon.
  static Result<std::unique_ptr<Daemon>> create(boost::asio::io_context& io, const std::string& config_path,
                                                DaemonOptions options = {});

  // Recovers what a previous run left in flight and starts the loop's work.
  Status start();
  // Stops ingesting; in-flight attempts may finish until the grace period
  // ends; then calls `done`.
  void stop(std::function<void()> done);

  // Loads the configuration file again. The new set (configuration,
  // mappings, plugins) is validated as a whole first; on any error the
  // running set stays and the error is returned. Attempts in flight finish
  // with the set they started with. The reload hooks run around it,
  // whatever started it (SIGHUP, an edited file).
  Status reload();
  struct ReloadHooks {
    std::function<void()> starting;
    std::function<void(const Status&)> finished;
  };
  void set_reload_hooks(ReloadHooks hooks) { reload_hooks_ = std::move(hooks); }
  // Reload by itself when the configuration or a mapping file changes.
  void watch_configuration();

  state::StateStore& store() { return store_; }
  // "N in flight, N pending, N waiting for a retry" for systemd's STATUS=.
  // status_now() counts on the loop (at start and reload, once);
  // status_later() counts on the state worker and replies on the loop, for
  // the periodic update: with a million waiting a count takes tens of ms.
  Result<std::string> status_now();
  void status_later(std::function<void(std::string)> reply);
  const Runtime& runtime() const { return *runtime_; }
  uint64_t reloads() const { return reloads_; }
  size_t in_flight() const { return in_flight_; }
  // OAuth2 token requests sent (tests, metrics).
  uint64_t token_requests() const { return tokens_.requests_sent(); }
  // The admin listener's port ([admin] listen); 0 when it is off.
  uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }

 private:
  Status apply_configuration();
  void schedule_ingest();
  void ingest();
  // A batch of outbox rows, read and matched on the worker.
  struct Read {
    std::optional<std::string> error;  // reading or matching failed: try again later
    int count = 0;                     // rows read
    int64_t last_id = 0;
    std::vector<state::IngestItem> items;  // their events and targets, or why they were rejected
    std::vector<std::string> warnings;
    std::shared_ptr<Runtime> rt;  // whose rules matched them
  };
  // On the worker: each row's targets, with `rt`'s worker rules.
  static void match_rows(Runtime& rt, std::vector<outbox::OutboxRow> rows, Read& read);
  // What to claim of them, then the state transaction.
  void ingest_rows(Read read);
  // Attempts the window can take before it, the ready queue and the claims
  // asked of ingests on the worker are full (four batches ahead; see
  // kMinReadyAhead).
  int claim_room() const;
  // Reading the outbox or writing what was read.
  bool ingest_busy() const { return reading_ || writes_out_ > 0; }
  // An ingest job came back: start what waited for it.
  void ingest_job_done();
  // A locked producer or a refused write: back off (1 s doubling to 30 s).
  // After a refused write, reading starts again from the committed cursor.
  void ingest_later(const std::string& what, bool write_failed = false);
  void schedule_dispatch();
  void dispatch();
  void arm_dispatch_timer();
  // Endpoints whose own max_in_flight is reached.
  std::vector<std::string> endpoints_at_capacity();
  // Builds the request with the channel (unless the worker built it:
  // `request`) and sends it. `token_refreshed`: this attempt already asked
  // for a new OAuth2 token after a 401.
  void send_attempt(std::shared_ptr<state::NotificationRow> row, int64_t started,
                    std::shared_ptr<delivery::Message> message, std::shared_ptr<Runtime> rt,
                    bool token_refreshed, std::unique_ptr<net::HttpRequest> request = nullptr);
  // Obtains the endpoint's OAuth2 token, then send_attempt().
  void authorize_and_send(std::shared_ptr<state::NotificationRow> row, int64_t started,
                          std::shared_ptr<delivery::Message> message, std::shared_ptr<Runtime> rt,
                          bool token_refreshed);
  // After an attempt ended: the next dispatch, or the end of a stop.
  void after_attempt();
  struct AttemptResult {
    AttemptResult() = default;
    AttemptResult(herald_outcome o, std::string e, std::string cls)
        : outcome(o), error(std::move(e)), error_class(std::move(cls)) {}
    herald_outcome outcome = HERALD_OUTCOME_FAILED;
    std::string error;
    std::string error_class;
    std::optional<long> status;
    const char* protocol = "HTTP";  // names the status in the log: "HTTP 503", "SMTP 535"
    std::string response;
    std::optional<int64_t> retry_after_ms;
  };
  void finish(const state::NotificationRow& row, int64_t started_ms, AttemptResult result);
  // The plugin's message for the next attempt of `row`.
  static std::shared_ptr<delivery::Message> message_for(const state::NotificationRow& row,
                                                        std::shared_ptr<const delivery::Rendered> rendered,
                                                        const Event& event, uint64_t plugin_flags);
  // The channel's request for one attempt, with what the host adds (agent,
  // the endpoint's headers and connection settings), or why there is none.
  // Thread-safe when the channel sets HERALD_PLUGIN_BUILD_ANY_THREAD.
  static std::variant<net::HttpRequest, AttemptResult> build_request(plugin::Channel& channel,
                                                                     const delivery::Message& message,
                                                                     const config::EndpointConfig& endpoint,
                                                                     size_t max_response_bytes);

  // Events of the latest ingests, kept on the worker's side so that first
  // attempts render without reading their event back from the database.
  // Touched on the worker's thread only.
  struct RecentEvents {
    std::unordered_map<int64_t, std::shared_ptr<const Event>> by_id;
    std::deque<int64_t> order;  // oldest first
    // Moves the events out of `items`.
    void remember(std::vector<state::IngestItem>& items);
  };
  // An attempt made ready on the worker: its event and rendered payload, or
  // the reason it cannot be sent. The loop builds the message (pure work,
  // and the loop has more room than the worker).
  struct Prepared {
    state::NotificationRow row;
    int64_t started = 0;
    std::shared_ptr<const Event> event;
    std::shared_ptr<const delivery::Rendered> rendered;
    bool fresh = false;  // rendered now, not read from a stored payload
    std::optional<AttemptResult> failure;
    std::shared_ptr<Runtime> rt;  // the set it was prepared with (set on the loop)
    // Made on the worker when the channel builds on any thread and the
    // endpoint needs no OAuth2 token: the loop then only sends.
    std::shared_ptr<delivery::Message> message;
    std::unique_ptr<net::HttpRequest> request;  // a pointer: Prepared moves through queues
  };
  // Runs on the worker: the event, the endpoint and the render (through the
  // worker's own connection to the producer).
  static Prepared prepare(state::StateStore& store, Runtime& rt, RecentEvents& recent,
                          state::NotificationRow row);
  // What a claim job brings back from the worker.
  struct Claimed {
    std::vector<Prepared> attempts;
    bool saturated = false;  // the claim without an endpoint got all it asked for
    std::optional<std::string> error;
    std::shared_ptr<Runtime> rt;  // the set the attempts were prepared with (released on the loop)
    // Posted while nothing could have added due notifications behind its
    // back: a short answer then means none is left (see backlog_).
    bool may_clear_backlog = false;
    uint64_t backlog_generation = 0;
    // Per endpoint with its own max_in_flight asked: the same for its due flag.
    struct Asked {
      std::string endpoint;
      int claims = 0;
      bool may_clear = false;
      uint64_t generation = 0;
      bool full = false;  // got all it asked for
    };
    std::vector<Asked> asked;
  };
  void claimed(Claimed result);
  // Counts claimed attempts as busy and queues them (or records at once why
  // they cannot be sent).
  void take_claimed(std::vector<Prepared>& attempts, const std::shared_ptr<Runtime>& rt);
  // Due notifications may be waiting in the state database (backlog_).
  void note_backlog();
  // Notifications of this endpoint with its own max_in_flight may be pending.
  void note_capped_due(const std::string& endpoint);
  // Notifications not made by the ingest that claims them may be due
  // (schedules, a reload, heraldctl retry): a dispatch looks.
  void dispatch_due();
  // Every poll_interval: when another connection wrote to the state
  // database (heraldctl retry, replay), dispatch_due().
  void arm_state_sweep();
  void start_attempt(Prepared attempt);
  // Starts prepared attempts while the window has room.
  void start_ready();
  // An attempt's result on its way into the state database.
  struct Outcome {
    state::NotificationRow row;  // ids and names only (see finish)
    state::AttemptRow attempt;
    state::State next;
    std::optional<int64_t> next_at;
    std::string last_error;
    int64_t started_ms = 0;
    std::string protocol = "HTTP";
    std::optional<std::string> payload;  // rendered by this attempt, stored for the next ones
  };
  // Writes them in one transaction and logs each; false when the database
  // refused (e.g. full): then none is written.
  bool record(const std::vector<Outcome>& outcomes);
  static std::vector<state::StateStore::AttemptRecord> records_of(const std::vector<Outcome>& outcomes);
  void recorded(const std::vector<Outcome>& outcomes, const Status& written);
  void log_recorded(const Outcome& outcome);
  // Logs the deliveries of the window that had no line of their own.
  void end_delivery_window();
  void flush_records();
  void arm_record_retry();

  void check_drained();
  void maybe_finish_stop();

  // Schedules (daemon_schedules.cc). At start, runs what run_at_start asks
  // for and a slot missed while Herald was down; then arms every timer.
  void start_schedules(bool at_start);
  void arm_schedule(const std::string& name);
  void wait_for_slot(const std::string& name, int64_t slot);
  // One run, on the state worker (the query, the rules, the transactions);
  // when it ends, the loop arms the next slot, or the same run again later
  // if the databases refused it.
  void run_schedule(const std::string& name, int64_t now, int64_t slot, std::string why);
  struct ScheduleRun {
    std::optional<std::string> error;  // refused: tried again later
    size_t rows = 0;
    bool truncated = false;
    std::string period;
    int64_t events = 0;
    int64_t notifications = 0;
    std::vector<std::string> warnings;
    std::optional<std::string> record_error;  // the run went through, its slot was not recorded
    std::shared_ptr<Runtime> rt;              // let go on the loop
  };
  static ScheduleRun schedule_job(state::StateStore& store, Runtime& rt, const std::string& name, int64_t now,
                                  int64_t slot);
  void schedule_ran(const std::string& name, int64_t now, int64_t slot, const std::string& why,
                    ScheduleRun run);
  int schedule_runs_out_ = 0;  // runs on the worker

  // The admin listener (daemon_admin.cc).
  Status start_admin();
  // Counts rows on the state worker (a scan of the notifications table),
  // then renders and replies on the loop.
  void scrape_metrics(admin::AdminHandlers::MetricsReply reply);
  Status health();

  boost::asio::io_context& io_;
  std::shared_ptr<Runtime> runtime_;
  state::StateStore store_;
  DaemonOptions options_;
  net::HttpClient http_;
  net::OAuth2Tokens tokens_;
  outbox::OutboxWatcher watcher_;
  boost::asio::steady_timer dispatch_timer_;
  boost::asio::steady_timer retry_ingest_timer_;
  boost::asio::steady_timer stop_timer_;
  boost::asio::steady_timer reload_timer_;
  boost::asio::steady_timer record_timer_;
  boost::asio::steady_timer flush_timer_;         // writes the results of attempts in batches
  boost::asio::steady_timer delivery_log_timer_;  // ends a window of delivery lines
  std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> schedule_timers_;
  std::vector<Outcome> to_record_;  // finished in this turn of the loop
  bool flush_armed_ = false;        // flush_timer_ will write to_record_
  bool flush_now_ = false;          // ... and is armed for 0 ms (to_record_ is full)
  bool delivery_window_armed_ = false;
  size_t delivery_lines_ = 0;                            // delivery lines logged in this window
  std::map<std::string, uint64_t> unlogged_deliveries_;  // by endpoint
  // Messages rendered by the attempts in flight, by notification id.
  std::unordered_map<int64_t, std::shared_ptr<const delivery::Rendered>> fresh_renders_;
  // Renders of finished attempts and events of started ones, let go with the
  // next batch of results on the worker's thread, which allocated them.
  std::vector<std::shared_ptr<const void>> worker_garbage_;
  std::shared_ptr<RecentEvents> recent_ = std::make_shared<RecentEvents>();
  // Claimed and prepared, waiting for a free slot: claims run ahead of the
  // window (claim_room()), so a slot that frees is filled at once, not after
  // a round trip to the worker.
  std::deque<Prepared> ready_;
  // Prepared attempts of an endpoint at its own max_in_flight, in the order
  // they were claimed, until one of its attempts ends.
  std::map<std::string, std::deque<Prepared>> parked_;
  size_t parked_count_ = 0;
  // Prepared and waiting: ready_ and parked_.
  size_t waiting_to_start() const { return ready_.size() + parked_count_; }
  // Started and not finished, by endpoint.
  std::map<std::string, int> started_;
  // Whether the attempt can start now, or parks behind its endpoint's cap.
  bool endpoint_full(const std::string& name);
  std::vector<Outcome> pending_records_;  // results the state database has not taken yet
  bool record_retry_armed_ = false;
  std::chrono::seconds record_backoff_{1};
  std::chrono::seconds ingest_backoff_{1};
  bool ingest_backing_off_ = false;
  FileWatcher config_watcher_;
  uint64_t reloads_ = 0;
  bool config_watched_ = false;
  ReloadHooks reload_hooks_;
  int64_t cursor_ = 0;
  size_t in_flight_ = 0;
  // Claimed and not finished, by endpoint (for per-endpoint max_in_flight:
  // see endpoint_capacity()).
  std::map<std::string, size_t> busy_;
  // An endpoint with its own max_in_flight. Ingest claims what it creates
  // for it up to its room while none of its notifications waits in the state
  // database (as backlog_ does for the others, but per endpoint: one at its
  // cap keeps the others claimed at ingest); dispatch claims the waiting ones.
  struct Capped {
    int claims_out = 0;       // asked of ingest and claim jobs, not back yet
    bool due = true;          // some may be pending: set like backlog_, cleared by a short claim
    uint64_t generation = 0;  // counts the times due was set
    int writes_leaving = 0;   // ingest transactions out that leave some pending
  };
  std::map<std::string, Capped> capped_;
  // The claims such an endpoint may have: its cap in flight and more
  // prepared (see endpoint_capacity's body); and those it can still take.
  int endpoint_capacity(const config::EndpointConfig& ep) const;
  int endpoint_room(const std::string& name, const config::EndpointConfig& ep);
  // What ingest may claim now (claim_room(), and when every endpoint has
  // its own max_in_flight, their rooms together), and the room it waits for
  // before it reads a batch to claim: half a window, or half what those
  // endpoints take.
  std::pair<int, int> ingest_room();
  bool ingest_scheduled_ = false;
  // Jobs on the state worker: one read of the outbox, up to
  // kIngestWritesAhead ingest transactions behind it (the next batch is read
  // while the previous one is written), one claim, and results of attempts
  // in any number.
  bool reading_ = false;
  int writes_out_ = 0;
  int writes_leaving_pending_ = 0;  // of those, the ones that leave notifications pending
  int ingest_claims_out_ = 0;       // claims asked by the ingest transactions out
  int rows_at_rules_ = 0;           // rows read, on their way through the rules (see ingest())
  int64_t read_cursor_ = 0;         // the last outbox id read
  int64_t written_cursor_ = 0;      // the last outbox id handed to an ingest transaction
  // Counts failed ingests (a read, the rules, a write): what was read or
  // written after one is dropped (writes behind a refused one are refused
  // too, see StateStore::ingest's expected_cursor).
  uint64_t ingest_epoch_ = 0;

  bool ingest_again_ = false;  // the outbox changed while an ingest ran
  bool claiming_ = false;
  bool dispatch_again_ = false;  // asked for while a claim ran
  size_t records_running_ = 0;
  // Ingest waits while dispatch has work enough and has not claimed all
  // that ingest created: the events of first attempts then come from
  // recent_, not from a read and parse of the state database each.
  bool ingest_far_ahead() const;
  int64_t newest_claimed_event_ = 0;  // highest outbox id a claim has started
  bool dispatch_saturated_ = false;   // the latest claim got all it asked for
  bool ingest_paused_ = false;
  // Fresh notifications are claimed by the ingest that creates them (no
  // claim query, no second transaction) while nothing due waits in the state
  // database: due ones would otherwise be overtaken. Set when an ingest
  // leaves notifications pending, a claim comes back full or a due time
  // comes; cleared by a claim that comes back short.
  bool backlog_ = true;
  uint64_t backlog_generation_ = 0;  // counts the times backlog_ was set
  // While fresh notifications are claimed at ingest, ingest waits for room
  // in the window, up to kRoomWait; then it goes on without claiming.
  boost::asio::steady_timer room_timer_{io_};
  bool room_timer_armed_ = false;
  bool room_wait_over_ = false;
  boost::asio::steady_timer sweep_timer_{io_};  // see arm_state_sweep()
  std::optional<int64_t> state_version_;        // store_.data_version() at the last sweep
  bool ingest_caught_up_ = false;
  bool dispatch_scheduled_ = false;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
  admin::HeraldMetrics metrics_;
  // Before admin_ and after the rest: its thread ends (and what it still
  // runs reports to no one) before the members its results would touch go.
  std::unique_ptr<state::StateWorker> worker_;
  std::unique_ptr<admin::AdminServer> admin_;  // last: stopped before the rest goes
};

int64_t now_ms();

// Applies an endpoint's `outcomes` table to the plugin's judgement.
herald_outcome override_outcome(const config::EndpointConfig& endpoint, long status, herald_outcome judged);

}  // namespace herald::daemon
