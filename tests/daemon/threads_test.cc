// heraldd's threads carry names (top -H, perf, the benchmark's CPU per
// thread), and the CPU each one used can be read per name.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

TEST(DaemonThreads, TheEventLoopTheStateWorkerAndTheCheckpointerAreNamed) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  const std::string config = test::write_scenario(dir, s);
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     nlohmann::json{{"PersonID", "p1"}}.dump());
  test::DaemonProcess heraldd(config, dir.file("heraldd.log"));
  ASSERT_TRUE(test::wait_until([&] { return sink.requests().size() == 1; }, 30s)) << heraldd.log();

  const auto threads = heraldd.thread_cpu_seconds();
  ASSERT_FALSE(threads.empty());
  EXPECT_EQ(threads.front().first, "heraldd");  // the main thread runs the event loop
  auto named = [&](const std::string& name) {
    return std::any_of(threads.begin(), threads.end(), [&](const auto& t) { return t.first == name; });
  };
  EXPECT_TRUE(named("state-worker"));
  EXPECT_TRUE(named("wal-checkpoint"));
  // The names' CPU adds up to the process's, give or take the ticks of the reads between.
  double sum = 0;
  for (const auto& [n, seconds] : threads) sum += seconds;
  const auto total = heraldd.cpu_seconds();  // in clock ticks: 0 is possible for so little work
  ASSERT_TRUE(total.has_value());
  EXPECT_NEAR(sum, *total, 0.05);
  EXPECT_EQ(heraldd.stop(), 0);
}

// The name of the thread that built the one request a channel from
// `plugin_dir` sent (the probe plugin says it in X-Built-On).
std::string built_on(const std::string& plugin_dir) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  s.plugin_dir = plugin_dir;
  const std::string config = test::write_scenario(dir, s);
  test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                     nlohmann::json{{"PersonID", "p1"}}.dump());
  test::DaemonProcess heraldd(config, dir.file("heraldd.log"));
  if (!test::wait_until([&] { return sink.requests().size() == 1; }, 30s)) {
    ADD_FAILURE() << heraldd.log();
    return {};
  }
  EXPECT_EQ(heraldd.stop(), 0);
  return sink.requests().front().header("X-Built-On");
}

TEST(DaemonThreads, AChannelThatMayBuildOnAnyThreadIsBuiltOnTheStateWorker) {
  EXPECT_EQ(built_on(std::string(HERALD_TEST_BINARY_DIR) + "/test_plugins/any_thread"), "state-worker");
}

TEST(DaemonThreads, AnyOtherChannelIsBuiltOnTheEventLoop) {
  EXPECT_EQ(built_on(std::string(HERALD_TEST_BINARY_DIR) + "/test_plugins/loop_only"), "heraldd");
}

}  // namespace
}  // namespace herald
