#include "state/state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "support/test_env.h"

namespace herald::state {
namespace {

IngestItem item(int64_t id, std::vector<IngestItem::Target> targets) {
  IngestItem it;
  it.event.id = id;
  it.event.entity = "identity";
  it.event.action = "CREATE";
  it.event.keys = {{"PersonID", "p" + std::to_string(id)}};
  it.targets = std::move(targets);
  return it;
}

// One row of a schedule's query, as the daemon hands it over.
ScheduledItem scheduled_row(const std::string& person, bool listened = true) {
  ScheduledItem s;
  s.item.event.entity = "identity";
  s.item.event.action = "NOTICE";
  s.item.event.name = "Password Expires Soon";
  s.item.event.keys = {{"PersonID", person}};
  s.row_key = s.item.event.keys.dump();
  if (listened) s.item.targets.emplace_back("Password Expires Soon", "mail");
  return s;
}

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = StateStore::open(dir_.file("state.db"));
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(s.value()));
  }
  // Closes the store, runs `sql` on its file (to make an older schema, say)
  // and opens it again, migrated, as store_.
  void reopen_after(const std::string& sql) {
    store_.reset();
    {
      auto raw = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
      ASSERT_TRUE(raw);
      ASSERT_TRUE(raw->exec(sql));
    }
    auto again = StateStore::open(dir_.file("state.db"));
    ASSERT_TRUE(again) << again.error().message;
    store_.emplace(std::move(again.value()));
  }
  // SQLite's plan for a query on the test's database, one step a line.
  std::string plan(const std::string& sql) {
    auto raw = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
    if (!raw) return "cannot open: " + raw.error().message;
    auto st = raw->prepare("EXPLAIN QUERY PLAN " + sql);
    if (!st) return "cannot prepare: " + st.error().message;
    std::string steps;
    for (auto row = st->step(); row && *row; row = st->step()) steps += st->column_text(3) + "\n";
    return steps;
  }
  test::TempDir dir_;
  std::optional<StateStore> store_;
};

TEST_F(StateStoreTest, MigratesToTheCurrentSchemaAndReopens) {
  EXPECT_EQ(store_->schema_version(), 9);
  store_.reset();
  auto again = StateStore::open(dir_.file("state.db"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->schema_version(), 9);
}

TEST_F(StateStoreTest, MigratesAnOlderDatabaseKeepingItsRows) {
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}})}, 100));
  // Turn the file back into a version 1 database.
  ASSERT_NO_FATAL_FAILURE(reopen_after(
      "ALTER TABLE notifications DROP COLUMN rule; "
      "ALTER TABLE notifications DROP COLUMN recipients; ALTER TABLE attempts DROP COLUMN error_class; "
      "DROP INDEX notifications_order; DROP INDEX notifications_held; DROP INDEX "
      "notifications_due_endpoint; ALTER TABLE notifications DROP COLUMN owed; "
      "ALTER TABLE notifications DROP COLUMN entity_key; "
      "ALTER TABLE notifications DROP COLUMN ordered; "
      "DROP TABLE schedule_runs; DROP TABLE schedule_emissions; DROP TABLE payloads; "
      "UPDATE notifications SET payload = '{\"kept\":1}'; "
      "PRAGMA user_version = 1;"));
  EXPECT_EQ(store_->schema_version(), 9);
  auto rows = store_->list(std::nullopt, 10).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].rule.is_null());
  // Version 5 moved the payload to a table of its own.
  EXPECT_EQ(rows[0].payload, "{\"kept\":1}");
}

// Writing a notification evaluates the order index's condition; written as
// an IN list, SQLite built a temporary table for it on every row.
TEST_F(StateStoreTest, WritesNotificationsWithoutATemporaryTable) {
  auto raw = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(raw);
  auto ephemeral_tables = [&](const std::string& sql) {
    auto st = raw->prepare("EXPLAIN " + sql);
    int n = -1;  // a statement that does not prepare fails the test
    if (!st) return n;
    n = 0;
    for (auto row = st->step(); row && *row; row = st->step()) n += st->column_text(1) == "OpenEphemeral";
    return n;
  };
  EXPECT_EQ(ephemeral_tables("INSERT INTO notifications (event_id, notification, endpoint, state, "
                             "next_attempt_at, created_at, updated_at, message_id, entity_key, ordered) "
                             "VALUES (1, 'n', 'e', 'in_flight', 0, 0, 0, 'm', 'k', 1)"),
            0);
  // Nor many rows to a statement, as ingest writes them.
  EXPECT_EQ(ephemeral_tables("INSERT INTO notifications (event_id, notification, endpoint, state, "
                             "next_attempt_at, created_at, updated_at, message_id, entity_key, ordered) "
                             "VALUES (1, 'n', 'e', 'in_flight', 0, 0, 0, 'm', 'k', 1), "
                             "(2, 'n', 'e', 'in_flight', 0, 0, 0, 'm2', 'k', 1)"),
            0);
  EXPECT_EQ(ephemeral_tables("UPDATE notifications SET state = 'delivered' WHERE id = 1"), 0);
  // ... and the order check still finds owed notifications through it.
  EXPECT_THAT(
      plan("SELECT 1 FROM notifications p WHERE p.endpoint = 'e' AND p.entity_key = 'k' AND p.owed = 1"),
      ::testing::HasSubstr("USING INDEX notifications_order"));
}

// A claim moves a notification from pending or waiting to in_flight, owed
// all along: its entry in the order index stays as it is (the index's
// condition names the owed column, which a claim does not write), where
// SQLite used to delete and write it again. A result that ends it does
// remove it.
TEST_F(StateStoreTest, AClaimLeavesTheOrderIndexAlone) {
  auto raw = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(raw);
  auto root = raw->prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'notifications_order'");
  ASSERT_TRUE(root);
  ASSERT_TRUE(root->step().value());
  const std::string order_root = std::to_string(root->column_int(0));
  auto writes_order_index = [&](const std::string& sql) {
    auto st = raw->prepare("EXPLAIN " + sql);
    if (!st) return true;
    bool writes = false;
    for (auto row = st->step(); row && *row; row = st->step())
      writes |= st->column_text(1) == "OpenWrite" && st->column_text(3) == order_root;
    return writes;
  };
  EXPECT_FALSE(
      writes_order_index("UPDATE notifications SET state = 'in_flight', updated_at = 1 WHERE id = 1"));
  EXPECT_TRUE(writes_order_index("UPDATE notifications SET state = 'delivered', owed = 0 WHERE id = 1"));
}

