#include "state/state_store.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <iterator>
#include <random>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/json_parse.h"
#include "common/json_text.h"

namespace herald::state {
namespace {

// Each entry moves the schema one version forward; never edit a shipped one.
constexpr std::array<const char*, 9> kMigrations = {
    R"sql(
CREATE TABLE cursors (
  source  TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
);
CREATE TABLE events (
  id          INTEGER PRIMARY KEY,   -- the outbox row id
  entity      TEXT NOT NULL,
  action      TEXT NOT NULL,
  name        TEXT,
  keys        TEXT,
  old_values  TEXT,
  new_values  TEXT,
  occurred_at TEXT,
  ingested_at INTEGER NOT NULL,
  status      TEXT NOT NULL,         -- accepted | rejected
  reason      TEXT                   -- why a row was rejected
);
CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        INTEGER NOT NULL REFERENCES events(id),
  notification    TEXT NOT NULL,
  endpoint        TEXT NOT NULL,
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  message_id      TEXT NOT NULL UNIQUE,
  last_error      TEXT,
  last_status     INTEGER,
  payload         TEXT
);
CREATE INDEX notifications_due ON notifications(state, next_attempt_at);
CREATE INDEX notifications_event ON notifications(event_id);
CREATE TABLE attempts (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id INTEGER NOT NULL REFERENCES notifications(id),
  number          INTEGER NOT NULL,
  started_at      INTEGER NOT NULL,
  finished_at     INTEGER NOT NULL,
  outcome         TEXT NOT NULL,
  http_status     INTEGER,
  error           TEXT,
  response        TEXT
);
CREATE INDEX attempts_notification ON attempts(notification_id);
)sql",
    // 2: what made a notification: the rule that matched (Rule.* values)
    // and the resolved recipients.
    R"sql(
ALTER TABLE notifications ADD COLUMN rule TEXT;
ALTER TABLE notifications ADD COLUMN recipients TEXT;
ALTER TABLE attempts ADD COLUMN error_class TEXT;
)sql",
    // 3: per-entity order. A notification waits while an earlier one for the
    // same endpoint and entity is still owed.
    R"sql(
ALTER TABLE notifications ADD COLUMN entity_key TEXT;
ALTER TABLE notifications ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notifications_order ON notifications(endpoint, entity_key, id)
  WHERE state IN ('pending', 'in_flight', 'waiting');
)sql",
    // 4: schedules. The latest slot each one ran (to find missed runs), and
    // what each emitted per period, so that a notice goes out once.
    R"sql(
CREATE TABLE schedule_runs (
  schedule    TEXT PRIMARY KEY,
  last_slot   INTEGER NOT NULL,  -- unix seconds
  last_run_at INTEGER NOT NULL,  -- unix ms
  emitted     INTEGER NOT NULL   -- events emitted by that run
);
CREATE TABLE schedule_emissions (
  schedule   TEXT NOT NULL,
  row_key    TEXT NOT NULL,
  period     TEXT NOT NULL,
  period_end INTEGER NOT NULL,  -- unix ms; pruned once over
  event_id   INTEGER NOT NULL,
  emitted_at INTEGER NOT NULL,
  PRIMARY KEY (schedule, row_key, period)
) WITHOUT ROWID;
)sql",
    // 5: rendered payloads move to a table of their own, so that the state
    // changes of a notification (claim, outcome) rewrite a small row.
    R"sql(
CREATE TABLE payloads (
  notification_id INTEGER PRIMARY KEY,
  payload         TEXT NOT NULL
);
INSERT INTO payloads (notification_id, payload) SELECT id, payload FROM notifications WHERE payload IS NOT NULL;
UPDATE notifications SET payload = NULL WHERE payload IS NOT NULL;
)sql",
    // 6: the order index's condition as ORs. SQLite evaluates an IN list of
    // three through a temporary table, which it built for every row written.
    R"sql(
DROP INDEX notifications_order;
CREATE INDEX notifications_order ON notifications(endpoint, entity_key, id)
  WHERE state = 'pending' OR state = 'in_flight' OR state = 'waiting';
)sql",
    // 7: the due index holds only what waits to be sent. A notification
    // claimed as it is ingested, then delivered, never enters it, where it
    // used to cost an entry written, removed and written again.
    R"sql(
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications(state, next_attempt_at)
  WHERE state = 'pending' OR state = 'waiting';
)sql",
    // 8: held notifications. One that waits for an earlier notification of
    // its entity leaves the due index, where every claim walked past it with
    // a lookup, and stays in the order index, so that later ones wait too.
    // An index of their own finds the next to release, and tells at once
    // that none is held, which is nearly always so. And what is due, by
    // endpoint: claims for the others step over an endpoint at its
    // max_in_flight at once instead of over each of its due notifications.
    R"sql(
DROP INDEX notifications_order;
CREATE INDEX notifications_order ON notifications(endpoint, entity_key, id)
  WHERE state = 'pending' OR state = 'in_flight' OR state = 'waiting' OR state = 'held';
CREATE INDEX notifications_held ON notifications(state, endpoint, entity_key, id) WHERE state = 'held';
CREATE INDEX notifications_due_endpoint ON notifications(state, endpoint, next_attempt_at)
  WHERE state = 'pending' OR state = 'waiting';
UPDATE notifications SET state = 'held'
  WHERE (state = 'pending' OR state = 'waiting') AND ordered = 1 AND entity_key IS NOT NULL
    AND EXISTS (SELECT 1 FROM notifications p WHERE p.endpoint = notifications.endpoint
      AND p.entity_key = notifications.entity_key AND p.id < notifications.id
      AND (p.state = 'pending' OR p.state = 'in_flight' OR p.state = 'waiting' OR p.state = 'held'));
)sql",
    // 9: whether a notification is still owed, in a column of its own for the
    // order index's condition. With the state there, SQLite deleted and wrote
    // again a notification's entry when a claim moved it from pending to
    // in_flight, though both are owed. And an ordered notification that is
    // pending or waiting never has an earlier one of its entity owed (those
    // are held), which claims rely on instead of checking each candidate:
    // what an older Herald let pass that way is held here.
    R"sql(
ALTER TABLE notifications ADD COLUMN owed INTEGER NOT NULL DEFAULT 0;
UPDATE notifications SET owed = 1
  WHERE state = 'pending' OR state = 'in_flight' OR state = 'waiting' OR state = 'held';
DROP INDEX notifications_order;
CREATE INDEX notifications_order ON notifications(endpoint, entity_key, id) WHERE owed = 1;
UPDATE notifications SET state = 'held'
  WHERE (state = 'pending' OR state = 'waiting') AND ordered = 1 AND entity_key IS NOT NULL
    AND EXISTS (SELECT 1 FROM notifications p WHERE p.endpoint = notifications.endpoint
      AND p.entity_key = notifications.entity_key AND p.id < notifications.id AND p.owed = 1);
)sql",
};

