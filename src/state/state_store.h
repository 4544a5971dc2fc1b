// Herald's own durable state: the ingest cursor, ingested events,
// notifications and every delivery attempt. SQLite in WAL mode; the schema
// is versioned and migrated forward on open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include "common/result.h"

#include "db/sqlite.h"
#include "db/wal_checkpointer.h"
#include "outbox/event.h"

namespace herald::state {

// Held: ordered, and an earlier notification for the same endpoint and
// entity is still owed. Not due until that one ends; kept out of the due
// index so that a pile of them costs nothing to claims.
enum class State { Pending, InFlight, Waiting, Delivered, Failed, Cancelled, Held };

// Every state, in the order reports list them.
inline constexpr State kAllStates[] = {State::Pending,   State::Held,   State::InFlight, State::Waiting,
                                       State::Delivered, State::Failed, State::Cancelled};

const char* to_string(State s);
std::optional<State> state_from_string(std::string_view s);

struct NotificationRow {
  int64_t id = 0;
  int64_t event_id = 0;
  std::string notification;  // configuration name
  std::string endpoint;
  State state = State::Pending;
  int attempts = 0;
  int64_t next_attempt_at = 0;  // unix ms
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string message_id;
  std::optional<std::string> last_error;
  std::optional<int64_t> last_status;
  std::optional<std::string> payload;  // rendered message (JSON), stored at the first attempt
  nlohmann::json rule;                 // Rule.* values: attribute, old, new, topic, level; null when none
  nlohmann::json recipients;           // [{identity, address, name}], null when none
};

struct AttemptRow {
  int64_t notification_id = 0;
  int number = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string outcome;  // delivered | retry | failed | interrupted
  std::optional<int64_t> http_status;
  std::string error;
  std::string response;     // server's response body, truncated
  std::string error_class;  // dns, connect, tls, timeout, protocol, http, render, build; "" when delivered
};

// What ingest creates for one outbox row.
struct IngestItem {
  Event event;
  std::string rejected_reason;  // non-empty: the row is kept as rejected, no notifications
  struct Target {
    Target() = default;
    Target(std::string n, std::string e, nlohmann::json r = nullptr, nlohmann::json rc = nullptr,
           bool in_order = false)
        : notification(std::move(n)),
          endpoint(std::move(e)),
          rule(std::move(r)),
          recipients(std::move(rc)),
          ordered(in_order) {}
    std::string notification;
    std::string endpoint;
    nlohmann::json rule;        // Rule.* values for mappings and templates
    nlohmann::json recipients;  // resolved recipients
    bool ordered = false;       // held back while an earlier one for the same entity is owed
    // Narrows the order to entity + scope (e.g. one recipient's address), so
    // that one recipient's retries do not hold back another's messages.
    std::string order_scope;
    // Ingest creates it in_flight, claimed for the caller, unless an earlier
    // one for its entity is still owed (then pending, as usual).
    bool claim = false;
  };
  std::vector<Target> targets;
};

// One row a schedule's query returned, on its way to becoming an event.
struct ScheduledItem {
  std::string row_key;  // identifies the row within its schedule (its event keys)
  IngestItem item;      // event.id is given by the store
};

// The latest run of a schedule.
struct ScheduleRun {
  std::string schedule;
  int64_t last_slot = 0;    // unix seconds
  int64_t last_run_at = 0;  // unix ms
  int64_t emitted = 0;
};

struct EndpointStatus {
  std::string endpoint;
  std::map<std::string, int64_t> counts;  // by state
  int64_t oldest_waiting_ms = 0;          // age of the oldest pending, waiting or in-flight notification
};

struct StateCount {
  std::string state;
  int64_t count = 0;
};

class StateStore {
 public:
  static Result<StateStore> open(const std::string& path);
  // Caps the database file at about max_bytes (0: no cap) for this
  // connection; writes beyond it fail with "database or disk is full".
  Status limit_size(int64_t max_bytes);
  // PRAGMA synchronous for this connection: FULL (the default from open) or,
  // when `full` is false, NORMAL.
  Status set_synchronous(bool full);
  // Checkpoints the write-ahead log on a thread of its own from now on
  // instead of in the commit that fills it (heraldd's store).
  Status checkpoint_in_background();
  // No checkpoints from this connection's commits (another one's
  // checkpoint_in_background() does them).
  Status no_auto_checkpoint();

