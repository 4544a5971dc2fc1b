// The json, xml and rest channels end to end against a real HTTP server on
// 127.0.0.1: exact bodies and basic-auth headers, several endpoints for one
// notification, the default envelope, and OAuth2 client credentials with a
// real token endpoint.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "daemon/daemon.h"
#include "support/daemon_fixture.h"
#include "tools/http_sink.h"

namespace herald::daemon {
namespace {

using namespace std::chrono_literals;
using test::run_until;
using ::testing::HasSubstr;

size_t count_in(state::StateStore& store, state::State s) {
  auto rows = store.list(s, 1000);
  return rows ? rows->size() : 0;
}

void replace(std::string& text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << from;
  text.replace(pos, from.size(), to);
}

class ChannelsTest : public ::testing::Test {
 protected:
  // The standard scenario plus `extra` TOML (endpoints, notifications).
  void configure(const std::string& rest_url, const std::string& extra) {
    test::Scenario s;
    s.sink_url = rest_url;
    s.extra_toml = extra;
    config_ = test::write_scenario(dir_, s);
    // The standard mappings folder, for PEPPolicyUpdate.xml.
    edit_config("mapping_dir = \".\"", "mapping_dir = \"" + std::string(HERALD_SOURCE_DIR) + "/mappings\"");
    edit_config("mapping = \"person_added.xml\"", "mapping = \"" + dir_.file("person_added.xml") + "\"");
  }
  // Replaces the first `from` in the configuration file.
  void edit_config(const std::string& from, const std::string& to) {
    std::string toml = test::read_file(config_);
    replace(toml, from, to);
    test::write_file(config_, toml);
  }
  // The notification for the OAuth2 endpoint "api", if it exists yet.
  static std::optional<state::NotificationRow> api_row(Daemon& d) {
    auto rows = d.store().list(std::nullopt, 10);
    if (!rows) return std::nullopt;
    for (const auto& r : *rows) {
      if (r.endpoint == "api") return r;
    }
    return std::nullopt;
  }
  std::unique_ptr<Daemon> start(boost::asio::io_context& io) {
    auto d = Daemon::create(io, config_);
    EXPECT_TRUE(d) << d.error().message;
    if (!d) return nullptr;
    auto s = d.value()->start();
    EXPECT_TRUE(s) << s.error().message;
    return std::move(d.value());
  }
  void emit(const std::string& entity, const std::string& action, const std::string& name,
            const nlohmann::json& keys, const nlohmann::json& new_values) {
    test::append_event(dir_.file("producer.db"), entity, action, name, keys.dump(), "", new_values.dump());
  }

