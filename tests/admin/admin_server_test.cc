// The admin listener end to end: a daemon with [admin] delivers through the
// real rest plugin to a real HTTP sink, and /metrics, /healthz are scraped
// over HTTP; plus the [admin] configuration and heraldd's bind failure.
#include "admin/admin_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "daemon/daemon.h"
#include "net/http_client.h"
#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "support/test_env.h"
#include "tools/http_sink.h"

namespace herald::admin {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// GET (or `method`) on the daemon's own loop, so the daemon answers while we wait.
net::HttpResponse fetch(boost::asio::io_context& io, const std::string& url,
                        const std::string& method = "GET") {
  net::HttpClient client(io);
  net::HttpRequest req;
  req.method = method;
  req.url = url;
  req.connection.timeout = 5s;
  req.max_response_bytes = 1 << 20;
  std::optional<net::HttpResponse> got;
  client.send(req, [&](net::HttpResponse r) { got = std::move(r); });
  EXPECT_TRUE(test::run_until(
      io, [&] { return got.has_value(); }, 10s))
      << url;
  return got.value_or(net::HttpResponse{});
}

std::string header(const net::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() == name.size() && strncasecmp(k.c_str(), name.c_str(), k.size()) == 0) return v;
  }
  return {};
}

// "name{labels}" -> value, for every sample line.
std::map<std::string, double> parse_samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

int64_t count_in(state::StateStore& store, const std::string& s) {
  auto counts = store.counts();
  if (!counts) return -1;
  for (const auto& c : counts.value()) {
    if (c.state == s) return c.count;
  }
  return 0;
}

