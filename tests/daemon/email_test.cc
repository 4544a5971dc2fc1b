// The e-mail channel end to end: an outbox row -> heraldd (a real process,
// --drain) -> the email plugin (dlopen) -> libcurl SMTP -> a real SMTP
// server (aiosmtpd) on 127.0.0.1 -> heraldctl reading the state database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "db/sqlite.h"
#include "support/smtp_server.h"
#include "support/test_env.h"

namespace herald {
namespace {

using test::run_process;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSource = HERALD_SOURCE_DIR;

struct MailSetup {
  std::string tls = "starttls";
  std::string password = "s3cret";  // what the endpoint sends
  std::string endpoint_extra;       // more keys for [endpoints.mail]
  std::string recipients = "roles = [\"Security\"]";
  std::string template_file;  // default: the shipped policy-update.txt
};

// STARTTLS offered, AUTH required as mailer / s3cret.
test::SmtpServerOptions relay() {
  test::SmtpServerOptions o;
  o.starttls = true;
  o.user = "mailer";
  o.password = "s3cret";
  return o;
}

MailSetup setup(std::string recipients, std::string template_file = "") {
  MailSetup m;
  m.recipients = std::move(recipients);
  m.template_file = std::move(template_file);
  return m;
}

class EmailDelivery : public ::testing::Test {
 protected:
  // Writes the producer (the demo people and roles), the mapping, the
  // template and herald.toml; returns the config path.
  std::string configure(const test::SmtpServer& server, const MailSetup& m) {
    test::create_producer_db(dir_.file("producer.db"));
    auto db = db::Database::open(dir_.file("producer.db"), db::Database::Mode::ReadWriteCreate);
    EXPECT_TRUE(db && db->exec(test::read_file(kSource + "/config/demo/producer.sql")));
    test::write_file(dir_.file("smtp.pass"), m.password + "\n");
    std::string tmpl =
        m.template_file.empty() ? kSource + "/config/templates/policy-update.txt" : m.template_file;
    std::string toml =
        "[daemon]\nstate_db = \"state.db\"\nplugin_dir = \"" + std::string(HERALD_TEST_PLUGIN_DIR) +
        "\"\nmapping_dir = \".\"\n\n[outbox]\ndatabase = \"producer.db\"\n\n"
        "[retry]\nschedule = [\"1h\"]\n\n"
        "[endpoints.mail]\nchannel = \"email\"\nhost = \"127.0.0.1\"\nport = " +
        std::to_string(server.port()) + "\ntls = \"" + m.tls +
        "\"\nfrom = \"herald@example.org\"\nfrom_name = \"Herald\"\ntemplate = \"" + tmpl +
        "\"\ntimeout = \"10s\"\n" +
        (server.ca_file().empty() ? "" : "ca_file = \"" + server.ca_file() + "\"\n") +
        "auth = { type = \"basic\", username = \"mailer\", password_file = \"smtp.pass\" }\n" +
        m.endpoint_extra +
        "\n[[notification]]\nname = \"Policy Update\"\nentity = \"policy\"\naction = \"UPDATE\"\n"
        "topic = \"Policy store\"\nendpoint = \"mail\"\nmapping = \"" +
        kSource +
        "/config/templates/policy-update.xml\"\n"
        "recipients = { " +
        m.recipients + " }\n";
    test::write_file(dir_.file("herald.toml"), toml);
    return dir_.file("herald.toml");
  }

  void emit_policy(const std::string& id, const std::string& policy) {
    test::append_event(dir_.file("producer.db"), "policy", "UPDATE", "",
                       nlohmann::json{{"PolicyID", id}}.dump(), R"({"policy":"old"})",
                       nlohmann::json{{"policy", policy}}.dump());
  }

  test::ProcessResult drain(const std::string& cfg) {
    return run_process(std::string(HERALDD_PATH) + " --config " + cfg + " --drain", 60);
  }

  nlohmann::json ctl_json(const std::string& cfg, const std::string& args) {
    auto r = run_process(std::string(HERALDCTL_PATH) + " -c " + cfg + " " + args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output, nullptr, false);
  }

