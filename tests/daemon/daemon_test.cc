// End to end, in process: outbox row -> rule -> mapping -> rest plugin
// (dlopen) -> real HTTP server on 127.0.0.1 -> state database.
#include "daemon/daemon.h"

#include <algorithm>
#include <optional>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "db/sqlite.h"
#include "support/daemon_fixture.h"
#include "tools/http_sink.h"

namespace herald::daemon {
namespace {

using namespace std::chrono_literals;
using test::run_until;
using ::testing::HasSubstr;

test::Scenario scenario(std::string url, std::vector<std::string> schedule = {"1s", "2s"}) {
  test::Scenario s;
  s.sink_url = std::move(url);
  s.retry_schedule = std::move(schedule);
  return s;
}

// Runs the loop until pred() holds or the deadline passes.

state::NotificationRow only_notification(state::StateStore& store) {
  auto rows = store.list(std::nullopt, 10);
  EXPECT_TRUE(rows);
  EXPECT_EQ(rows->size(), 1u);
  return rows->empty() ? state::NotificationRow{} : rows->front();
}

bool in_state(state::StateStore& store, state::State s) {
  auto rows = store.list(s, 10);
  return rows && !rows->empty();
}

class DaemonTest : public ::testing::Test {
 protected:
  std::unique_ptr<Daemon> start_daemon(boost::asio::io_context& io) {
    auto d = Daemon::create(io, config_);
    EXPECT_TRUE(d) << d.error().message;
    if (!d) return nullptr;
    auto s = d.value()->start();
    EXPECT_TRUE(s) << s.error().message;
    return std::move(d.value());
  }
  // With the probe channel that builds on any thread (tests/plugin_fixtures).
  std::unique_ptr<Daemon> start_with_probe(boost::asio::io_context& io, const std::string& sink_url,
                                           std::vector<std::string> schedule = {"1s", "2s"}) {
    test::Scenario s = scenario(sink_url, std::move(schedule));
    s.plugin_dir = std::string(HERALD_TEST_BINARY_DIR) + "/test_plugins/any_thread";
    config_ = test::write_scenario(dir_, s);
    return start_daemon(io);
  }
  void emit_person(const std::string& person_id) {
    test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       nlohmann::json{{"PersonID", person_id}}.dump(), "",
                       R"({"firstName":"Zoë","lastName":"O'Neil"})");
  }

  test::TempDir dir_;
  std::string config_;
};

TEST_F(DaemonTest, EmittedEventBecomesTheMappedRequestAndEndsDelivered) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(d);
  emit_person("p 1/x");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));

  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/api/people/p%201%2Fx/added");
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"person":{"id":"p 1/x","name":{"first":"Zoë","last":"O'Neil"}},
                                           "action":"CREATE","origin":"herald"})"));
  EXPECT_EQ(reqs[0].header("Content-Type"), "application/json");
  auto row = only_notification(d->store());
  EXPECT_EQ(reqs[0].header("X-Herald-Message-Id"), row.message_id);
  EXPECT_EQ(row.attempts, 1);
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "delivered");
  EXPECT_EQ(attempts[0].http_status, 200);
}

// A channel that builds where the message was rendered, on the state worker
// (HERALD_PLUGIN_BUILD_ANY_THREAD), and cannot build yet: the attempt waits
// like any other, with what was rendered stored for the next one.
TEST_F(DaemonTest, ABuildOnTheWorkerThatMustWaitIsRetriedWithWhatWasRendered) {
  tools::ThreadedHttpSink sink;
  boost::asio::io_context io;
  auto d = start_with_probe(io, sink.url(), {"300ms"});
  ASSERT_TRUE(d);
  emit_person("probe:retry-first");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
  auto waiting = only_notification(d->store());
  ASSERT_TRUE(waiting.payload.has_value());
  EXPECT_THAT(*waiting.payload, HasSubstr("probe:retry-first"));
  EXPECT_EQ(sink.request_count(), 0u);

  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  auto row = only_notification(d->store());
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].outcome, "retry");
  EXPECT_EQ(attempts[0].error_class, "build");
  EXPECT_EQ(attempts[0].error, "build: asked to retry the first attempt");
  EXPECT_EQ(attempts[1].outcome, "delivered");
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("X-Built-On"), "state-worker");
  EXPECT_THAT(reqs[0].body, HasSubstr("probe:retry-first"));
}

TEST_F(DaemonTest, ABuildOnTheWorkerThatCannotSucceedFailsTheNotification) {
  tools::ThreadedHttpSink sink;
  boost::asio::io_context io;
  auto d = start_with_probe(io, sink.url());
  ASSERT_TRUE(d);
  emit_person("probe:fail");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Failed); }));
  auto row = only_notification(d->store());
  EXPECT_EQ(row.last_error, "build: asked to fail");
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "failed");
  EXPECT_EQ(attempts[0].error_class, "build");
  EXPECT_EQ(sink.request_count(), 0u);
}

