// Schedules end to end: a real heraldd runs a [[schedule]]'s query on the
// producer database, the rows become events, and the e-mail channel delivers
// them to a real SMTP server (aiosmtpd) on 127.0.0.1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "db/sqlite.h"
#include "support/daemon_process.h"
#include "support/smtp_server.h"
#include "support/test_env.h"

namespace herald {
namespace {

using namespace std::chrono_literals;
using test::run_process;
using ::testing::HasSubstr;

const std::string kSource = HERALD_SOURCE_DIR;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

class ScheduleDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    test::create_producer_db(producer());
    auto db = db::Database::open(producer(), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db && db->exec(test::read_file(kSource + "/config/demo/producer.sql")));
  }

  std::string producer() { return dir_.file("producer.db"); }

  void sql(const std::string& statements) {
    auto db = db::Database::open(producer(), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec(statements));
  }

  // The configuration the demo ships, pointed at this test's SMTP server.
  std::string demo_config() {
    std::string toml = test::read_file(kSource + "/config/demo/herald.toml");
    replace_all(toml, "plugin_dir = \"../plugins\"",
                "plugin_dir = \"" + std::string(HERALD_TEST_PLUGIN_DIR) + "\"");
    replace_all(toml, "\"../../mappings\"", "\"" + kSource + "/mappings\"");
    replace_all(toml, "\"../../config/templates/", "\"" + kSource + "/config/templates/");
    replace_all(toml, "port = 18025", "port = " + std::to_string(server_.port()));
    test::write_file(dir_.file("pep.password"), test::read_file(kSource + "/config/demo/pep.password"));
    ::chmod(dir_.file("pep.password").c_str(), 0600);
    test::write_file(dir_.file("herald.toml"), toml);
    return dir_.file("herald.toml");
  }

  // A small configuration with one schedule (`timing` holds its cron /
  // every / run_at_start / once_per lines) mailing each account's owner.
  std::string own_config(const std::string& timing) {
    std::string toml =
        "[daemon]\nstate_db = \"state.db\"\nplugin_dir = \"" + std::string(HERALD_TEST_PLUGIN_DIR) +
        "\"\n\n[outbox]\ndatabase = \"producer.db\"\n\n[retry]\nschedule = [\"1h\"]\n\n"
        "[endpoints.mail]\nchannel = \"email\"\nhost = \"127.0.0.1\"\nport = " +
        std::to_string(server_.port()) +
        "\ntls = \"none\"\nfrom = \"herald@example.org\"\nsubject = \"Expiry {new.LogonName}\"\n\n"
        "[[schedule]]\nname = \"expiry\"\n" +
        timing +
        "view = \"vAccounts\"\nwhere = [\n"
        "  { field = \"Enabled\", value = 1 },\n"
        "  { field = \"PasswordExpiresAt\", op = \"ge\", date = \"today + 3d\" },\n"
        "  { field = \"PasswordExpiresAt\", op = \"lt\", date = \"today + 4d\" },\n]\n"
        "entity = \"identity\"\naction = \"NOTICE\"\nevent = \"Password Expires Soon\"\n"
        "keys = { PersonID = \"PersonID\" }\nvalues = { LogonName = \"LogonName\" }\n\n"
        "[[notification]]\nname = \"Expiry\"\non = \"Password Expires Soon\"\nendpoint = \"mail\"\n"
        "recipients = { identity = true }\n";
    test::write_file(dir_.file("herald.toml"), toml);
    return dir_.file("herald.toml");
  }

  test::ProcessResult drain(const std::string& cfg) {
    return run_process(std::string(HERALDD_PATH) + " --config " + cfg + " --drain", 60);
  }

  std::multiset<std::string> recipients() {
    std::multiset<std::string> out;
    for (const auto& m : server_.messages()) {
      for (const auto& r : m["rcpt_tos"]) out.insert(r.get<std::string>());
    }
    return out;
  }

