#include "delivery/message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/json_text.h"

namespace herald::delivery {
namespace {

std::map<std::string, std::string> fields_of(const herald_message& m) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < m.field_count; ++i) out[m.fields[i].key] = m.fields[i].value;
  return out;
}

TEST(Message, CarriesEventRuleBodyFieldsRecipientsAndOptionalXml) {
  Event e;
  e.id = 42;
  e.entity = "policy";
  e.action = "UPDATE";
  e.keys = {{"PolicyID", "p-7"}};
  Rendered r;
  r.body = {{"targetId", "p-7"},
            {"person", {{"name", "Zoë"}, {"age", 40}}},
            {"tags", {"a", "b"}},
            {"gone", nullptr}};
  nlohmann::json rule = {{"attribute", "policy"}, {"level", "INFO"}};
  nlohmann::json recipients = {{{"identity", "3"}, {"address", "zoe@example.org"}, {"name", "Zoë A"}},
                               {{"address", "ops@example.org"}}};
  Message m(7, "mid", 2, "Policy updated", std::make_shared<const Rendered>(r), e, rule, recipients,
            HERALD_PLUGIN_WANTS_XML_BODY);
  const herald_message& h = m.get();
  auto f = fields_of(h);
  EXPECT_EQ(f["Event.id"], "42");
  EXPECT_EQ(f["Event.PolicyID"], "p-7");
  EXPECT_EQ(f["Rule.attribute"], "policy");
  EXPECT_EQ(f["Body.targetId"], "p-7");
  EXPECT_EQ(f["Body.person.name"], "Zoë");
  EXPECT_EQ(f["Body.person.age"], "40");
  EXPECT_EQ(f["Body.tags.1"], "b");
  EXPECT_EQ(f.count("Body.gone"), 0u);
  ASSERT_EQ(h.recipient_count, 2u);
  EXPECT_STREQ(h.recipients[0].address, "zoe@example.org");
  EXPECT_STREQ(h.recipients[0].name, "Zoë A");
  EXPECT_STREQ(h.recipients[1].identity, "");
  EXPECT_STREQ(h.recipients[1].name, "");
  ASSERT_NE(h.body_xml, nullptr);
  EXPECT_THAT(std::string(h.body_xml, h.body_xml_size), ::testing::HasSubstr("<targetId>p-7</targetId>"));
  EXPECT_EQ(h.auth_token, nullptr);
  m.set_auth_token("tok");
  EXPECT_STREQ(m.get().auth_token, "tok");

  Message plain(8, "mid2", 1, "n", std::make_shared<const Rendered>(r), e);
  EXPECT_EQ(plain.get().body_xml, nullptr);
  EXPECT_EQ(plain.get().recipient_count, 0u);
  EXPECT_EQ(fields_of(plain.get())["Body.person.name"], "Zoë");

  // A channel that reads the body only gets no fields; the rest is the same.
  Message lean(9, "mid3", 1, "n", std::make_shared<const Rendered>(r), e, rule, recipients,
               HERALD_PLUGIN_NO_FIELDS);
  EXPECT_EQ(lean.get().field_count, 0u);
  EXPECT_EQ(std::string(lean.get().body_json, lean.get().body_json_size), r.body.dump());
  EXPECT_EQ(lean.get().recipient_count, 2u);
  EXPECT_EQ(lean.get().body_xml, nullptr);
}

}  // namespace
}  // namespace herald::delivery

namespace herald::delivery {
namespace {

TEST(Rendered, StoredTextReadsBackTheSameWithOrWithoutItsTree) {
  Rendered r;
  r.verb = "PUT";
  r.path = "/people/\"body\":null/x";  // looks like what the splice looks for
  r.url = "https://example.org/api/people/x";
  r.body = {{"person", {{"name", "Zoë"}, {"tags", {"a", "b"}}}}, {"n", 3}};
  const std::string with_tree = r.stored();
  Rendered text = r;
  text.to_text();
  EXPECT_TRUE(text.body.is_null());
  EXPECT_EQ(text.body_text, r.body.dump());
  EXPECT_EQ(text.stored(), with_tree);
  auto back = Rendered::from_stored(text.stored());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->verb, "PUT");
  EXPECT_EQ(back->path, r.path);
  EXPECT_EQ(back->url, r.url);
  EXPECT_EQ(back->body, r.body);
  // The message carries the same body either way.
  Event e;
  e.id = 1;
  Message a(1, "m", 1, "n", std::make_shared<const Rendered>(r), e);
  Message b(1, "m", 1, "n", std::make_shared<const Rendered>(text), e, nullptr, nullptr,
            HERALD_PLUGIN_NO_FIELDS);
  EXPECT_EQ(std::string(a.get().body_json, a.get().body_json_size),
            std::string(b.get().body_json, b.get().body_json_size));
}

// A retry of a channel that takes the body as text gets the stored text of
// the body as it is: the same bytes as parsing it and writing it again.
TEST(Rendered, StoredTextReadsBackAsTextWithoutATree) {
  Rendered r;
  r.verb = "PATCH";
  r.path = "/p";
  r.url = "https://example.org/p";
  for (const nlohmann::json& body :
       {nlohmann::json::object(), nlohmann::json{{"a", "}]\",\"b\":{["}, {"b", {1, 2, {{"c", "\\"}}}}},
        nlohmann::json{{"say", "Zoë \"quoted\" \\ done"}, {"n", -3}, {"x", nullptr}},
        nlohmann::json{1, "2"}}) {
    r.body = body;
    for (const bool tree : {true, false}) {
      Rendered stored_from = r;
      if (!tree) stored_from.to_text();
      auto back = Rendered::from_stored(stored_from.stored(), true);
      ASSERT_TRUE(back) << back.error().message;
      EXPECT_TRUE(back->body.is_null());
      EXPECT_EQ(back->body_text, json_text(body));
      EXPECT_EQ(back->verb, "PATCH");
      EXPECT_EQ(back->path, "/p");
      EXPECT_EQ(back->url, "https://example.org/p");
    }
  }
  // Text another writer stored, the body not first, is read the long way.
  auto other = Rendered::from_stored(R"({"verb":"PUT", "url":"u", "body": {"k": [1, 2]}})", true);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->verb, "PUT");
  EXPECT_EQ(other->body_text, R"({"k":[1,2]})");
  // Text that is not a stored payload is refused either way.
  for (const bool as_text : {true, false}) {
    EXPECT_FALSE(Rendered::from_stored(R"({"body":{"a":1},"verb":)", as_text));
    EXPECT_FALSE(Rendered::from_stored(R"({"body":{"a":1)", as_text));
  }
}

}  // namespace
}  // namespace herald::delivery
