// Claims run up to one window ahead of the attempts on the network. At a
// stop, what was claimed and prepared but never sent goes back to pending:
// no attempt is counted for it, nothing is left in flight, and the next
// start sends each notification exactly once.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/daemon_fixture.h"
#include "support/daemon_process.h"
#include "tools/http_sink.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

TEST(StopWithClaimsAhead, UnsentClaimsGoBackAndAreSentOnceLater) {
  constexpr int kEvents = 10;
  tools::SinkOptions opts;
  opts.delay = 400ms;  // the first two stay on the network while heraldd is told to stop
  tools::ThreadedHttpSink sink(opts);
  test::TempDir dir;
  test::Scenario s;
  s.sink_url = sink.url();
  std::string config = test::write_scenario(dir, s);
  std::string toml = test::read_file(config);
  const std::string anchor = "poll_interval = \"500ms\"\n";
  toml.replace(toml.find(anchor), anchor.size(), anchor + "max_in_flight = 2\nshutdown_grace = \"10s\"\n");
  test::write_file(config, toml);
  for (int i = 0; i < kEvents; ++i) {
    test::append_event(dir.file("producer.db"), "identity", "CREATE", "REST Person Added",
                       nlohmann::json{{"PersonID", "p" + std::to_string(i)}}.dump());
  }
  const std::string state = dir.file("state.db");
  auto count = [&](const std::string& where) {
    return test::query_int(state, "SELECT COUNT(*) FROM notifications WHERE " + where);
  };
  {
    test::DaemonProcess heraldd(config, dir.file("heraldd-1.log"));
    ASSERT_TRUE(test::wait_until([&] { return !sink.requests().empty(); }, 30s)) << heraldd.log();
    // Two on the network, two more claimed and waiting for a slot.
    EXPECT_EQ(heraldd.stop(), 0);
  }
  const auto sent = static_cast<int64_t>(sink.requests().size());
  EXPECT_GE(sent, 1);
  EXPECT_LE(sent, 2);
  EXPECT_EQ(count("state = 'in_flight'"), 0);
  EXPECT_EQ(count("state = 'delivered'"), sent);
  EXPECT_EQ(count("state = 'pending' AND attempts = 0"), kEvents - sent);
  EXPECT_EQ(test::query_int(state, "SELECT COUNT(*) FROM attempts"), sent);  // none for the unsent

  test::DaemonProcess heraldd(config, dir.file("heraldd-2.log"));
  ASSERT_TRUE(test::wait_until([&] { return count("state = 'delivered'") == kEvents; }, 30s))
      << heraldd.log();
  EXPECT_EQ(heraldd.stop(), 0);
  EXPECT_EQ(sink.requests().size(), static_cast<size_t>(kEvents));  // each exactly once
  EXPECT_EQ(test::query_int(state, "SELECT COUNT(*) FROM attempts WHERE outcome = 'interrupted'"), 0);
  EXPECT_EQ(test::query_int(state, "SELECT COUNT(*) FROM attempts"), kEvents);
}

}  // namespace
}  // namespace herald