TEST_F(DaemonTest, NewRowIsNoticedThroughFileEventsNotPolling) {
  tools::ThreadedHttpSink sink;
  test::Scenario s = scenario(sink.url());
  s.poll_interval = "1d";  // only a file-change notification can wake the loop in time
  config_ = test::write_scenario(dir_, s);
  boost::asio::io_context io;
  auto d = start_daemon(io);
  io.run_for(200ms);  // idle: the initial ingest found nothing
  EXPECT_EQ(sink.request_count(), 0u);
  emit_person("p-inotify");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(sink.request_count(), 1u);
}

TEST_F(DaemonTest, ServiceUnavailableThenOkIsDeliveredOnTheSecondAttempt) {
  tools::SinkOptions opts;
  opts.statuses = {503};
  opts.response_body = "try later";
  tools::ThreadedHttpSink sink(opts);
  config_ = test::write_scenario(dir_, scenario(sink.url(), {"1s", "2s"}));
  boost::asio::io_context io;
  auto d = start_daemon(io);
  emit_person("p2");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  auto row = only_notification(d->store());
  EXPECT_EQ(row.attempts, 2);
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].outcome, "retry");
  EXPECT_EQ(attempts[0].http_status, 503);
  EXPECT_EQ(attempts[0].response, "try later");
  EXPECT_EQ(attempts[1].outcome, "delivered");
  EXPECT_EQ(attempts[1].http_status, 200);
  EXPECT_EQ(attempts[1].response, "try later");
  // The first slot of the schedule is honoured: not before 1s.
  EXPECT_GE(attempts[1].started_at - attempts[0].finished_at, 1000);
  // Both requests carried the same message id.
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].header("X-Herald-Message-Id"), reqs[1].header("X-Herald-Message-Id"));
  EXPECT_EQ(reqs[0].body, reqs[1].body);
}

TEST_F(DaemonTest, NotFoundFailsAtOnce) {
  tools::SinkOptions opts;
  opts.default_status = 404;
  tools::ThreadedHttpSink sink(opts);
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  boost::asio::io_context io;
  auto d = start_daemon(io);
  emit_person("p3");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Failed); }));
  auto row = only_notification(d->store());
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.last_status, 404);
  EXPECT_EQ(sink.requests().size(), 1u);
}

TEST_F(DaemonTest, GivesUpAfterTheLastSlot) {
  tools::SinkOptions opts;
  opts.default_status = 500;
  tools::ThreadedHttpSink sink(opts);
  config_ = test::write_scenario(dir_, scenario(sink.url(), {"100ms", "100ms"}));
  boost::asio::io_context io;
  auto d = start_daemon(io);
  emit_person("p4");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Failed); }));
  auto row = only_notification(d->store());
  EXPECT_EQ(row.attempts, 3);  // the first try and one per slot
  EXPECT_THAT(row.last_error.value_or(""), HasSubstr("gave up after 3 attempts"));
  EXPECT_EQ(sink.requests().size(), 3u);
}

TEST_F(DaemonTest, StatusCountsOnTheWorkerAndRepliesOnTheLoop) {
  tools::SinkOptions opts;
  opts.default_status = 503;
  tools::ThreadedHttpSink sink(opts);
  config_ = test::write_scenario(dir_, scenario(sink.url(), {"1h"}));
  boost::asio::io_context io;
  auto d = start_daemon(io);
  emit_person("p9");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
  emit_person("p9");  // the same person again: held behind the retry
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Held); }));
  std::optional<std::string> later;
  const auto loop_thread = std::this_thread::get_id();
  bool on_loop = false;
  d->status_later([&](std::string text) {
    later = std::move(text);
    on_loop = std::this_thread::get_id() == loop_thread;
  });
  EXPECT_FALSE(later.has_value());  // counted on the worker: nothing yet
  ASSERT_TRUE(run_until(io, [&] { return later.has_value(); }));
  EXPECT_TRUE(on_loop);
  EXPECT_EQ(*later, "0 in flight, 0 pending, 1 held in order, 1 waiting for a retry");
  EXPECT_EQ(d->status_now().value(), *later);
}

TEST_F(DaemonTest, RestartDuringAWaitStillRetriesOnTime) {
  tools::SinkOptions opts;
  opts.statuses = {503};
  tools::ThreadedHttpSink sink(opts);
  config_ = test::write_scenario(dir_, scenario(sink.url(), {"2s"}));
  int64_t due = 0;
  {
    boost::asio::io_context io;
    auto d = start_daemon(io);
    emit_person("p5");
    ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
    due = only_notification(d->store()).next_attempt_at;
  }  // the daemon is gone while the notification waits
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  auto row = only_notification(d->store());
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_GE(attempts[1].started_at, due);         // not early
  EXPECT_LT(attempts[1].started_at, due + 3000);  // and not forgotten
}

