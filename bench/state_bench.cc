// The state database's claim-and-mark cycle, as heraldd runs it at full
// throughput: claim a batch of due notifications (StateStore::claim_due),
// then record the attempts as delivered, all of the batch in one transaction
// (StateStore::finish_attempts), as heraldd writes the results that finish
// together. Against a real file, WAL, with synchronous FULL (the default)
// and NORMAL.
//
//   build/bench/herald_bench_state [--benchmark_filter=...]
//
// Arguments: batch size, 1 for synchronous=FULL / 0 for NORMAL.
//
// BM_IngestAndFinish is the worker's share of a delivery on the outbox path:
// a batch of events of about 1 KB written with one ordered notification each,
// claimed as they are created (StateStore::ingest), then recorded delivered
// (StateStore::finish_attempts). No rendering, no outbox read: the state
// database's writes alone, per notification, checkpoints included (SQLite's
// own, inline, where heraldd runs them on a thread of their own).
//
// BM_DueBehindHeld: asking for and claiming what is due while notifications
// are held back behind others of their entity (0 or 100,000 of them).
// BM_DueBesideCapped: the same for the other endpoints while one at its own
// max_in_flight has 100,000 due.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "db/sqlite.h"
#include "outbox/event.h"
#include "state/state_store.h"

namespace {

namespace fs = std::filesystem;
using herald::state::AttemptRow;
using herald::state::IngestItem;
using herald::state::NotificationRow;
using herald::state::State;
using herald::state::StateStore;

constexpr int kRefill = 20'000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Adds kRefill pending notifications, due now, for one event: ordered, as
// endpoints are by default, each of an entity of its own.
bool refill(const std::string& path, int64_t first) {
  auto db = herald::db::Database::open(path, herald::db::Database::Mode::ReadWriteCreate);
  if (!db) return false;
  const std::string sql =
      "BEGIN; INSERT OR IGNORE INTO events (id, entity, action, name, keys, occurred_at, ingested_at, "
      "status) "
      "VALUES (1, 'identity', 'UPDATE', 'Bench', '{\"PersonID\":\"p\"}', '', 0, 'accepted');"
      "WITH RECURSIVE k(i) AS (SELECT " +
      std::to_string(first) + " UNION ALL SELECT i + 1 FROM k WHERE i < " +
      std::to_string(first + kRefill - 1) +
      ") INSERT INTO notifications (event_id, notification, endpoint, state, attempts, next_attempt_at, "
      "created_at, updated_at, message_id, entity_key, ordered, owed) SELECT 1, 'n', 'e', 'pending', 0, 0, "
      "0, "
      "0, 'm-' || i, 'p-' || i, 1, 1 FROM k; COMMIT;";
  return static_cast<bool>(db->exec(sql));
}

// An empty folder of this process's own under the temporary folder.
fs::path fresh_dir(const std::string& prefix) {
  const fs::path dir = fs::temp_directory_path() / (prefix + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Results of a batch, recorded as heraldd records them: delivered, 200.
std::vector<StateStore::AttemptRecord> delivered(const std::vector<NotificationRow>& rows) {
  std::vector<StateStore::AttemptRecord> results;
  results.reserve(rows.size());
  for (const auto& row : rows) {
    AttemptRow a;
    a.notification_id = row.id;
    a.number = row.attempts + 1;
    a.started_at = a.finished_at = now_ms();
    a.outcome = "delivered";
    a.http_status = 200;
    results.push_back({a, State::Delivered, std::nullopt, "", std::nullopt});
  }
  return results;
}

void BM_ClaimAndFinish(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const bool full = state.range(1) != 0;
  const fs::path dir = fresh_dir("herald_bench_state_");
  const std::string path = (dir / "state.db").string();
  {
    auto store = StateStore::open(path);
    if (!store) {
      state.SkipWithError(store.error().message.c_str());
      return;
    }
  }
  int64_t added = 0;
  if (!refill(path, added)) {
    state.SkipWithError("cannot fill the state database");
    return;
  }
  added += kRefill;
  auto store = StateStore::open(path);
  if (!store || !store->set_synchronous(full)) {
    state.SkipWithError("cannot open the state database");
    return;
  }
  int64_t done = 0;
  for (auto _ : state) {
    auto rows = store->claim_due(now_ms(), batch);
    if (!rows) {
      state.SkipWithError(rows.error().message.c_str());
      break;
    }
    if (rows->empty()) {
      state.PauseTiming();
      const bool ok = refill(path, added);
      added += kRefill;
      state.ResumeTiming();
      if (!ok) {
        state.SkipWithError("cannot refill the state database");
        break;
      }
      continue;
    }
    if (auto s = store->finish_attempts(delivered(rows.value())); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    done += static_cast<int64_t>(rows->size());
  }
  state.counters["notifications_per_s"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
  state.SetLabel(full ? "synchronous=FULL" : "synchronous=NORMAL");
  std::error_code ec;
  fs::remove_all(dir, ec);
}
BENCHMARK(BM_ClaimAndFinish)
    ->Args({64, 1})
    ->Args({64, 0})
    ->Args({8, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_IngestAndFinish(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const bool full = state.range(1) != 0;
  const fs::path dir = fresh_dir("herald_bench_ingest_");
  auto store = StateStore::open((dir / "state.db").string());
  if (!store || !store->set_synchronous(full)) {
    state.SkipWithError("cannot open the state database");
    return;
  }
  const std::string padding(980, 'x');
  int64_t cursor = 0;
  int64_t done = 0;
  std::vector<IngestItem> items(static_cast<size_t>(batch));
  for (auto _ : state) {
    state.PauseTiming();
    const int64_t after = cursor;
    for (auto& item : items) {
      herald::Event& e = item.event;
      e.id = ++cursor;
      e.entity = "identity";
      e.action = "UPDATE";
      e.name = "Person Changed";
      // A few thousand people: an entity's earlier notification is long delivered.
      e.keys = {{"PersonID", "P" + std::to_string(cursor % 5000)}};
      e.old_values_text = R"({"title":"Engineer"})";
      e.new_values_text =
          R"({"title":"Engineer )" + std::to_string(cursor % 7) + R"(","comment":")" + padding + R"("})";
      e.occurred_at = "2026-11-23T20:00:00Z";
      item.targets.clear();
      item.targets.emplace_back("Person Changed", "nginx", nullptr, nullptr, true);
      item.targets.back().claim = true;
    }
    std::vector<NotificationRow> claimed;
    state.ResumeTiming();
    auto created = store->ingest("outbox", cursor, items, now_ms(), &claimed, after);
    if (!created) {
      state.SkipWithError(created.error().message.c_str());
      break;
    }
    if (auto s = store->finish_attempts(delivered(claimed)); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    done += static_cast<int64_t>(claimed.size());
  }
  // Per second of the process's CPU time (no UseRealTime): 1e6 / rate is the
  // CPU microseconds one notification costs.
  state.counters["notifications_per_s"] =
      benchmark::Counter(static_cast<double>(done), benchmark::Counter::kIsRate);
  state.SetLabel(full ? "synchronous=FULL" : "synchronous=NORMAL");
  std::error_code ec;
  fs::remove_all(dir, ec);
}
BENCHMARK(BM_IngestAndFinish)->Args({448, 0})->Args({448, 1})->Unit(benchmark::kMillisecond);

// What the dispatcher pays for notifications held back in order: 1,000
// people each have one notification in flight (an endpoint that hangs) and
// range(0) / 1,000 more behind it. Each iteration asks when the next one is
// due (the event loop, after every batch of results) and claims what is due
// (the worker): nothing, however many are held.
void BM_DueBehindHeld(benchmark::State& state) {
  const int64_t held = state.range(0);
  const fs::path dir = fresh_dir("herald_bench_held_");
  auto store = StateStore::open((dir / "state.db").string());
  if (!store || !store->set_synchronous(false)) {
    state.SkipWithError("cannot open the state database");
    return;
  }
  constexpr int kPeople = 1000;
  int64_t cursor = 0;
  for (int64_t made = -kPeople; made < held; made += kPeople) {
    std::vector<IngestItem> items(kPeople);
    for (int i = 0; i < kPeople; ++i) {
      herald::Event& e = items[static_cast<size_t>(i)].event;
      e.id = ++cursor;
      e.entity = "identity";
      e.action = "UPDATE";
      e.keys = {{"PersonID", "P" + std::to_string(i)}};
      items[static_cast<size_t>(i)].targets.emplace_back("Person Changed", "nginx", nullptr, nullptr, true);
      items[static_cast<size_t>(i)].targets.back().claim = made < 0;  // the first of each: in flight
    }
    std::vector<NotificationRow> claimed;
    if (auto s = store->ingest("outbox", cursor, items, now_ms(), &claimed); !s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
  }
  for (auto _ : state) {
    auto next = store->next_due_at();
    auto due = store->claim_due(now_ms(), 64);
    if (!next || !due || next->has_value() || !due->empty()) {
      state.SkipWithError("a held notification was due");
      break;
    }
  }
  auto counted = store->count_in(State::Held);
  state.counters["held"] = counted ? static_cast<double>(counted.value()) : -1;
  std::error_code ec;
  fs::remove_all(dir, ec);
}
BENCHMARK(BM_DueBehindHeld)->Arg(0)->Arg(100'000)->Unit(benchmark::kMicrosecond);

// What the dispatcher pays for an endpoint at its own max_in_flight with
// range(0) notifications due: each iteration asks when the next one for the
// other endpoints is due and claims theirs (none due yet), as heraldd does
// after each batch of results while that endpoint is full.
void BM_DueBesideCapped(benchmark::State& state) {
  const int64_t backlog = state.range(0);
  const fs::path dir = fresh_dir("herald_bench_capped_");
  auto store = StateStore::open((dir / "state.db").string());
  if (!store || !store->set_synchronous(false)) {
    state.SkipWithError("cannot open the state database");
    return;
  }
  int64_t cursor = 0;
  auto add = [&](const std::string& endpoint, int64_t count, int64_t due_at) {
    std::vector<IngestItem> items(static_cast<size_t>(count));
    for (auto& item : items) {
      item.event.id = ++cursor;
      item.event.entity = "identity";
      item.event.action = "UPDATE";
      item.event.keys = {{"PersonID", "P" + std::to_string(cursor)}};
      item.targets.emplace_back("Person Changed", endpoint);
    }
    return static_cast<bool>(store->ingest("outbox", cursor, items, due_at));
  };
  bool ok = add("rest", 10, now_ms() + 3'600'000);
  for (int64_t made = 0; ok && made < backlog; made += 10'000) ok = add("mail", 10'000, now_ms());
  if (!ok) {
    state.SkipWithError("cannot fill the state database");
    return;
  }
  StateStore::EndpointFilter others;
  others.exclude = {"mail"};
  for (auto _ : state) {
    auto next = store->next_due_at(others.exclude);
    auto due = store->claim_due(now_ms(), 64, others);
    if (!next || !due || !next->has_value() || !due->empty()) {
      state.SkipWithError("the other endpoint's notifications were not found as expected");
      break;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
BENCHMARK(BM_DueBesideCapped)->Arg(100'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
