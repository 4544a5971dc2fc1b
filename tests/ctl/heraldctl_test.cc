// The real programs, run as an operator would run them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/daemon_fixture.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using test::run_process;
using ::testing::HasSubstr;

std::string ctl(const std::string& config, const std::string& args) {
  return std::string(HERALDCTL_PATH) + " -c " + config + " " + args;
}

test::Scenario scenario(std::string url) {
  test::Scenario s;
  s.sink_url = std::move(url);
  return s;
}

TEST(Heraldctl, EmitRenderDrainStatusListShow) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));

  auto v = run_process(ctl(cfg, "validate"));
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_THAT(v.output, HasSubstr("OK (1 endpoint(s), 1 notification(s))"));

  auto emitted = run_process(ctl(cfg,
                                 "emit --entity identity --action CREATE --name 'REST Person Added' "
                                 "--key PersonID=P-42 --new '{\"firstName\":\"Ada\"}'"));
  ASSERT_EQ(emitted.exit_code, 0) << emitted.output;
  EXPECT_EQ(emitted.output, "1\n");

  auto rendered = run_process(ctl(cfg, "render --notification 'Person Added' --event-id 1"));
  ASSERT_EQ(rendered.exit_code, 0) << rendered.output;
  auto r = nlohmann::json::parse(rendered.output);
  EXPECT_EQ(r["method"], "PUT");
  EXPECT_EQ(r["url"], sink.url() + "/api/people/P-42/added");
  EXPECT_EQ(r["body"]["person"]["name"]["first"], "Ada");
  EXPECT_EQ(r["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(sink.request_count(), 0u);  // render sends nothing

  auto drained = run_process(std::string(HERALDD_PATH) + " --config " + cfg + " --drain");
  ASSERT_EQ(drained.exit_code, 0) << drained.output;
  ASSERT_EQ(sink.request_count(), 1u);

  auto status = run_process(ctl(cfg, "status --json"));
  ASSERT_EQ(status.exit_code, 0) << status.output;
  auto s = nlohmann::json::parse(status.output);
  EXPECT_EQ(s["delivered"], 1);
  EXPECT_EQ(s["pending"], 0);

  auto list = run_process(ctl(cfg, "list --state delivered --json"));
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto l = nlohmann::json::parse(list.output);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["notification"], "Person Added");

  auto show = run_process(ctl(cfg, "show 1 --json"));
  ASSERT_EQ(show.exit_code, 0) << show.output;
  auto j = nlohmann::json::parse(show.output);
  ASSERT_EQ(j["attempt_log"].size(), 1u);
  EXPECT_EQ(j["attempt_log"][0]["http_status"], 200);
  EXPECT_EQ(j["attempt_log"][0]["status"], 200);
  EXPECT_EQ(j["attempt_log"][0]["protocol"], "http");
  EXPECT_EQ(j["attempt_log"][0]["response"], "{\"ok\":true}");
  EXPECT_EQ(j["message_id"], sink.requests()[0].header("X-Herald-Message-Id"));

  auto text = run_process(ctl(cfg, "show 1"));
  EXPECT_THAT(text.output, HasSubstr("attempt 1"));
  EXPECT_THAT(text.output, HasSubstr("delivered, HTTP 200"));

  auto cancel = run_process(ctl(cfg, "cancel 1"));
  EXPECT_EQ(cancel.exit_code, 1);
  EXPECT_THAT(cancel.output, HasSubstr("is delivered; cannot cancel"));
}

TEST(Heraldctl, FailedNotificationCanBeRetried) {
  tools::SinkOptions opts;
  opts.statuses = {404};
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  ASSERT_EQ(run_process(ctl(cfg,
                            "emit --entity identity --action CREATE --name 'REST Person Added' "
                            "--key PersonID=P-1"))
                .exit_code,
            0);
  std::string heraldd = std::string(HERALDD_PATH) + " --config " + cfg + " --drain";
  ASSERT_EQ(run_process(heraldd).exit_code, 0);
  EXPECT_THAT(run_process(ctl(cfg, "list")).output, HasSubstr("failed"));
  auto retry = run_process(ctl(cfg, "retry 1"));
  ASSERT_EQ(retry.exit_code, 0) << retry.output;
  ASSERT_EQ(run_process(heraldd).exit_code, 0);
  auto s = nlohmann::json::parse(run_process(ctl(cfg, "status --json")).output);
  EXPECT_EQ(s["delivered"], 1);
  EXPECT_EQ(sink.request_count(), 2u);
}