// The due index holds pending and waiting notifications only, so that one
// claimed at ingest and delivered never costs an entry in it; what reads by
// state still finds its way through it.
TEST_F(StateStoreTest, DueIndexServesDispatchAndCountsOfWhatWaits) {
  for (const char* state : {"pending", "waiting"}) {
    EXPECT_THAT(plan(std::string("SELECT id FROM notifications WHERE state = '") + state +
                     "' AND next_attempt_at <= 5 ORDER BY next_attempt_at, id LIMIT 10"),
                ::testing::HasSubstr("INDEX notifications_due (state=? AND next_attempt_at<?)"));
    EXPECT_THAT(plan(std::string("SELECT COUNT(*) FROM notifications WHERE state = '") + state + "'"),
                ::testing::HasSubstr("USING COVERING INDEX notifications_due"));
  }
  // Counts stay right for every state, in and out of the index.
  ASSERT_TRUE(store_->ingest(
      "outbox", 4,
      {item(1, {{"n", "e"}}), item(2, {{"n", "e"}}), item(3, {{"n", "e"}}), item(4, {{"n", "e"}})}, 1000));
  auto claimed = store_->claim_due(2000, 2).value();
  ASSERT_EQ(claimed.size(), 2u);
  AttemptRow delivered{claimed[0].id, 1, 2000, 2001, "delivered", 200, "", "", ""};
  ASSERT_TRUE(store_->finish_attempt(delivered, State::Delivered, std::nullopt, ""));
  AttemptRow retry{claimed[1].id, 1, 2000, 2001, "retry", 503, "HTTP 503", "", "http"};
  ASSERT_TRUE(store_->finish_attempt(retry, State::Waiting, 9000, "HTTP 503"));
  EXPECT_EQ(store_->count_in(State::Pending).value(), 2);
  EXPECT_EQ(store_->count_in(State::Waiting).value(), 1);
  EXPECT_EQ(store_->count_in(State::Delivered).value(), 1);
  EXPECT_EQ(store_->count_in(State::InFlight).value(), 0);
  EXPECT_EQ(store_->claim_due(5000, 10).value().size(), 2u);  // the pending ones; the retry is not due
  EXPECT_EQ(store_->claim_due(9000, 10).value().size(), 1u);  // now the retry
  EXPECT_EQ(store_->count_in(State::InFlight).value(), 3);
}

TEST_F(StateStoreTest, ProbeAnswersWhileTheDatabaseReadsAndFailsWhenItDoesNot) {
  EXPECT_TRUE(store_->probe());
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}})}, 100));
  EXPECT_TRUE(store_->probe());
  {
    // Another process breaks the schema under the daemon.
    auto raw = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(raw);
    ASSERT_TRUE(raw->exec("PRAGMA foreign_keys=OFF; ALTER TABLE notifications RENAME TO gone"));
  }
  auto broken = store_->probe();
  ASSERT_FALSE(broken);
  EXPECT_THAT(broken.error().message, ::testing::HasSubstr("notifications"));
}

TEST_F(StateStoreTest, RefusesADatabaseFromANewerHerald) {
  store_.reset();
  {
    auto raw = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(raw->exec("PRAGMA user_version = 99"));
  }
  auto again = StateStore::open(dir_.file("state.db"));
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message, ::testing::HasSubstr("schema version 99 is newer"));
}

TEST_F(StateStoreTest, KeepsRuleAndRecipientsOfANotification) {
  IngestItem it = item(1, {});
  IngestItem::Target t;
  t.notification = "n";
  t.endpoint = "e";
  t.rule = {{"attribute", "email"}, {"old", "a"}, {"new", nullptr}};
  t.recipients = nlohmann::json::array({{{"identity", "7"}, {"address", "x@example.com"}}});
  it.targets.push_back(t);
  ASSERT_TRUE(store_->ingest("s", 1, {it}, 100));
  auto row = store_->list(std::nullopt, 1).value().at(0);
  EXPECT_EQ(row.rule, t.rule);
  EXPECT_EQ(row.recipients, t.recipients);
}

TEST_F(StateStoreTest, AnOrderedNotificationWaitsForTheEarlierOneOfItsEntity) {
  auto ordered = [](int64_t id, const std::string& person, bool in_order) {
    IngestItem it = item(id, {});
    it.event.keys = {{"PersonID", person}};
    it.targets.emplace_back("n", "pacs", nullptr, nullptr, in_order);
    return it;
  };
  ASSERT_TRUE(store_->ingest(
      "s", 4, {ordered(1, "a", true), ordered(2, "a", true), ordered(3, "b", true), ordered(4, "a", false)},
      100));
  // Event 2 is held behind event 1 (same entity), outside what claims walk.
  EXPECT_EQ(store_->count_in(State::Held).value(), 1);
  EXPECT_EQ(store_->count_in(State::Pending).value(), 3);
  auto first = store_->claim_due(100, 10).value();
  std::vector<int64_t> events;
  for (const auto& r : first) events.push_back(r.event_id);
  // b and the unordered one flow.
  EXPECT_THAT(events, ::testing::UnorderedElementsAre(1, 3, 4));
  EXPECT_FALSE(store_->next_due_at().value().has_value());  // nothing claimable: no busy loop
  int64_t first_id = 0;
  for (const auto& r : first) {
    if (r.event_id == 1) first_id = r.id;
  }
  auto held = store_->list(State::Held, 10).value();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].event_id, 2);
  EXPECT_EQ(store_->held_behind(held[0].id).value(), first_id);
  EXPECT_FALSE(store_->held_behind(first_id).value());  // not held
  ASSERT_TRUE(store_->finish_attempt({first_id, 1, 100, 110, "retry", 503, "HTTP 503", "", "http"},
                                     State::Waiting, 5000, "HTTP 503"));
  EXPECT_TRUE(store_->claim_due(200, 10)->empty());  // still owed: 2 keeps waiting
  EXPECT_EQ(store_->next_due_at().value(), 5000);
  auto retried = store_->claim_due(5000, 10).value();
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].event_id, 1);
  ASSERT_TRUE(store_->finish_attempt({first_id, 2, 5000, 5010, "delivered", 200, "", "", ""},
                                     State::Delivered, std::nullopt, ""));
  EXPECT_EQ(store_->get(held[0].id).value()->state, State::Pending);  // released with that result
  auto second = store_->claim_due(5010, 10).value();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event_id, 2);
}

