// Crash safety: heraldd is killed with SIGKILL at random moments while a
// stream of events flows to a real HTTP server. At the end every event has
// been ingested exactly once and delivered; the only duplicates are requests
// that were in flight at a kill, and the receiver can tell them by their
// message id.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "db/sqlite.h"
#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

int64_t scalar(const std::string& db_path, const std::string& sql) { return test::query_int(db_path, sql); }

// `endpoint_cap`: the endpoint's own max_in_flight, 0 for none (then the
// daemon's 64 caps what is in flight).
void crash_soak(int endpoint_cap) {
  constexpr int kEvents = 300;
  constexpr int kKills = 12;
  tools::SinkOptions opts;
  opts.delay = 5ms;  // some requests are always in flight
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.retry_schedule = {"200ms", "200ms", "200ms"};
  s.poll_interval = "200ms";
  std::string config = test::write_scenario(dir, s);
  if (endpoint_cap > 0) {
    // Claims for it run ahead of its attempts: those never sent must not
    // come out twice either.
    std::string toml = test::read_file(config);
    const std::string anchor = "timeout = \"5s\"\n";
    toml.replace(toml.find(anchor), anchor.size(),
                 anchor + "max_in_flight = " + std::to_string(endpoint_cap) + "\n");
    test::write_file(config, toml);
  }

  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  // The producer writes while heraldd comes and goes.
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; i < kEvents; ++i) {
      test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                         nlohmann::json{{"PersonID", "p" + std::to_string(i)}}.dump());
      written = i + 1;
      if (i % 10 == 9) std::this_thread::sleep_for(20ms);
    }
  });

  std::uniform_int_distribution<int> life_ms(50, 400);
  for (int k = 0; k < kKills; ++k) {
    test::DaemonProcess heraldd(config, dir.file("heraldd-" + std::to_string(k) + ".log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(life_ms(rng)));
    ASSERT_TRUE(heraldd.kill_abruptly());
  }
  producer.join();

  // A last, undisturbed run delivers the rest.
  const std::string state = dir.file("state.db");
  test::DaemonProcess heraldd(config, dir.file("heraldd.log"));
  // Up and running (so that SIGTERM meets its handler), and done.
  EXPECT_TRUE(test::wait_until(
      [&] {
        return heraldd.log().find(" started: ") != std::string::npos &&
               scalar(state, "SELECT COUNT(*) FROM notifications WHERE state = 'delivered'") == kEvents;
      },
      30s));
  EXPECT_EQ(heraldd.stop(), 0);
  std::string log = heraldd.log();

  // Ingested exactly once: one event row and one notification per outbox row.
  EXPECT_EQ(scalar(state, "SELECT COUNT(*) FROM events"), kEvents);
  EXPECT_EQ(scalar(state, "SELECT COUNT(*) FROM notifications"), kEvents);
  EXPECT_EQ(scalar(state, "SELECT COUNT(DISTINCT event_id) FROM notifications"), kEvents);
  EXPECT_EQ(scalar(state, "SELECT COUNT(*) FROM notifications WHERE state <> 'delivered'"), 0)
      << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);

  // Every event reached the server; duplicates carry the same message id.
  std::map<std::string, std::set<std::string>> ids_by_person;
  std::map<std::string, int> requests_by_id;
  for (const auto& r : sink.requests()) {
    auto person = r.target;
    ids_by_person[person].insert(r.header("X-Herald-Message-Id"));
    ++requests_by_id[r.header("X-Herald-Message-Id")];
  }
  EXPECT_EQ(ids_by_person.size(), static_cast<size_t>(kEvents));
  for (const auto& [person, ids] : ids_by_person) EXPECT_EQ(ids.size(), 1u) << person;
  int duplicates = 0;
  for (const auto& [id, n] : requests_by_id) duplicates += n - 1;
  // Only what was in flight at each kill can go out twice, or had come back
  // and was not written yet (results are written in batches, within 5 ms,
  // as long as one request takes here): at most twice max_in_flight per kill.
  EXPECT_LE(duplicates, kKills * 2 * (endpoint_cap > 0 ? endpoint_cap : 64));
  std::cout << "crash soak: " << kEvents << " events, " << kKills << " kills, " << sink.request_count()
            << " requests, " << duplicates << " duplicate(s), seed " << seed << "\n";
}

TEST(CrashSafety, RandomKillNineLosesNothingAndDuplicatesOnlyWhatWasInFlight) { crash_soak(0); }

TEST(CrashSafety, WithAnEndpointCapClaimsAheadAreNeverSentTwice) { crash_soak(4); }

}  // namespace
}  // namespace herald