constexpr const char* kNotificationColumns =
    "id, event_id, notification, endpoint, state, attempts, next_attempt_at, created_at, updated_at, "
    "message_id, last_error, last_status, "
    "(SELECT payload FROM payloads WHERE notification_id = notifications.id), rule, recipients";

// A notification still owed (pending, in_flight, waiting or held), in the
// words of the order index's condition (SQLite uses a partial index only for
// a query that repeats them).
const std::string kOwed = "p.owed = 1";

// The value of the owed column for a notification in state `s`.
int owed(State s) {
  return s == State::Pending || s == State::InFlight || s == State::Waiting || s == State::Held ? 1 : 0;
}

// An earlier notification of n's endpoint and entity is still owed.
const std::string kEarlierOwed =
    "EXISTS (SELECT 1 FROM notifications p WHERE p.endpoint = n.endpoint AND p.entity_key = n.entity_key "
    "AND p.id < n.id AND " +
    kOwed + ")";

// An ordered notification waits while an earlier one for the same endpoint
// and entity is still owed (the order index serves this).
const std::string kBehindOwed = "n.ordered = 1 AND n.entity_key IS NOT NULL AND " + kEarlierOwed;

// Where a notification goes when it becomes owed again (an operator's retry,
// a restart): held if it must wait. Claims never check the order, so no
// ordered notification is pending or waiting behind an owed one.
const std::string kPendingOrHeld = "CASE WHEN " + kBehindOwed + " THEN 'held' ELSE 'pending' END";

// A cached statement for one call: reset, its bindings cleared (unless the
// caller binds every parameter each time), when the call ends, whichever way
// it ends.
class Lease {
 public:
  explicit Lease(db::Statement& st, db::Statement::Bindings bindings = db::Statement::Bindings::Clear)
      : st_(st), bindings_(bindings) {}
  ~Lease() { st_.reset(bindings_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  db::Statement* operator->() { return &st_; }
  db::Statement& operator*() { return st_; }

 private:
  db::Statement& st_;
  db::Statement::Bindings bindings_;
};

// Rows per INSERT statement. A statement opens the cursors of the table and
// of each of its indexes, and settles AUTOINCREMENT, once for all its rows:
// a notification written one per statement cost 35,700 instructions, 32 to
// a statement 21,100 (callgrind, the notifications table).
constexpr size_t kRowsPerInsert = 32;

// How many rows the next statement writes when `left` remain: 32, then
// powers of two, so that an INSERT has at most six prepared forms.
size_t rows_in_next(size_t left) {
  if (left >= kRowsPerInsert) return kRowsPerInsert;
  size_t n = 1;
  while (n * 2 <= left) n *= 2;
  return n;
}

NotificationRow read_notification(const db::Statement& st) {
  NotificationRow r;
  r.id = st.column_int(0);
  r.event_id = st.column_int(1);
  r.notification = st.column_text(2);
  r.endpoint = st.column_text(3);
  r.state = state_from_string(st.column_text(4)).value_or(State::Failed);
  r.attempts = static_cast<int>(st.column_int(5));
  r.next_attempt_at = st.column_int(6);
  r.created_at = st.column_int(7);
  r.updated_at = st.column_int(8);
  r.message_id = st.column_text(9);
  r.last_error = st.column_opt_text(10);
  if (!st.is_null(11)) r.last_status = st.column_int(11);
  r.payload = st.column_opt_text(12);
  auto parse = [](const std::optional<std::string>& text) {
    if (!text) return nlohmann::json();
    auto j = parse_json(*text);
    return j.is_discarded() ? nlohmann::json() : j;
  };
  r.rule = parse(st.column_opt_text(13));
  r.recipients = parse(st.column_opt_text(14));
  return r;
}

std::string new_message_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  // A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74
  // random bits. Ids made close in time sort together, so the unique index
  // on message_id grows at its end instead of dirtying a random page per
  // insert (which made every ingest commit write much of that index again).
  const auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  uint64_t r = rng(), b = rng();
  uint64_t a = (ms << 16) | 0x7000ULL | (r & 0x0fffULL);
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  // 8-4-4-4-12 hex digits; by hand, as snprintf cost 2,700 instructions per notification.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  std::size_t pos = 0;
  for (const uint64_t half : {a, b}) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      id[pos++] = kHex[(half >> shift) & 0xf];
    }
  }
  return id;
}

// Moves a cursor (an outbox's last id, or the schedules' id counter) within
// the caller's transaction.
Status write_cursor(db::Database& db, const std::string& source, int64_t id) {
  auto st = db.prepare(
      "INSERT INTO cursors (source, last_id) VALUES (?1, ?2) "
      "ON CONFLICT(source) DO UPDATE SET last_id = excluded.last_id");
  if (!st) return st.error();
  return st->bind(1, source).bind(2, id).run();
}

std::optional<std::string> json_or_null(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return json_text(j);
}

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::Pending:
      return "pending";
    case State::InFlight:
      return "in_flight";
    case State::Waiting:
      return "waiting";
    case State::Delivered:
      return "delivered";
    case State::Failed:
      return "failed";
    case State::Cancelled:
      return "cancelled";
    case State::Held:
      return "held";
  }
  return "unknown";
}

std::optional<State> state_from_string(std::string_view s) {
  for (State st : kAllStates) {
    if (s == to_string(st)) return st;
  }
  return std::nullopt;
}

Result<StateStore> StateStore::open(const std::string& path) {
  auto db = db::Database::open(path, db::Database::Mode::ReadWriteCreate);
  if (!db) return db.error();
  StateStore store(std::move(db.value()));
  // FULL: a committed "delivered" or cursor survives power loss, not just a crash.
  if (auto s = store.db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !s) {
    return s.error();
  }
  if (auto s = store.migrate(); !s) return s.error();
  return store;
}

Status StateStore::limit_size(int64_t max_bytes) {
  auto st = db_.prepare("PRAGMA page_size");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  int64_t page = std::max<int64_t>(st->column_int(0), 512);
  int64_t pages = max_bytes > 0 ? std::max<int64_t>(max_bytes / page, 1) : 2147483646;
  // SQLite never lowers it below the current size: a full database stays usable for reads.
  return db_.exec("PRAGMA max_page_count = " + std::to_string(pages));
}