  // Scheduled events in the state database, by name.
  int64_t events_named(const std::string& name) {
    return test::query_int(dir_.file("state.db"),
                           "SELECT COUNT(*) FROM events WHERE id < 0 AND name = '" + name + "'");
  }

  test::TempDir dir_;
  test::SmtpServer server_;
};

TEST_F(ScheduleDelivery, TheDemoMailsTheUserWhosePasswordExpiresAndTheIdleAccountsManager) {
  std::string cfg = demo_config();
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto mails = server_.wait_for(2);
  ASSERT_EQ(mails.size(), 2u) << d.output;
  std::map<std::string, nlohmann::json> by_subject;
  for (const auto& m : mails) by_subject[m["subject"].get<std::string>()] = m;

  // Hana's password expires in three days: she hears of it herself.
  auto expiry_day = run_process("date -u -d '+3 days' +%Y-%m-%d").output.substr(0, 10);
  const std::string expiry_subject = "Your password expires on " + expiry_day;
  ASSERT_EQ(by_subject.count(expiry_subject), 1u) << d.output;
  const auto& expiry = by_subject[expiry_subject];
  EXPECT_EQ(expiry["rcpt_tos"], nlohmann::json::array({"hana.nakamura@example.com"}));
  EXPECT_THAT(expiry["body"].get<std::string>(), HasSubstr("Hi Hana Nakamura,"));
  EXPECT_THAT(expiry["body"].get<std::string>(),
              HasSubstr("your account hnakamura expires on " + expiry_day));

  // Owen has not signed in for 120 days: his manager Hana hears of it.
  auto idle_day = run_process("date -u -d '-120 days' +%Y-%m-%d").output.substr(0, 10);
  const std::string idle_subject = "Account obrennan has not been used since " + idle_day;
  ASSERT_EQ(by_subject.count(idle_subject), 1u) << d.output;
  EXPECT_EQ(by_subject[idle_subject]["rcpt_tos"], nlohmann::json::array({"hana.nakamura@example.com"}));
  EXPECT_THAT(by_subject[idle_subject]["body"].get<std::string>(),
              HasSubstr("The account obrennan of Owen Brennan has not signed in since"));

  // heraldd starts again: the period's notices went out already.
  auto again = drain(cfg);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("schedule 'password-expiry' (run at start"));
  EXPECT_THAT(again.output, HasSubstr("0 new event(s)"));
  EXPECT_EQ(server_.messages().size(), 2u);
  EXPECT_EQ(events_named("Password Expires Soon"), 1);
  EXPECT_EQ(events_named("Account Idle"), 1);
}

TEST_F(ScheduleDelivery, OverlappingRunsAndRestartsSendEachNoticeOncePerPeriod) {
  // Every second, and at start, all within one day's period.
  std::string cfg = own_config("every = \"1s\"\nrun_at_start = true\nonce_per = \"1d\"\n");
  {
    test::DaemonProcess heraldd(cfg, dir_.file("heraldd.log"));
    ASSERT_EQ(server_.wait_for(1).size(), 1u) << heraldd.log();
    // Several runs later there is still one notice.
    ASSERT_TRUE(test::wait_until([&] { return count_of(heraldd.log(), "(scheduled, period") >= 3; }, 20s))
        << heraldd.log();
    // A row that starts to match is notified by the next run, once.
    sql("UPDATE accounts SET PasswordExpiresAt = strftime('%Y-%m-%dT18:00:00Z', 'now', '+3 days') WHERE "
        "PersonID = 3;");
    ASSERT_EQ(server_.wait_for(2).size(), 2u) << heraldd.log();
    size_t runs = count_of(heraldd.log(), "(scheduled, period");
    ASSERT_TRUE(
        test::wait_until([&] { return count_of(heraldd.log(), "(scheduled, period") >= runs + 2; }, 20s));
    EXPECT_EQ(heraldd.stop(), 0);
  }
  {
    test::DaemonProcess heraldd(cfg, dir_.file("heraldd2.log"));
    ASSERT_TRUE(test::wait_until([&] { return count_of(heraldd.log(), "(scheduled, period") >= 2; }, 20s))
        << heraldd.log();
    EXPECT_THAT(heraldd.log(), HasSubstr("(run at start"));
    EXPECT_EQ(heraldd.stop(), 0);
  }
  EXPECT_EQ(recipients(),
            (std::multiset<std::string>{"hana.nakamura@example.com", "zoe.achterberg@example.com"}));
  EXPECT_EQ(events_named("Password Expires Soon"), 2);
}