TEST(AdminServerTest, MetricsCountDeliveriesRetriesAndLatencyAndHealthzAnswers) {
  tools::SinkOptions opts;
  opts.statuses = {503};  // the first attempt is retried
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.retry_schedule = {"1s"};
  s.extra_toml = "\n[admin]\nlisten = \"127.0.0.1:0\"\n";
  std::string config = test::write_scenario(dir, s);
  boost::asio::io_context io;
  auto created = daemon::Daemon::create(io, config);
  ASSERT_TRUE(created) << created.error().message;
  auto& d = *created.value();
  ASSERT_TRUE(d.start());
  ASSERT_GT(d.admin_port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(d.admin_port());

  for (const char* id : {"p1", "p2", "p3"}) {
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       nlohmann::json{{"PersonID", id}}.dump(), "", R"({"firstName":"A","lastName":"B"})");
  }
  test::append_event(dir.file("producer.db"), "", "CREATE", "REST Person Added",
                     "{}");  // no entity: rejected
  ASSERT_TRUE(test::run_until(io, [&] { return count_in(d.store(), "delivered") == 3; }));

  auto resp = fetch(io, base + "/metrics");
  ASSERT_EQ(resp.status, 200) << resp.error;
  EXPECT_EQ(header(resp, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(resp.body, HasSubstr("# TYPE herald_attempts_total counter\n"));
  EXPECT_THAT(resp.body, HasSubstr("# TYPE herald_delivery_latency_seconds histogram\n"));
  auto m = parse_samples(resp.body);
  EXPECT_EQ(m["herald_build_info{version=\"" HERALD_VERSION "\"}"], 1);
  EXPECT_EQ(m["herald_events_ingested_total"], 3);
  EXPECT_EQ(m["herald_events_rejected_total"], 1);
  EXPECT_EQ(m["herald_notifications_created_total"], 3);
  EXPECT_EQ(m["herald_attempts_total{endpoint=\"pacs\",outcome=\"delivered\"}"], 3);
  EXPECT_EQ(m["herald_attempts_total{endpoint=\"pacs\",outcome=\"retry\"}"], 1);
  EXPECT_EQ(m.count("herald_attempts_total{endpoint=\"pacs\",outcome=\"failed\"}"), 0u);
  EXPECT_EQ(m["herald_attempt_responses_total{endpoint=\"pacs\",protocol=\"http\",class=\"2xx\"}"], 3);
  EXPECT_EQ(m["herald_attempt_responses_total{endpoint=\"pacs\",protocol=\"http\",class=\"5xx\"}"], 1);
  EXPECT_EQ(m["herald_attempt_errors_total{endpoint=\"pacs\",class=\"http\"}"], 1);
  EXPECT_EQ(m["herald_notifications{endpoint=\"pacs\",state=\"delivered\"}"], 3);
  EXPECT_EQ(m.count("herald_notifications{endpoint=\"pacs\",state=\"waiting\"}"), 1u);
  EXPECT_EQ(m["herald_notifications{endpoint=\"pacs\",state=\"waiting\"}"], 0);
  EXPECT_EQ(m["herald_oldest_waiting_seconds{endpoint=\"pacs\"}"], 0);
  EXPECT_EQ(m["herald_in_flight"], 0);
  EXPECT_EQ(m["herald_reloads_total"], 0);
  EXPECT_EQ(m["herald_delivery_latency_seconds_count{endpoint=\"pacs\"}"], 3);
  EXPECT_EQ(m["herald_delivery_latency_seconds_bucket{endpoint=\"pacs\",le=\"+Inf\"}"], 3);
  // The retried one waited its 1 s slot: latency runs from creation, not from the last attempt.
  EXPECT_LE(m["herald_delivery_latency_seconds_bucket{endpoint=\"pacs\",le=\"0.5\"}"], 2);
  EXPECT_GE(m["herald_delivery_latency_seconds_sum{endpoint=\"pacs\"}"], 1.0);
  // ... and from this run's creation time, not from an unset one (decades).
  EXPECT_LT(m["herald_delivery_latency_seconds_sum{endpoint=\"pacs\"}"], 60.0);
  EXPECT_EQ(m["herald_attempt_duration_seconds_count{endpoint=\"pacs\"}"], 4);

  ASSERT_TRUE(d.reload());
  EXPECT_EQ(parse_samples(fetch(io, base + "/metrics").body)["herald_reloads_total"], 1);

  auto health = fetch(io, base + "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(fetch(io, base + "/nope").status, 404);
  EXPECT_EQ(fetch(io, base + "/metrics", "POST").status, 405);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  auto stopping = fetch(io, base + "/healthz");
  EXPECT_EQ(stopping.status, 503);
  EXPECT_THAT(stopping.body, HasSubstr("stopping"));
  EXPECT_TRUE(stopped);
}

TEST(AdminServerTest, OversizedRequestIsRefused) {
  boost::asio::io_context io;
  AdminHandlers h;
  h.metrics = [](AdminHandlers::MetricsReply reply) { reply(std::string("x 1\n")); };
  h.health = [] { return Status(); };
  auto server = AdminServer::start(io, "127.0.0.1", 0, h);
  ASSERT_TRUE(server) << server.error().message;
  net::HttpClient client(io);
  net::HttpRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(server.value()->port()) + "/metrics";
  req.headers.emplace_back("X-Padding", std::string(16 * 1024, 'a'));
  req.connection.timeout = 5s;
  std::optional<net::HttpResponse> got;
  client.send(req, [&](net::HttpResponse r) { got = std::move(r); });
  ASSERT_TRUE(test::run_until(
      io, [&] { return got.has_value(); }, 10s));
  EXPECT_EQ(got->status, 413);
}

TEST(AdminServerTest, BindFailureNamesTheAddressAndHeralddExitsOne) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string address = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = "http://127.0.0.1:9";
  s.extra_toml = "\n[admin]\nlisten = \"" + address + "\"\n";
  std::string config = test::write_scenario(dir, s);
  auto r = test::run_process(std::string(HERALDD_PATH) + " --config " + config, 30);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cannot bind " + address));
}

TEST(AdminServerTest, AnswersWithTheReasonWhileWaitingForTheProducerThenHandsOver) {
  // A free port, released again for heraldd to take.
  uint16_t port = 0;
  {
    boost::asio::io_context probe;
    boost::asio::ip::tcp::acceptor a(probe, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.extra_toml = "\n[admin]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n";
  const std::string config = test::write_scenario(dir, s);
  std::filesystem::rename(dir.file("producer.db"), dir.file("later.db"));
  test::DaemonProcess d(config, dir.file("heraldd.log"));
  ASSERT_TRUE(test::wait_until([&] { return d.log().find("answers 503") != std::string::npos; }, 10s))
      << d.log();

  boost::asio::io_context io;
  auto health = fetch(io, base + "/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_THAT(health.body, HasSubstr("waiting: "));
  EXPECT_THAT(health.body, HasSubstr("producer.db"));
  auto metrics = fetch(io, base + "/metrics");
  EXPECT_EQ(metrics.status, 500);
  EXPECT_THAT(metrics.body, HasSubstr("waiting: "));

  // The producer appears; SIGHUP tries at once and the daemon's own listener takes the address over.
  std::filesystem::rename(dir.file("later.db"), dir.file("producer.db"));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  ASSERT_TRUE(test::wait_until([&] { return d.log().find(" started: ") != std::string::npos; }, 10s))
      << d.log();
  health = fetch(io, base + "/healthz");
  EXPECT_EQ(health.status, 200) << d.log();
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(fetch(io, base + "/metrics").status, 200);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

Result<config::Config> load_admin(const test::TempDir& dir, const std::string& admin) {
  test::write_file(dir.file("h.toml"), "[outbox]\ndatabase = \"p.db\"\n\n[admin]\n" + admin);
  return config::load(dir.file("h.toml"));
}

TEST(AdminConfigTest, OffByDefaultAndLoopbackAddressesAccepted) {
  test::TempDir dir;
  test::write_file(dir.file("none.toml"), "[outbox]\ndatabase = \"p.db\"\n");
  auto none = config::load(dir.file("none.toml"));
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->admin.enabled());
  auto empty = load_admin(dir, "listen = \"\"\n");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_FALSE(empty->admin.enabled());

  auto v4 = load_admin(dir, "listen = \"127.0.0.1:9464\"\n");
  ASSERT_TRUE(v4) << v4.error().message;
  EXPECT_EQ(v4->admin.host, "127.0.0.1");
  EXPECT_EQ(v4->admin.port, 9464);
  auto v6 = load_admin(dir, "listen = \"[::1]:9465\"\n");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->admin.host, "::1");
  EXPECT_EQ(v6->admin.port, 9465);
  auto local = load_admin(dir, "listen = \"localhost:9466\"\n");
  ASSERT_TRUE(local) << local.error().message;
  EXPECT_EQ(local->admin.host, "127.0.0.1");
  auto remote = load_admin(dir, "listen = \"0.0.0.0:9464\"\nallow_remote = true\n");
  ASSERT_TRUE(remote) << remote.error().message;
  EXPECT_EQ(remote->admin.host, "0.0.0.0");
}

TEST(AdminConfigTest, NonLoopbackWithoutAllowRemoteIsRefusedNamingFileLineAndKey) {
  test::TempDir dir;
  for (const char* listen : {"0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464"}) {
    auto cfg = load_admin(dir, std::string("listen = \"") + listen + "\"\n");
    ASSERT_FALSE(cfg) << listen;
    EXPECT_THAT(cfg.error().message, HasSubstr("h.toml:5: key 'admin.listen'"));
    EXPECT_THAT(cfg.error().message, HasSubstr("allow_remote"));
  }
}

TEST(AdminConfigTest, MalformedListenAndUnknownKeysAreRefused) {
  test::TempDir dir;
  for (const char* listen : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "::1:9464", "example.org:9464",
                             "[127.0.0.1]:9464", "127.0.0.1:x"}) {
    auto cfg = load_admin(dir, std::string("listen = \"") + listen + "\"\n");
    ASSERT_FALSE(cfg) << listen;
    EXPECT_THAT(cfg.error().message, HasSubstr("h.toml:5: key 'admin.listen': expected an address and port"))
        << listen;
  }
  auto typo = load_admin(dir, "listen = \"127.0.0.1:9464\"\nallow_remotes = true\n");
  ASSERT_FALSE(typo);
  EXPECT_THAT(typo.error().message, HasSubstr("h.toml:6: unknown key 'admin.allow_remotes'"));
}

}  // namespace
}  // namespace herald::admin