// The texts of one multi-row INSERT: `head` ("INSERT INTO t (a, b) VALUES ")
// followed by 1, 2, 4 .. 32 copies of `row` ("(?1, ?2)"), each copy's
// parameters numbered on from the copy before (`params` to a row).
struct StateStore::RowsInsert {
  RowsInsert(std::string_view head, std::string_view row, int params_per_row) : params(params_per_row) {
    for (size_t n = 1; n <= kRowsPerInsert; n *= 2) {
      std::string sql(head);
      for (size_t k = 0; k < n; ++k) {
        if (k > 0) sql += ", ";
        for (size_t i = 0; i < row.size(); ++i) {
          if (row[i] != '?') {
            sql += row[i];
            continue;
          }
          size_t end = i + 1;
          while (end < row.size() && row[end] >= '0' && row[end] <= '9') ++end;
          sql += '?';
          sql += std::to_string(std::stoi(std::string(row.substr(i + 1, end - i - 1))) +
                                static_cast<int>(k) * params);
          i = end - 1;
        }
      }
      texts.push_back(std::move(sql));
    }
  }
  const std::string& sql(size_t rows) const { return texts[static_cast<size_t>(std::countr_zero(rows))]; }

  int params;
  std::vector<std::string> texts;
};

Status StateStore::insert_rows(const RowsInsert& insert, size_t count,
                               const std::function<void(db::Statement&, int, size_t)>& bind,
                               const std::function<void(size_t, size_t)>& written) {
  for (size_t first = 0; first < count;) {
    const size_t n = rows_in_next(count - first);
    auto prepared = cached(insert.sql(n));
    if (!prepared) return prepared.error();
    // `bind` sets every parameter of every row.
    Lease st(*prepared.value(), db::Statement::Bindings::Keep);
    for (size_t k = 0; k < n; ++k) bind(*st, static_cast<int>(k) * insert.params, first + k);
    // Stepped, not run(): the lease's reset at the end of the scope is the only one.
    if (auto r = st->step(); !r) return r.error();
    if (written) written(first, n);
    first += n;
  }
  return {};
}

Result<db::Statement*> StateStore::cached(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    found = statements_.emplace(sql, std::move(st.value())).first;
  }
  return &found->second;
}