TEST_F(ScheduleDelivery, ASlotMissedWhileHeralddWasDownRunsOnceAtStart) {
  std::string cfg = own_config("every = \"1h\"\n");
  // First start: nothing has been missed yet, and nothing runs.
  auto first = drain(cfg);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, ::testing::Not(HasSubstr("schedule 'expiry' (")));
  EXPECT_TRUE(server_.messages().empty());

  // As if heraldd had been down for three slots.
  {
    auto db = db::Database::open(dir_.file("state.db"), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db && db->exec("UPDATE schedule_runs SET last_slot = last_slot - 3 * 3600"));
  }
  auto second = drain(cfg);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(count_of(second.output, "schedule 'expiry' (missed while Herald was not running"), 1u)
      << second.output;
  ASSERT_EQ(server_.wait_for(1).size(), 1u);
  EXPECT_EQ(recipients(), std::multiset<std::string>{"hana.nakamura@example.com"});

  // Caught up: the next start has nothing to run.
  auto third = drain(cfg);
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_THAT(third.output, ::testing::Not(HasSubstr("schedule 'expiry' (")));
  EXPECT_EQ(server_.messages().size(), 1u);

  // heraldctl shows the latest slot (this hour) and the next one.
  auto ctl = run_process(std::string(HERALDCTL_PATH) + " -c " + cfg + " schedules --json");
  ASSERT_EQ(ctl.exit_code, 0) << ctl.output;
  auto rows = nlohmann::json::parse(ctl.output);
  ASSERT_EQ(rows.size(), 1u) << ctl.output;
  auto hour = run_process("date -u +%Y-%m-%dT%H:00:00+00:00").output.substr(0, 25);
  auto next_hour = run_process("date -u -d '+1 hour' +%Y-%m-%dT%H:00:00+00:00").output.substr(0, 25);
  EXPECT_EQ(rows[0]["name"], "expiry");
  EXPECT_EQ(rows[0]["when"], "every 1h");
  EXPECT_EQ(rows[0]["time_zone"], "UTC");
  EXPECT_EQ(rows[0]["last_slot"], hour);
  EXPECT_EQ(rows[0]["emitted"], 1);
  EXPECT_EQ(rows[0]["next"], next_hour);

  // A scheduled event (id below zero) can be replayed like any other.
  auto replay = run_process(std::string(HERALDCTL_PATH) + " -c " + cfg + " replay -1");
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  ASSERT_EQ(drain(cfg).exit_code, 0);
  EXPECT_EQ(recipients(),
            (std::multiset<std::string>{"hana.nakamura@example.com", "hana.nakamura@example.com"}));
}

TEST_F(ScheduleDelivery, AScheduleOnAViewThatDoesNotExistIsRefusedWithItsLine) {
  std::string cfg = own_config("every = \"1h\"\n");
  std::string toml = test::read_file(cfg);
  replace_all(toml, "view = \"vAccounts\"", "view = \"vAcounts\"");
  test::write_file(cfg, toml);
  auto d = drain(cfg);
  EXPECT_NE(d.exit_code, 0);
  EXPECT_THAT(d.output, HasSubstr(cfg + ":19: schedule 'expiry': view 'vAcounts'"));
}

}  // namespace
}  // namespace herald