  // Last outbox id ingested from `source` (0 when none).
  Result<int64_t> cursor(const std::string& source);
  // One transaction: events, their notifications and the new cursor.
  // Returns the number of notifications created. Targets marked `claim`
  // that were created in_flight are appended to `claimed` (when given), in
  // the order of `items`. With `expected_cursor`, fails (writing nothing)
  // unless the cursor is there: batches read ahead of an earlier one that
  // failed must not skip its rows.
  // The rule and recipients of what is claimed move from `items` to
  // `claimed`: they are not copied.
  Result<int64_t> ingest(const std::string& source, int64_t new_cursor, std::vector<IngestItem>& items,
                         int64_t now_ms, std::vector<NotificationRow>* claimed = nullptr,
                         std::optional<int64_t> expected_cursor = std::nullopt);
  Result<int64_t> ingest(const std::string& source, int64_t new_cursor, std::vector<IngestItem>&& items,
                         int64_t now_ms, std::vector<NotificationRow>* claimed = nullptr,
                         std::optional<int64_t> expected_cursor = std::nullopt) {
    return ingest(source, new_cursor, items, now_ms, claimed, expected_cursor);
  }

  // Moves up to `limit` due notifications (pending or waiting with
  // next_attempt_at <= now) to in_flight and returns them, oldest due first.
  // The claim is committed without a flush even with synchronous=FULL: the
  // next flushed commit (the attempt's result) carries it to disk. Lost to a
  // power cut, it leaves the notification pending, to be sent again, which
  // is what a durable claim would lead to as well (as 'interrupted').
  // Which endpoints a claim may take from: only `endpoint` when set; never
  // those in `exclude` (endpoints already at their max_in_flight).
  struct EndpointFilter {
    std::optional<std::string> endpoint;
    std::vector<std::string> exclude;
  };
  Result<std::vector<NotificationRow>> claim_due(int64_t now_ms, int limit,
                                                 const EndpointFilter& filter = {});
  // Endpoints with pending or waiting notifications, one index seek each.
  Result<std::vector<std::string>> due_endpoints();
  // Earliest next_attempt_at among pending and waiting rows.
  Result<std::optional<int64_t>> next_due_at(const std::vector<std::string>& exclude_endpoints = {});
  // Claimed notifications that were never sent go back to where the claim
  // took them from (pending, or waiting when an attempt was made before),
  // with no attempt recorded. Returns how many.
  Result<int64_t> unclaim(const std::vector<int64_t>& ids, int64_t now_ms);
  // Notifications that a previous run left in flight go back to pending
  // (their interrupted attempt is recorded). Returns how many.
  Result<int64_t> recover_in_flight(int64_t now_ms);

  // Records an attempt and moves the notification to `next` in one transaction.
  Status finish_attempt(const AttemptRow& attempt, State next, std::optional<int64_t> next_attempt_at,
                        const std::string& last_error);
  // The same for many attempts in one transaction (one commit for all that
  // finished together): all are recorded, or none.
  struct AttemptRecord {
    AttemptRow attempt;
    State next = State::Failed;
    std::optional<int64_t> next_attempt_at;
    std::string last_error;
    std::optional<std::string> payload;  // the rendered message, kept for the next attempts
  };
  Status finish_attempts(const std::vector<AttemptRecord>& records);

  // Operator actions. They return false when the notification does not
  // exist or is in a state the action does not apply to.
  Result<bool> retry_now(int64_t id, int64_t now_ms);
  Result<bool> cancel(int64_t id, int64_t now_ms);
  // Failed notifications (updated since `since_ms`, for `endpoint` when
  // given) become due now and are rendered anew. Returns how many.
  Result<int64_t> retry_failed(int64_t now_ms, std::optional<int64_t> since_ms,
                               const std::optional<std::string>& endpoint);
  // Fresh notifications for an event seen before; the cursor does not move.
  Result<int64_t> replay(const IngestItem& item, int64_t now_ms);
  // Removes delivered and cancelled notifications last updated before the
  // time, their attempts, and events left without notifications.
  Result<int64_t> prune_delivered_before(int64_t before_ms);
  Result<std::vector<EndpointStatus>> endpoint_status(int64_t now_ms);