Status StateStore::set_synchronous(bool full) {
  if (auto s = db_.exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"); !s) return s;
  synchronous_full_ = full;
  return {};
}

Status StateStore::no_auto_checkpoint() {
  if (sqlite3_wal_autocheckpoint(db_.handle(), 0) != SQLITE_OK) return Error{db_.error_message()};
  return {};
}

Status StateStore::checkpoint_in_background() {
  if (checkpointer_) return {};
  auto c = db::WalCheckpointer::start(db_);
  if (!c) return c.error();
  checkpointer_ = std::move(c.value());
  return {};
}

Status StateStore::migrate() {
  auto st = db_.prepare("PRAGMA user_version");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  int version = static_cast<int>(st->column_int(0));
  st->reset();  // a statement still running would keep DROP INDEX from running
  if (version > static_cast<int>(kMigrations.size())) {
    return Error{db_.path() + ": state database schema version " + std::to_string(version) +
                 " is newer than this Herald understands (" + std::to_string(kMigrations.size()) + ")"};
  }
  for (int v = version; v < static_cast<int>(kMigrations.size()); ++v) {
    auto tx = db::Transaction::begin(db_);
    if (!tx) return tx.error();
    if (auto s = db_.exec(kMigrations[v]); !s)
      return Error{"migration to version " + std::to_string(v + 1) + ": " + s.error().message};
    if (auto s = db_.exec("PRAGMA user_version=" + std::to_string(v + 1)); !s) return s.error();
    if (auto s = tx->commit(); !s) return s.error();
  }
  schema_version_ = static_cast<int>(kMigrations.size());
  return {};
}

Result<int64_t> StateStore::cursor(const std::string& source) {
  auto prepared = cached("SELECT last_id FROM cursors WHERE source = ?1");
  if (!prepared) return prepared.error();
  Lease st(*prepared.value());
  st->bind(1, source);
  auto row = st->step();
  if (!row) return row.error();
  return *row ? st->column_int(0) : int64_t{0};
}

Result<int64_t> StateStore::insert_items(std::vector<IngestItem>& items, int64_t now_ms,
                                         std::vector<NotificationRow>* claimed) {
  static const RowsInsert kEvents(
      "INSERT OR IGNORE INTO events (id, entity, action, name, keys, old_values, new_values, occurred_at, "
      "ingested_at, status, reason) VALUES ",
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", 11);
  static const RowsInsert kNotifications(
      "INSERT INTO notifications (event_id, notification, endpoint, state, attempts, next_attempt_at, "
      "created_at, updated_at, message_id, rule, recipients, entity_key, ordered, owed) VALUES ",
      "(?1, ?2, ?3, ?10, 0, ?4, ?4, ?4, ?5, ?6, ?7, ?8, ?9, 1)", 10);
  // An ordered target is held while an earlier notification for its entity
  // is still owed (kEarlierOwed; every existing row is earlier); otherwise a
  // claimed one starts in_flight. Asked apart from the insert: an INSERT
  // with RETURNING builds and drops a temporary table per row.
  auto owed =
      cached("SELECT EXISTS (SELECT 1 FROM notifications p WHERE p.endpoint = ?1 AND p.entity_key = ?2 AND " +
             kOwed + ")");
  if (!owed) return owed.error();

  // Every row is made ready first, then written many to a statement: the
  // events, then (referring to them) the notifications.
  struct KeptEvent {
    IngestItem* item;
    std::string keys;  // a JSON object's text sorts its members: one text per entity
  };
  std::vector<KeptEvent> events;
  events.reserve(items.size());
  for (auto& item : items) {
    if (item.targets.empty() && item.rejected_reason.empty()) continue;  // nothing listens: not kept
    events.push_back({&item, json_text(item.event.keys)});
  }
  struct NewNotification {
    const Event* event;
    IngestItem::Target* target;
    std::string entity_key;
    std::string message_id;
    State state;
    std::optional<std::string> rule, recipients;  // as JSON text
  };
  std::vector<NewNotification> fresh;
  fresh.reserve(events.size());
  // The endpoint and entity of each notification made here. All are owed,
  // so a later one of the same is held without asking the database, which
  // does not hold them yet.
  std::unordered_set<std::string> made;
  for (const auto& kept : events) {
    const Event& e = kept.item->event;
    for (auto& t : kept.item->targets) {
      std::string key = e.entity + "\n" + kept.keys;
      if (!t.order_scope.empty()) key += "\n" + t.order_scope;
      std::string scope = t.endpoint;
      scope += '\0';
      scope += key;
      bool held = false;
      if (t.ordered) {
        held = made.count(scope) > 0;
        if (!held) {
          Lease q(*owed.value(), db::Statement::Bindings::Keep);  // both parameters bound each time
          q->bind(1, t.endpoint).bind(2, key);
          auto r = q->step();
          if (!r) return r.error();
          held = *r && q->column_int(0) != 0;
        }
      }
      made.insert(std::move(scope));
      const State state = held ? State::Held : (t.claim && claimed) ? State::InFlight : State::Pending;
      fresh.push_back({&e, &t, std::move(key), new_message_id(), state, json_or_null(t.rule),
                       json_or_null(t.recipients)});
    }
  }

  // Every text is bound without a copy: what it points to (the items, the
  // rows made ready above, literals) outlives the statements' steps.
  auto event_status = insert_rows(kEvents, events.size(), [&](db::Statement& st, int p, size_t i) {
    const IngestItem& item = *events[i].item;
    const Event& e = item.event;
    st.bind(p + 1, e.id).bind_unowned(p + 2, e.entity).bind_unowned(p + 3, e.action);
    if (e.name.empty()) {
      st.bind_null(p + 4);
    } else {
      st.bind_unowned(p + 4, e.name);
    }
    st.bind_unowned(p + 5, events[i].keys);
    // The producer's text, about all of the row's bytes, is not copied.
    if (e.old_values_text.empty()) {
      st.bind(p + 6, json_or_null(e.old_values));
    } else {
      st.bind_unowned(p + 6, e.old_values_text);
    }
    if (e.new_values_text.empty()) {
      st.bind(p + 7, json_or_null(e.new_values));
    } else {
      st.bind_unowned(p + 7, e.new_values_text);
    }
    st.bind_unowned(p + 8, e.occurred_at)
        .bind(p + 9, now_ms)
        .bind_unowned(p + 10, item.rejected_reason.empty() ? "accepted" : "rejected");
    if (item.rejected_reason.empty()) {
      st.bind_null(p + 11);
    } else {
      st.bind_unowned(p + 11, item.rejected_reason);
    }
  });
  if (!event_status) return event_status.error();

  auto bind_notification = [&](db::Statement& st, int p, size_t i) {
    const NewNotification& n = fresh[i];
    const IngestItem::Target& t = *n.target;
    st.bind(p + 1, n.event->id).bind_unowned(p + 2, t.notification).bind_unowned(p + 3, t.endpoint);
    st.bind(p + 4, now_ms).bind_unowned(p + 5, n.message_id);
    auto bind_json = [&](int param, const std::optional<std::string>& text) {
      if (text) {
        st.bind_unowned(param, *text);
      } else {
        st.bind_null(param);
      }
    };
    bind_json(p + 6, n.rule);
    bind_json(p + 7, n.recipients);
    st.bind_unowned(p + 8, n.entity_key)
        .bind(p + 9, t.ordered ? 1 : 0)
        .bind_unowned(p + 10, to_string(n.state));
  };
  // The rows of one INSERT get consecutive ids (AUTOINCREMENT: each the
  // largest so far plus one), the last of them last_insert_rowid.
  auto hand_out = [&](size_t first, size_t count) {
    if (!claimed) return;
    const int64_t first_id = db_.last_insert_rowid() - static_cast<int64_t>(count) + 1;
    for (size_t i = first; i < first + count; ++i) {
      NewNotification& f = fresh[i];
      if (f.state != State::InFlight) continue;
      NotificationRow n;
      n.id = first_id + static_cast<int64_t>(i - first);
      n.event_id = f.event->id;
      n.notification = f.target->notification;
      n.endpoint = f.target->endpoint;
      n.state = State::InFlight;
      n.next_attempt_at = n.created_at = n.updated_at = now_ms;
      n.message_id = std::move(f.message_id);
      // Written to its row already: what the target holds is not needed again.
      n.rule = std::move(f.target->rule);
      n.recipients = std::move(f.target->recipients);
      claimed->push_back(std::move(n));
    }
  };
  if (auto s = insert_rows(kNotifications, fresh.size(), bind_notification, hand_out); !s) return s.error();
  return static_cast<int64_t>(fresh.size());
}

Result<int64_t> StateStore::ingest(const std::string& source, int64_t new_cursor,
                                   std::vector<IngestItem>& items, int64_t now_ms,
                                   std::vector<NotificationRow>* claimed,
                                   std::optional<int64_t> expected_cursor) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  if (expected_cursor) {
    auto at = cursor(source);
    if (!at) return at.error();
    if (at.value() != *expected_cursor) {
      return Error{"outbox cursor of '" + source + "' is at " + std::to_string(at.value()) + ", not " +
                   std::to_string(*expected_cursor) + " (an earlier batch was not written)"};
    }
  }
  // Handed out only once committed: a rolled back ingest claimed nothing.
  std::vector<NotificationRow> rows;
  auto created = insert_items(items, now_ms, claimed ? &rows : nullptr);
  if (!created) return created.error();
  if (auto s = write_cursor(db_, source, new_cursor); !s) return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  if (claimed) std::move(rows.begin(), rows.end(), std::back_inserter(*claimed));
  return created.value();
}

Result<std::vector<std::string>> StateStore::due_endpoints() {
  // A skip scan of notifications_due_endpoint per state: one seek per
  // endpoint, however many notifications each has.
  auto names = [](const char* state) {
    const std::string in_state = std::string("state = '") + state + "'";
    return "SELECT name FROM (WITH RECURSIVE e(name) AS (SELECT (SELECT MIN(endpoint) FROM notifications "
           "WHERE " +
           in_state + ") UNION ALL SELECT (SELECT MIN(endpoint) FROM notifications WHERE " + in_state +
           " AND endpoint > e.name) FROM e WHERE e.name IS NOT NULL) SELECT name FROM e WHERE name IS NOT "
           "NULL)";
  };
  // UNION ALL, sorted here: a UNION builds a temporary table per call.
  auto prepared = cached(names("pending") + " UNION ALL " + names("waiting"));
  if (!prepared) return prepared.error();
  Lease st(*prepared.value());
  std::vector<std::string> out;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    out.push_back(st->column_text(0));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// A walk per endpoint is a term of a compound SELECT (SQLite allows 500), two
// per endpoint in a claim; beyond this many, one walk leaves the full ones out.
constexpr size_t kMaxEndpointWalks = 100;

// How a claim or next_due_at walks what is due: endpoint by endpoint, or all
// in one walk of the due index that leaves `endpoints` out.
struct DueWalk {
  bool by_endpoint = false;
  std::vector<std::string> endpoints;
};

Result<DueWalk> plan_walk(StateStore& store, const StateStore::EndpointFilter& filter) {
  if (filter.endpoint) return DueWalk{true, {*filter.endpoint}};
  if (filter.exclude.empty()) return DueWalk{};
  // Walking the due index in time order would step over every due
  // notification of the excluded endpoints, one lookup each: those at their
  // max_in_flight are the ones with a backlog.
  auto due = store.due_endpoints();
  if (!due) return due.error();
  DueWalk walk{true, {}};
  for (auto& e : due.value()) {
    if (std::find(filter.exclude.begin(), filter.exclude.end(), e) == filter.exclude.end())
      walk.endpoints.push_back(std::move(e));
  }
  if (walk.endpoints.size() > kMaxEndpointWalks) return DueWalk{false, filter.exclude};
  return walk;
}

// The due notifications of one state in time order, as "t" and "id", each
// walk stopping after `limit` rows (a backlog of millions is never sorted or
// read as a whole): those of each endpoint of `w`, one walk of
// notifications_due_endpoint each, or all but `w`'s in one walk of
// notifications_due. The endpoints are bound from ?first_param on.
std::string due_walks(const char* state, const char* bound, const char* limit, const DueWalk& w,
                      int first_param) {
  auto walk = [&](const std::string& endpoint) {
    return std::string(
               "SELECT * FROM (SELECT next_attempt_at AS t, id FROM notifications n WHERE state = '") +
           state + "'" + bound + endpoint + " ORDER BY next_attempt_at, id LIMIT " + limit + ")";
  };
  auto param = [&](size_t i) { return "?" + std::to_string(first_param + static_cast<int>(i)); };
  if (!w.by_endpoint) {
    std::string others;
    for (size_t i = 0; i < w.endpoints.size(); ++i) others += (i ? ", " : "") + param(i);
    return walk(others.empty() ? "" : " AND n.endpoint NOT IN (" + others + ")");
  }
  std::string sql;
  for (size_t i = 0; i < w.endpoints.size(); ++i) {
    sql += (i ? " UNION ALL " : "") + walk(" AND n.endpoint = " + param(i));
  }
  return sql;
}

void bind_walked(db::Statement& st, const DueWalk& w, int first_param) {
  int p = first_param;
  for (const auto& e : w.endpoints) st.bind(p++, e);
}

}  // namespace

Result<std::vector<NotificationRow>> StateStore::claim_due(int64_t now_ms, int limit,
                                                           const EndpointFilter& filter) {
  auto plan = plan_walk(*this, filter);
  if (!plan) return plan.error();
  const DueWalk& w = plan.value();
  if (w.by_endpoint && w.endpoints.empty()) return std::vector<NotificationRow>{};
  auto prepared =
      cached("UPDATE notifications SET state = 'in_flight', updated_at = ?1 WHERE id IN (SELECT id FROM (" +
             due_walks("pending", " AND next_attempt_at <= ?1", "?2", w, 3) + " UNION ALL " +
             due_walks("waiting", " AND next_attempt_at <= ?1", "?2", w, 3) +
             ") ORDER BY t, id LIMIT ?2) RETURNING " + kNotificationColumns);
  if (!prepared) return prepared.error();
  // In WAL mode NORMAL skips the flush at commit; FULL comes back on the way out.
  struct Unflushed {
    db::Database& db;
    bool on;
    ~Unflushed() {
      if (on) (void)db.exec("PRAGMA synchronous=FULL");
    }
  } unflushed{db_, synchronous_full_ && db_.exec("PRAGMA synchronous=NORMAL").ok()};
  Lease st(*prepared.value());
  st->bind(1, now_ms).bind(2, limit);
  bind_walked(*st, w, 3);
  std::vector<NotificationRow> rows;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    rows.push_back(read_notification(*st));
  }
  std::sort(rows.begin(), rows.end(), [](const NotificationRow& a, const NotificationRow& b) {
    return a.next_attempt_at != b.next_attempt_at ? a.next_attempt_at < b.next_attempt_at : a.id < b.id;
  });
  return rows;
}