class HeldTest : public StateStoreTest {
 protected:
  // `n` ordered notifications about one person, ingested at 100; their ids.
  std::vector<int64_t> ingest_same_entity(int n, int64_t first_event = 1) {
    std::vector<IngestItem> items;
    for (int i = 0; i < n; ++i) {
      IngestItem it = item(first_event + i, {});
      it.event.keys = {{"PersonID", "same"}};
      it.targets.emplace_back("n", "pacs", nullptr, nullptr, true);
      items.push_back(std::move(it));
    }
    EXPECT_TRUE(store_->ingest("s", first_event + n - 1, items, 100));
    std::vector<int64_t> ids;
    auto rows = store_->list(std::nullopt, 1000).value();
    for (const auto& r : rows) {
      if (r.event_id >= first_event) ids.insert(ids.begin(), r.id);
    }
    return ids;
  }
  State state_of(int64_t id) { return store_->get(id).value()->state; }
  void finish(int64_t id, State next) {
    AttemptRow a{id, 1, 100, 110, next == State::Delivered ? "delivered" : "failed", 200, "", "", ""};
    ASSERT_TRUE(store_->finish_attempt(a, next, std::nullopt, ""));
  }
};

TEST_F(HeldTest, EachEndReleasesTheNextOneOnly) {
  auto ids = ingest_same_entity(4);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(state_of(ids[0]), State::Pending);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(state_of(ids[i]), State::Held);
  // Each one waits for the first: the one owed at the head of the entity.
  EXPECT_EQ(store_->held_behind(ids[3]).value(), ids[0]);
  ASSERT_EQ(store_->claim_due(100, 10)->size(), 1u);
  finish(ids[0], State::Delivered);
  EXPECT_EQ(state_of(ids[1]), State::Pending);
  EXPECT_EQ(state_of(ids[2]), State::Held);
  // A failure ends the notification too: the next one goes.
  ASSERT_EQ(store_->claim_due(200, 10)->size(), 1u);
  finish(ids[1], State::Failed);
  EXPECT_EQ(state_of(ids[2]), State::Pending);
  EXPECT_EQ(state_of(ids[3]), State::Held);
  // Cancelling a due one releases the next as well.
  EXPECT_TRUE(store_->cancel(ids[2], 300).value());
  EXPECT_EQ(state_of(ids[3]), State::Pending);
  EXPECT_EQ(store_->count_in(State::Held).value(), 0);
}

TEST_F(HeldTest, CancellingAHeldOneKeepsTheOthersBehindTheHead) {
  auto ids = ingest_same_entity(3);
  EXPECT_TRUE(store_->cancel(ids[1], 200).value());
  EXPECT_EQ(state_of(ids[1]), State::Cancelled);
  EXPECT_EQ(state_of(ids[2]), State::Held);  // the first is still owed
  EXPECT_EQ(store_->held_behind(ids[2]).value(), ids[0]);
  ASSERT_EQ(store_->claim_due(200, 10)->size(), 1u);
  finish(ids[0], State::Delivered);
  EXPECT_EQ(state_of(ids[2]), State::Pending);
}

TEST_F(HeldTest, ARetryWaitsItsTurnWhileTheHeadIsWaiting) {
  auto ids = ingest_same_entity(2);
  ASSERT_EQ(store_->claim_due(100, 10)->size(), 1u);
  AttemptRow a{ids[0], 1, 100, 110, "retry", 503, "HTTP 503", "", "http"};
  ASSERT_TRUE(store_->finish_attempt(a, State::Waiting, 5000, "HTTP 503"));
  EXPECT_EQ(state_of(ids[1]), State::Held);  // a retry still owes the head
  // retry now of the held one leaves it held: order comes first.
  EXPECT_FALSE(store_->retry_now(ids[1], 200).value());
  EXPECT_EQ(state_of(ids[1]), State::Held);
  EXPECT_EQ(store_->next_due_at().value(), 5000);
}

TEST_F(HeldTest, NotificationsSentAgainKeepTheirEntityOrder) {
  auto ids = ingest_same_entity(2);
  ASSERT_EQ(store_->claim_due(100, 10)->size(), 1u);
  finish(ids[0], State::Failed);
  ASSERT_EQ(store_->claim_due(200, 10)->size(), 1u);
  finish(ids[1], State::Failed);
  // Both go again: the later one is held behind the earlier.
  EXPECT_EQ(store_->retry_failed(300, std::nullopt, std::nullopt).value(), 2);
  EXPECT_EQ(state_of(ids[0]), State::Pending);
  EXPECT_EQ(state_of(ids[1]), State::Held);
  ASSERT_EQ(store_->claim_due(300, 10)->size(), 1u);
  finish(ids[0], State::Delivered);
  EXPECT_EQ(state_of(ids[1]), State::Waiting);  // due again, with its attempt counted
  ASSERT_EQ(store_->claim_due(300, 10)->size(), 1u);
  finish(ids[1], State::Failed);
  // One sent again alone while later ones of its entity are owed goes
  // first (nothing earlier is owed), and the later ones wait for it too.
  auto more = ingest_same_entity(2, 10);
  EXPECT_EQ(state_of(more[1]), State::Held);
  ASSERT_EQ(store_->claim_due(400, 10)->size(), 1u);  // more[0]
  EXPECT_TRUE(store_->retry_now(ids[1], 500).value());
  EXPECT_EQ(state_of(ids[1]), State::Pending);
  finish(more[0], State::Delivered);
  EXPECT_EQ(state_of(more[1]), State::Held);  // ids[1] is owed again, and earlier
  EXPECT_EQ(store_->held_behind(more[1]).value(), ids[1]);
  ASSERT_EQ(store_->claim_due(500, 10)->size(), 1u);
  finish(ids[1], State::Delivered);
  EXPECT_EQ(state_of(more[1]), State::Pending);
}