  test::TempDir dir_;
  std::string config_;
};

TEST_F(ChannelsTest, PolicyUpdateGoesToJsonAndXmlEndpointsWithExactBodiesAndBasicAuth) {
  tools::ThreadedHttpSink pep;
  test::write_file(dir_.file("pep-xml.password"), "xml-pass\n");
  configure(pep.url(), "\n[endpoints.pep-json]\nchannel = \"json\"\ntarget = \"" + pep.url() +
                           "/pep/json;alice;s3cr;t\"\n"
                           "\n[endpoints.pep-xml]\nchannel = \"xml\"\nurl = \"" +
                           pep.url() +
                           "/pep/xml\"\nauth = { type = \"basic\", username = \"pep\", password_file = "
                           "\"pep-xml.password\" }\n"
                           "\n[[notification]]\nname = \"Policy updated\"\nentity = \"policy\"\n"
                           "actions = [\"ENABLE\", \"DISABLE\", \"UPDATE\", \"DELETE\"]\n"
                           "endpoints = [\"pep-json\", \"pep-xml\"]\nmapping = \"PEPPolicyUpdate.xml\"\n");
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  emit("policy", "UPDATE", "", {{"PolicyID", "door<7>&co"}},
       {{"policy", "Door \"A\" & <B>"}, {"user", "zoë"}});
  ASSERT_TRUE(run_until(io, [&] { return count_in(d->store(), state::State::Delivered) == 2; }));

  auto reqs = pep.requests();
  ASSERT_EQ(reqs.size(), 2u);
  std::map<std::string, tools::ReceivedRequest> by_target;
  for (const auto& r : reqs) by_target[r.target] = r;
  ASSERT_EQ(by_target.count("/pep/json"), 1u);
  ASSERT_EQ(by_target.count("/pep/xml"), 1u);
  const auto& j = by_target["/pep/json"];
  EXPECT_EQ(j.method, "POST");
  EXPECT_EQ(j.header("Content-Type"), "application/json");
  EXPECT_EQ(j.header("Authorization"), "Basic YWxpY2U6czNjcjt0");  // alice:s3cr;t
  EXPECT_EQ(j.body,
            R"({"action":"UPDATE","target":"Door \"A\" & <B>","targetId":"door<7>&co","user":"zoë"})");
  const auto& x = by_target["/pep/xml"];
  EXPECT_EQ(x.method, "POST");
  EXPECT_EQ(x.header("Content-Type"), "application/xml");
  EXPECT_EQ(x.header("Authorization"), "Basic cGVwOnhtbC1wYXNz");  // pep:xml-pass
  EXPECT_EQ(x.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            "<notification><action>UPDATE</action><target>Door \"A\" &amp; &lt;B&gt;</target>"
            "<targetId>door&lt;7&gt;&amp;co</targetId><user>zoë</user></notification>");
  // Two notifications: each endpoint retries on its own.
  EXPECT_NE(j.header("X-Herald-Message-Id"), x.header("X-Herald-Message-Id"));
}

TEST_F(ChannelsTest, WithoutMappingTheDefaultEnvelopeIsSentEscaped) {
  tools::ThreadedHttpSink pep;
  configure(pep.url(), "\n[endpoints.pep-json]\nchannel = \"json\"\nurl = \"" + pep.url() +
                           "/j\"\n\n[endpoints.pep-xml]\nchannel = \"xml\"\nurl = \"" + pep.url() +
                           "/x\"\n\n[[notification]]\nname = \"Role changed\"\nentity = \"role\"\n"
                           "endpoints = [\"pep-json\", \"pep-xml\"]\n");
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  emit("role", "UPDATE", "", {{"RoleID", 7}}, {{"members", {"a&b", "<c>"}}, {"note", "line1\nline2 \"q\""}});
  ASSERT_TRUE(run_until(io, [&] { return count_in(d->store(), state::State::Delivered) == 2; }));
  std::map<std::string, std::string> body;
  for (const auto& r : pep.requests()) body[r.target] = r.body;
  auto j = nlohmann::json::parse(body["/j"]);
  EXPECT_EQ(j["entity"], "role");
  EXPECT_EQ(j["action"], "UPDATE");
  EXPECT_EQ(j["keys"], nlohmann::json({{"RoleID", 7}}));
  EXPECT_EQ(j["new"]["note"], "line1\nline2 \"q\"");
  EXPECT_EQ(j["new"]["members"], nlohmann::json({"a&b", "<c>"}));
  EXPECT_TRUE(j["name"].is_null());
  EXPECT_THAT(body["/x"], HasSubstr("<entity>role</entity>"));
  EXPECT_THAT(body["/x"], HasSubstr("<keys><RoleID>7</RoleID></keys>"));
  EXPECT_THAT(body["/x"], HasSubstr("<members>a&amp;b</members><members>&lt;c&gt;</members>"));
  EXPECT_THAT(body["/x"], HasSubstr("<note>line1\nline2 \"q\"</note>"));
}

TEST_F(ChannelsTest, TargetWithAuthTableIsRefusedNamingTheKey) {
  configure("http://127.0.0.1:9",
            "\n[endpoints.pep]\nchannel = \"json\"\ntarget = \"http://127.0.0.1:9/p;u;p\"\n"
            "auth = { type = \"bearer\", token_env = \"PATH\" }\n");
  boost::asio::io_context io;
  auto d = Daemon::create(io, config_);
  ASSERT_FALSE(d);
  EXPECT_THAT(d.error().message, HasSubstr("herald.toml"));
  EXPECT_THAT(d.error().message, HasSubstr("endpoints.pep.auth"));
}

// A token endpoint (a second real server) answering client-credentials grants.
struct TokenServer {
  explicit TokenServer(int expires_in, std::vector<int> statuses = {})
      : sink(options(expires_in, statuses)) {}
  static tools::SinkOptions options(int expires_in, std::vector<int> statuses) {
    tools::SinkOptions o;
    o.statuses = std::move(statuses);
    o.response_body =
        R"({"access_token":"tok-1","token_type":"Bearer","expires_in":)" + std::to_string(expires_in) + "}";
    o.response_headers = {{"Content-Type", "application/json"}};
    return o;
  }
  tools::ThreadedHttpSink sink;
};

std::string oauth2_endpoint(const std::string& api, const std::string& token_url) {
  return "\n[endpoints.api]\nchannel = \"rest\"\nurl = \"" + api +
         "/api\"\nauth = { type = \"oauth2\", token_url = \"" + token_url +
         "\", client_id = \"herald-client\", client_secret_file = \"client.secret\", scopes = [\"notify\", "
         "\"people.read\"] }\n"
         "\n[[notification]]\nname = \"Person Added (OAuth2)\"\non = \"REST Person Added\"\n"
         "endpoint = \"api\"\n";
}

TEST_F(ChannelsTest, OAuth2TokenIsFetchedOnceAndReusedAcrossManyDeliveries) {
  TokenServer token(3600);
  tools::ThreadedHttpSink api;
  test::write_file(dir_.file("client.secret"), "cl&ent secret\n");
  configure(api.url(), oauth2_endpoint(api.url(), token.sink.url() + "/oauth/token"));
  // Only the OAuth2 notification: the standard one would go to the same server.
  edit_config("on = \"REST Person Added\"\nendpoint = \"pacs\"", "on = \"nothing\"\nendpoint = \"pacs\"");
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  for (int i = 0; i < 20; ++i) emit("identity", "CREATE", "REST Person Added", {{"PersonID", i}}, {});
  ASSERT_TRUE(run_until(io, [&] { return count_in(d->store(), state::State::Delivered) == 20; }));

  // Twenty deliveries dispatched together, one token request.
  auto grants = token.sink.requests();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(d->token_requests(), 1u);
  EXPECT_EQ(grants[0].method, "POST");
  EXPECT_EQ(grants[0].target, "/oauth/token");
  EXPECT_EQ(grants[0].header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(grants[0].body, "grant_type=client_credentials&scope=notify%20people.read");
  // RFC 6749 2.3.1: id and secret form-encoded, then basic.
  EXPECT_EQ(grants[0].header("Authorization"), "Basic aGVyYWxkLWNsaWVudDpjbCUyNmVudCUyMHNlY3JldA==");
  auto calls = api.requests();
  ASSERT_EQ(calls.size(), 20u);
  for (const auto& c : calls) EXPECT_EQ(c.header("Authorization"), "Bearer tok-1");
}

TEST_F(ChannelsTest, OAuth2TokenIsRefreshedAfterItExpires) {
  TokenServer token(1);  // refreshed 0.1 s before the second is over
  tools::ThreadedHttpSink api;
  test::write_file(dir_.file("client.secret"), "s\n");
  configure(api.url(), oauth2_endpoint(api.url(), token.sink.url() + "/t"));
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  emit("identity", "CREATE", "REST Person Added", {{"PersonID", 1}}, {});
  ASSERT_TRUE(run_until(io, [&] { return api.request_count() == 2; }));  // rest + oauth2 notifications
  EXPECT_EQ(token.sink.request_count(), 1u);
  std::this_thread::sleep_for(1100ms);  // let the token's lifetime pass
  emit("identity", "CREATE", "REST Person Added", {{"PersonID", 2}}, {});
  ASSERT_TRUE(run_until(io, [&] { return api.request_count() == 4; }));
  EXPECT_EQ(token.sink.request_count(), 2u);
}

TEST_F(ChannelsTest, OAuth2UnauthorizedRefreshesTheTokenOnceWithinTheSameAttempt) {
  TokenServer token(3600);
  tools::SinkOptions api_opts;
  api_opts.statuses = {401};  // the cached token was revoked
  tools::ThreadedHttpSink api(api_opts);
  test::write_file(dir_.file("client.secret"), "s\n");
  configure("http://127.0.0.1:9", oauth2_endpoint(api.url(), token.sink.url() + "/t"));
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  emit("identity", "CREATE", "REST Person Added", {{"PersonID", 1}}, {});
  ASSERT_TRUE(run_until(io, [&] {
    auto r = api_row(*d);
    return r && r->state == state::State::Delivered;
  }));
  EXPECT_EQ(token.sink.request_count(), 2u);
  EXPECT_EQ(api.request_count(), 2u);
  EXPECT_EQ(api_row(*d)->attempts, 1);  // the refresh did not cost an attempt
}

TEST_F(ChannelsTest, OAuth2TokenEndpointFailureIsRetriedWithErrorClassAuth) {
  TokenServer token(3600, {500});
  tools::ThreadedHttpSink api;
  test::write_file(dir_.file("client.secret"), "s\n");
  configure("http://127.0.0.1:9", oauth2_endpoint(api.url(), token.sink.url() + "/t"));
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  emit("identity", "CREATE", "REST Person Added", {{"PersonID", 1}}, {});
  int64_t id = 0;
  ASSERT_TRUE(run_until(io, [&] {
    auto r = api_row(*d);
    if (r && r->state == state::State::Delivered) id = r->id;
    return id != 0;
  }));
  auto attempts = d->store().attempts(id).value();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].outcome, "retry");
  EXPECT_EQ(attempts[0].error_class, "auth");
  EXPECT_THAT(attempts[0].error, HasSubstr("token endpoint answered HTTP 500"));
  EXPECT_THAT(attempts[0].error, ::testing::Not(HasSubstr("s\n")));
  EXPECT_EQ(attempts[1].outcome, "delivered");
  EXPECT_EQ(api.request_count(), 1u);  // nothing went out without a token
}

