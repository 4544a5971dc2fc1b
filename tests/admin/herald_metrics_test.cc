// What heraldd counts beyond deliveries.
#include "admin/herald_metrics.h"

#include <gtest/gtest.h>

namespace herald::admin {
namespace {

TEST(HeraldMetricsTest, ScheduleRunsCountByOutcomeAndEventsBySchedule) {
  HeraldMetrics m;
  m.schedule_run("password-expiry", true, 3);
  m.schedule_run("password-expiry", false, 0);
  m.schedule_run("password-expiry", true, 2);
  m.schedule_run("idle-accounts", true, 0);
  const Registry& r = m.registry();
  EXPECT_EQ(r.value("herald_schedule_runs_total", {{"schedule", "password-expiry"}, {"outcome", "ok"}}), 2);
  EXPECT_EQ(r.value("herald_schedule_runs_total", {{"schedule", "password-expiry"}, {"outcome", "error"}}),
            1);
  EXPECT_EQ(r.value("herald_schedule_events_total", {{"schedule", "password-expiry"}}), 5);
  EXPECT_EQ(r.value("herald_schedule_runs_total", {{"schedule", "idle-accounts"}, {"outcome", "ok"}}), 1);
  EXPECT_NE(r.render().find("herald_schedule_events_total{schedule=\"idle-accounts\"} 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace herald::admin