TEST_F(HeldTest, AnOlderDatabaseHoldsWhatWasBlocked) {
  auto ids = ingest_same_entity(3);
  ASSERT_TRUE(
      store_->ingest("s", 20, {item(20, {IngestItem::Target("n", "pacs", nullptr, nullptr, true)})}, 100));
  // Back to version 7: blocked notifications were pending there.
  ASSERT_NO_FATAL_FAILURE(reopen_after(
      "UPDATE notifications SET state = 'pending' WHERE state = 'held'; DROP INDEX notifications_held; "
      "DROP INDEX notifications_due_endpoint; "
      "DROP INDEX notifications_order; ALTER TABLE notifications DROP COLUMN owed; "
      "CREATE INDEX notifications_order ON notifications(endpoint, entity_key, id) "
      "WHERE state = 'pending' OR state = 'in_flight' OR state = 'waiting'; PRAGMA user_version = 7;"));
  EXPECT_EQ(store_->schema_version(), 9);
  EXPECT_EQ(store_->get(ids[0]).value()->state, State::Pending);
  EXPECT_EQ(store_->get(ids[1]).value()->state, State::Held);
  EXPECT_EQ(store_->get(ids[2]).value()->state, State::Held);
  EXPECT_EQ(store_->count_in(State::Pending).value(), 2);  // the head and event 20
}

TEST_F(HeldTest, VersionNineMarksWhatIsOwedAndHoldsWhatAClaimWouldHaveChecked) {
  auto ids = ingest_same_entity(3);
  auto other = ingest_same_entity(1, 10);  // behind ids[0] as well: held
  ASSERT_TRUE(store_->ingest("s", 20, {item(20, {IngestItem::Target("n", "pacs")})}, 100));
  ASSERT_EQ(store_->claim_due(100, 10)->size(), 2u);  // ids[0] and event 20
  const int64_t delivered = store_->list(std::nullopt, 10).value().front().id;
  finish(delivered, State::Delivered);
  // Back to version 8, where an operator's retry could leave a later
  // notification of the entity pending (claims checked the order).
  ASSERT_NO_FATAL_FAILURE(reopen_after(
      "UPDATE notifications SET state = 'pending' WHERE id = " + std::to_string(ids[2]) +
      "; UPDATE notifications SET state = 'waiting', attempts = 1 WHERE id = " + std::to_string(other[0]) +
      "; DROP INDEX notifications_order; ALTER TABLE notifications DROP COLUMN owed; "
      "CREATE INDEX notifications_order ON notifications(endpoint, entity_key, id) "
      "WHERE state = 'pending' OR state = 'in_flight' OR state = 'waiting' OR state = 'held'; "
      "PRAGMA user_version = 8;"));
  EXPECT_EQ(store_->schema_version(), 9);
  EXPECT_EQ(store_->get(ids[0]).value()->state, State::InFlight);
  EXPECT_EQ(store_->get(ids[1]).value()->state, State::Held);
  EXPECT_EQ(store_->get(ids[2]).value()->state, State::Held);
  EXPECT_EQ(store_->get(other[0]).value()->state, State::Held);
  EXPECT_EQ(test::query_int(dir_.file("state.db"), "SELECT COUNT(*) FROM notifications WHERE owed = 1"), 4);
  EXPECT_EQ(test::query_int(dir_.file("state.db"),
                            "SELECT owed FROM notifications WHERE id = " + std::to_string(delivered)),
            0);
  // The head's result releases the next one only.
  AttemptRow a{ids[0], 1, 100, 110, "delivered", 200, "", "", ""};
  ASSERT_TRUE(store_->finish_attempt(a, State::Delivered, std::nullopt, ""));
  EXPECT_EQ(store_->get(ids[1]).value()->state, State::Pending);
  EXPECT_EQ(store_->get(ids[2]).value()->state, State::Held);
}

// Claims do not check the order of what they take: whatever becomes owed
// again holds the later notifications of its entity that are not yet sent.
class RevivedTest : public HeldTest {
 protected:
  // One notification of the entity failed, then a later one arrived: it is
  // due (nothing earlier is owed). Their ids.
  std::pair<int64_t, int64_t> failed_then_later() {
    auto first = ingest_same_entity(1);
    EXPECT_EQ(store_->claim_due(100, 10)->size(), 1u);
    finish(first[0], State::Failed);
    auto later = ingest_same_entity(1, 10);
    EXPECT_EQ(state_of(later[0]), State::Pending);
    return {first[0], later[0]};
  }
  std::vector<int64_t> claimable(int64_t now) {
    auto rows = store_->claim_due(now, 10);
    EXPECT_TRUE(rows) << rows.error().message;
    std::vector<int64_t> ids;
    if (rows) {
      for (const auto& r : rows.value()) ids.push_back(r.id);
    }
    return ids;
  }
};

TEST_F(RevivedTest, ARetryHoldsTheLaterDueOnes) {
  auto [first, later] = failed_then_later();
  auto behind = ingest_same_entity(1, 20);
  EXPECT_EQ(state_of(behind[0]), State::Held);
  EXPECT_TRUE(store_->retry_now(first, 200).value());
  EXPECT_EQ(state_of(first), State::Pending);
  EXPECT_EQ(state_of(later), State::Held);
  EXPECT_EQ(store_->held_behind(later).value(), first);
  EXPECT_EQ(state_of(behind[0]), State::Held);
  EXPECT_THAT(claimable(300), ::testing::ElementsAre(first));
  finish(first, State::Delivered);
  EXPECT_EQ(state_of(later), State::Pending);
  EXPECT_EQ(state_of(behind[0]), State::Held);
  EXPECT_THAT(claimable(300), ::testing::ElementsAre(later));
}

TEST_F(RevivedTest, RetryingAllFailedHoldsTheLaterDueOnes) {
  auto [first, later] = failed_then_later();
  auto unordered = ingest_same_entity(1, 20);  // held behind `later`
  EXPECT_EQ(store_->retry_failed(200, std::nullopt, std::nullopt).value(), 1);
  EXPECT_EQ(state_of(later), State::Held);
  EXPECT_EQ(state_of(unordered[0]), State::Held);
  EXPECT_THAT(claimable(300), ::testing::ElementsAre(first));
}