Result<std::optional<int64_t>> StateStore::next_due_at(const std::vector<std::string>& exclude_endpoints) {
  EndpointFilter filter;
  filter.exclude = exclude_endpoints;
  auto plan = plan_walk(*this, filter);
  if (!plan) return plan.error();
  const DueWalk& w = plan.value();
  if (w.by_endpoint && w.endpoints.empty()) return std::optional<int64_t>{};
  // As in claim_due: the first claimable row of each walk.
  auto prepared = cached("SELECT MIN(t) FROM (" + due_walks("pending", "", "1", w, 1) + " UNION ALL " +
                         due_walks("waiting", "", "1", w, 1) + ")");
  if (!prepared) return prepared.error();
  Lease st(*prepared.value());
  bind_walked(*st, w, 1);
  auto r = st->step();
  if (!r) return r.error();
  if (!*r || st->is_null(0)) return std::optional<int64_t>{};
  return std::optional<int64_t>{st->column_int(0)};
}

Result<int64_t> StateStore::unclaim(const std::vector<int64_t>& ids, int64_t now_ms) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  auto prepared = cached(
      "UPDATE notifications SET state = CASE WHEN attempts > 0 THEN 'waiting' ELSE 'pending' END, "
      "updated_at = ?2 WHERE id = ?1 AND state = 'in_flight'");
  if (!prepared) return prepared.error();
  int64_t n = 0;
  for (int64_t id : ids) {
    {
      Lease st(*prepared.value());
      st->bind(1, id).bind(2, now_ms);
      if (auto s = st->run(); !s) return s.error();
    }
    if (db_.changes() == 0) continue;
    ++n;
    if (auto s = hold_if_behind(id, now_ms); !s) return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return n;
}

Result<int64_t> StateStore::recover_in_flight(int64_t now_ms) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  // The interrupted attempt may or may not have reached the server: record
  // it, then send again (the message id lets receivers drop the duplicate).
  if (auto s =
          db_.exec("INSERT INTO attempts (notification_id, number, started_at, finished_at, outcome, error) "
                   "SELECT id, attempts + 1, updated_at, " +
                   std::to_string(now_ms) +
                   ", 'interrupted', 'Herald stopped while this attempt was in flight' FROM notifications "
                   "WHERE state = 'in_flight'");
      !s) {
    return s.error();
  }
  // One let through while an earlier one of its entity became owed again
  // (an operator's retry) waits for it now.
  if (auto s = db_.exec("UPDATE notifications AS n SET state = " + kPendingOrHeld +
                        ", attempts = attempts + 1, next_attempt_at = " + std::to_string(now_ms) +
                        ", updated_at = " + std::to_string(now_ms) + " WHERE state = 'in_flight'");
      !s) {
    return s.error();
  }
  int64_t n = db_.changes();
  if (auto s = tx->commit(); !s) return s.error();
  return n;
}

Status StateStore::finish_attempt(const AttemptRow& a, State next, std::optional<int64_t> next_attempt_at,
                                  const std::string& last_error) {
  return finish_attempts({{a, next, next_attempt_at, last_error, std::nullopt}});
}

