#include "plugin/plugin_host.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace herald::plugin {
namespace {

using ::testing::HasSubstr;

config::EndpointConfig endpoint(std::vector<std::pair<std::string, std::string>> settings) {
  config::EndpointConfig ep;
  ep.name = "pacs";
  ep.channel = "rest";
  ep.settings = std::move(settings);
  return ep;
}

herald_message message(const char* url, const char* body) {
  herald_message m{};
  m.struct_size = sizeof m;
  m.notification_id = 7;
  m.message_id = "mid-1";
  m.attempt = 2;
  m.notification = "n";
  m.verb = "PUT";
  m.path = "/x";
  m.url = url;
  m.body_json = body;
  m.body_json_size = std::strlen(body);
  return m;
}

TEST(PluginHost, LoadsTheRestPluginWithDlopen) {
  PluginHost host(HERALD_TEST_PLUGIN_DIR);
  auto lib = host.library("rest");
  ASSERT_TRUE(lib) << lib.error().message;
  EXPECT_STREQ(lib.value()->descriptor().name, "rest");
  EXPECT_EQ(lib.value()->descriptor().abi_major, HERALD_ABI_MAJOR);
}

TEST(PluginHost, RefusesAPluginOfAnotherAbiMajorNamingTheFile) {
  std::string dir = std::string(HERALD_TEST_BINARY_DIR) + "/test_plugins/wrong_abi";
  PluginHost host(dir);
  auto lib = host.library("rest");
  ASSERT_FALSE(lib);
  EXPECT_THAT(lib.error().message, HasSubstr(dir + "/rest.so"));
  EXPECT_THAT(lib.error().message, HasSubstr("ABI version 2.0 is not compatible"));
}

TEST(PluginHost, RefusesASharedObjectThatIsNoPlugin) {
  std::string dir = std::string(HERALD_TEST_BINARY_DIR) + "/test_plugins/no_entry";
  auto lib = PluginHost(dir).library("rest");
  ASSERT_FALSE(lib);
  EXPECT_THAT(lib.error().message, HasSubstr("not a Herald plugin"));
}

TEST(PluginHost, MissingPluginFileIsNamed) {
  auto lib = PluginHost("/nonexistent/dir").library("rest");
  ASSERT_FALSE(lib);
  EXPECT_THAT(lib.error().message, HasSubstr("/nonexistent/dir/rest.so"));
}

TEST(RestChannel, BuildsTheRequestWithBearerAuthAndMessageId) {
  auto lib = PluginHost(HERALD_TEST_PLUGIN_DIR).library("rest");
  ASSERT_TRUE(lib);
  auto ch = Channel::open(lib.value(),
                          endpoint({{"url", "http://h"}, {"auth.type", "bearer"}, {"auth.token", "tok"}}));
  ASSERT_TRUE(ch) << ch.error().message;
  auto m = message("http://h/x", "{\"a\":1}");
  auto built = ch.value()->build(m);
  ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
  EXPECT_EQ(built.request.method, "PUT");
  EXPECT_EQ(built.request.url, "http://h/x");
  EXPECT_EQ(built.request.body, "{\"a\":1}");
  using H = std::pair<std::string, std::string>;
  EXPECT_THAT(built.request.headers, ::testing::Contains(H{"Authorization", "Bearer tok"}));
  EXPECT_THAT(built.request.headers, ::testing::Contains(H{"X-Herald-Message-Id", "mid-1"}));
  EXPECT_THAT(built.request.headers, ::testing::Contains(H{"Content-Type", "application/json"}));
}

TEST(RestChannel, HostRefusesHeaderInjection) {
  auto lib = PluginHost(HERALD_TEST_PLUGIN_DIR).library("rest");
  auto ch = Channel::open(
      lib.value(),
      endpoint({{"url", "http://h"}, {"auth.type", "bearer"}, {"auth.token", "tok\r\nX-Evil: 1"}}));
  ASSERT_TRUE(ch);
  auto m = message("http://h/x", "{}");
  auto built = ch.value()->build(m);
  EXPECT_EQ(built.result, HERALD_BUILD_FAILED);
  EXPECT_THAT(built.error, HasSubstr("CR or LF"));
}

TEST(RestChannel, RefusesUnknownSettingsAndMissingUrl) {
  auto lib = PluginHost(HERALD_TEST_PLUGIN_DIR).library("rest");
  auto bad = Channel::open(lib.value(), endpoint({{"url", "http://h"}, {"smtp_host", "x"}}));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("unknown setting 'smtp_host'"));
  EXPECT_THAT(bad.error().message, HasSubstr("endpoint 'pacs'"));
  auto no_url = Channel::open(lib.value(), endpoint({}));
  ASSERT_FALSE(no_url);
  EXPECT_THAT(no_url.error().message, HasSubstr("'url' is required"));
}

TEST(RestChannel, ClassifiesOutcomes) {
  auto lib = PluginHost(HERALD_TEST_PLUGIN_DIR).library("rest");
  auto ch = Channel::open(lib.value(), endpoint({{"url", "http://h"}}));
  ASSERT_TRUE(ch);
  auto m = message("http://h", "{}");
  auto judge = [&](long status, int transport) {
    herald_response r{sizeof(herald_response), status, transport, "", "", 0};
    return ch.value()->classify(m, r).outcome;
  };
  EXPECT_EQ(judge(200, 0), HERALD_OUTCOME_DELIVERED);
  EXPECT_EQ(judge(204, 0), HERALD_OUTCOME_DELIVERED);
  EXPECT_EQ(judge(0, 7), HERALD_OUTCOME_RETRY);
  EXPECT_EQ(judge(408, 0), HERALD_OUTCOME_RETRY);
  EXPECT_EQ(judge(429, 0), HERALD_OUTCOME_RETRY);
  EXPECT_EQ(judge(503, 0), HERALD_OUTCOME_RETRY);
  EXPECT_EQ(judge(404, 0), HERALD_OUTCOME_FAILED);
  EXPECT_EQ(judge(400, 0), HERALD_OUTCOME_FAILED);
  EXPECT_EQ(judge(301, 0), HERALD_OUTCOME_FAILED);
}

}  // namespace
}  // namespace herald::plugin