TEST_F(RevivedTest, ALaterOneInFlightWaitsHeldWhenItsAttemptFails) {
  auto [first, later] = failed_then_later();
  EXPECT_THAT(claimable(150), ::testing::ElementsAre(later));
  EXPECT_TRUE(store_->retry_now(first, 200).value());
  EXPECT_EQ(state_of(later), State::InFlight);  // already on its way
  AttemptRow a{later, 1, 200, 210, "retry", 503, "HTTP 503", "", "http"};
  ASSERT_TRUE(store_->finish_attempt(a, State::Waiting, 250, "HTTP 503"));
  EXPECT_EQ(state_of(later), State::Held);
  EXPECT_THAT(claimable(300), ::testing::ElementsAre(first));  // `later` is due, but held
  finish(first, State::Delivered);
  EXPECT_EQ(state_of(later), State::Waiting);
  EXPECT_EQ(store_->get(later).value()->next_attempt_at, 250);
}

TEST_F(RevivedTest, ALaterOneInFlightIsHeldWhenItGoesBackUnsent) {
  auto [first, later] = failed_then_later();
  EXPECT_THAT(claimable(150), ::testing::ElementsAre(later));
  EXPECT_TRUE(store_->retry_now(first, 200).value());
  EXPECT_EQ(store_->unclaim({later}, 210).value(), 1);
  EXPECT_EQ(state_of(later), State::Held);
  EXPECT_THAT(claimable(300), ::testing::ElementsAre(first));
}

TEST_F(RevivedTest, ALaterOneInFlightAtARestartIsHeld) {
  auto [first, later] = failed_then_later();
  EXPECT_THAT(claimable(150), ::testing::ElementsAre(later));
  EXPECT_TRUE(store_->retry_now(first, 200).value());
  EXPECT_EQ(store_->recover_in_flight(210).value(), 1);
  EXPECT_EQ(state_of(later), State::Held);
  EXPECT_EQ(store_->get(later).value()->attempts, 1);  // the interrupted attempt counts
  EXPECT_THAT(claimable(300), ::testing::ElementsAre(first));
}

// Holding the later ones reads the entity's owed notifications only.
TEST_F(RevivedTest, HoldingTheLaterOnesReadsTheOrderIndex) {
  auto p = plan(
      "UPDATE notifications AS n SET state = 'held', updated_at = 1 FROM notifications AS d "
      "WHERE d.id = 1 AND d.owed = 1 AND n.endpoint = d.endpoint AND n.entity_key = d.entity_key "
      "AND n.id > d.id AND n.owed = 1 AND n.ordered = 1 AND (n.state = 'pending' OR n.state = 'waiting')");
  EXPECT_THAT(p, ::testing::HasSubstr("SEARCH d USING INTEGER PRIMARY KEY"));
  EXPECT_THAT(
      p, ::testing::HasSubstr("SEARCH n USING INDEX notifications_order (endpoint=? AND entity_key=? AND "
                              "id>?)"));
}

// Finding what to release reads an index of the held ones alone: a
// million pending or waiting elsewhere cost it nothing, and with none held
// (nearly always) a batch of results asks once.
TEST_F(HeldTest, ReleaseReadsOnlyTheIndexOfHeldOnes) {
  auto next = plan(
      "SELECT h.id FROM notifications d JOIN notifications h ON h.endpoint = d.endpoint "
      "AND h.entity_key = d.entity_key WHERE d.id = 1 AND h.state = 'held' ORDER BY h.id LIMIT 1");
  EXPECT_THAT(next, ::testing::HasSubstr("SEARCH d USING INTEGER PRIMARY KEY"));
  EXPECT_THAT(
      next,
      ::testing::HasSubstr(
          "SEARCH h USING COVERING INDEX notifications_held (state=? AND endpoint=? AND entity_key=?)"));
  EXPECT_THAT(next, ::testing::Not(::testing::HasSubstr("TEMP B-TREE")));
  EXPECT_THAT(plan("SELECT COUNT(*) FROM notifications WHERE state = 'held'"),
              ::testing::HasSubstr("COVERING INDEX notifications_held"));
}

TEST_F(StateStoreTest, IngestAdvancesCursorAndCreatesNotificationsAtomically) {
  EXPECT_EQ(store_->cursor("outbox:t").value(), 0);
  std::vector<IngestItem> items = {item(1, {{"a", "e1"}, {"b", "e2"}}), item(2, {}), item(3, {{"a", "e1"}})};
  auto created = store_->ingest("outbox:t", 3, items, 1000);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created.value(), 3);
  EXPECT_EQ(store_->cursor("outbox:t").value(), 3);
  // An event that nothing listens to is not kept.
  EXPECT_FALSE(store_->event(2).value().has_value());
  auto ev = store_->event(1).value();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->keys["PersonID"], "p1");
  auto counts = store_->counts().value();
  EXPECT_THAT(counts, ::testing::Contains(::testing::Field(&StateCount::count, 3)));
}

TEST_F(StateStoreTest, IngestClaimsWhatItIsAskedToUnlessTheEntityIsOwedAnEarlierOne) {
  auto target = [](bool claim, bool ordered) {
    IngestItem::Target t("n", "pacs", nlohmann::json{{"attribute", "title"}},
                         nlohmann::json::array({{{"address", "a@example.com"}}}), ordered);
    t.claim = claim;
    return t;
  };
  IngestItem a1 = item(1, {target(true, true)});
  a1.event.keys = {{"PersonID", "a"}};
  IngestItem a2 = item(2, {target(true, true)});  // behind a1: stays pending
  a2.event.keys = {{"PersonID", "a"}};
  IngestItem b = item(3, {target(false, false), target(true, false)});  // only the second is claimed
  std::vector<NotificationRow> claimed;
  auto created = store_->ingest("s", 3, {a1, a2, b}, 100, &claimed);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created.value(), 4);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].event_id, 1);
  EXPECT_EQ(claimed[1].event_id, 3);
  // What the caller gets is what the database holds.
  for (const auto& c : claimed) {
    auto stored = store_->get(c.id).value();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->state, State::InFlight);
    EXPECT_EQ(c.state, State::InFlight);
    EXPECT_EQ(c.message_id, stored->message_id);
    EXPECT_EQ(c.notification, stored->notification);
    EXPECT_EQ(c.endpoint, stored->endpoint);
    EXPECT_EQ(c.rule, stored->rule);
    EXPECT_EQ(c.recipients, stored->recipients);
    EXPECT_EQ(c.attempts, 0);
    EXPECT_EQ(c.created_at, 100);
  }
  // The two left behind are pending; only b's first is claimable (a2 waits for a1).
  auto due = store_->claim_due(100, 10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event_id, 3);
  EXPECT_NE(due[0].id, claimed[1].id);
}