TEST_F(DaemonTest, PoisonRowIsRejectedAndLaterRowsFlow) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added", "{not json");
  emit_person("p6");
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(sink.requests().size(), 1u);
  auto rejected = d->store().rejected(10).value();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].first, 1);
  EXPECT_THAT(rejected[0].second, HasSubstr("column 'keys' is not valid JSON"));
}

TEST_F(DaemonTest, IngestsEachRowOnceAcrossRestarts) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  for (int i = 0; i < 5; ++i) emit_person("q" + std::to_string(i));
  {
    boost::asio::io_context io;
    auto d = start_daemon(io);
    ASSERT_TRUE(run_until(io, [&] { return d->store().list(state::State::Delivered, 100)->size() == 5; }));
  }
  emit_person("q5");
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(run_until(io, [&] { return d->store().list(state::State::Delivered, 100)->size() == 6; }));
  io.run_for(300ms);
  EXPECT_EQ(d->store().list(std::nullopt, 100)->size(), 6u);
  EXPECT_EQ(sink.requests().size(), 6u);
}

TEST_F(DaemonTest, RenderErrorFailsThatNotificationOnly) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  // No PersonID: the URL placeholder has no value, so nothing may be sent.
  test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added", "{}");
  emit_person("p7");
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(run_until(io, [&] {
    return in_state(d->store(), state::State::Delivered) && in_state(d->store(), state::State::Failed);
  }));
  auto failed = d->store().list(state::State::Failed, 10).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].last_error.value_or(""), HasSubstr("render"));
  EXPECT_EQ(sink.requests().size(), 1u);
}

TEST_F(DaemonTest, AnEmptyOrDotValueInThePathIsNotSent) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  // curl would send ".../people/../added" as ".../added", and nginx
  // ".../people//added" as ".../people/added": other resources.
  emit_person("..");
  emit_person("");
  emit_person("p8");
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(run_until(io, [&] {
    auto failed = d->store().list(state::State::Failed, 10);
    return in_state(d->store(), state::State::Delivered) && failed && failed->size() == 2;
  }));
  auto failed = d->store().list(state::State::Failed, 10).value();
  std::vector<std::string> errors;
  for (const auto& f : failed) errors.push_back(f.last_error.value_or(""));
  EXPECT_THAT(errors,
              ::testing::UnorderedElementsAre(
                  HasSubstr("placeholder {Event.PersonID} makes the path segment \"..\""),
                  HasSubstr("placeholder {Event.PersonID} is empty and leaves an empty path segment")));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/api/people/p8/added");
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

class DaemonReloadTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
};

TEST_F(DaemonReloadTest, BrokenFileKeepsTheOldSetRunningAndAFixIsPickedUp) {
  tools::ThreadedHttpSink sink;
  test::Scenario s;
  s.sink_url = sink.url();
  std::string cfg = test::write_scenario(dir_, s);
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  auto& daemon = *d.value();

  // A broken mapping: the reload is refused, the running set stays.
  std::string good_mapping = test::read_file(dir_.file("person_added.xml"));
  test::write_file(dir_.file("person_added.xml"), "<Notification>\n<Body>\n");
  auto refused = daemon.reload();
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("person_added.xml:2: XML error"));
  EXPECT_EQ(daemon.reloads(), 0u);
  test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"a"})");
  ASSERT_TRUE(run_until(io, [&] { return sink.request_count() == 1; }));
  EXPECT_EQ(sink.requests()[0].target, "/api/people/a/added");

  // Fixed, with a second notification for the same event: both are sent.
  test::write_file(dir_.file("person_added.xml"), good_mapping);
  std::string toml =
      test::read_file(cfg) +
      "\n[[notification]]\nname = \"Audit\"\non = \"REST Person Added\"\nendpoint = \"pacs\"\n";
  test::write_file(cfg, toml);
  ASSERT_TRUE(daemon.reload());
  EXPECT_EQ(daemon.reloads(), 1u);
  test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"b"})");
  ASSERT_TRUE(run_until(io, [&] { return sink.request_count() == 3; }));
  auto reqs = sink.requests();
  std::vector<std::string> targets = {reqs[1].target, reqs[2].target};
  EXPECT_THAT(targets, ::testing::UnorderedElementsAre("/api/people/b/added", "/api/"));
}

