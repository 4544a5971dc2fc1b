// An endpoint with its own max_in_flight: claims run ahead of its attempts
// (prepared, parked until one of its attempts ends), ingest claims what it
// creates for it, and at a stop the parked claims go back to pending.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

struct CappedScenario {
  test::TempDir dir;
  std::string config;
  std::string state;

  // `daemon_keys` go into [daemon]; the endpoint takes `cap` at a time.
  CappedScenario(const std::string& sink_url, const std::string& daemon_keys, int cap = 2,
                 const std::string& extra_toml = "") {
    test::Scenario s;
    s.sink_url = sink_url;
    s.extra_toml = extra_toml;
    config = test::write_scenario(dir, s);
    std::string toml = test::read_file(config);
    const std::string daemon_anchor = "poll_interval = \"500ms\"\n";
    toml.replace(toml.find(daemon_anchor), daemon_anchor.size(), daemon_anchor + daemon_keys);
    const std::string endpoint_anchor = "timeout = \"5s\"\n";
    toml.replace(toml.find(endpoint_anchor), endpoint_anchor.size(),
                 endpoint_anchor + "max_in_flight = " + std::to_string(cap) + "\nordered = false\n");
    test::write_file(config, toml);
    state = dir.file("state.db");
  }

  void emit(int from, int count) {
    for (int i = from; i < from + count; ++i) {
      test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                         nlohmann::json{{"PersonID", "p" + std::to_string(i)}}.dump());
    }
  }

  int64_t count(const std::string& where) const {
    return test::query_int(state, "SELECT COUNT(*) FROM notifications WHERE " + where);
  }

  int64_t delivered_to(const std::string& endpoint) const {
    return count("state = 'delivered' AND endpoint = '" + endpoint + "'");
  }
};

uint64_t max_connection(const std::vector<tools::ReceivedRequest>& reqs) {
  uint64_t m = 0;
  for (const auto& r : reqs) m = std::max(m, r.connection);
  return m;
}

TEST(EndpointCap, ClaimsRunAheadWhileTwoAreOnTheNetworkAndGoBackAtAStop) {
  constexpr int kEvents = 10;
  tools::SinkOptions opts;
  opts.delay = 400ms;
  tools::ThreadedHttpSink sink(opts);
  CappedScenario sc(sink.url(), "shutdown_grace = \"10s\"\n");
  sc.emit(0, kEvents);
  {
    test::DaemonProcess heraldd(sc.config, sc.dir.file("heraldd-1.log"));
    // All ten claimed and prepared, while only two went out.
    ASSERT_TRUE(test::wait_until([&] { return sc.count("state = 'in_flight'") == kEvents; }, 30s))
        << heraldd.log();
    ASSERT_TRUE(test::wait_until([&] { return !sink.requests().empty(); }, 30s)) << heraldd.log();
    EXPECT_EQ(heraldd.stop(), 0);
  }
  const auto sent = static_cast<int64_t>(sink.requests().size());
  const uint64_t first_connections = max_connection(sink.requests());
  EXPECT_LE(first_connections, 2u);  // never more than two at once
  EXPECT_GE(sent, 1);
  EXPECT_LE(sent, 4);  // two at a time, within the 10 s grace
  // The parked ones went back untouched: no attempt counted for them.
  EXPECT_EQ(sc.count("state = 'in_flight'"), 0);
  EXPECT_EQ(sc.count("state = 'delivered'"), sent);
  EXPECT_EQ(sc.count("state = 'pending' AND attempts = 0"), kEvents - sent);
  EXPECT_EQ(test::query_int(sc.state, "SELECT COUNT(*) FROM attempts"), sent);

  test::DaemonProcess heraldd(sc.config, sc.dir.file("heraldd-2.log"));
  ASSERT_TRUE(test::wait_until([&] { return sc.count("state = 'delivered'") == kEvents; }, 30s))
      << heraldd.log();
  EXPECT_EQ(heraldd.stop(), 0);
  EXPECT_EQ(sink.requests().size(), static_cast<size_t>(kEvents));  // each exactly once
  EXPECT_LE(max_connection(sink.requests()) - first_connections, 2u);
  EXPECT_EQ(test::query_int(sc.state, "SELECT COUNT(*) FROM attempts WHERE outcome = 'interrupted'"), 0);
}

TEST(EndpointCap, IngestClaimsWhatItCreatesForACappedEndpoint) {
  tools::ThreadedHttpSink sink;
  CappedScenario sc(sink.url(), "log_level = \"debug\"\n");
  test::DaemonProcess heraldd(sc.config, sc.dir.file("heraldd.log"));
  // The first one ends the start's look for what a previous run left.
  sc.emit(0, 1);
  ASSERT_TRUE(test::wait_until([&] { return sc.count("state = 'delivered'") == 1; }, 30s)) << heraldd.log();
  sc.emit(1, 3);
  ASSERT_TRUE(test::wait_until([&] { return sc.count("state = 'delivered'") == 4; }, 30s)) << heraldd.log();
  EXPECT_EQ(heraldd.stop(), 0);
  // Those three, within the endpoint's room, were claimed by the
  // transactions that created them, not by a claim of due notifications.
  const std::string log = heraldd.log();
  const std::regex ingested(R"((\d+) notification\(s\), (\d+) claimed at once)");
  int claimed_at_once = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), ingested); it != std::sregex_iterator(); ++it) {
    claimed_at_once += std::stoi((*it)[2].str());
  }
  EXPECT_GE(claimed_at_once, 3) << log;
  EXPECT_LE(max_connection(sink.requests()), 2u);
}

TEST(EndpointCap, ASlowCappedEndpointDoesNotHoldBackAFastOne) {
  // More than the slow endpoint claims ahead (1 + 32): the rest wait for it.
  constexpr int kEvents = 60;
  tools::SinkOptions slow_opts;
  slow_opts.delay = 100ms;  // one at a time: 6 s for all
  tools::ThreadedHttpSink slow(slow_opts), fast;
  CappedScenario sc(slow.url(), "", 1,
                    "\n[endpoints.fast]\nchannel = \"rest\"\nurl = \"" + fast.url() +
                        "/api/\"\nmax_in_flight = 4\nordered = false\n"
                        "\n[[notification]]\nname = \"Fast\"\non = \"REST Person Added\"\n"
                        "endpoint = \"fast\"\nmapping = \"person_added.xml\"\n");
  test::DaemonProcess heraldd(sc.config, sc.dir.file("heraldd.log"));
  // Events one by one, as a producer writes them: many ingests, while the
  // slow endpoint's notifications pile up behind its cap.
  for (int i = 0; i < kEvents; ++i) {
    sc.emit(i, 1);
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(test::wait_until([&] { return sc.delivered_to("fast") == kEvents; }, 30s)) << heraldd.log();
  // The fast one was done long before the slow one (about 6 s in all).
  EXPECT_LE(sc.delivered_to("pacs"), kEvents / 2);
  ASSERT_TRUE(test::wait_until([&] { return sc.delivered_to("pacs") == kEvents; }, 30s)) << heraldd.log();
  EXPECT_EQ(heraldd.stop(), 0);
  EXPECT_EQ(slow.request_count(), static_cast<size_t>(kEvents));
  EXPECT_EQ(fast.request_count(), static_cast<size_t>(kEvents));
  EXPECT_LE(max_connection(slow.requests()), 1u);
}

}  // namespace
}  // namespace herald
