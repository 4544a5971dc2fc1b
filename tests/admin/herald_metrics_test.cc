// What heraldd counts beyond deliveries.
#include "admin/herald_metrics.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

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

// Each attempt counts once per family, under its endpoint; the series of
// one endpoint are found once and then updated in place.
TEST(HeraldMetricsTest, AttemptsCountByEndpointOutcomeResponseClassAndError) {
  HeraldMetrics m;
  auto attempt = [&](const std::string& endpoint, const std::string& outcome, std::optional<int64_t> status,
                     const std::string& error_class, const std::string& protocol = "HTTP") {
    state::NotificationRow row;
    row.endpoint = endpoint;
    row.created_at = 1000;
    state::AttemptRow a;
    a.outcome = outcome;
    a.http_status = status;
    a.error_class = error_class;
    a.started_at = 2000;
    a.finished_at = 2250;
    m.attempt(row, a, protocol);
  };
  attempt("pacs", "delivered", 200, "");
  attempt("pacs", "delivered", 204, "");
  attempt("pacs", "retry", 503, "http");
  attempt("pacs", "retry", std::nullopt, "connect");
  attempt("mail", "delivered", 250, "", "SMTP");
  attempt("mail", "failed", 550, "smtp", "SMTP");
  attempt("pacs", "delivered", 200, "");

  const Registry& r = m.registry();
  EXPECT_EQ(r.value("herald_attempts_total", {{"endpoint", "pacs"}, {"outcome", "delivered"}}), 3);
  EXPECT_EQ(r.value("herald_attempts_total", {{"endpoint", "pacs"}, {"outcome", "retry"}}), 2);
  EXPECT_EQ(r.value("herald_attempts_total", {{"endpoint", "mail"}, {"outcome", "delivered"}}), 1);
  EXPECT_EQ(r.value("herald_attempts_total", {{"endpoint", "mail"}, {"outcome", "failed"}}), 1);
  auto responses = [&](const char* endpoint, const char* protocol, const char* cls) {
    return r.value("herald_attempt_responses_total",
                   {{"endpoint", endpoint}, {"protocol", protocol}, {"class", cls}});
  };
  EXPECT_EQ(responses("pacs", "http", "2xx"), 3);
  EXPECT_EQ(responses("pacs", "http", "5xx"), 1);
  EXPECT_EQ(responses("mail", "smtp", "2xx"), 1);
  EXPECT_EQ(responses("mail", "smtp", "5xx"), 1);
  EXPECT_EQ(r.value("herald_attempt_errors_total", {{"endpoint", "pacs"}, {"class", "connect"}}), 1);
  EXPECT_EQ(r.value("herald_attempt_errors_total", {{"endpoint", "pacs"}, {"class", "http"}}), 1);
  const std::string out = r.render();
  EXPECT_NE(out.find("herald_attempt_duration_seconds_count{endpoint=\"pacs\"} 5\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("herald_attempt_duration_seconds_sum{endpoint=\"pacs\"} 1.25\n"), std::string::npos);
  EXPECT_NE(out.find("herald_delivery_latency_seconds_count{endpoint=\"pacs\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("herald_delivery_latency_seconds_sum{endpoint=\"mail\"} 1.25\n"), std::string::npos);
  // An endpoint that never delivered has no latency series.
  attempt("down", "retry", std::nullopt, "connect");
  EXPECT_EQ(r.render().find("herald_delivery_latency_seconds_count{endpoint=\"down\"}"), std::string::npos);
}

}  // namespace
}  // namespace herald::admin
