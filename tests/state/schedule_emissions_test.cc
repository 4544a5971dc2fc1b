// The state database's side of schedules: one emission per (schedule, row,
// period), event ids below zero, the latest slot of each schedule.
#include <gtest/gtest.h>

#include "db/sqlite.h"
#include "state/state_store.h"
#include "support/test_env.h"

namespace herald::state {
namespace {

ScheduledItem row(const std::string& person, bool listened = true) {
  ScheduledItem s;
  s.item.event.entity = "identity";
  s.item.event.action = "NOTICE";
  s.item.event.name = "Password Expires Soon";
  s.item.event.keys = {{"PersonID", person}};
  s.row_key = s.item.event.keys.dump();
  if (listened) s.item.targets.emplace_back("Password Expires Soon", "mail");
  return s;
}

class ScheduleEmissions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = StateStore::open(dir_.file("state.db"));
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(s.value()));
  }
  test::TempDir dir_;
  std::optional<StateStore> store_;
};

TEST_F(ScheduleEmissions, EachRowIsEmittedOncePerPeriod) {
  auto first = store_->emit_scheduled("pw", "2026-11-23T00:00:00+00:00", 2'000, {row("1"), row("2")}, 100);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->events, 2);
  EXPECT_EQ(first->notifications, 2);
  // The same period again (a restart, an overlapping run): only the new row.
  auto again = store_->emit_scheduled("pw", "2026-11-23T00:00:00+00:00", 2'000, {row("1"), row("3")}, 200);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->events, 1);
  // The next period, or another schedule, emits again.
  EXPECT_EQ(store_->emit_scheduled("pw", "2026-11-24T00:00:00+00:00", 3'000, {row("1")}, 300)->events, 1);
  EXPECT_EQ(store_->emit_scheduled("idle", "2026-11-23T00:00:00+00:00", 2'000, {row("1")}, 300)->events, 1);

  auto seen = store_->emitted("pw", "2026-11-23T00:00:00+00:00", {row("2").row_key, row("4").row_key});
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

TEST_F(ScheduleEmissions, ARowNobodyListensToIsNotRemembered) {
  EXPECT_EQ(store_->emit_scheduled("pw", "p1", 2'000, {row("1", false)}, 100)->events, 0);
  // A notification added later in the period still gets it.
  EXPECT_EQ(store_->emit_scheduled("pw", "p1", 2'000, {row("1")}, 200)->events, 1);
}

TEST_F(ScheduleEmissions, EmissionsArePrunedOnlyOnceTheirPeriodIsOver) {
  ASSERT_TRUE(store_->emit_scheduled("pw", "p1", 5'000, {row("1")}, 100));
  ASSERT_TRUE(store_->prune_delivered_before(4'000));
  EXPECT_EQ(store_->emitted("pw", "p1", {row("1").row_key}).value(), std::vector<bool>{true});
  ASSERT_TRUE(store_->prune_delivered_before(6'000));
  EXPECT_EQ(store_->emitted("pw", "p1", {row("1").row_key}).value(), std::vector<bool>{false});
}

TEST_F(ScheduleEmissions, TheLatestSlotNeverMovesBackwards) {
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