Status StateStore::finish_attempts(const std::vector<AttemptRecord>& records) {
  if (records.empty()) return {};
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  static const RowsInsert kAttempts(
      "INSERT INTO attempts (notification_id, number, started_at, finished_at, outcome, http_status, error, "
      "response, error_class) VALUES ",
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", 9);
  auto prepared_up = cached(
      "UPDATE notifications SET state = ?2, owed = ?8, attempts = ?3, next_attempt_at = COALESCE(?4, "
      "next_attempt_at), updated_at = ?5, last_error = ?6, last_status = ?7 WHERE id = ?1");
  if (!prepared_up) return prepared_up.error();
  auto prepared_payload =
      cached("INSERT OR REPLACE INTO payloads (notification_id, payload) VALUES (?1, ?2)");
  if (!prepared_payload) return prepared_payload.error();
  // Asked once for the batch: only another transaction holds one back.
  auto any_held = cached(
      "SELECT EXISTS (SELECT 1 FROM notifications INDEXED BY notifications_held "
      "WHERE state = 'held')");
  if (!any_held) return any_held.error();
  bool held = false;
  {
    Lease q(*any_held.value());
    auto r = q->step();
    if (!r) return r.error();
    held = *r && q->column_int(0) != 0;
  }
  auto attempts = insert_rows(kAttempts, records.size(), [&](db::Statement& st, int p, size_t i) {
    const AttemptRow& a = records[i].attempt;
    st.bind(p + 1, a.notification_id)
        .bind(p + 2, a.number)
        .bind(p + 3, a.started_at)
        .bind(p + 4, a.finished_at);
    st.bind_unowned(p + 5, a.outcome).bind(p + 6, a.http_status);
    st.bind_unowned(p + 7, a.error).bind_unowned(p + 8, a.response);
    if (a.error_class.empty()) {
      st.bind_null(p + 9);
    } else {
      st.bind_unowned(p + 9, a.error_class);
    }
  });
  if (!attempts) return attempts;
  for (const auto& r : records) {
    const AttemptRow& a = r.attempt;
    {
      // All eight parameters are bound for every row.
      Lease up(*prepared_up.value(), db::Statement::Bindings::Keep);
      up->bind(1, a.notification_id).bind_unowned(2, to_string(r.next)).bind(3, a.number);
      up->bind(4, r.next_attempt_at).bind(5, a.finished_at);
      if (r.last_error.empty()) {
        up->bind_null(6);
      } else {
        up->bind_unowned(6, r.last_error);
      }
      up->bind(7, a.http_status).bind(8, owed(r.next));
      if (auto stepped = up->step(); !stepped) return stepped.error();  // the lease resets it
    }
    if (r.next == State::Waiting || r.next == State::Pending) {
      if (auto s = hold_if_behind(a.notification_id, a.finished_at); !s) return s;
    }
    if (held && (r.next == State::Delivered || r.next == State::Failed || r.next == State::Cancelled)) {
      if (auto s = release_held_after(a.notification_id, a.finished_at); !s) return s;
    }
    if (r.payload) {
      Lease pay(*prepared_payload.value());
      if (auto s = pay->bind(1, a.notification_id).bind(2, *r.payload).run(); !s) return s;
    }
  }
  return tx->commit();
}

Result<bool> StateStore::retry_now(int64_t id, int64_t now_ms) {
  // A failed or cancelled notification gets a fresh start; the payload is
  // dropped so a corrected mapping is rendered anew.
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  auto drop = db_.prepare(
      "DELETE FROM payloads WHERE notification_id = ?1 AND "
      "(SELECT state FROM notifications WHERE id = ?1) IN ('failed', 'cancelled')");
  if (!drop) return drop.error();
  if (auto s = drop->bind(1, id).run(); !s) return s.error();
  auto st = db_.prepare("UPDATE notifications AS n SET state = " + kPendingOrHeld +
                        ", owed = 1, next_attempt_at = ?2, updated_at = ?2 "
                        "WHERE id = ?1 AND state IN ('waiting', 'failed', 'cancelled', 'pending')");
  if (!st) return st.error();
  if (auto s = st->bind(1, id).bind(2, now_ms).run(); !s) return s.error();
  bool changed = db_.changes() > 0;
  if (changed) {
    if (auto s = hold_later_than(id, now_ms); !s) return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return changed;
}

Result<bool> StateStore::cancel(int64_t id, int64_t now_ms) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  auto st = db_.prepare(
      "UPDATE notifications SET state = 'cancelled', owed = 0, updated_at = ?2 "
      "WHERE id = ?1 AND state IN ('pending', 'waiting', 'failed', 'held')");
  if (!st) return st.error();
  if (auto s = st->bind(1, id).bind(2, now_ms).run(); !s) return s.error();
  bool changed = db_.changes() > 0;
  if (changed) {
    if (auto s = release_held_after(id, now_ms); !s) return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return changed;
}

Status StateStore::release_held_after(int64_t id, int64_t now_ms) {
  // The first held one of the entity, looked up apart from the write: an
  // UPDATE that finds nothing costs more than the lookup.
  auto first_held = cached(
      "SELECT h.id FROM notifications d JOIN notifications h INDEXED BY notifications_held "
      "ON h.endpoint = d.endpoint AND h.entity_key = d.entity_key WHERE d.id = ?1 AND h.state = 'held' "
      "ORDER BY h.id LIMIT 1");
  if (!first_held) return first_held.error();
  int64_t held = 0;
  {
    Lease q(*first_held.value());
    auto r = q->bind(1, id).step();
    if (!r) return r.error();
    if (!*r) return {};
    held = q->column_int(0);
  }
  // It goes unless something before it is still owed.
  return run_for(
      "UPDATE notifications AS n SET state = CASE WHEN attempts > 0 THEN 'waiting' ELSE 'pending' END, "
      "updated_at = ?2 WHERE n.id = ?1 AND NOT " +
          kEarlierOwed,
      held, now_ms);
}

Status StateStore::hold_if_behind(int64_t id, int64_t now_ms) {
  return run_for("UPDATE notifications AS n SET state = 'held', updated_at = ?2 WHERE n.id = ?1 AND " +
                     kBehindOwed + " AND (n.state = 'pending' OR n.state = 'waiting')",
                 id, now_ms);
}

Status StateStore::hold_later_than(int64_t id, int64_t now_ms) {
  // Through the order index: only the entity's owed notifications are read.
  return run_for(
      "UPDATE notifications AS n SET state = 'held', updated_at = ?2 FROM notifications AS d "
      "WHERE d.id = ?1 AND d.owed = 1 AND n.endpoint = d.endpoint AND n.entity_key = d.entity_key "
      "AND n.id > d.id AND n.owed = 1 AND n.ordered = 1 AND (n.state = 'pending' OR n.state = 'waiting')",
      id, now_ms);
}

Status StateStore::run_for(const std::string& sql, int64_t id, int64_t now_ms) {
  auto prepared = cached(sql);
  if (!prepared) return prepared.error();
  Lease st(*prepared.value());
  return st->bind(1, id).bind(2, now_ms).run();
}

Result<std::optional<int64_t>> StateStore::held_behind(int64_t id) {
  auto st = db_.prepare(
      "SELECT p.id FROM notifications n JOIN notifications p ON p.endpoint = n.endpoint "
      "AND p.entity_key = n.entity_key WHERE n.id = ?1 AND n.state = 'held' AND p.id < n.id AND " +
      kOwed + " ORDER BY p.id LIMIT 1");
  if (!st) return st.error();
  st->bind(1, id);
  auto r = st->step();
  if (!r) return r.error();
  if (!*r) return std::optional<int64_t>{};
  return std::optional<int64_t>{st->column_int(0)};
}

Result<std::vector<StateCount>> StateStore::counts() {
  auto st = db_.prepare("SELECT state, COUNT(*) FROM notifications GROUP BY state");
  if (!st) return st.error();
  std::vector<StateCount> out;
  for (State s : kAllStates) out.push_back({to_string(s), 0});
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    std::string name = st->column_text(0);
    for (auto& c : out) {
      if (c.state == name) c.count = st->column_int(1);
    }
  }
  return out;
}

Result<std::vector<NotificationRow>> StateStore::list(std::optional<State> state, int limit) {
  std::string sql = std::string("SELECT ") + kNotificationColumns + " FROM notifications" +
                    (state ? " WHERE state = ?1" : "") + " ORDER BY id DESC LIMIT ?2";
  auto st = db_.prepare(sql);
  if (!st) return st.error();
  if (state) st->bind(1, to_string(*state));
  st->bind(2, limit);
  std::vector<NotificationRow> rows;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    rows.push_back(read_notification(*st));
  }
  return rows;
}