TEST_F(ChannelsTest, PerRecipientEndpointSplitsFixedAddressesIntoOwnNotifications) {
  tools::ThreadedHttpSink api;
  configure(api.url(), "\n[endpoints.each]\nchannel = \"json\"\nurl = \"" + api.url() +
                           "/each\"\nper_recipient = true\n"
                           "\n[[notification]]\nname = \"Announce\"\nentity = \"news\"\nendpoint = \"each\"\n"
                           "recipients = { addresses = [\"a@example.org\", \"b@example.org\"] }\n");
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  emit("news", "CREATE", "", {{"NewsID", 1}}, {});
  ASSERT_TRUE(run_until(io, [&] { return count_in(d->store(), state::State::Delivered) == 2; }));
  std::set<std::string> addresses;
  auto rows = d->store().list(std::nullopt, 10).value();
  for (const auto& r : rows) {
    ASSERT_EQ(r.recipients.size(), 1u);
    addresses.insert(r.recipients[0]["address"].get<std::string>());
  }
  EXPECT_EQ(addresses, (std::set<std::string>{"a@example.org", "b@example.org"}));
  EXPECT_EQ(api.request_count(), 2u);
}

TEST_F(ChannelsTest, EndpointMaxInFlightCapsConcurrentAttemptsWhileOthersFlow) {
  tools::SinkOptions slow;
  slow.delay = 300ms;
  tools::ThreadedHttpSink capped(slow), free(slow);
  configure(capped.url(),
            "\n[endpoints.free]\nchannel = \"json\"\nurl = \"" + free.url() +
                "\"\nordered = false\n"
                "\n[[notification]]\nname = \"Free\"\non = \"REST Person Added\"\nendpoint = \"free\"\n");
  edit_config("timeout = \"5s\"\n", "timeout = \"5s\"\nmax_in_flight = 2\nordered = false\n");
  boost::asio::io_context io;
  auto d = start(io);
  ASSERT_TRUE(d);
  for (int i = 0; i < 6; ++i) emit("identity", "CREATE", "REST Person Added", {{"PersonID", i}}, {});
  ASSERT_TRUE(run_until(io, [&] { return count_in(d->store(), state::State::Delivered) == 12; }));
  auto max_connection = [](const std::vector<tools::ReceivedRequest>& reqs) {
    uint64_t m = 0;
    for (const auto& r : reqs) m = std::max(m, r.connection);
    return m;
  };
  // Two at a time at most: never more than two connections were needed.
  EXPECT_EQ(capped.request_count(), 6u);
  EXPECT_LE(max_connection(capped.requests()), 2u) << [&] {
    std::string s;
    for (const auto& r : capped.requests()) s += std::to_string(r.connection) + " ";
    return s;
  }();
  // The endpoint without a cap took them all at once.
  EXPECT_EQ(free.request_count(), 6u);
  EXPECT_GT(max_connection(free.requests()), 2u);
}

}  // namespace
}  // namespace herald::daemon