TEST_F(DaemonReloadTest, ChangedConfigurationFileIsReloadedByItself) {
  tools::ThreadedHttpSink sink;
  test::Scenario s;
  s.sink_url = sink.url();
  std::string cfg = test::write_scenario(dir_, s);
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  d.value()->watch_configuration();
  test::write_file(cfg, test::read_file(cfg) + "\n# touched\n");
  ASSERT_TRUE(run_until(io, [&] { return d.value()->reloads() == 1; }));
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

class DaemonEndpointTest : public ::testing::Test {
 protected:
  std::unique_ptr<Daemon> start(boost::asio::io_context& io, const std::string& url,
                                const std::string& endpoint_extra,
                                std::vector<std::string> schedule = {"1s"}) {
    test::Scenario s;
    s.sink_url = url;
    s.retry_schedule = std::move(schedule);
    std::string cfg = test::write_scenario(dir_, s);
    // Extra endpoint keys go right after the [endpoints.pacs] table's keys.
    std::string toml = test::read_file(cfg);
    auto pos = toml.find("timeout = \"5s\"\n");
    toml.insert(pos + std::string("timeout = \"5s\"\n").size(), endpoint_extra);
    test::write_file(cfg, toml);
    auto d = Daemon::create(io, cfg);
    EXPECT_TRUE(d) << d.error().message;
    if (!d) return nullptr;
    EXPECT_TRUE(d.value()->start());
    test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"e1"})");
    return std::move(d.value());
  }
  test::TempDir dir_;
};

TEST_F(DaemonEndpointTest, OutcomeOverridesCountConflictAsDelivered) {
  tools::SinkOptions opts;
  opts.default_status = 409;
  tools::ThreadedHttpSink sink(opts);
  boost::asio::io_context io;
  auto d = start(io, sink.url(), "outcomes = { \"409\" = \"delivered\" }\n");
  ASSERT_TRUE(d);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(only_notification(d->store()).last_status, 409);
}

TEST_F(DaemonEndpointTest, OutcomeOverridesCountNotFoundAsRetry) {
  tools::SinkOptions opts;
  opts.statuses = {404};
  tools::ThreadedHttpSink sink(opts);
  boost::asio::io_context io;
  auto d = start(io, sink.url(), "outcomes = { \"4xx\" = \"retry\" }\n", {"100ms"});
  ASSERT_TRUE(d);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(only_notification(d->store()).attempts, 2);
}

TEST_F(DaemonEndpointTest, RetryAfterLaterThanTheSlotIsHonoured) {
  tools::SinkOptions opts;
  opts.statuses = {503};
  opts.response_headers = {{"Retry-After", "3"}};
  tools::ThreadedHttpSink sink(opts);
  boost::asio::io_context io;
  auto d = start(io, sink.url(), "", {"1s"});
  ASSERT_TRUE(d);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
  auto row = only_notification(d->store());
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(row.next_attempt_at - attempts[0].finished_at, 3000);
}

TEST_F(DaemonEndpointTest, RetryAfterIsBoundedByRetryAfterMax) {
  tools::SinkOptions opts;
  opts.statuses = {429};
  opts.response_headers = {{"Retry-After", "86400"}};
  tools::ThreadedHttpSink sink(opts);
  boost::asio::io_context io;
  auto d = start(io, sink.url(), "", {"1s"});
  ASSERT_TRUE(d);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
  auto row = only_notification(d->store());
  auto attempts = d->store().attempts(row.id).value();
  EXPECT_EQ(row.next_attempt_at - attempts[0].finished_at, 6 * 3600 * 1000);  // the default bound
}

TEST_F(DaemonEndpointTest, ExtraHeadersAreSent) {
  tools::ThreadedHttpSink sink;
  boost::asio::io_context io;
  auto d = start(io, sink.url(), "headers = { \"X-Tenant\" = \"acme\" }\n");
  ASSERT_TRUE(d);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(sink.requests().at(0).header("X-Tenant"), "acme");
}

TEST_F(DaemonEndpointTest, TransportErrorIsClassifiedOnTheAttempt) {
  // A port nobody listens on: bind, note the port, close.
  uint16_t port;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  boost::asio::io_context io;
  auto d = start(io, "http://127.0.0.1:" + std::to_string(port), "");
  ASSERT_TRUE(d);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
  auto attempts = d->store().attempts(only_notification(d->store()).id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].error_class, "connect");
  EXPECT_FALSE(attempts[0].http_status.has_value());
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