// Ingest writes many rows to a statement (32, then 16, 8 ...): a batch that
// is not a multiple of that, with entities that come back within the batch
// (within one statement's rows and across statements), comes out as if
// written row by row.
TEST_F(StateStoreTest, IngestOfALargeBatchHoldsRepeatedEntitiesAndHandsOutTheStoredRows) {
  std::vector<IngestItem> items;
  for (int64_t id = 1; id <= 77; ++id) {
    IngestItem::Target ordered("n", "pacs", nullptr, nullptr, true);
    ordered.claim = true;
    IngestItem::Target other("m", "crm", nullptr, nullptr, false);
    other.claim = id % 3 != 0;
    IngestItem it = item(id, {ordered, other});
    it.event.keys = {{"PersonID", "p" + std::to_string(id % 50)}};  // p1 .. p27 come twice
    if (id == 40) it.targets.clear();                               // nothing listens: not kept
    items.push_back(std::move(it));
  }
  std::vector<NotificationRow> claimed;
  auto created = store_->ingest("s", 77, items, 500, &claimed);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created.value(), 152);
  EXPECT_FALSE(store_->event(40).value().has_value());
  ASSERT_TRUE(store_->event(77).value().has_value());
  EXPECT_EQ(store_->event(77).value()->keys["PersonID"], "p27");

  std::map<int64_t, int> in_flight_pacs;  // event id -> claimed to pacs
  for (const auto& c : claimed) {
    auto stored = store_->get(c.id).value();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->state, State::InFlight);
    EXPECT_EQ(c.message_id, stored->message_id);
    EXPECT_EQ(c.event_id, stored->event_id);
    EXPECT_EQ(c.endpoint, stored->endpoint);
    EXPECT_EQ(c.notification, stored->notification);
    if (c.endpoint == "pacs") ++in_flight_pacs[c.event_id];
  }
  // pacs is ordered: an event whose person came earlier in the batch is held.
  for (int64_t id = 1; id <= 77; ++id) {
    if (id == 40) continue;
    const bool repeat = id > 50;  // p1 .. p27 again
    EXPECT_EQ(in_flight_pacs.count(id), repeat ? 0u : 1u) << "event " << id;
  }
  EXPECT_EQ(store_->count_in(State::Held).value(), 27);
  // crm is not ordered: every one asked for is claimed.
  const auto crm =
      std::count_if(claimed.begin(), claimed.end(), [](const auto& c) { return c.endpoint == "crm"; });
  EXPECT_EQ(crm, 76 - 25);  // 76 events kept, 25 of them (multiples of 3, 40 not) not claimed
  EXPECT_EQ(store_->count_in(State::Pending).value(), 25);
  EXPECT_EQ(claimed.size(), static_cast<size_t>(49 + 51));
}

TEST_F(StateStoreTest, IngestBehindAnUnwrittenBatchWritesNothing) {
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}})}, 100));
  IngestItem next = item(3, {{"a", "e"}});
  next.targets[0].claim = true;
  std::vector<NotificationRow> claimed;
  // Written after batch 2, which never was: refused, nothing kept.
  auto refused = store_->ingest("s", 3, {next}, 200, &claimed, int64_t{2});
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("is at 1, not 2"));
  EXPECT_TRUE(claimed.empty());
  EXPECT_EQ(store_->cursor("s").value(), 1);
  EXPECT_FALSE(store_->event(3).value().has_value());
  EXPECT_EQ(store_->list(std::nullopt, 10).value().size(), 1u);
  // In its turn it goes in.
  ASSERT_TRUE(store_->ingest("s", 3, {next}, 200, &claimed, int64_t{1}));
  EXPECT_EQ(claimed.size(), 1u);
  EXPECT_EQ(store_->cursor("s").value(), 3);
}

TEST_F(StateStoreTest, MessageIdsAreUniqueUuids) {
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}, {"b", "e"}})}, 1));
  auto rows = store_->list(std::nullopt, 10).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0].message_id, rows[1].message_id);
  // Version 7: the first 48 bits are the Unix time in milliseconds.
  EXPECT_THAT(rows[0].message_id,
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  std::string hex = rows[0].message_id.substr(0, 8) + rows[0].message_id.substr(9, 4);
  const int64_t stamped = static_cast<int64_t>(std::stoull(hex, nullptr, 16));
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(stamped, now);
  EXPECT_GT(stamped, now - 60'000);
}

TEST_F(StateStoreTest, ClaimTakesOnlyDueRowsUpToTheLimit) {
  ASSERT_TRUE(
      store_->ingest("s", 3, {item(1, {{"a", "e"}}), item(2, {{"a", "e"}}), item(3, {{"a", "e"}})}, 100));
  auto claimed = store_->claim_due(50, 10);
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->empty());  // created at 100, not yet due at 50
  claimed = store_->claim_due(100, 2);
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ(claimed.value()[0].state, State::InFlight);
  EXPECT_EQ(store_->count_in(State::InFlight).value(), 2);
  EXPECT_EQ(store_->claim_due(100, 10)->size(), 1u);
  EXPECT_FALSE(store_->next_due_at().value().has_value());
}