TEST(Heraldctl, AHeldNotificationSaysWhatItWaitsFor) {
  tools::SinkOptions opts;
  opts.statuses = {503};  // the first one waits for a retry in 10 minutes
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(run_process(ctl(cfg,
                              "emit --entity identity --action CREATE --name 'REST Person Added' "
                              "--key PersonID=P-1"))
                  .exit_code,
              0);
  }
  ASSERT_EQ(run_process(std::string(HERALDD_PATH) + " --config " + cfg + " --drain").exit_code, 0);
  EXPECT_EQ(sink.request_count(), 1u);  // the second keeps the person's order

  auto s = nlohmann::json::parse(run_process(ctl(cfg, "status --json")).output);
  EXPECT_EQ(s["waiting"], 1);
  EXPECT_EQ(s["held"], 1);
  EXPECT_EQ(s["endpoints"]["pacs"]["counts"]["held"], 1);
  EXPECT_THAT(run_process(ctl(cfg, "status")).output, HasSubstr("HELD"));
  auto held = nlohmann::json::parse(run_process(ctl(cfg, "list --state held --json")).output);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["id"], 2);
  EXPECT_TRUE(held[0]["next_attempt_at"].is_null());  // not due until the first one ends

  auto j = nlohmann::json::parse(run_process(ctl(cfg, "show 2 --json")).output);
  EXPECT_EQ(j["state"], "held");
  EXPECT_EQ(j["held_behind"], 1);
  EXPECT_THAT(run_process(ctl(cfg, "show 2")).output,
              HasSubstr("held:       until notification 1 is delivered or ends"));
  EXPECT_TRUE(nlohmann::json::parse(run_process(ctl(cfg, "show 1 --json")).output)["held_behind"].is_null());

  // Cancelling the first lets the second go.
  auto cancel = run_process(ctl(cfg, "cancel 1"));
  ASSERT_EQ(cancel.exit_code, 0) << cancel.output;
  EXPECT_EQ(nlohmann::json::parse(run_process(ctl(cfg, "show 2 --json")).output)["state"], "pending");
  ASSERT_EQ(run_process(std::string(HERALDD_PATH) + " --config " + cfg + " --drain").exit_code, 0);
  EXPECT_EQ(sink.request_count(), 2u);
  EXPECT_EQ(nlohmann::json::parse(run_process(ctl(cfg, "status --json")).output)["delivered"], 1);
}

TEST(Heraldctl, MalformedTomlNamesFileAndLine) {
  test::TempDir dir;
  test::write_file(dir.file("bad.toml"),
                   "[outbox]\ndatabase = \"p.db\"\n\n[endpoints.x\nchannel = \"rest\"\n");
  auto v = run_process(ctl(dir.file("bad.toml"), "validate"));
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_THAT(v.output, HasSubstr(dir.file("bad.toml") + ":4"));
  auto d = run_process(std::string(HERALDD_PATH) + " --config " + dir.file("bad.toml") + " --drain");
  EXPECT_NE(d.exit_code, 0);
  EXPECT_THAT(d.output, HasSubstr(dir.file("bad.toml") + ":4"));
}

TEST(Heraldctl, MalformedMappingNamesFileAndLine) {
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario("http://127.0.0.1:9"));
  test::write_file(dir.file("person_added.xml"),
                   "<Notification>\n  <Endpoint URL=\"/x\">\n</Notification>\n");
  auto v = run_process(ctl(cfg, "validate"));
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_THAT(v.output, HasSubstr(dir.file("person_added.xml") + ":3"));
  auto d = run_process(std::string(HERALDD_PATH) + " --config " + cfg);
  EXPECT_NE(d.exit_code, 0);
  EXPECT_THAT(d.output, HasSubstr(dir.file("person_added.xml") + ":3"));
}

TEST(Heraldctl, PluginOfAnotherAbiIsRefusedWithItsFileName) {
  test::TempDir dir;
  test::Scenario s = scenario("http://127.0.0.1:9");
  s.plugin_dir = std::string(HERALD_TEST_BINARY_DIR) + "/test_plugins/wrong_abi";
  std::string cfg = test::write_scenario(dir, s);
  auto d = run_process(std::string(HERALDD_PATH) + " --config " + cfg);
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_THAT(d.output, HasSubstr(s.plugin_dir + "/rest.so"));
  EXPECT_THAT(d.output, HasSubstr("not compatible"));
}

