#include "config/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/duration.h"
#include "support/test_env.h"

namespace herald::config {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using test::write_file;
using ::testing::HasSubstr;

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("1s"), 1s);
  EXPECT_EQ(parse_duration("10m"), 10min);
  EXPECT_EQ(parse_duration("4h"), 4h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("m"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1 s"));
  EXPECT_FALSE(parse_duration("99999999999999999999d"));
  EXPECT_EQ(format_duration(4h), "4h");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
}

const char* kValid = R"(
[daemon]
state_db = "state/herald.db"
plugin_dir = "/opt/plugins"
max_in_flight = 8

[outbox]
database = "producer.db"

[retry]
schedule = ["1s", "2s"]

[endpoints.pacs]
channel = "rest"
url = "https://pacs.example/api"
timeout = "5s"
auth = { type = "bearer", token_file = "token.txt" }

[[notification]]
name = "Person Added"
on = "REST Person Added"
endpoint = "pacs"
mapping = "person.xml"

[[notification]]
name = "Device updates"
entity = "device"
action = "UPDATE"
endpoint = "pacs"
enabled = false
)";

TEST(Config, LoadsAndResolvesRelativePathsAgainstTheFile) {
  TempDir dir;
  write_file(dir.file("herald.toml"), kValid);
  write_file(dir.file("token.txt"), "s3cret\n");
  ::chmod(dir.file("token.txt").c_str(), 0600);  // else a warning: others could read it
  write_file(dir.file("person.xml"), "<Notification/>");
  auto cfg = load(dir.file("herald.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->state_db, dir.file("state/herald.db"));
  EXPECT_EQ(cfg->outbox_db, dir.file("producer.db"));
  EXPECT_EQ(cfg->plugin_dir, "/opt/plugins");
  EXPECT_EQ(cfg->outbox_table, "herald_outbox");
  EXPECT_EQ(cfg->max_in_flight, 8);
  EXPECT_EQ(cfg->retry_schedule, (std::vector<std::chrono::milliseconds>{1s, 2s}));
  ASSERT_EQ(cfg->endpoints.count("pacs"), 1u);
  const auto& ep = cfg->endpoints.at("pacs");
  EXPECT_EQ(ep.connection.timeout, 5s);
  EXPECT_TRUE(ep.connection.tls_verify);
  EXPECT_THAT(ep.settings,
              ::testing::Contains(std::make_pair(std::string("auth.token"), std::string("s3cret"))));
  ASSERT_EQ(cfg->notifications.size(), 2u);
  EXPECT_EQ(cfg->notifications[0].mapping, dir.file("person.xml"));
  EXPECT_FALSE(cfg->notifications[1].enabled);
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(Config, DefaultRetryScheduleIsTheDocumentedOne) {
  TempDir dir;
  write_file(dir.file("h.toml"), "[outbox]\ndatabase = \"p.db\"\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->retry_schedule, (std::vector<std::chrono::milliseconds>{10min, 30min, 60min, 4h, 12h, 24h}));
}

TEST(Config, StateSynchronousIsFullUnlessSetToNormal) {
  TempDir dir;
  write_file(dir.file("h.toml"), "[outbox]\ndatabase = \"p.db\"\n");
  auto full = load(dir.file("h.toml"));
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_TRUE(full->state_synchronous_full);
  write_file(dir.file("h.toml"), "[outbox]\ndatabase = \"p.db\"\n[daemon]\nstate_synchronous = \"normal\"\n");
  auto normal = load(dir.file("h.toml"));
  ASSERT_TRUE(normal) << normal.error().message;
  EXPECT_FALSE(normal->state_synchronous_full);
  write_file(dir.file("h.toml"), "[outbox]\ndatabase = \"p.db\"\n[daemon]\nstate_synchronous = \"off\"\n");
  auto off = load(dir.file("h.toml"));
  ASSERT_FALSE(off);
  EXPECT_THAT(
      off.error().message,
      HasSubstr(dir.file("h.toml") + ":4: key 'daemon.state_synchronous': expected \"full\" or \"normal\""));
}

struct BadCase {
  const char* toml;
  const char* expected;  // substring of the error, after "FILE:"
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.expected; }
};

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, NamesFileLineAndKey) {
  TempDir dir;
  write_file(dir.file("bad.toml"), GetParam().toml);
  auto cfg = load(dir.file("bad.toml"));
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message, HasSubstr(dir.file("bad.toml") + ":" + GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, BadConfig,
    ::testing::Values(
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[daemon\nx=1\n", "3:"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\ntabel = \"x\"\n", "3: unknown key 'outbox.tabel'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[retry]\nschedule = [\"10m\",\n \"ten\"]\n",
                "5: key 'retry.schedule'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\ntable = \"x; drop\"\n", "3: key 'outbox.table'"},
        BadCase{"[outbox]\ndatabase = 5\n", "2: key 'outbox.database': expected a string"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[daemon]\nmax_in_flight = 0\n",
                "4: key 'daemon.max_in_flight'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\ntimeout = \"soon\"\n",
                "5: key 'endpoints.a.timeout'"},
        BadCase{
            "[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\nauth = { type = \"magic\" }\n",
            "5: key 'endpoints.a.auth.type'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
                "auth = { type = \"bearer\", token_file = \"missing.txt\" }\n",
                "5: key 'endpoints.a.auth.token_file': cannot read"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[[notification]]\nname = \"n\"\non = \"x\"\nendpoint = "
                "\"nope\"\n",
                "6: key 'notification[0].endpoint': no endpoint named 'nope'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n[[notification]]\nname = "
                "\"n\"\nendpoint = \"a\"\n",
                "5: key 'notification[0].on'"},
        BadCase{"[daemon]\nlog_level = \"info\"\n", "1: table [outbox]"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
                "outcomes = { \"409\" = \"ok\" }\n",
                "5: key 'endpoints.a.outcomes.409'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
                "outcomes = { \"4x\" = \"retry\" }\n",
                "5: key 'endpoints.a.outcomes.4x'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
                "headers = { \"X-A\" = \"1\\r\\nX-B: 2\" }\n",
                "5: key 'endpoints.a.headers.X-A'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\nclient_cert = \"c.pem\"\n",
                "3: key 'endpoints.a.client_key': client_cert and client_key go together"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[[notification]]\nname = \"n\"\nentity = \"identity\"\n"
                "endpoint = \"x\"\nlevel = \"LOUD\"\n",
                "7: key 'notification[0].level'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n[[notification]]\n"
                "name = \"n\"\nentity = \"identity\"\naction = \"UPDATE\"\nactions = [\"UPDATE\"]\n"
                "endpoint = \"a\"\n",
                "9: key 'notification[0].actions'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n[[notification]]\n"
                "name = \"n\"\nentity = \"identity\"\nendpoint = \"a\"\nrecipients = { managers = true }\n",
                "9: unknown key 'notification[0].recipients.managers'"},
        BadCase{
            "[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"json\"\ntarget = \"http://x;user\"\n",
            "5: key 'endpoints.a.target'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"json\"\nurl = \"http://x\"\n"
                "target = \"http://x\"\n",
                "6: key 'endpoints.a.target': give either"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
                "auth = { type = \"oauth2\", token_url = \"ftp://x\", client_id = \"c\", client_secret_env = "
                "\"PATH\" }\n",
                "5: key 'endpoints.a.auth.token_url'"},
        BadCase{
            "[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
            "auth = { type = \"oauth2\", token_url = \"https://x\", client_id = \"c\", client_secret_env = "
            "\"PATH\", client_auth = \"jwt\" }\n",
            "5: key 'endpoints.a.auth.client_auth'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n[[notification]]\n"
                "name = \"n\"\nentity = \"identity\"\nendpoints = [\"a\", \"b\"]\n",
                "8: key 'notification[0].endpoints': no endpoint named 'b'"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n[[notification]]\n"
                "name = \"n\"\nentity = \"identity\"\nendpoint = \"a\"\nendpoints = [\"a\"]\n",
                "9: key 'notification[0].endpoints': give either"},
        BadCase{"[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n[[notification]]\n"
                "name = \"n\"\nentity = \"identity\"\nendpoint = \"a\"\n"
                "recipients = { addresses = [\"ops@x\\r\\nBcc: y@z\"] }\n",
                "9: key 'notification[0].recipients.addresses'"}));

TEST(Config, ReadsNotificationRuleFieldsAndSplitsTheManualsActionList) {
  TempDir dir;
  write_file(
      dir.file("h.toml"),
      "[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\n"
      "[recipients]\nidentity_key = \"IdentityID\"\n"
      "[[notification]]\nname = \"n\"\nentity = \"policy\"\nactions = [\"enable;DISABLE;UPDATE\", "
      "\"DELETE\"]\n"
      "rule = \"firstName:John->Johny\"\ntopic = \"hr\"\nlevel = \"warning\"\n"
      "recipients = { identity = true, manager = true, identities = [\"7\"], roles = [\"Security\"] }\n"
      "endpoint = \"a\"\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& n = cfg->notifications.at(0);
  EXPECT_EQ(n.actions, (std::vector<std::string>{"ENABLE", "DISABLE", "UPDATE", "DELETE"}));
  EXPECT_EQ(n.rule, "firstName:John->Johny");
  EXPECT_EQ(n.rule_line, 11);
  EXPECT_EQ(n.level, "WARNING");
  EXPECT_TRUE(n.recipients.identity);
  EXPECT_TRUE(n.recipients.manager);
  EXPECT_EQ(n.recipients.roles, (std::vector<std::string>{"Security"}));
  EXPECT_EQ(cfg->recipient_queries.identity_key, "IdentityID");
}

TEST(Config, WarnsWhenTlsVerificationIsOff) {
  TempDir dir;
  write_file(dir.file("h.toml"),
             "[outbox]\ndatabase = \"p.db\"\n[endpoints.lab]\nchannel = \"rest\"\nurl = \"https://x\"\n"
             "tls_verify = false\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_THAT(cfg->warnings[0], HasSubstr("endpoint 'lab'"));
  EXPECT_THAT(cfg->warnings[0], HasSubstr("TLS verification is OFF"));
}

TEST(Config, PassesChannelSpecificKeysToThePlugin) {
  TempDir dir;
  write_file(dir.file("h.toml"),
             "[outbox]\ndatabase = \"p.db\"\n[endpoints.m]\nchannel = \"email\"\nsmtp_port = 587\nstarttls = "
             "true\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& s = cfg->endpoints.at("m").settings;
  EXPECT_THAT(s, ::testing::Contains(std::make_pair(std::string("smtp_port"), std::string("587"))));
  EXPECT_THAT(s, ::testing::Contains(std::make_pair(std::string("starttls"), std::string("true"))));
}

TEST(Config, TargetCarriesUrlAndBasicLoginAndArraysReachPluginsOneItemPerLine) {
  TempDir dir;
  write_file(dir.file("h.toml"),
             "[outbox]\ndatabase = \"p.db\"\n[endpoints.pep]\nchannel = \"json\"\n"
             "target = \"https://pep.example/notify;alice;pa;ss\"\n"
             "[endpoints.m]\nchannel = \"email\"\nto = [\"a@example.org\", \"b@example.org\"]\n"
             "[endpoints.m2]\nchannel = \"email\"\nper_recipient = false\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& pep = cfg->endpoints.at("pep");
  EXPECT_EQ(pep.url, "https://pep.example/notify");
  EXPECT_EQ(pep.auth_type, "basic");
  EXPECT_THAT(pep.settings,
              ::testing::Contains(std::make_pair(std::string("auth.username"), std::string("alice"))));
  // The password keeps its own semicolons.
  EXPECT_THAT(pep.settings,
              ::testing::Contains(std::make_pair(std::string("auth.password"), std::string("pa;ss"))));
  EXPECT_THAT(pep.settings, ::testing::Contains(std::make_pair(std::string("config_dir"), dir.path())));
  EXPECT_FALSE(pep.per_recipient);
  const auto& m = cfg->endpoints.at("m");
  EXPECT_TRUE(m.per_recipient);  // mail goes out one message per person unless told otherwise
  EXPECT_THAT(m.settings, ::testing::Contains(std::make_pair(std::string("to"),
                                                             std::string("a@example.org\nb@example.org"))));
  EXPECT_FALSE(cfg->endpoints.at("m2").per_recipient);
}

TEST(Config, NotificationMayServeSeveralEndpoints) {
  TempDir dir;
  write_file(
      dir.file("h.toml"),
      "[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"json\"\n[endpoints.b]\nchannel = \"xml\"\n"
      "[[notification]]\nname = \"n\"\nentity = \"policy\"\nendpoints = [\"a\", \"b\"]\n"
      "recipients = { addresses = [\"ops@example.org\"] }\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& n = cfg->notifications.at(0);
  EXPECT_EQ(n.endpoints, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(n.endpoint, "a");
  EXPECT_EQ(n.recipients.addresses, (std::vector<std::string>{"ops@example.org"}));
  EXPECT_FALSE(n.recipients.needs_lookup());
}

TEST(Config, OAuth2SettingsAreKeptForTheHost) {
  TempDir dir;
  write_file(dir.file("secret"), "sh!\n");
  write_file(dir.file("h.toml"),
             "[outbox]\ndatabase = \"p.db\"\n[endpoints.a]\nchannel = \"rest\"\nurl = \"https://api\"\n"
             "auth = { type = \"oauth2\", token_url = \"https://idp/token\", client_id = \"herald\", "
             "client_secret_file = \"secret\", scopes = [\"a\", \"b\"], client_auth = \"post\" }\n");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& o = cfg->endpoints.at("a").oauth2;
  EXPECT_EQ(o.token_url, "https://idp/token");
  EXPECT_EQ(o.client_id, "herald");
  EXPECT_EQ(o.client_secret, "sh!");
  EXPECT_EQ(o.scopes, "a b");
  EXPECT_EQ(o.client_auth, "post");
}

TEST(Config, DropInsAreMergedInNameOrderAndErrorsNameTheirFile) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("conf.d"));
  write_file(dir.file("h.toml"),
             "[daemon]\nmax_in_flight = 8\n[outbox]\ndatabase = \"p.db\"\n"
             "[endpoints.a]\nchannel = \"rest\"\nurl = \"http://a\"\n"
             "[[notification]]\nname = \"first\"\nentity = \"x\"\nendpoint = \"a\"\n");
  write_file(dir.file("conf.d/20-more.toml"),
             "[daemon]\nmax_in_flight = 32\n[[notification]]\nname = \"second\"\nentity = \"y\"\nendpoint = "
             "\"b\"\n");
  write_file(dir.file("conf.d/10-endpoint.toml"), "[endpoints.b]\nchannel = \"json\"\nurl = \"http://b\"\n");
  write_file(dir.file("conf.d/README"), "not a drop-in");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->max_in_flight, 32);  // the later file wins
  ASSERT_EQ(cfg->notifications.size(), 2u);
  EXPECT_EQ(cfg->notifications[1].name, "second");
  EXPECT_EQ(cfg->endpoints.at("b").channel, "json");
  EXPECT_EQ(cfg->dropins,
            (std::vector<std::string>{dir.file("conf.d/10-endpoint.toml"), dir.file("conf.d/20-more.toml")}));

  write_file(dir.file("conf.d/30-bad.toml"), "\n[endpoints.c]\nchannel = \"rest\"\ntimeout = \"soon\"\n");
  auto bad = load(dir.file("h.toml"));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message,
              HasSubstr(dir.file("conf.d/30-bad.toml") + ":4: key 'endpoints.c.timeout'"));
  write_file(dir.file("conf.d/30-bad.toml"), "[endpoints.c\n");
  bad = load(dir.file("h.toml"));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr(dir.file("conf.d/30-bad.toml") + ":1:"));
}

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string basic_auth_config(const std::string& secret_keys) {
  return "[outbox]\ndatabase = \"p.db\"\n[endpoints.pep]\nchannel = \"json\"\nurl = \"https://pep\"\n"
         "auth = { type = \"basic\", username = \"herald\", " +
         secret_keys + " }\n";
}

TEST(Config, SecretFromSystemdCredential) {
  TempDir dir, creds;
  write_file(creds.file("pep-password"), "s3cret\n");
  ::chmod(creds.file("pep-password").c_str(), 0400);
  ScopedEnv env("CREDENTIALS_DIRECTORY", creds.path());
  write_file(dir.file("h.toml"), basic_auth_config("password_credential = \"pep-password\""));
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  // What the plugin receives.
  EXPECT_THAT(cfg->endpoints.at("pep").settings,
              ::testing::Contains(std::make_pair(std::string("auth.password"), std::string("s3cret"))));
  EXPECT_THAT(cfg->warnings, ::testing::IsEmpty());
}

TEST(Config, SystemdCredentialErrors) {
  TempDir dir;
  write_file(dir.file("h.toml"), basic_auth_config("password_credential = \"pep-password\""));
  {
    ScopedEnv env("CREDENTIALS_DIRECTORY", "");
    auto cfg = load(dir.file("h.toml"));
    ASSERT_FALSE(cfg);
    EXPECT_THAT(cfg.error().message, HasSubstr(":6: key 'endpoints.pep.auth.password_credential': "
                                               "$CREDENTIALS_DIRECTORY is not set"));
  }
  TempDir creds;
  ScopedEnv env("CREDENTIALS_DIRECTORY", creds.path());
  auto missing = load(dir.file("h.toml"));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("cannot read '" + creds.file("pep-password") + "'"));

  write_file(dir.file("h.toml"), basic_auth_config("password_credential = \"../etc/shadow\""));
  auto path = load(dir.file("h.toml"));
  ASSERT_FALSE(path);
  EXPECT_THAT(path.error().message, HasSubstr("expected a credential name"));

  write_file(dir.file("h.toml"), basic_auth_config("password_credential = \"a\", password_env = \"B\""));
  auto both = load(dir.file("h.toml"));
  ASSERT_FALSE(both);
  EXPECT_THAT(both.error().message,
              HasSubstr("give only one of password_file, password_credential and password_env"));
}

TEST(Config, WarnsWhenASecretFileIsReadableByOthers) {
  TempDir dir;
  write_file(dir.file("pep.pass"), "hunter2\n");
  ::chmod(dir.file("pep.pass").c_str(), 0644);
  write_file(dir.file("h.toml"), basic_auth_config("password_file = \"pep.pass\""));
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->warnings.size(), 1u);
  const std::string& w = cfg->warnings[0];
  EXPECT_THAT(w, HasSubstr(dir.file("h.toml") + ":6: key 'endpoints.pep.auth.password_file'"));
  EXPECT_THAT(w, HasSubstr("'" + dir.file("pep.pass") + "' is readable by group or others (mode 0644)"));
  EXPECT_THAT(w, ::testing::Not(HasSubstr("hunter2")));

  ::chmod(dir.file("pep.pass").c_str(), 0640);
  cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg);
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_THAT(cfg->warnings[0], HasSubstr("(mode 0640)"));

  ::chmod(dir.file("pep.pass").c_str(), 0600);
  cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg);
  EXPECT_THAT(cfg->warnings, ::testing::IsEmpty());
}

}  // namespace
}  // namespace herald::config
