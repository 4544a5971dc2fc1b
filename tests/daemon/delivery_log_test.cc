// At high rates heraldd does not write a line per delivery: the first few in
// each window get one, the rest are summed up when the window ends (or at
// stop). Failures always get their own line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(DeliveryLog, TenLinesPerWindowThenOneSummary) {
  tools::ThreadedHttpSink sink;
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  const std::string config = test::write_scenario(dir, s);
  for (int i = 0; i < 25; ++i) {
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       nlohmann::json{{"PersonID", "p" + std::to_string(i)}}.dump());
  }
  test::DaemonProcess heraldd(config, dir.file("heraldd.log"));
  const std::string state = dir.file("state.db");
  ASSERT_TRUE(test::wait_until(
      [&] {
        return heraldd.log().find(" started: ") != std::string::npos &&
               test::query_int(state, "SELECT COUNT(*) FROM notifications WHERE state = 'delivered'") == 25;
      },
      30s));
  EXPECT_EQ(heraldd.stop(), 0);
  const std::string log = heraldd.log();
  EXPECT_EQ(count(log, ") delivered: HTTP 200 in "), 10u) << log;
  EXPECT_EQ(count(log, "15 more notification(s) delivered in the last 10 s without a line each (pacs 15)"),
            1u)
      << log;
}

}  // namespace
}  // namespace herald
