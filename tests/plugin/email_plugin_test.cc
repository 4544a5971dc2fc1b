// The email plugin, dlopen'd through the host's plugin::Channel: settings,
// the message it builds (read back by Python's email package), outcomes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <sstream>

#include "plugin/plugin_host.h"
#include "support/smtp_server.h"
#include "support/test_env.h"

namespace herald::plugin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Settings = std::vector<std::pair<std::string, std::string>>;

struct Fixture {
  test::TempDir dir;
  std::shared_ptr<PluginLibrary> lib;

  Fixture() {
    auto l = PluginHost(HERALD_TEST_PLUGIN_DIR).library("email");
    if (!l) throw std::runtime_error(l.error().message);
    lib = l.value();
  }

  Result<std::unique_ptr<Channel>> open(Settings extra, const std::string& name = "mail") {
    config::EndpointConfig ep;
    ep.name = name;
    ep.channel = "email";
    ep.settings = {{"url", ""},
                   {"timeout_ms", "30000"},
                   {"tls_verify", "true"},
                   {"config_dir", dir.path()},
                   {"auth.type", "none"}};
    for (auto& kv : extra) {
      bool replaced = false;
      for (auto& s : ep.settings) {
        if (s.first == kv.first) s.second = kv.second, replaced = true;
      }
      if (!replaced) ep.settings.push_back(kv);
    }
    return Channel::open(lib, ep);
  }
};

// A message as the host builds it: fields and recipients are borrowed.
struct Msg {
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::array<std::string, 3>> recipients;  // identity, address, name
  std::string message_id = "0b7d1c2e-1111-4222-8333-444455556666";
  std::vector<herald_kv> kv;
  std::vector<herald_recipient> rc;
  herald_message m{};

  const herald_message& get() {
    kv.clear();
    rc.clear();
    for (auto& [k, v] : fields) kv.push_back({k.c_str(), v.c_str()});
    for (auto& r : recipients) rc.push_back({r[0].c_str(), r[1].c_str(), r[2].c_str()});
    m = herald_message{};
    m.struct_size = sizeof m;
    m.notification_id = 1;
    m.message_id = message_id.c_str();
    m.attempt = 1;
    m.notification = "Policy Update";
    m.verb = "POST";
    m.path = "";
    m.url = "";
    m.body_json = "{}";
    m.body_json_size = 2;
    m.fields = kv.data();
    m.field_count = kv.size();
    m.recipients = rc.data();
    m.recipient_count = rc.size();
    return m;
  }
};

const Settings kBase = {{"host", "127.0.0.1"}, {"from", "herald@example.org"}};