TEST(DaemonRules, RuleValuesReachTheMappingAndEachMatchingConfigurationSends) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.extra_toml =
      "\n[[notification]]\nname = \"Email changed\"\nentity = \"identity\"\naction = \"UPDATE\"\n"
      "rule = \"email:CHANGED\"\ntopic = \"accounts\"\nlevel = \"WARNING\"\nendpoint = \"pacs\"\n"
      "mapping = \"rule.xml\"\n"
      "\n[[notification]]\nname = \"Badge green\"\nentity = \"identity\"\naction = \"UPDATE\"\n"
      "rule = \"EAV:badge:*->green\"\nendpoint = \"pacs\"\nmapping = \"rule.xml\"\n"
      "\n[[notification]]\nname = \"Never\"\nentity = \"identity\"\naction = \"UPDATE\"\n"
      "rule = \"phone:CHANGED\"\nendpoint = \"pacs\"\n";
  std::string cfg = test::write_scenario(dir, s);
  test::write_file(dir.file("rule.xml"), R"(<Notification>
  <Endpoint Verb="POST" URL="/changes/{Rule.attribute}" />
  <Body>
    <Property JPath="was"><Source Retrieval="Rule" Field="old" /></Property>
    <Property JPath="now"><Source Retrieval="Rule" Field="new" /></Property>
    <Property JPath="topic"><Source Retrieval="Rule" Field="topic" Default="none" /></Property>
    <Property JPath="level"><Source Retrieval="Rule" Field="level" /></Property>
  </Body>
</Notification>
)");
  test::append_event(dir.file("producer.db"), "identity", "UPDATE", "", R"({"PersonID":"7"})",
                     R"({"email":"a@x","eav":{"badge":"blue"}})",
                     R"({"email":"b@x","eav":{"badge":"green"}})");
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  ASSERT_TRUE(
      run_until(io, [&] { return d.value()->store().list(state::State::Delivered, 10)->size() == 2; }));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 2u);
  std::map<std::string, nlohmann::json> by_target;
  for (const auto& r : reqs) by_target[r.target] = nlohmann::json::parse(r.body);
  ASSERT_EQ(by_target.count("/api/changes/email"), 1u);
  EXPECT_EQ(by_target["/api/changes/email"],
            nlohmann::json({{"was", "a@x"}, {"now", "b@x"}, {"topic", "accounts"}, {"level", "WARNING"}}));
  ASSERT_EQ(by_target.count("/api/changes/EAV%3Abadge"), 1u);
  EXPECT_EQ(by_target["/api/changes/EAV%3Abadge"]["now"], "green");
  EXPECT_EQ(by_target["/api/changes/EAV%3Abadge"]["level"], "INFO");
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