Result<std::optional<NotificationRow>> StateStore::get(int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kNotificationColumns + " FROM notifications WHERE id = ?1");
  if (!st) return st.error();
  st->bind(1, id);
  auto r = st->step();
  if (!r) return r.error();
  if (!*r) return std::optional<NotificationRow>{};
  return std::optional<NotificationRow>{read_notification(*st)};
}

Result<std::vector<AttemptRow>> StateStore::attempts(int64_t notification_id) {
  auto st = db_.prepare(
      "SELECT notification_id, number, started_at, finished_at, outcome, http_status, error, response, "
      "error_class FROM attempts WHERE notification_id = ?1 ORDER BY id");
  if (!st) return st.error();
  st->bind(1, notification_id);
  std::vector<AttemptRow> out;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    AttemptRow a;
    a.notification_id = st->column_int(0);
    a.number = static_cast<int>(st->column_int(1));
    a.started_at = st->column_int(2);
    a.finished_at = st->column_int(3);
    a.outcome = st->column_text(4);
    if (!st->is_null(5)) a.http_status = st->column_int(5);
    a.error = st->column_text(6);
    a.response = st->column_text(7);
    a.error_class = st->column_text(8);
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::optional<Event>> StateStore::event(int64_t event_id) {
  auto prepared = cached(
      "SELECT id, entity, action, name, keys, old_values, new_values, occurred_at FROM events WHERE id = ?1");
  if (!prepared) return prepared.error();
  Lease st(*prepared.value());
  st->bind(1, event_id);
  auto r = st->step();
  if (!r) return r.error();
  if (!*r) return std::optional<Event>{};
  Event e;
  e.id = st->column_int(0);
  e.entity = st->column_text(1);
  e.action = st->column_text(2);
  e.name = st->column_text(3);
  auto parse = [](const std::optional<std::string>& s) { return s ? parse_json(*s) : nlohmann::json(); };
  e.keys = parse(st->column_opt_text(4));
  if (e.keys.is_discarded() || e.keys.is_null()) e.keys = nlohmann::json::object();
  e.old_values = parse(st->column_opt_text(5));
  e.new_values = parse(st->column_opt_text(6));
  if (e.old_values.is_discarded()) e.old_values = nullptr;
  if (e.new_values.is_discarded()) e.new_values = nullptr;
  e.occurred_at = st->column_text(7);
  return std::optional<Event>{std::move(e)};
}

Result<int64_t> StateStore::data_version() {
  auto prepared = cached("PRAGMA data_version");
  if (!prepared) return prepared.error();
  Lease st(*prepared.value());
  auto row = st->step();
  if (!row) return row.error();
  return *row ? st->column_int(0) : int64_t{0};
}

Status StateStore::probe() {
  // Not a count of a state: under a large backlog that walks an index of a
  // million entries, which took the loop most of a second per probe.
  auto st = cached("SELECT MAX(id) FROM notifications");
  if (!st) return st.error();
  Lease q(*st.value());
  if (auto r = q->step(); !r) return r.error();
  return {};
}

Result<int64_t> StateStore::count_in(State state) {
  // The state is written into the query, not bound: only then can SQLite count pending and waiting
  // notifications in the (partial) due index instead of reading the whole table.
  auto st =
      db_.prepare(std::string("SELECT COUNT(*) FROM notifications WHERE state = '") + to_string(state) + "'");
  if (!st) return st.error();
  auto r = st->step();
  if (!r) return r.error();
  return st->column_int(0);
}

Result<std::vector<std::pair<int64_t, std::string>>> StateStore::rejected(int limit) {
  auto st = db_.prepare("SELECT id, reason FROM events WHERE status = 'rejected' ORDER BY id DESC LIMIT ?1");
  if (!st) return st.error();
  st->bind(1, limit);
  std::vector<std::pair<int64_t, std::string>> out;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    out.emplace_back(st->column_int(0), st->column_text(1));
  }
  return out;
}

Result<int64_t> StateStore::replay(const IngestItem& item, int64_t now_ms) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  std::vector<IngestItem> items{item};
  auto created = insert_items(items, now_ms);
  if (!created) return created.error();
  if (auto s = tx->commit(); !s) return s.error();
  return created.value();
}