TEST(Heraldctl, BadUsageExitsTwo) {
  EXPECT_EQ(run_process(std::string(HERALDCTL_PATH) + " frobnicate").exit_code, 2);
  EXPECT_EQ(run_process(std::string(HERALDCTL_PATH) + " -c x.toml list --state bogus").exit_code, 2);
  EXPECT_EQ(run_process(std::string(HERALDD_PATH)).exit_code, 2);
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

TEST(HeraldctlOperations, ReplayRetryFailedPruneAndStatusPerEndpoint) {
  tools::SinkOptions opts;
  opts.statuses = {404};
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  std::string heraldd = std::string(HERALDD_PATH) + " --config " + cfg + " --drain";
  for (const char* id : {"A", "B"}) {
    ASSERT_EQ(
        run_process(ctl(cfg, std::string("emit --entity identity --action CREATE --name 'REST Person Added' "
                                         "--key PersonID=") +
                                 id))
            .exit_code,
        0);
  }
  ASSERT_EQ(run_process(heraldd).exit_code, 0);  // first answer 404: one failed, one delivered

  auto s = nlohmann::json::parse(run_process(ctl(cfg, "status --json")).output);
  EXPECT_EQ(s["failed"], 1);
  EXPECT_EQ(s["endpoints"]["pacs"]["counts"]["failed"], 1);
  EXPECT_EQ(s["endpoints"]["pacs"]["counts"]["delivered"], 1);
  EXPECT_THAT(run_process(ctl(cfg, "status")).output, HasSubstr("ENDPOINT"));

  auto none = run_process(ctl(cfg, "retry --failed --endpoint elsewhere"));
  ASSERT_EQ(none.exit_code, 0) << none.output;
  EXPECT_THAT(none.output, HasSubstr("0 failed notification(s)"));
  auto retried = run_process(ctl(cfg, "retry --failed --since 1h --endpoint pacs"));
  ASSERT_EQ(retried.exit_code, 0) << retried.output;
  EXPECT_THAT(retried.output, HasSubstr("1 failed notification(s) will be sent again"));
  ASSERT_EQ(run_process(heraldd).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(run_process(ctl(cfg, "status --json")).output)["delivered"], 2);

  auto replay = run_process(ctl(cfg, "replay 1"));
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_THAT(replay.output, HasSubstr("1 notification(s) created for event 1"));
  ASSERT_EQ(run_process(heraldd).exit_code, 0);
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 4u);
  // Event 1 is person A; the two first sends may reach the sink in either order.
  EXPECT_EQ(reqs[3].target, "/api/people/A/added");  // the same event again ...
  for (std::size_t i = 0; i < 3; ++i) {
    if (reqs[i].target == reqs[3].target) {
      EXPECT_NE(reqs[3].header("X-Herald-Message-Id"),
                reqs[i].header("X-Herald-Message-Id"));  // ... a new message
    }
  }
  EXPECT_EQ(run_process(ctl(cfg, "replay 99")).exit_code, 1);

  auto pruned = run_process(ctl(cfg, "prune --delivered-before 0s"));
  ASSERT_EQ(pruned.exit_code, 0) << pruned.output;
  EXPECT_THAT(pruned.output, HasSubstr("3 delivered or cancelled notification(s) removed"));
  EXPECT_EQ(nlohmann::json::parse(run_process(ctl(cfg, "list --json")).output).size(), 0u);
  EXPECT_EQ(run_process(ctl(cfg, "prune --delivered-before yesterday")).exit_code, 2);
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

TEST(HeraldctlOperations, RejectedRowsAreListedWithTheirReason) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"x"})", "", "[1,2]");
  ASSERT_EQ(run_process(std::string(HERALDD_PATH) + " --config " + cfg + " --drain").exit_code, 0);
  auto r = run_process(ctl(cfg, "rejected --json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["event_id"], 1);
  EXPECT_EQ(j[0]["reason"], "column 'new_values' is not a JSON object");
}

TEST(HeraldctlOperations, SigtermLetsTheAttemptInFlightFinishAndExitsZero) {
  tools::SinkOptions opts;
  opts.delay = std::chrono::milliseconds(1500);
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"x"})");
  // Start heraldd, wait until the request reached the slow server, then SIGTERM it.
  std::string script = "(" + std::string(HERALDD_PATH) + " --config " + cfg + " & pid=$!; " +
                       "for i in $(seq 100); do [ -s " + dir.file("arrived") +
                       " ] && break; sleep 0.05; done; " + "kill -TERM $pid; wait $pid; echo \"exit=$?\")";
  std::thread watcher([&] {
    if (sink.wait_for_requests(1, std::chrono::seconds(20))) test::write_file(dir.file("arrived"), "1");
  });
  auto r = run_process("bash -c '" + script + "'", 60);
  watcher.join();
  EXPECT_THAT(r.output, HasSubstr("exit=0"));
  EXPECT_THAT(r.output, HasSubstr("stopping: waiting up to"));
  auto s = nlohmann::json::parse(run_process(ctl(cfg, "status --json")).output);
  EXPECT_EQ(s["delivered"], 1) << r.output;
  EXPECT_EQ(s["in_flight"], 0);
}