TEST(DaemonRender, ProducerDatabaseErrorLeavesTheNotificationWaitingThenItIsDelivered) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.retry_schedule = {"300ms"};
  s.extra_toml =
      "\n[[notification]]\nname = \"Device\"\non = \"DeviceEvent\"\nendpoint = \"pacs\"\nmapping = "
      "\"device.xml\"\n";
  std::string cfg = test::write_scenario(dir, s);
  {
    auto db = db::Database::open(dir.file("producer.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(
        db->exec("CREATE TABLE devices (DeviceID TEXT, Serial TEXT); INSERT INTO devices VALUES ('d1', "
                 "'SN-1'); CREATE VIEW vDevices AS SELECT DeviceID, Serial FROM devices;"));
  }
  test::write_file(dir.file("device.xml"), R"(<Notification>
  <DataSources><DataSource ID="Devices" View="vDevices" Lookup="DeviceID" /></DataSources>
  <Endpoint URL="/devices/{Devices.Serial}" />
  <Body><Property JPath="sn"><Source Retrieval="Devices" Field="Serial" /></Property></Body>
</Notification>
)");
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  auto& store = d.value()->store();
  {
    // The producer changes its schema under Herald's feet...
    auto db = db::Database::open(dir.file("producer.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db->exec("DROP VIEW vDevices"));
  }
  test::append_event(dir.file("producer.db"), "device", "UPDATE", "DeviceEvent", R"({"DeviceID":"d1"})");
  ASSERT_TRUE(run_until(io, [&] { return in_state(store, state::State::Waiting); }));
  auto row = only_notification(store);
  auto attempts = store.attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "retry");
  EXPECT_EQ(attempts[0].error_class, "render");
  EXPECT_THAT(attempts[0].error, HasSubstr("vDevices"));
  {
    // ... and puts it back: the next attempt goes through.
    auto db = db::Database::open(dir.file("producer.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db->exec("CREATE VIEW vDevices AS SELECT DeviceID, Serial FROM devices;"));
  }
  ASSERT_TRUE(run_until(io, [&] { return in_state(store, state::State::Delivered); }));
  ASSERT_EQ(sink.request_count(), 1u);
  EXPECT_EQ(sink.requests()[0].target, "/api/devices/SN-1");
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

// Builds a producer database from the demo SQL (people, managers, roles).
void create_demo_producer(const std::string& path) {
  test::create_producer_db(path);
  auto db = db::Database::open(path, db::Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec(test::read_file(std::string(HERALD_SOURCE_DIR) + "/config/demo/producer.sql")));
}

TEST(DaemonRecipients, ResolvedRecipientsAreStoredWithTheNotification) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  test::write_file(dir.file("extra.lua"), "return { 2 }\n");
  s.extra_toml =
      "\n[[notification]]\nname = \"Email changed\"\nentity = \"identity\"\naction = \"UPDATE\"\n"
      "rule = \"email:CHANGED\"\nendpoint = \"pacs\"\n"
      "recipients = { identity = true, manager = true, roles = [\"Security\"], script = \"extra.lua\" }\n"
      "\n[[notification]]\nname = \"Nobody\"\nentity = \"identity\"\naction = \"UPDATE\"\nendpoint = "
      "\"pacs\"\n"
      "recipients = { roles = [\"Auditors\"] }\n";
  std::string cfg = test::write_scenario(dir, s);
  create_demo_producer(dir.file("producer.db"));
  test::append_event(dir.file("producer.db"), "identity", "UPDATE", "", R"({"PersonID":3})",
                     R"({"email":"a@x"})", R"({"email":"b@x"})");
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  auto& store = d.value()->store();
  ASSERT_TRUE(run_until(io, [&] { return store.list(state::State::Delivered, 10)->size() == 2; }));
  std::map<std::string, std::vector<std::string>> ids;
  auto rows = store.list(std::nullopt, 10).value();
  for (const auto& row : rows) {
    ASSERT_TRUE(row.recipients.is_array()) << row.notification;
    for (const auto& r : row.recipients) ids[row.notification].push_back(r["identity"].get<std::string>());
  }
  // Zoë (3) herself; her managers Owen (2) and Hana (1); the Security role's
  // living members Hana (1) and Rafael (4); Owen again from the script.
  std::vector<std::string> zoe = ids["Email changed"];
  std::sort(zoe.begin(), zoe.end());
  EXPECT_EQ(zoe, (std::vector<std::string>{"1", "2", "3", "4"}));
  // An empty role falls back to the administrators.
  EXPECT_EQ(ids["Nobody"], (std::vector<std::string>{"1"}));
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

TEST(DaemonReloadRules, BrokenRuleIsRefusedAndTheOldRulesKeepDelivering) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.extra_toml =
      "\n[[notification]]\nname = \"Email\"\nentity = \"identity\"\naction = \"UPDATE\"\nrule = "
      "\"email:CHANGED\"\n"
      "endpoint = \"pacs\"\n";
  std::string cfg = test::write_scenario(dir, s);
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  std::string good = test::read_file(cfg);
  std::string broken = good;
  broken.replace(broken.find("email:CHANGED"), 13, "email:");
  test::write_file(cfg, broken);
  auto refused = d.value()->reload();
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("key 'notification[1].rule': column"));
  test::append_event(dir.file("producer.db"), "identity", "UPDATE", "", R"({"PersonID":"1"})",
                     R"({"email":"a"})", R"({"email":"b"})");
  ASSERT_TRUE(run_until(io, [&] { return sink.request_count() == 1; }));
  EXPECT_EQ(d.value()->reloads(), 0u);
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

TEST(DaemonOrder, LaterNotificationForTheSameEntityWaitsOthersFlow) {
  tools::SinkOptions opts;
  opts.statuses = {503};
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.retry_schedule = {"1s"};
  std::string cfg = test::write_scenario(dir, s);
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  auto& store = d.value()->store();
  auto emit = [&](const char* person, const char* first_name) {
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       nlohmann::json{{"PersonID", person}}.dump(), "",
                       nlohmann::json{{"firstName", first_name}}.dump());
  };
  emit("A", "disable");
  ASSERT_TRUE(run_until(io, [&] { return in_state(store, state::State::Waiting); }));
  emit("A", "enable");  // must not overtake the first
  emit("B", "other");   // another entity keeps flowing
  ASSERT_TRUE(run_until(io, [&] { return in_state(store, state::State::Held); }));
  ASSERT_TRUE(run_until(io, [&] { return sink.request_count() == 2; }));
  io.run_for(200ms);
  EXPECT_EQ(sink.request_count(), 2u);
  EXPECT_EQ(nlohmann::json::parse(sink.requests()[1].body)["person"]["id"], "B");
  ASSERT_TRUE(run_until(io, [&] { return store.list(state::State::Delivered, 10)->size() == 3; }));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(reqs[2].body)["person"]["name"]["first"], "disable");
  EXPECT_EQ(nlohmann::json::parse(reqs[3].body)["person"]["name"]["first"], "enable");
}

// Many notifications of one entity ingested together: each delivery
// releases the next, and they go out one after the other, in order.
TEST(DaemonOrder, AChainOfOneEntityGoesOutInOrder) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  std::string cfg = test::write_scenario(dir, s);
  constexpr int kChain = 30;
  for (int i = 0; i < kChain; ++i) {
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       R"({"PersonID":"A"})", "",
                       nlohmann::json{{"firstName", "n" + std::to_string(i)}}.dump());
  }
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"B"})", "", R"({"firstName":"other"})");
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  auto& store = d.value()->store();
  ASSERT_TRUE(run_until(io, [&] { return store.count_in(state::State::Delivered).value() == kChain + 1; }));
  EXPECT_EQ(store.count_in(state::State::Held).value(), 0);
  EXPECT_EQ(store.count_in(state::State::InFlight).value(), 0);
  std::vector<std::string> firsts;
  for (const auto& r : sink.requests()) {
    auto body = nlohmann::json::parse(r.body);
    if (body["person"]["id"] == "A") firsts.push_back(body["person"]["name"]["first"]);
  }
  ASSERT_EQ(firsts.size(), static_cast<size_t>(kChain));
  for (int i = 0; i < kChain; ++i) EXPECT_EQ(firsts[static_cast<size_t>(i)], "n" + std::to_string(i));
}

