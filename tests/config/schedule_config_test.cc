// [[schedule]] tables: what loads, and errors naming file, line and key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "support/test_env.h"

namespace herald::config {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using test::write_file;
using ::testing::HasSubstr;

const std::string kHead = "[outbox]\ndatabase = \"p.db\"\n";  // lines 1-2

TEST(ScheduleConfig, LoadsEveryKey) {
  TempDir dir;
  write_file(dir.file("h.toml"), kHead + R"([daemon]
time_zone = "Europe/Paris"

[[schedule]]
name = "password-expiry"
cron = "0 0 8 * * *"
once_per = "1d"
run_at_start = true
view = "vAccounts"
where = [
  { field = "Enabled", value = true },
  { field = "Kind", op = "in", values = ["a", "b"] },
  { field = "Expires", op = "ge", date = "today + 3d", format = "sqlite" },
  { field = "Expires", op = "isnull", conjunction = "or" },
]
entity = "identity"
action = "notice"
event = "Password Expires Soon"
keys = { PersonID = "PersonID" }
values = { LogonName = "Logon", ExpiresAt = "Expires" }
max_rows = 500

[[schedule]]
name = "idle"
every = "6h"
time_zone = "UTC"
view = "vIdle"
entity = "identity"
keys = { PersonID = "PersonID" }
)");
  auto cfg = load(dir.file("h.toml"));
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->schedules.size(), 2u);
  const auto& s = cfg->schedules[0];
  EXPECT_EQ(s.name, "password-expiry");
  EXPECT_EQ(s.cron, "0 0 8 * * *");
  EXPECT_EQ(s.once_per, 24h);
  EXPECT_TRUE(s.run_at_start);
  EXPECT_EQ(s.time_zone, "Europe/Paris") << "[daemon] time_zone is the default";
  EXPECT_EQ(s.action, "NOTICE");
  EXPECT_EQ(s.event, "Password Expires Soon");
  ASSERT_EQ(s.where.size(), 4u);
  EXPECT_EQ(s.where[0].values, std::vector<std::string>{"1"});
  EXPECT_EQ(s.where[1].values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.where[2].date, "today + 3d");
  EXPECT_EQ(s.where[2].format, "sqlite");
  EXPECT_TRUE(s.where[3].or_with_previous);
  EXPECT_EQ(s.keys, (std::vector<std::pair<std::string, std::string>>{{"PersonID", "PersonID"}}));
  EXPECT_EQ(s.values.size(), 2u);
  EXPECT_EQ(s.max_rows, 500);
  EXPECT_EQ(s.line, 6);
  const auto& idle = cfg->schedules[1];
  EXPECT_EQ(idle.every, 6h);
  EXPECT_EQ(idle.time_zone, "UTC");
  EXPECT_EQ(idle.action, "SCHEDULED");
  EXPECT_FALSE(idle.run_at_start);
}

struct BadSchedule {
  std::string body;      // after kHead, from line 3
  std::string expected;  // after "FILE:"
  friend void PrintTo(const BadSchedule& c, std::ostream* os) { *os << c.expected; }
};

class BadScheduleConfig : public ::testing::TestWithParam<BadSchedule> {};

TEST_P(BadScheduleConfig, NamesFileLineAndKey) {
  TempDir dir;
  write_file(dir.file("bad.toml"), kHead + GetParam().body);
  auto cfg = load(dir.file("bad.toml"));
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message, HasSubstr(dir.file("bad.toml") + ":" + GetParam().expected));
}

const std::string kOk =
    "[[schedule]]\nname = \"s\"\nview = \"v\"\nentity = \"identity\"\n"
    "keys = { PersonID = \"PersonID\" }\n";  // lines 3-7

INSTANTIATE_TEST_SUITE_P(
    Errors, BadScheduleConfig,
    ::testing::Values(
        BadSchedule{kOk, "3: key 'schedule[0].cron': a schedule needs 'cron'"},
        BadSchedule{kOk + "cron = \"0 0 25 * * *\"\n", "8: key 'schedule[0].cron': hour field"},
        BadSchedule{kOk + "every = \"often\"\n", "8: key 'schedule[0].every': expected a duration"},
        BadSchedule{kOk + "every = \"500ms\"\n", "8: key 'schedule[0].every': must be at least 1s"},
        BadSchedule{kOk + "every = \"1h\"\ntime_zone = \"Mars/Olympus\"\n",
                    "9: key 'schedule[0].time_zone': unknown time zone 'Mars/Olympus'"},
        BadSchedule{"[daemon]\ntime_zone = \"Nowhere\"\n", "4: key 'daemon.time_zone': unknown time zone"},
        BadSchedule{kOk + "every = \"1h\"\nwhere = [{ field = \"A\", op = \"between\", value = 1 }]\n",
                    "9: key 'schedule[0].where[0].op': unknown operation 'between'"},
        BadSchedule{kOk + "every = \"1h\"\nwhere = [\n  { field = \"A\", value = 1 },\n"
                          "  { field = \"B\", op = \"lt\", date = \"tomorrow\" },\n]\n",
                    "11: key 'schedule[0].where[1].date': 'tomorrow': a date starts with 'now' or 'today'"},
        BadSchedule{kOk + "every = \"1h\"\nwhere = [{ field = \"B\", op = \"lt\", date = \"now\", format = "
                          "\"epoch\" }]\n",
                    "9: key 'schedule[0].where[0].format': unknown date format 'epoch'"},
        BadSchedule{kOk + "every = \"1h\"\nwhere = [{ field = \"B\", op = \"lt\" }]\n",
                    "9: key 'schedule[0].where[0].value': is required for 'lt'"},
        BadSchedule{kOk + "every = \"1h\"\nwhere = [{ field = \"B; drop\", value = 1 }]\n",
                    "9: key 'schedule[0].where[0].field'"},
        BadSchedule{kOk + "every = \"1h\"\nwhere = [{ field = \"B\", vale = 1 }]\n",
                    "9: unknown key 'schedule[0].where[0].vale'"},
        BadSchedule{"[[schedule]]\nname = \"s\"\nview = \"v\"\nentity = \"identity\"\nevery = \"1h\"\n",
                    "3: key 'schedule[0].keys': is required"},
        BadSchedule{kOk + "every = \"1h\"\nvalues = { Mail = \"E-mail\" }\n",
                    "9: key 'schedule[0].values': 'Mail' must name a column"},
        BadSchedule{kOk + "every = \"1h\"\n" + kOk + "every = \"1h\"\n",
                    "10: key 'schedule[1].name': duplicate schedule name 's'"},
        BadSchedule{kOk + "every = \"1h\"\nview2 = \"x\"\n", "9: unknown key 'schedule[0].view2'"}));

}  // namespace
}  // namespace herald::config