Result<int64_t> StateStore::retry_failed(int64_t now_ms, std::optional<int64_t> since_ms,
                                         const std::optional<std::string>& endpoint) {
  const char* matching =
      "state = 'failed' AND (?2 IS NULL OR updated_at >= ?2) AND (?3 IS NULL OR endpoint = ?3)";
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  auto drop = db_.prepare(std::string("DELETE FROM payloads WHERE notification_id IN "
                                      "(SELECT id FROM notifications WHERE ?1 IS NOT NULL AND ") +
                          matching + ")");
  if (!drop) return drop.error();
  if (auto s = drop->bind(1, now_ms).bind(2, since_ms).bind(3, endpoint).run(); !s) return s.error();
  // In id order: one sent again behind an earlier one sent again is held.
  auto st =
      db_.prepare("UPDATE notifications AS n SET state = " + kPendingOrHeld +
                  ", owed = 1, next_attempt_at = ?1, updated_at = ?1 WHERE " + matching + " RETURNING id");
  if (!st) return st.error();
  st->bind(1, now_ms).bind(2, since_ms).bind(3, endpoint);
  std::vector<int64_t> revived;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    revived.push_back(st->column_int(0));
  }
  st->reset();
  for (int64_t id : revived) {
    if (auto s = hold_later_than(id, now_ms); !s) return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return static_cast<int64_t>(revived.size());
}

Result<int64_t> StateStore::prune_delivered_before(int64_t before_ms) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  std::string doomed =
      "SELECT id FROM notifications WHERE state IN ('delivered', 'cancelled') AND updated_at < " +
      std::to_string(before_ms);
  if (auto s = db_.exec("DELETE FROM attempts WHERE notification_id IN (" + doomed + ")"); !s)
    return s.error();
  if (auto s = db_.exec("DELETE FROM payloads WHERE notification_id IN (" + doomed + ")"); !s)
    return s.error();
  if (auto s = db_.exec("DELETE FROM notifications WHERE id IN (" + doomed + ")"); !s) return s.error();
  int64_t removed = db_.changes();
  // Events nobody refers to any more go too; rejected rows stay for operators.
  if (auto s = db_.exec("DELETE FROM events WHERE status = 'accepted' AND id NOT IN "
                        "(SELECT event_id FROM notifications)");
      !s) {
    return s.error();
  }
  // A period that is over can never be emitted again.
  if (auto s = db_.exec("DELETE FROM schedule_emissions WHERE period_end < " + std::to_string(before_ms)); !s)
    return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  return removed;
}

namespace {
// Scheduled events take ids below zero, counted down here, so that they never
// meet the producer's outbox ids.
constexpr const char* kScheduleIds = "herald:schedules";
}  // namespace

Result<std::vector<bool>> StateStore::emitted(const std::string& schedule, const std::string& period,
                                              const std::vector<std::string>& row_keys) {
  auto st =
      db_.prepare("SELECT 1 FROM schedule_emissions WHERE schedule = ?1 AND row_key = ?2 AND period = ?3");
  if (!st) return st.error();
  std::vector<bool> out;
  out.reserve(row_keys.size());
  for (const auto& key : row_keys) {
    st->reset();
    st->bind(1, schedule).bind(2, key).bind(3, period);
    auto row = st->step();
    if (!row) return row.error();
    out.push_back(*row);
  }
  st->reset();
  return out;
}

Result<StateStore::EmitCount> StateStore::emit_scheduled(const std::string& schedule,
                                                         const std::string& period, int64_t period_end_ms,
                                                         std::vector<ScheduledItem> items, int64_t now_ms) {
  auto tx = db::Transaction::begin(db_);
  if (!tx) return tx.error();
  auto last = cursor(kScheduleIds);
  if (!last) return last.error();
  int64_t next_id = std::min<int64_t>(last.value(), 0) - 1;
  auto mark = db_.prepare(
      "INSERT OR IGNORE INTO schedule_emissions (schedule, row_key, period, period_end, event_id, "
      "emitted_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!mark) return mark.error();
  std::vector<IngestItem> fresh;
  for (auto& s : items) {
    // Nothing listens: nothing to keep, and a notification added later in
    // the period may still take it.
    if (s.item.targets.empty()) continue;
    mark->bind(1, schedule).bind(2, s.row_key).bind(3, period).bind(4, period_end_ms).bind(5, next_id);
    mark->bind(6, now_ms);
    if (auto r = mark->run(); !r) return r.error();
    if (db_.changes() == 0) continue;  // an earlier run of this period emitted it
    s.item.event.id = next_id--;
    fresh.push_back(std::move(s.item));
  }
  EmitCount count;
  count.events = static_cast<int64_t>(fresh.size());
  if (!fresh.empty()) {
    auto created = insert_items(fresh, now_ms);
    if (!created) return created.error();
    count.notifications = created.value();
    if (auto r = write_cursor(db_, kScheduleIds, next_id + 1); !r) return r.error();
  }
  if (auto r = tx->commit(); !r) return r.error();
  return count;
}

Result<std::optional<int64_t>> StateStore::schedule_last_slot(const std::string& schedule) {
  auto st = db_.prepare("SELECT last_slot FROM schedule_runs WHERE schedule = ?1");
  if (!st) return st.error();
  st->bind(1, schedule);
  auto row = st->step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(st->column_int(0));
}

Status StateStore::record_schedule_run(const std::string& schedule, int64_t slot_s, int64_t now_ms,
                                       int64_t emitted) {
  auto st = db_.prepare(
      "INSERT INTO schedule_runs (schedule, last_slot, last_run_at, emitted) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT(schedule) DO UPDATE SET last_slot = MAX(last_slot, excluded.last_slot), "
      "last_run_at = excluded.last_run_at, emitted = excluded.emitted");
  if (!st) return st.error();
  return st->bind(1, schedule).bind(2, slot_s).bind(3, now_ms).bind(4, emitted).run();
}

Result<std::vector<ScheduleRun>> StateStore::schedule_runs() {
  auto st =
      db_.prepare("SELECT schedule, last_slot, last_run_at, emitted FROM schedule_runs ORDER BY schedule");
  if (!st) return st.error();
  std::vector<ScheduleRun> out;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    out.push_back({st->column_text(0), st->column_int(1), st->column_int(2), st->column_int(3)});
  }
  return out;
}

Result<std::vector<EndpointStatus>> StateStore::endpoint_status(int64_t now_ms) {
  auto st = db_.prepare(
      "SELECT endpoint, state, COUNT(*), MIN(created_at) FROM notifications GROUP BY endpoint, state ORDER "
      "BY "
      "endpoint");
  if (!st) return st.error();
  std::vector<EndpointStatus> out;
  for (;;) {
    auto r = st->step();
    if (!r) return r.error();
    if (!*r) break;
    std::string endpoint = st->column_text(0);
    if (out.empty() || out.back().endpoint != endpoint) out.push_back({endpoint, {}, 0});
    std::string state = st->column_text(1);
    out.back().counts[state] = st->column_int(2);
    // The oldest notification still owed to this endpoint.
    if (state == "pending" || state == "waiting" || state == "in_flight" || state == "held") {
      int64_t age = now_ms - st->column_int(3);
      out.back().oldest_waiting_ms = std::max(out.back().oldest_waiting_ms, age);
    }
  }
  return out;
}

}  // namespace herald::state