TEST(DaemonOrder, AnUnorderedEndpointLetsLaterNotificationsPass) {
  tools::SinkOptions opts;
  opts.statuses = {503};
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.retry_schedule = {"1h"};
  std::string cfg = test::write_scenario(dir, s);
  std::string toml = test::read_file(cfg);
  toml.insert(toml.find("timeout = \"5s\"\n"), "ordered = false\n");
  test::write_file(cfg, toml);
  boost::asio::io_context io;
  auto d = Daemon::create(io, cfg);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d.value()->start());
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"A"})");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d.value()->store(), state::State::Waiting); }));
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     R"({"PersonID":"A"})");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d.value()->store(), state::State::Delivered); }));
  EXPECT_EQ(sink.request_count(), 2u);
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

// The state database fills up (another writer takes the room left under
// state_db_max_size): results of attempts wait in memory, new events wait in
// the outbox, the daemon keeps running; once room is made, everything is
// recorded and delivered, with no duplicate.
TEST_F(DaemonTest, FullStateDatabaseLosesNothingAndRecoversWhenRoomIsMade) {
  tools::SinkOptions opts;
  opts.delay = 400ms;  // time to fill the database while the first attempt is in flight
  // Rows that need new pages: a small row could still fit in a page that has room.
  opts.response_body = std::string(20000, 'r');
  tools::ThreadedHttpSink sink(opts);
  test::Scenario s = scenario(sink.url());
  config_ = test::write_scenario(dir_, s);
  std::string toml = test::read_file(config_);
  toml.replace(toml.find("[daemon]\n"), 9,
               "[daemon]\nstate_db_max_size = \"1MB\"\nmax_response_bytes = 65536\n");
  test::write_file(config_, toml);
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(d);
  emit_person("first");
  ASSERT_TRUE(run_until(io, [&] { return d->in_flight() == 1; }));

  // Another connection (not capped) takes all the room there was.
  auto other = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_TRUE(other->exec("CREATE TABLE filler(b BLOB); INSERT INTO filler VALUES (zeroblob(2000000));"));

  test::append_event(
      dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
      nlohmann::json{{"PersonID", "second"}}.dump(), "",
      nlohmann::json{{"firstName", std::string(20000, 'x')}}.dump());  // cannot be ingested now
  ASSERT_TRUE(sink.wait_for_requests(1, 10s));
  io.run_for(1500ms);
  // The first was delivered but could not be recorded: still in flight in
  // the database, nothing sent twice, the second still in the outbox.
  auto rows = d->store().list(std::nullopt, 10).value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, state::State::InFlight);
  EXPECT_EQ(sink.request_count(), 1u);

  ASSERT_TRUE(other->exec("DROP TABLE filler;"));  // room again (free pages are reused)
  ASSERT_TRUE(run_until(
      io,
      [&] {
        auto r = d->store().list(state::State::Delivered, 10);
        return r && r->size() == 2;
      },
      40s));
  EXPECT_EQ(sink.request_count(), 2u);
  auto first = d->store().attempts(rows[0].id).value();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].outcome, "delivered");
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

// The producer holds an exclusive lock on its database (a long write):
// Herald backs off, keeps running, and ingests once the lock is gone.
TEST_F(DaemonTest, LockedProducerDatabaseIsWaitedOutWithoutLosingTheEvent) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  {
    // A producer with a rollback journal: its exclusive lock keeps readers out.
    auto db = db::Database::open(dir_.file("producer.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db && db->exec("PRAGMA journal_mode=DELETE"));
  }
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(d);
  io.run_for(100ms);
  emit_person("locked-out");
  auto producer = db::Database::open(dir_.file("producer.db"), db::Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->exec("BEGIN EXCLUSIVE"));
  io.run_for(2500ms);
  EXPECT_EQ(sink.request_count(), 0u);
  EXPECT_TRUE(d->store().list(std::nullopt, 10).value().empty());
  ASSERT_TRUE(producer->exec("COMMIT"));
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(sink.request_count(), 1u);
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

// An endpoint that answers garbage is a "protocol" failure, retried on the
// schedule; when it behaves again the notification is delivered.
TEST_F(DaemonTest, EndpointAnsweringGarbageIsRetriedAsAProtocolError) {
  tools::SinkOptions bad;
  bad.garbage = true;
  auto garbage = std::make_unique<tools::ThreadedHttpSink>(bad);
  const uint16_t port = garbage->port();
  config_ = test::write_scenario(dir_, scenario(garbage->url(), {"1s", "1s"}));
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(d);
  emit_person("garbled");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Waiting); }));
  auto row = only_notification(d->store());
  auto attempts = d->store().attempts(row.id).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "retry");
  EXPECT_EQ(attempts[0].error_class, "protocol");
  // The same address now speaks HTTP.
  garbage.reset();
  tools::SinkOptions good;
  good.port = port;
  tools::ThreadedHttpSink sink(good);
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Delivered); }));
  EXPECT_EQ(sink.request_count(), 1u);
}

}  // namespace
}  // namespace herald::daemon