Settings with(Settings extra) {
  Settings s = kBase;
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

// The message's header lines (before the empty line), unfolded lines kept apart.
std::vector<std::string> header_lines(const std::string& raw) {
  std::vector<std::string> lines;
  size_t pos = 0;
  for (;;) {
    size_t end = raw.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    lines.push_back(raw.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

// Captures what the host logs on behalf of plugins.
struct LogCapture {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto logger =
        std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  std::string text() const { return out.str(); }
};

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(EmailPlugin, SettingsAreValidatedNamingTheSetting) {
  Fixture f;
  auto err = [&](Settings s) {
    auto ch = f.open(std::move(s));
    return ch ? std::string("opened") : ch.error().message;
  };
  EXPECT_THAT(err({{"from", "a@b.org"}}), HasSubstr("setting 'host' is required"));
  EXPECT_THAT(err({{"host", "h"}}), HasSubstr("setting 'from' is required"));
  EXPECT_THAT(err(with({{"hots", "x"}})), HasSubstr("unknown setting 'hots'"));
  EXPECT_THAT(err(with({{"tls", "maybe"}})), HasSubstr("setting 'tls'"));
  EXPECT_THAT(err(with({{"port", "70000"}})), HasSubstr("setting 'port'"));
  EXPECT_THAT(err({{"host", "h"}, {"from", "Herald <h@x.org>"}}), HasSubstr("setting 'from'"));
  EXPECT_THAT(err(with({{"to", "ops@x.org\nbad address@x.org"}})), HasSubstr("setting 'to'"));
  EXPECT_THAT(err(with({{"url", "smtp://h"}})), HasSubstr("setting 'url'"));
  EXPECT_THAT(err(with({{"auth.type", "bearer"}, {"auth.token", "t"}})), HasSubstr("auth type 'bearer'"));
  EXPECT_THAT(err(with({{"template", "missing.txt"}})), HasSubstr(f.dir.file("missing.txt")));
  test::write_file(f.dir.file("bad.txt"), "Subject: x\nReply-To: y\n\nbody\n");
  EXPECT_THAT(err(with({{"template", "bad.txt"}})), HasSubstr("line 2: unknown header 'Reply-To'"));
  test::write_file(f.dir.file("ok.txt"), "Subject: x\n\nbody\n");
  EXPECT_EQ(err(with({{"template", "ok.txt"},
                      {"auth.type", "basic"},
                      {"auth.username", "u"},
                      {"auth.password", "p"},
                      {"from_name", "Herald"},
                      {"subject", "s"}})),
            "opened");
}

TEST(EmailPlugin, PortFollowsTheTlsModeAndPlainMailIsWarnedAbout) {
  Fixture f;
  Msg msg;
  msg.recipients = {{"", "a@x.org", ""}};
  auto url = [&](Settings s) {
    auto ch = f.open(std::move(s));
    if (!ch) return ch.error().message;
    auto built = ch.value()->build(msg.get());
    return built.request.url + (built.request.require_tls ? " starttls" : "");
  };
  EXPECT_EQ(url(kBase), "smtp://127.0.0.1:587 starttls");
  EXPECT_EQ(url(with({{"tls", "implicit"}})), "smtps://127.0.0.1:465");
  EXPECT_EQ(url(with({{"tls", "starttls"}, {"port", "2525"}})), "smtp://127.0.0.1:2525 starttls");
  EXPECT_EQ(url({{"host", "::1"}, {"from", "a@b.org"}, {"tls", "implicit"}}), "smtps://[::1]:465");
  LogCapture log;
  EXPECT_EQ(
      url(with({{"tls", "none"}, {"auth.type", "basic"}, {"auth.username", "u"}, {"auth.password", "p"}})),
      "smtp://127.0.0.1:25");
  EXPECT_THAT(log.text(), HasSubstr("travels unencrypted, and so does the SMTP password"));
  EXPECT_THAT(log.text(), Not(HasSubstr("p;")));
}

TEST(EmailPlugin, BuildsTheMessageFromTheTemplate) {
  Fixture f;
  test::write_file(f.dir.file("t.txt"),
                   "Subject: {Rule.topic}: policy {targetId} for {Recipient.name}\n\n"
                   "Hi {Recipient.name} <{Recipient.address}> ({Recipient.identity}),\n\n"
                   "Policy Id : {targetId}\nAction : {Event.action}\nPolicy : {Body.target}\n"
                   "Person : {Event.PersonID} / {person.name}\n{{literal}} and {not a placeholder}\n");
  auto ch = f.open(with({{"template", "t.txt"},
                         {"from_name", "Herald Notifier"},
                         {"auth.type", "basic"},
                         {"auth.username", "mailer"},
                         {"auth.password", "s3cret"}}));
  ASSERT_TRUE(ch) << ch.error().message;
  Msg msg;
  msg.fields = {{"Event.action", "UPDATE"},  {"Event.PersonID", "42"},     {"Rule.topic", "Policies"},
                {"Body.targetId", "door-7"}, {"Body.target", "<Policy/>"}, {"Body.person.name", "Ada"}};
  msg.recipients = {{"3", "ada@example.org", "Ada Lovelace"}};
  auto built = ch.value()->build(msg.get());
  ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
  const auto& r = built.request;
  EXPECT_EQ(r.url, "smtp://127.0.0.1:587");
  EXPECT_TRUE(r.require_tls);
  EXPECT_EQ(r.mail_from, "herald@example.org");
  EXPECT_EQ(r.mail_recipients, std::vector<std::string>{"ada@example.org"});
  ASSERT_TRUE(r.basic_auth);
  EXPECT_EQ(r.basic_auth->first, "mailer");
  EXPECT_EQ(r.basic_auth->second, "s3cret");

  auto lines = header_lines(r.body);
  ASSERT_GE(lines.size(), 9u);
  EXPECT_THAT(lines[0],
              ::testing::MatchesRegex("Date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] 20[0-9][0-9] "
                                      "[0-9][0-9]:[0-9][0-9]:[0-9][0-9] \\+0000"));
  std::vector<std::string> rest(lines.begin() + 1, lines.end());
  EXPECT_EQ(rest, (std::vector<std::string>{
                      "From: Herald Notifier <herald@example.org>", "To: Ada Lovelace <ada@example.org>",
                      "Subject: Policies: policy door-7 for Ada Lovelace",
                      "Message-ID: <0b7d1c2e-1111-4222-8333-444455556666@herald>", "MIME-Version: 1.0",
                      "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 7bit",
                      "Auto-Submitted: auto-generated"}));
  std::string body = r.body.substr(r.body.find("\r\n\r\n") + 4);
  EXPECT_EQ(body,
            "Hi Ada Lovelace <ada@example.org> (3),\r\n\r\nPolicy Id : door-7\r\nAction : UPDATE\r\n"
            "Policy : <Policy/>\r\nPerson : 42 / Ada\r\n{literal} and {not a placeholder}\r\n");
}

TEST(EmailPlugin, NonAsciiSubjectAndBodyAreEncodedAndDecodeToTheOriginal) {
  Fixture f;
  // Long enough to need several encoded-words; multi-byte characters
  // everywhere so a careless split would cut one in half.
  std::string subject =
      "Zoë Æsir — 日本語のテキスト, ещё немного текста, und noch ein paar Wörter: ✓✓✓ 🚀 {who}";
  std::string body = "Grüße, Zoë!\n\nПароль истекает через 3 дня.\n" + std::string(120, 'x') + " é\nend \n";
  test::write_file(f.dir.file("t.txt"), "Subject: " + subject + "\n\n" + body);
  auto ch = f.open(with({{"template", "t.txt"}, {"from_name", "Hérald Ñotifier"}}));
  ASSERT_TRUE(ch) << ch.error().message;
  Msg msg;
  msg.fields = {{"Body.who", "Åsa"}};
  msg.recipients = {{"", "zoe@example.org", "Zoë Achterberg"}};
  auto built = ch.value()->build(msg.get());
  ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
  const std::string& raw = built.request.body;
  // Every line of the message fits: headers in 78, quoted-printable in 76.
  size_t pos = 0;
  bool in_body = false;
  while (pos < raw.size()) {
    size_t end = raw.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    std::string line = raw.substr(pos, end - pos);
    EXPECT_LE(line.size(), in_body ? 76u : 78u) << line;
    for (unsigned char c : line) EXPECT_LT(c, 0x80) << line;
    if (line.empty()) in_body = true;
    pos = end + 2;
  }
  EXPECT_THAT(raw, HasSubstr("Subject: =?UTF-8?B?"));
  EXPECT_THAT(raw, HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n"));
  auto decoded = test::decode_mail(raw);
  EXPECT_EQ(decoded["defects"].size(), 0u) << decoded.dump();
  std::string expected_subject = subject.substr(0, subject.size() - 5) + "Åsa";
  EXPECT_EQ(decoded["subject"], expected_subject);
  EXPECT_EQ(decoded["body"], body);
  EXPECT_EQ(decoded["from"], "Hérald Ñotifier <herald@example.org>");
  EXPECT_EQ(decoded["to"], "Zoë Achterberg <zoe@example.org>");
}

TEST(EmailPlugin, LineBreaksInValuesCannotAddHeaders) {
  Fixture f;
  test::write_file(f.dir.file("t.txt"), "Subject: Changed: {Event.note}\n\nNote: {Event.note}\n");
  auto ch = f.open(with({{"template", "t.txt"}}));
  ASSERT_TRUE(ch) << ch.error().message;
  Msg msg;
  msg.fields = {{"Event.note", "x\r\nBcc: victim@example.org\nX-Evil: 1"}};
  msg.recipients = {{"", "a@example.org", "Eve\r\nBcc: other@example.org"}};
  auto built = ch.value()->build(msg.get());
  ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
  for (const auto& line : header_lines(built.request.body)) {
    EXPECT_THAT(line, Not(::testing::StartsWith("Bcc")));
    EXPECT_THAT(line, Not(::testing::StartsWith("X-Evil")));
  }
  EXPECT_EQ(built.request.mail_recipients, std::vector<std::string>{"a@example.org"});
  auto decoded = test::decode_mail(built.request.body);
  EXPECT_EQ(decoded["subject"], "Changed: x  Bcc: victim@example.org X-Evil: 1");
  EXPECT_EQ(decoded["headers"].size(), 9u) << decoded.dump();
  EXPECT_FALSE(decoded["headers"].contains("Bcc"));
}

TEST(EmailPlugin, UnknownPlaceholderStaysVisibleAndIsLoggedOncePerEndpoint) {
  Fixture f;
  test::write_file(f.dir.file("t.txt"), "Subject: {Event.nope}\n\nHello {Recipient.nmae} {Event.nope}\n");
  LogCapture log;
  auto a = f.open(with({{"template", "t.txt"}}), "first");
  auto b = f.open(with({{"template", "t.txt"}}), "second");
  ASSERT_TRUE(a && b);
  Msg msg;
  msg.recipients = {{"", "a@example.org", ""}};
  for (int i = 0; i < 3; ++i) {
    auto built = a.value()->build(msg.get());
    ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
    EXPECT_THAT(built.request.body, HasSubstr("Subject: {Event.nope}\r\n"));
    EXPECT_THAT(built.request.body, HasSubstr("Hello {Recipient.nmae} {Event.nope}\r\n"));
  }
  ASSERT_EQ(b.value()->build(msg.get()).result, HERALD_BUILD_OK);
  std::string text = log.text();
  EXPECT_EQ(count(text, "endpoint first: unknown placeholder {Event.nope}"), 1u) << text;
  EXPECT_EQ(count(text, "endpoint first: unknown placeholder {Recipient.nmae}"), 1u) << text;
  EXPECT_EQ(count(text, "endpoint second: unknown placeholder {Event.nope}"), 1u) << text;
}

TEST(EmailPlugin, RecipientsComeFromTheMessageThenTheToSetting) {
  Fixture f;
  test::write_file(f.dir.file("t.txt"), "\nDear {Recipient.name} ({Recipient.address})\n");
  auto ch = f.open(with({{"template", "t.txt"}, {"to", "ops@example.org\nsec@example.org"}}));
  ASSERT_TRUE(ch) << ch.error().message;
  Msg msg;
  // Several recipients share one text: their values joined, a missing name read as the address.
  msg.recipients = {{"1", "hana@example.org", "Hana Nakamura"}, {"4", "rafael@example.org", ""}};
  auto built = ch.value()->build(msg.get());
  ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
  EXPECT_EQ(built.request.mail_recipients,
            (std::vector<std::string>{"hana@example.org", "rafael@example.org"}));
  EXPECT_THAT(built.request.body, HasSubstr("To: Hana Nakamura <hana@example.org>, rafael@example.org\r\n"));
  EXPECT_THAT(built.request.body,
              HasSubstr("Dear Hana Nakamura, rafael@example.org (hana@example.org, rafael@example.org)\r\n"));
  // None resolved: the fixed addresses.
  msg.recipients.clear();
  built = ch.value()->build(msg.get());
  ASSERT_EQ(built.result, HERALD_BUILD_OK) << built.error;
  EXPECT_EQ(built.request.mail_recipients, (std::vector<std::string>{"ops@example.org", "sec@example.org"}));
  // A resolved address that could rewrite the envelope is refused.
  msg.recipients = {{"9", "a@example.org>\r\nRCPT TO:<b@example.org", ""}};
  built = ch.value()->build(msg.get());
  EXPECT_EQ(built.result, HERALD_BUILD_FAILED);
  EXPECT_THAT(built.error, HasSubstr("line break"));
  // Nobody at all.
  auto nobody = f.open(with({{"template", "t.txt"}}));
  ASSERT_TRUE(nobody);
  msg.recipients.clear();
  built = nobody.value()->build(msg.get());
  EXPECT_EQ(built.result, HERALD_BUILD_FAILED);
  EXPECT_THAT(built.error, HasSubstr("no recipients"));
}

TEST(EmailPlugin, SubjectSettingWinsOverTheTemplateAndDefaultsToTheTopic) {
  Fixture f;
  test::write_file(f.dir.file("t.txt"), "Subject: from the template\n\nbody\n");
  Msg msg;
  msg.recipients = {{"", "a@example.org", ""}};
  msg.fields = {{"Rule.topic", "Password expiry"}, {"Body.days", "3"}};
  auto subject_of = [&](Settings s) {
    auto ch = f.open(std::move(s));
    if (!ch) return ch.error().message;
    return test::decode_mail(ch.value()->build(msg.get()).request.body)["subject"].get<std::string>();
  };
  EXPECT_EQ(subject_of(with({{"template", "t.txt"}, {"subject", "Expires in {days} days"}})),
            "Expires in 3 days");
  EXPECT_EQ(subject_of(with({{"template", "t.txt"}})), "from the template");
  EXPECT_EQ(subject_of(kBase), "Password expiry");
}

TEST(EmailPlugin, MessageIdIsStableAcrossAttempts) {
  Fixture f;
  auto ch = f.open(kBase);
  ASSERT_TRUE(ch);
  Msg msg;
  msg.recipients = {{"", "a@example.org", ""}};
  auto first = ch.value()->build(msg.get()).request.body;
  auto second = ch.value()->build(msg.get()).request.body;  // the retry builds the same id
  auto id = [](const std::string& raw) {
    auto p = raw.find("Message-ID: ");
    return raw.substr(p, raw.find("\r\n", p) - p);
  };
  EXPECT_EQ(id(first), "Message-ID: <0b7d1c2e-1111-4222-8333-444455556666@herald>");
  EXPECT_EQ(id(first), id(second));
}

TEST(EmailPlugin, ClassifiesSmtpReplies) {
  Fixture f;
  auto ch = f.open(kBase);
  ASSERT_TRUE(ch);
  Msg msg;
  auto judge = [&](long code, int transport) {
    herald_response r{};
    r.struct_size = sizeof r;
    r.http_status = code;
    r.transport_error = transport;
    r.error_text = "";
    r.body = "";
    return ch.value()->classify(msg.get(), r);
  };
  EXPECT_EQ(judge(250, 0).outcome, HERALD_OUTCOME_DELIVERED);
  EXPECT_EQ(judge(0, 7).outcome, HERALD_OUTCOME_RETRY);     // no reply at all
  EXPECT_EQ(judge(250, 28).outcome, HERALD_OUTCOME_RETRY);  // timed out after a 250
  EXPECT_EQ(judge(421, 56).outcome, HERALD_OUTCOME_RETRY);
  EXPECT_EQ(judge(451, 0).outcome, HERALD_OUTCOME_RETRY);
  for (long code : {530L, 534L, 535L}) {
    auto j = judge(code, 67);
    EXPECT_EQ(j.outcome, HERALD_OUTCOME_RETRY) << code;
    EXPECT_THAT(j.note, HasSubstr("login"));
  }
  auto rejected = judge(550, 55);
  EXPECT_EQ(rejected.outcome, HERALD_OUTCOME_FAILED);
  EXPECT_THAT(rejected.note, HasSubstr("SMTP 550"));
  EXPECT_EQ(judge(554, 0).outcome, HERALD_OUTCOME_FAILED);
}

}  // namespace
}  // namespace herald::plugin
