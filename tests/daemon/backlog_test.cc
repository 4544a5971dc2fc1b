// A backlog of a million notifications stays on disk: heraldd claims what is
// due a few at a time, so its memory does not grow with the backlog.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "db/sqlite.h"
#include "state/state_store.h"
#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t delivered(const std::string& state_db) {
  return test::query_int(state_db, "SELECT COUNT(*) FROM notifications WHERE state = 'delivered'");
}

// `due` notifications due now, `later` more waiting for tomorrow; returns
// heraldd's peak RSS (KiB) once it delivered the due ones.
long peak_rss_with_backlog(int due, int later) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  std::string config = test::write_scenario(dir, s);
  const std::string state = dir.file("state.db");
  {
    auto store = state::StateStore::open(state);  // the real schema
    EXPECT_TRUE(store) << store.error().message;
    auto db = db::Database::open(state, db::Database::Mode::ReadWriteCreate);
    EXPECT_TRUE(db) << db.error().message;
    const int64_t now = now_ms();
    std::string sql =
        "BEGIN; INSERT INTO events (id, entity, action, name, keys, occurred_at, ingested_at, status) VALUES "
        "(1, 'identity', 'CREATE', 'REST Person Added', '{\"PersonID\":\"p\"}', '', 0, 'accepted');"
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < " +
        std::to_string(due + later) +
        ") INSERT INTO notifications (event_id, notification, endpoint, state, attempts, next_attempt_at, "
        "created_at, updated_at, message_id, ordered, owed) SELECT 1, 'Person Added', 'pacs', "
        "CASE WHEN i <= " +
        std::to_string(due) + " THEN 'pending' ELSE 'waiting' END, 0, CASE WHEN i <= " + std::to_string(due) +
        " THEN " + std::to_string(now - 1000) + " ELSE " + std::to_string(now + 86'400'000) +
        " END, 0, 0, 'm-' || i, 0, 1 FROM k; COMMIT;";
    auto done = db->exec(sql);
    EXPECT_TRUE(done) << done.error().message;
  }
  test::DaemonProcess heraldd(config, dir.file("heraldd.log"), {test::asan_options_without_quarantine()});
  bool all = test::wait_until([&] { return delivered(state) == due; }, 120s);
  EXPECT_TRUE(all) << heraldd.log();
  long peak = heraldd.peak_rss_kib().value_or(-1);
  EXPECT_EQ(heraldd.stop(), 0);
  EXPECT_EQ(sink.request_count(), static_cast<size_t>(due));
  return peak;
}

TEST(Backlog, AMillionWaitingNotificationsDoNotGrowMemory) {
  long small = peak_rss_with_backlog(2000, 0);
  long large = peak_rss_with_backlog(2000, 1'000'000);
  std::cout << "heraldd peak RSS: " << small / 1024 << " MiB with 2,000 notifications, " << large / 1024
            << " MiB with 1,002,000\n";
  ASSERT_GT(small, 0);
  ASSERT_GT(large, 0);
  // SQLite's page cache is bounded (2 MiB by default); allow for it and noise.
  EXPECT_LT(large - small, 16 * 1024);
}

}  // namespace
}  // namespace herald