TEST_F(StateStoreTest, ClaimsByEndpointInTimeOrderAcrossTheOthers) {
  ASSERT_TRUE(store_->ingest(
      "s", 3, {item(1, {{"a", "mail"}}), item(2, {{"a", "mail"}}), item(3, {{"a", "mail"}})}, 100));
  ASSERT_TRUE(store_->ingest("s", 4, {item(4, {{"a", "sms"}})}, 150));
  ASSERT_TRUE(store_->ingest("s", 6, {item(5, {{"a", "rest"}}), item(6, {{"a", "rest"}})}, 200));
  auto events = [](const std::vector<NotificationRow>& rows) {
    std::vector<int64_t> ids;
    for (const auto& r : rows) ids.push_back(r.event_id);
    return ids;
  };
  StateStore::EndpointFilter mail_only;
  mail_only.endpoint = "mail";
  EXPECT_THAT(events(store_->claim_due(1000, 2, mail_only).value()), ::testing::ElementsAre(1, 2));
  // mail at its cap: the others, oldest due first, the limit over all of them.
  StateStore::EndpointFilter not_mail;
  not_mail.exclude = {"mail"};
  EXPECT_EQ(store_->next_due_at({"mail"}).value(), 150);
  auto others = store_->claim_due(1000, 2, not_mail).value();
  EXPECT_THAT(events(others), ::testing::ElementsAre(4, 5));
  EXPECT_EQ(store_->next_due_at({"mail"}).value(), 200);
  EXPECT_EQ(store_->next_due_at().value(), 100);  // mail's third
  EXPECT_FALSE(store_->next_due_at({"mail", "rest"}).value().has_value());
  // A retry waiting at an endpoint that is walked is found as well.
  ASSERT_TRUE(store_->finish_attempt({others[1].id, 1, 1000, 1010, "retry", 503, "HTTP 503", "", "http"},
                                     State::Waiting, 1500, "HTTP 503"));
  EXPECT_EQ(store_->next_due_at({"mail"}).value(), 200);
  EXPECT_THAT(events(store_->claim_due(2000, 10, not_mail).value()), ::testing::ElementsAre(6, 5));
  EXPECT_FALSE(store_->next_due_at({"mail"}).value().has_value());
  EXPECT_TRUE(store_->claim_due(2000, 10, not_mail)->empty());
}

TEST_F(StateStoreTest, ClaimsLeavingAnEndpointOutAmongManyOthers) {
  // More endpoints with due notifications than a claim walks one by one
  // (and more than SQLite's 500 terms of a compound SELECT would allow).
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "mail"}, {"b", "mail"}})}, 100));
  std::vector<IngestItem> items;
  for (int i = 0; i < 260; ++i) items.push_back(item(2 + i, {{"a", "e" + std::to_string(i)}}));
  ASSERT_TRUE(store_->ingest("s", 261, items, 200));
  StateStore::EndpointFilter not_mail;
  not_mail.exclude = {"mail"};
  EXPECT_EQ(store_->next_due_at({"mail"}).value(), 200);
  auto some = store_->claim_due(1000, 200, not_mail).value();
  ASSERT_EQ(some.size(), 200u);
  auto rest = store_->claim_due(1000, 200, not_mail).value();
  ASSERT_EQ(rest.size(), 60u);
  for (const auto& r : rest) some.push_back(r);
  std::set<std::string> endpoints;
  for (const auto& r : some) endpoints.insert(r.endpoint);
  EXPECT_EQ(endpoints.size(), 260u);
  EXPECT_EQ(endpoints.count("mail"), 0u);
  EXPECT_FALSE(store_->next_due_at({"mail"}).value().has_value());
  EXPECT_EQ(store_->next_due_at().value(), 100);
}

// A claim that leaves an endpoint out (one at its own max_in_flight, the one
// likely to have a backlog) walks each other endpoint in an index of its
// own, and finds which endpoints have due notifications one seek each.
TEST_F(StateStoreTest, ClaimsForTheOtherEndpointsDoNotStepOverAnExcludedOnesBacklog) {
  for (const char* state : {"pending", "waiting"}) {
    EXPECT_THAT(plan(std::string("SELECT id FROM notifications n WHERE state = '") + state +
                     "' AND next_attempt_at <= 5 AND n.endpoint = 'e' ORDER BY next_attempt_at, id LIMIT 10"),
                ::testing::HasSubstr(
                    "INDEX notifications_due_endpoint (state=? AND endpoint=? AND next_attempt_at<?)"));
    EXPECT_THAT(plan(std::string("SELECT MIN(endpoint) FROM notifications WHERE state = '") + state +
                     "' AND endpoint > 'e'"),
                ::testing::HasSubstr("COVERING INDEX notifications_due_endpoint (state=? AND endpoint>?)"));
  }
}

TEST_F(StateStoreTest, FinishAttemptRecordsAttemptAndSchedulesNext) {
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}})}, 100));
  auto row = store_->claim_due(100, 1).value().at(0);
  AttemptRow a{row.id, 1, 100, 150, "retry", 503, "HTTP 503", "busy", "http"};
  ASSERT_TRUE(store_->finish_attempt(a, State::Waiting, 1150, "HTTP 503"));
  auto got = store_->get(row.id).value();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, State::Waiting);
  EXPECT_EQ(got->attempts, 1);
  EXPECT_EQ(got->next_attempt_at, 1150);
  EXPECT_EQ(got->last_status, 503);
  EXPECT_EQ(store_->next_due_at().value(), 1150);
  auto attempts = store_->attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].response, "busy");
  EXPECT_EQ(attempts[0].http_status, 503);
  EXPECT_EQ(attempts[0].error_class, "http");
}

TEST_F(StateStoreTest, RecoverInFlightRecordsTheInterruptedAttempt) {
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}})}, 100));
  auto row = store_->claim_due(100, 1).value().at(0);
  EXPECT_EQ(store_->recover_in_flight(500).value(), 1);
  auto got = store_->get(row.id).value();
  EXPECT_EQ(got->state, State::Pending);
  EXPECT_EQ(got->attempts, 1);
  auto attempts = store_->attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "interrupted");
  EXPECT_EQ(store_->claim_due(500, 5)->size(), 1u);
}

TEST_F(StateStoreTest, RetryAndCancelApplyOnlyWhereTheyMakeSense) {
  ASSERT_TRUE(store_->ingest("s", 1, {item(1, {{"a", "e"}})}, 100));
  auto row = store_->claim_due(100, 1).value().at(0);
  EXPECT_FALSE(store_->cancel(row.id, 200).value());  // in flight
  ASSERT_TRUE(store_->finish_attempts(
      {{{row.id, 1, 100, 110, "failed", 404, "HTTP 404", "", "http"}, State::Failed, {}, "HTTP 404", "{}"}}));
  EXPECT_TRUE(store_->retry_now(row.id, 300).value());
  auto got = store_->get(row.id).value();
  EXPECT_EQ(got->state, State::Pending);
  EXPECT_EQ(got->next_attempt_at, 300);
  EXPECT_FALSE(got->payload.has_value());  // rendered again after a failure
  EXPECT_TRUE(store_->cancel(row.id, 400).value());
  EXPECT_EQ(store_->get(row.id).value()->state, State::Cancelled);
  EXPECT_FALSE(store_->retry_now(9999, 1).value());
}