  test::TempDir dir_;
};

// A header's value as written in the raw message, folding removed.
std::string raw_header(const std::string& raw, const std::string& name) {
  size_t p = raw.find("\r\n" + name + ": ");
  if (p == std::string::npos) return {};
  p += 4 + name.size();
  std::string value;
  for (;;) {
    size_t end = raw.find("\r\n", p);
    value += raw.substr(p, end - p);
    if (raw.compare(end + 2, 1, " ") != 0) return value;
    p = end + 2;
  }
}

TEST_F(EmailDelivery, StartTlsAndAuthDeliverOneMailToEachRoleMember) {
  auto options = relay();
  options.require_starttls = true;  // nothing, not even MAIL FROM, before STARTTLS
  test::SmtpServer server(options);
  std::string cfg = configure(server, MailSetup{});
  emit_policy("door-access-7", "permit Security 07:00-19:00");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;

  auto got = server.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  std::sort(got.begin(), got.end(), [](auto& a, auto& b) { return a["rcpt_tos"][0] < b["rcpt_tos"][0]; });
  // The role's living members, one message and one RCPT each (per_recipient is the email default).
  EXPECT_EQ(got[0]["rcpt_tos"], nlohmann::json::array({"hana.nakamura@example.com"}));
  EXPECT_EQ(got[1]["rcpt_tos"], nlohmann::json::array({"rafael.mensah@example.com"}));
  for (auto& m : got) {
    EXPECT_EQ(m["mail_from"], "herald@example.org");
    EXPECT_EQ(m["user"], "mailer");
    EXPECT_EQ(m["tls"], true);
    EXPECT_EQ(m["headers"]["From"], "Herald <herald@example.org>");
    EXPECT_EQ(m["subject"], "Policy door-access-7 UPDATE: the policy store has changed");
  }
  EXPECT_EQ(got[0]["headers"]["To"], "Hana Nakamura <hana.nakamura@example.com>");
  EXPECT_EQ(got[0]["body"],
            "Hi Hana Nakamura,\n\nThe policy store has been changed (Policy store, event 1).\n\n"
            "Policy Id : door-access-7\nAction    : UPDATE\nPolicy    : permit Security 07:00-19:00\n\n"
            "Best regards,\nHerald\n");
  EXPECT_THAT(got[1]["body"].get<std::string>(), ::testing::StartsWith("Hi Rafael Mensah,\n"));

  auto list = ctl_json(cfg, "list --json");
  ASSERT_EQ(list.size(), 2u);
  std::set<std::string> ids;
  for (auto& n : list) {
    EXPECT_EQ(n["state"], "delivered");
    ids.insert("<" + n["message_id"].get<std::string>() + "@herald>");
  }
  // The Message-ID is the notification's, so a receiver can drop a duplicate.
  EXPECT_EQ(ids, (std::set<std::string>{got[0]["headers"]["Message-ID"], got[1]["headers"]["Message-ID"]}));
  auto shown = ctl_json(cfg, "show " + std::to_string(list[0]["id"].get<int>()) + " --json");
  EXPECT_EQ(shown["attempt_log"][0]["status"], 250);
  EXPECT_EQ(shown["attempt_log"][0]["protocol"], "smtp");
  EXPECT_TRUE(shown["attempt_log"][0]["http_status"].is_null());  // an SMTP reply is no HTTP status
  // The server's reply to the message is kept as the attempt's response.
  EXPECT_THAT(shown["attempt_log"][0]["response"].get<std::string>(), ::testing::StartsWith("250 "));
  // In words, the code is the SMTP server's reply.
  auto text = run_process(std::string(HERALDCTL_PATH) + " -c " + cfg + " show " +
                          std::to_string(list[0]["id"].get<int>()));
  EXPECT_THAT(text.output, HasSubstr("delivered, SMTP 250"));
  auto listed = run_process(std::string(HERALDCTL_PATH) + " -c " + cfg + " list");
  EXPECT_THAT(listed.output, HasSubstr("SMTP 250"));
  EXPECT_THAT(listed.output, Not(HasSubstr("HTTP")));
}

// heraldctl render shows the mail an event would send: envelope and message,
// for each resolved recipient, or for an address given with --to.
TEST_F(EmailDelivery, RenderShowsTheMailOfEachRecipient) {
  test::SmtpServer server(relay());
  std::string cfg = configure(server, MailSetup{});
  emit_policy("door-access-7", "permit Security 07:00-19:00");
  auto render = [&](const std::string& extra) {
    const std::string err = dir_.file("render.err");
    // Notes go to stderr, kept apart from the JSON on stdout.
    auto r = run_process("sh -c \"" + std::string(HERALDCTL_PATH) + " -c " + cfg +
                         " render --notification 'Policy Update' --event-id 1 " + extra + " 2>" + err + "\"");
    EXPECT_EQ(r.exit_code, 0) << r.output << test::read_file(err);
    return std::make_pair(nlohmann::json::parse(r.output, nullptr, false), test::read_file(err));
  };
  auto [first, note] = render("");
  ASSERT_FALSE(first.is_discarded());
  EXPECT_EQ(first["mail_from"], "herald@example.org");
  EXPECT_EQ(first["recipients"], nlohmann::json::array({"hana.nakamura@example.com"}));
  EXPECT_THAT(first["url"].get<std::string>(), ::testing::StartsWith("smtp://127.0.0.1:"));
  const std::string message = first["message"];
  EXPECT_EQ(raw_header(message, "To"), "Hana Nakamura <hana.nakamura@example.com>");
  EXPECT_THAT(message, HasSubstr("Hi Hana Nakamura,"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  EXPECT_THAT(note, HasSubstr("2 messages, one per recipient"));

  auto [second, none] = render("--to rafael.mensah@example.com");
  EXPECT_EQ(second["recipients"], nlohmann::json::array({"rafael.mensah@example.com"}));
  EXPECT_THAT(second["message"].get<std::string>(), HasSubstr("Hi Rafael Mensah,"));
  EXPECT_EQ(none, "");

  auto [preview, outside] = render("--to me@example.net");
  EXPECT_EQ(preview["recipients"], nlohmann::json::array({"me@example.net"}));
  EXPECT_THAT(outside, HasSubstr("me@example.net is not among the recipients"));
  EXPECT_TRUE(server.wait_for(0).empty());  // render sends nothing
}

TEST_F(EmailDelivery, OneMailForEveryoneWhenPerRecipientIsOff) {
  test::SmtpServer server(relay());
  MailSetup m;
  m.endpoint_extra = "per_recipient = false\n";
  std::string cfg = configure(server, m);
  emit_policy("p-2", "deny all");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto got = server.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["rcpt_tos"],
            nlohmann::json::array({"hana.nakamura@example.com", "rafael.mensah@example.com"}));
  EXPECT_EQ(got[0]["headers"]["To"],
            "Hana Nakamura <hana.nakamura@example.com>, Rafael Mensah <rafael.mensah@example.com>");
  EXPECT_THAT(got[0]["body"].get<std::string>(), ::testing::StartsWith("Hi Hana Nakamura, Rafael Mensah,\n"));
  auto list = ctl_json(cfg, "list --json");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "delivered");
}

TEST_F(EmailDelivery, NonAsciiTextArrivesEncodedAndLineBreaksAddNoHeader) {
  test::SmtpServer server(relay());
  test::write_file(dir_.file("t.txt"),
                   "Subject: Richtlinie {targetId} geändert: {target}\n\nGrüße {Recipient.name}!\n"
                   "Neue Fassung: {target}\n");
  std::string cfg = configure(server, setup("identities = [\"3\"]", dir_.file("t.txt")));
  std::string policy = "Zugang für Zoë — 日本語\r\nBcc: victim@example.org";
  emit_policy("tür-1", policy);
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto got = server.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  const auto& m = got[0];
  EXPECT_EQ(m["rcpt_tos"], nlohmann::json::array({"zoe.achterberg@example.com"}));
  std::string raw = m["data"];
  EXPECT_THAT(raw_header(raw, "Subject"), ::testing::StartsWith("=?UTF-8?B?"));
  EXPECT_THAT(raw, HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n"));
  EXPECT_THAT(raw.substr(0, raw.find("\r\n\r\n")), Not(HasSubstr("\r\nBcc:")));  // in the headers
  EXPECT_FALSE(m["headers"].contains("Bcc"));
  // The line break became spaces in the subject; the body keeps it.
  EXPECT_EQ(m["subject"], "Richtlinie tür-1 geändert: Zugang für Zoë — 日本語  Bcc: victim@example.org");
  EXPECT_EQ(m["headers"]["To"], "Zoë Achterberg <zoe.achterberg@example.com>");
  EXPECT_EQ(m["body"],
            "Grüße Zoë Achterberg!\nNeue Fassung: Zugang für Zoë — 日本語\nBcc: victim@example.org\n");
}

TEST_F(EmailDelivery, UnknownPlaceholderIsSentAsWrittenAndLoggedOnce) {
  test::SmtpServer server(relay());
  test::write_file(dir_.file("t.txt"), "Subject: {Rule.topic}\n\nHello {Recipient.nmae}, {targetId}\n");
  std::string cfg = configure(server, setup("addresses = [\"ops@example.org\"]", dir_.file("t.txt")));
  emit_policy("a", "x");
  emit_policy("b", "y");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto got = server.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  // Two entities: their mails go out side by side, in either order.
  std::set<std::string> bodies = {got[0]["body"].get<std::string>(), got[1]["body"].get<std::string>()};
  EXPECT_EQ(bodies, (std::set<std::string>{"Hello {Recipient.nmae}, a\n", "Hello {Recipient.nmae}, b\n"}));
  EXPECT_EQ(got[0]["subject"], "Policy store");
  size_t warnings = 0;
  for (size_t p = d.output.find("unknown placeholder {Recipient.nmae}"); p != std::string::npos;
       p = d.output.find("unknown placeholder {Recipient.nmae}", p + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << d.output;
}

TEST_F(EmailDelivery, WrongPasswordWaitsForTheNextSlot) {
  test::SmtpServer server(relay());
  std::string cfg = configure(server, [] {
    MailSetup m = setup("addresses = [\"ops@example.org\"]");
    m.password = "Wr0ngPa55";
    return m;
  }());
  emit_policy("p", "x");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_THAT(d.output, Not(HasSubstr("Wr0ngPa55")));  // the password is never logged
  EXPECT_TRUE(server.messages().empty());
  auto list = ctl_json(cfg, "list --json");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "waiting");
  auto shown = ctl_json(cfg, "show 1 --json");
  ASSERT_EQ(shown["attempt_log"].size(), 1u);
  const auto& a = shown["attempt_log"][0];
  EXPECT_EQ(a["outcome"], "retry");
  EXPECT_THAT(a["error_class"].get<std::string>(), ::testing::AnyOf("smtp", "auth"));
  EXPECT_EQ(a["status"], 535);
  EXPECT_EQ(a["protocol"], "smtp");
  // curl's words and the plugin's advice, both kept; the log names SMTP.
  EXPECT_THAT(a["error"].get<std::string>(), HasSubstr("check the endpoint's auth"));
  EXPECT_THAT(d.output, HasSubstr("(SMTP 535)"));
}

TEST_F(EmailDelivery, RejectedRecipientFailsAtOnce) {
  auto options = relay();
  options.reject = {"gone@example.org"};
  test::SmtpServer server(options);
  std::string cfg = configure(server, setup("addresses = [\"gone@example.org\"]"));
  emit_policy("p", "x");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_TRUE(server.messages().empty());
  auto shown = ctl_json(cfg, "show 1 --json");
  EXPECT_EQ(shown["state"], "failed");
  ASSERT_EQ(shown["attempt_log"].size(), 1u);
  EXPECT_EQ(shown["attempt_log"][0]["status"], 550);
  EXPECT_EQ(shown["attempt_log"][0]["error_class"], "smtp");
  EXPECT_EQ(shown["attempt_log"][0]["response"], "550 5.1.1 <gone@example.org>: mailbox unavailable");
}

TEST_F(EmailDelivery, ServerWithoutStartTlsGetsNothingInTheClear) {
  test::SmtpServer server;  // no STARTTLS on offer, no AUTH
  std::string cfg = configure(server, setup("addresses = [\"ops@example.org\"]"));
  emit_policy("p", "x");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_TRUE(server.messages().empty());
  auto shown = ctl_json(cfg, "show 1 --json");
  EXPECT_EQ(shown["state"], "waiting");
  ASSERT_EQ(shown["attempt_log"].size(), 1u);
  EXPECT_EQ(shown["attempt_log"][0]["outcome"], "retry");
  EXPECT_EQ(shown["attempt_log"][0]["error_class"], "tls");
}

TEST_F(EmailDelivery, ImplicitTlsDelivers) {
  auto options = relay();
  options.starttls = false;
  options.implicit_tls = true;
  test::SmtpServer server(options);
  MailSetup m = setup("addresses = [\"ops@example.org\"]");
  m.tls = "implicit";
  std::string cfg = configure(server, m);
  emit_policy("p-9", "permit");
  auto d = drain(cfg);
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto got = server.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["tls"], true);
  EXPECT_EQ(got[0]["user"], "mailer");
  EXPECT_EQ(got[0]["rcpt_tos"], nlohmann::json::array({"ops@example.org"}));
  // A fixed address has no name: the greeting uses the address.
  EXPECT_THAT(got[0]["body"].get<std::string>(), ::testing::StartsWith("Hi ops@example.org,\n"));
  EXPECT_EQ(ctl_json(cfg, "show 1 --json")["state"], "delivered");
}

}  // namespace
}  // namespace herald