  // Schedules (docs/schedules.md). Which of `row_keys` were emitted already
  // in (schedule, period), in order.
  Result<std::vector<bool>> emitted(const std::string& schedule, const std::string& period,
                                    const std::vector<std::string>& row_keys);
  // One transaction: each item not yet emitted in (schedule, period) becomes
  // an event (with an id below zero) and its notifications; the emission is
  // remembered until period_end_ms has passed (see prune_delivered_before).
  struct EmitCount {
    int64_t events = 0;
    int64_t notifications = 0;
  };
  Result<EmitCount> emit_scheduled(const std::string& schedule, const std::string& period,
                                   int64_t period_end_ms, std::vector<ScheduledItem> items, int64_t now_ms);
  // The latest slot the schedule ran for; nullopt when it never ran.
  Result<std::optional<int64_t>> schedule_last_slot(const std::string& schedule);
  // Remembers a finished run (the slot never moves backwards).
  Status record_schedule_run(const std::string& schedule, int64_t slot_s, int64_t now_ms, int64_t emitted);
  Result<std::vector<ScheduleRun>> schedule_runs();

  Result<std::vector<StateCount>> counts();
  Result<std::vector<NotificationRow>> list(std::optional<State> state, int limit);
  Result<std::optional<NotificationRow>> get(int64_t id);
  Result<std::vector<AttemptRow>> attempts(int64_t notification_id);
  Result<std::optional<Event>> event(int64_t event_id);
  // For a held notification, the earliest notification still owed before it
  // for the same endpoint and entity (the one it waits for).
  Result<std::optional<int64_t>> held_behind(int64_t id);
  // Reads the database (for a health check): one lookup at the end of the
  // notifications table, as cheap with a million rows as with none.
  Status probe();
  // Changes whenever another connection (another process, or another of
  // heraldd's own) commits to the database (SQLite's PRAGMA data_version).
  Result<int64_t> data_version();
  // Notifications in one state; an index-only count, cheap for the states that stay small.
  Result<int64_t> count_in(State state);
  // Outbox rows that could not be parsed: (outbox id, reason), newest first.
  Result<std::vector<std::pair<int64_t, std::string>>> rejected(int limit);

  int schema_version() const { return schema_version_; }

 private:
  explicit StateStore(db::Database db) : db_(std::move(db)) {}
  Status migrate();
  Result<int64_t> insert_items(std::vector<IngestItem>& items, int64_t now_ms,
                               std::vector<NotificationRow>* claimed = nullptr);
  // After notification `id` stopped being owed (delivered, failed,
  // cancelled): the first held one of its endpoint and entity becomes due
  // unless another earlier one is still owed. Within the caller's transaction.
  Status release_held_after(int64_t id, int64_t now_ms);
  // Notification `id`, pending or waiting again, is held instead when it
  // must wait for an earlier one of its entity. Within the caller's transaction.
  Status hold_if_behind(int64_t id, int64_t now_ms);
  // After notification `id` became owed again (an operator's retry): the
  // later pending or waiting ordered ones of its entity are held behind it.
  // Within the caller's transaction.
  Status hold_later_than(int64_t id, int64_t now_ms);
  // Runs the cached statement `sql` with ?1 = id and ?2 = now_ms.
  Status run_for(const std::string& sql, int64_t id, int64_t now_ms);

  // Writes `count` rows with a multi-row INSERT (RowsInsert, in
  // state_store.cc), up to 32 rows per statement: bind(statement, k, i)
  // binds row i as the statement's k-th row; written(first, n) follows
  // each statement, which wrote rows first .. first + n - 1.
  struct RowsInsert;
  Status insert_rows(const RowsInsert& insert, size_t count,
                     const std::function<void(db::Statement&, int, size_t)>& bind,
                     const std::function<void(size_t, size_t)>& written = {});

  // A statement prepared once per SQL text and kept: claim_due,
  // finish_attempts, event and next_due_at run for every notification. Callers
  // hold it through a lease that resets it, so no read stays open.
  Result<db::Statement*> cached(const std::string& sql);

  db::Database db_;
  int schema_version_ = 0;
  bool synchronous_full_ = true;
  // Declared after db_: finalized before the connection closes.
  std::unordered_map<std::string, db::Statement> statements_;
  // Last: stops watching db_'s commits before db_ closes.
  std::unique_ptr<db::WalCheckpointer> checkpointer_;
};

}  // namespace herald::state