// A rotated secret is picked up by SIGHUP (secret files are not watched).
TEST(HeraldctlOperations, SighupReloadsTheRunningDaemon) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s = scenario(sink.url());
  std::string cfg = test::write_scenario(dir, s);
  std::string toml = test::read_file(cfg);
  toml.insert(toml.find("timeout = \"5s\"\n"), "auth = { type = \"bearer\", token_file = \"token\" }\n");
  test::write_file(cfg, toml);
  test::write_file(dir.file("token"), "old-token\n");
  auto wait_for_file = [&](const std::string& name) {
    return "for i in $(seq 200); do [ -e " + dir.file(name) + " ] && break; sleep 0.05; done; ";
  };
  std::string script = "(" + std::string(HERALDD_PATH) + " --config " + cfg + " >" + dir.file("log") +
                       " 2>&1 & pid=$!; " + wait_for_file("arrived1") + "echo new-token >" +
                       dir.file("token") + "; kill -HUP $pid; " +
                       "for i in $(seq 200); do grep -q \"configuration reloaded\" " + dir.file("log") +
                       " && break; sleep 0.05; done; touch " + dir.file("reloaded") + "; " +
                       wait_for_file("arrived2") + "kill -TERM $pid; wait $pid; echo \"exit=$?\")";
  std::thread driver([&] {
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"1"})");
    if (!sink.wait_for_requests(1, std::chrono::seconds(20))) return;
    test::write_file(dir.file("arrived1"), "1");
    for (int i = 0; i < 400 && !std::filesystem::exists(dir.file("reloaded")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"2"})");
    if (sink.wait_for_requests(2, std::chrono::seconds(20))) test::write_file(dir.file("arrived2"), "1");
  });
  auto r = run_process("bash -c '" + script + "'", 60);
  driver.join();
  std::string log = test::read_file(dir.file("log"));
  EXPECT_THAT(r.output, HasSubstr("exit=0"));
  EXPECT_THAT(log, HasSubstr("SIGHUP: reloading"));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 2u) << log;
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer old-token");
  EXPECT_EQ(reqs[1].header("Authorization"), "Bearer new-token");
  EXPECT_THAT(log, ::testing::Not(HasSubstr("new-token")));  // secrets never logged
}

// The producer's database is not there when heraldd starts (its service is
// late): heraldd waits for it, then delivers what it finds.
TEST(HeraldctlOperations, MissingProducerDatabaseAtStartIsWaitedFor) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  std::string cfg = test::write_scenario(dir, scenario(sink.url()));
  std::filesystem::rename(dir.file("producer.db"), dir.file("producer.db.later"));
  std::string script = "(" + std::string(HERALDD_PATH) + " --config " + cfg + " >" + dir.file("log") +
                       " 2>&1 & pid=$!; for i in $(seq 200); do grep -q \"trying again\" " + dir.file("log") +
                       " && break; sleep 0.05; done; mv " + dir.file("producer.db.later") + " " +
                       dir.file("producer.db") + "; for i in $(seq 300); do [ -e " + dir.file("arrived") +
                       " ] && break; sleep 0.05; done; kill -TERM $pid; wait $pid; echo \"exit=$?\")";
  std::thread driver([&] {
    for (int i = 0; i < 400 && !std::filesystem::exists(dir.file("producer.db")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"1"})");
    if (sink.wait_for_requests(1, std::chrono::seconds(20))) test::write_file(dir.file("arrived"), "1");
  });
  auto r = run_process("bash -c '" + script + "'", 60);
  driver.join();
  std::string log = test::read_file(dir.file("log"));
  EXPECT_THAT(r.output, HasSubstr("exit=0")) << log;
  EXPECT_THAT(log, HasSubstr("producer.db"));
  EXPECT_THAT(log, HasSubstr("trying again in 1 s"));
  EXPECT_EQ(sink.request_count(), 1u) << log;
}

}  // namespace
}  // namespace herald