TEST_F(StateStoreTest, FinishAttemptsRecordsABatchWithTheRenderedPayloads) {
  ASSERT_TRUE(
      store_->ingest("s", 3, {item(1, {{"a", "e"}}), item(2, {{"a", "e"}}), item(3, {{"a", "e"}})}, 100));
  auto rows = store_->claim_due(100, 3).value();
  ASSERT_EQ(rows.size(), 3u);
  std::vector<StateStore::AttemptRecord> batch;
  batch.push_back(
      {{rows[0].id, 1, 100, 110, "delivered", 200, "", "", ""}, State::Delivered, {}, "", "{\"n\":0}"});
  batch.push_back({{rows[1].id, 1, 100, 120, "retry", 503, "HTTP 503", "", "http"},
                   State::Waiting,
                   1000,
                   "HTTP 503",
                   "{\"n\":1}"});
  batch.push_back({{rows[2].id, 1, 100, 130, "failed", 404, "HTTP 404", "", "http"},
                   State::Failed,
                   {},
                   "HTTP 404",
                   std::nullopt});
  ASSERT_TRUE(store_->finish_attempts(batch));
  EXPECT_EQ(store_->get(rows[0].id).value()->state, State::Delivered);
  EXPECT_EQ(store_->get(rows[2].id).value()->state, State::Failed);
  EXPECT_FALSE(store_->get(rows[2].id).value()->payload);
  // The waiting one comes back with the payload of its first attempt.
  auto again = store_->claim_due(1000, 5).value();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, rows[1].id);
  EXPECT_EQ(again[0].payload, "{\"n\":1}");
  EXPECT_EQ(store_->attempts(rows[1].id).value().size(), 1u);
  // A failed notification sent again is rendered anew.
  ASSERT_TRUE(store_->finish_attempt({rows[1].id, 2, 1000, 1010, "failed", 400, "HTTP 400", "", "http"},
                                     State::Failed, std::nullopt, "HTTP 400"));
  EXPECT_EQ(store_->retry_failed(2000, std::nullopt, std::nullopt).value(), 2);
  EXPECT_FALSE(store_->get(rows[1].id).value()->payload);
}

// Schedules: one emission per (schedule, row, period), event ids below zero,
// the latest slot of each schedule.
TEST_F(StateStoreTest, ScheduleEachRowIsEmittedOncePerPeriod) {
  auto first = store_->emit_scheduled("pw", "2026-11-23T00:00:00+00:00", 2'000,
                                      {scheduled_row("1"), scheduled_row("2")}, 100);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->events, 2);
  EXPECT_EQ(first->notifications, 2);
  // The same period again (a restart, an overlapping run): only the new row.
  auto again = store_->emit_scheduled("pw", "2026-11-23T00:00:00+00:00", 2'000,
                                      {scheduled_row("1"), scheduled_row("3")}, 200);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->events, 1);
  // The next period, or another schedule, emits again.
  EXPECT_EQ(
      store_->emit_scheduled("pw", "2026-11-24T00:00:00+00:00", 3'000, {scheduled_row("1")}, 300)->events, 1);
  EXPECT_EQ(
      store_->emit_scheduled("idle", "2026-11-23T00:00:00+00:00", 2'000, {scheduled_row("1")}, 300)->events,
      1);

  auto seen = store_->emitted("pw", "2026-11-23T00:00:00+00:00",
                              {scheduled_row("2").row_key, scheduled_row("4").row_key});
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen.value(), (std::vector<bool>{true, false}));

  auto all = store_->list(std::nullopt, 100).value();
  ASSERT_EQ(all.size(), 5u);
  std::set<int64_t> ids;
  for (const auto& n : all) {
    EXPECT_LT(n.event_id, 0) << "scheduled events never take outbox ids";
    ids.insert(n.event_id);
    auto e = store_->event(n.event_id).value();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->name, "Password Expires Soon");
  }
  EXPECT_EQ(ids, (std::set<int64_t>{-1, -2, -3, -4, -5}));
}

TEST_F(StateStoreTest, ScheduleARowNobodyListensToIsNotRemembered) {
  EXPECT_EQ(store_->emit_scheduled("pw", "p1", 2'000, {scheduled_row("1", false)}, 100)->events, 0);
  // A notification added later in the period still gets it.
  EXPECT_EQ(store_->emit_scheduled("pw", "p1", 2'000, {scheduled_row("1")}, 200)->events, 1);
}

TEST_F(StateStoreTest, ScheduleEmissionsArePrunedOnlyOnceTheirPeriodIsOver) {
  ASSERT_TRUE(store_->emit_scheduled("pw", "p1", 5'000, {scheduled_row("1")}, 100));
  ASSERT_TRUE(store_->prune_delivered_before(4'000));
  EXPECT_EQ(store_->emitted("pw", "p1", {scheduled_row("1").row_key}).value(), std::vector<bool>{true});
  ASSERT_TRUE(store_->prune_delivered_before(6'000));
  EXPECT_EQ(store_->emitted("pw", "p1", {scheduled_row("1").row_key}).value(), std::vector<bool>{false});
}

TEST_F(StateStoreTest, ScheduleTheLatestSlotNeverMovesBackwards) {
  EXPECT_FALSE(store_->schedule_last_slot("pw").value());
  ASSERT_TRUE(store_->record_schedule_run("pw", 7'200, 1, 3));
  ASSERT_TRUE(store_->record_schedule_run("pw", 3'600, 2, 0));
  EXPECT_EQ(store_->schedule_last_slot("pw").value(), 7'200);
  auto runs = store_->schedule_runs().value();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].schedule, "pw");
  EXPECT_EQ(runs[0].last_run_at, 2);
}

}  // namespace
}  // namespace herald::state