namespace herald::daemon {
namespace {

// heraldctl retry writes through a connection of its own; the running
// daemon, idle, notices the change within poll_interval and sends it.
TEST_F(DaemonTest, RetryFromAnotherConnectionIsSentByTheRunningDaemon) {
  tools::SinkOptions opts;
  opts.statuses = {404};  // fails at once; the retry gets 200
  tools::ThreadedHttpSink sink(opts);
  test::Scenario s = scenario(sink.url());
  s.poll_interval = "200ms";
  config_ = test::write_scenario(dir_, s);
  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(d);
  emit_person("p-retry");
  ASSERT_TRUE(run_until(io, [&] { return in_state(d->store(), state::State::Failed); }));
  const int64_t id = only_notification(d->store()).id;
  io.run_for(500ms);  // idle a while: nothing else is due
  ASSERT_EQ(sink.request_count(), 1u);

  auto ctl = state::StateStore::open(dir_.file("state.db"));
  ASSERT_TRUE(ctl) << ctl.error().message;
  ASSERT_TRUE(ctl->retry_now(id, now_ms()).value());
  ASSERT_TRUE(run_until(
      io, [&] { return in_state(d->store(), state::State::Delivered); }, 5s));
  EXPECT_EQ(sink.request_count(), 2u);
  EXPECT_EQ(d->store().attempts(id).value().size(), 2u);
}

// Ingest reads the next batch while the previous one is written. A batch
// that cannot be written (its event does not fit the capped state
// database) holds back the batches read after it, even those that would
// fit: when room is made, every event is delivered, none skipped, none twice.
TEST_F(DaemonTest, BatchesReadAheadOfARefusedOneWaitForIt) {
  tools::ThreadedHttpSink sink;
  config_ = test::write_scenario(dir_, scenario(sink.url()));
  std::string toml = test::read_file(config_);
  toml.replace(toml.find("[daemon]\n"), 9, "[daemon]\nstate_db_max_size = \"1MB\"\n");
  toml.replace(toml.find("[outbox]\n"), 9, "[outbox]\nbatch_size = 1\n");
  test::write_file(config_, toml);
  {
    // The state database exists and is full before heraldd starts.
    auto store = state::StateStore::open(dir_.file("state.db"));
    ASSERT_TRUE(store) << store.error().message;
  }
  auto other = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
  ASSERT_TRUE(other) << other.error().message;
  // Past the cap (this connection has none): heraldd gets no new page, so a
  // large event cannot be written while small ones still fit in the pages
  // their tables have.
  ASSERT_TRUE(other->exec("CREATE TABLE filler(b BLOB); INSERT INTO filler VALUES (zeroblob(1500000));"));

  test::append_event(dir_.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     nlohmann::json{{"PersonID", "big"}}.dump(), "",
                     nlohmann::json{{"firstName", std::string(30000, 'x')}}.dump());
  for (int i = 0; i < 4; ++i) emit_person("small" + std::to_string(i));

  boost::asio::io_context io;
  auto d = start_daemon(io);
  ASSERT_TRUE(d);
  io.run_for(1500ms);
  // Nothing was ingested: the small ones wait behind the big one.
  EXPECT_EQ(d->store().list(std::nullopt, 10).value().size(), 0u);
  EXPECT_EQ(sink.request_count(), 0u);

  ASSERT_TRUE(other->exec("DROP TABLE filler;"));
  ASSERT_TRUE(run_until(
      io,
      [&] {
        auto r = d->store().list(state::State::Delivered, 10);
        return r && r->size() == 5;
      },
      40s));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 5u);
  std::vector<std::string> targets;
  for (const auto& r : reqs) targets.push_back(r.target);
  std::sort(targets.begin(), targets.end());
  EXPECT_EQ(targets, (std::vector<std::string>{"/api/people/big/added", "/api/people/small0/added",
                                               "/api/people/small1/added", "/api/people/small2/added",
                                               "/api/people/small3/added"}));
}

}  // namespace
}  // namespace herald::daemon
