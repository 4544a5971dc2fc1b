// XML serialisation of the body document: structure, escaping, names, and
// values that come back unchanged when the output is parsed again.
#include "mapping/xml_body.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include <string>
#include <vector>

namespace herald::mapping {
namespace {

using json = nlohmann::json;

constexpr const char* kDecl = R"(<?xml version="1.0" encoding="UTF-8"?>)";

// Parses output with pugixml; fails the test when it is not well-formed.
pugi::xml_document parse(const std::string& xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer(
      xml.data(), xml.size(), pugi::parse_default | pugi::parse_declaration, pugi::encoding_utf8);
  EXPECT_TRUE(r) << r.description() << " at " << r.offset << " in " << xml;
  return doc;
}

std::vector<std::string> texts(const pugi::xpath_node_set& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.emplace_back(n.node().text().get());
  return out;
}

TEST(XmlBodyTest, NestingArraysAndScalars) {
  json body = json::parse(R"({
    "device": {"id": "X1", "validity": {"enabled": true, "count": 3, "ratio": 2.5, "neg": -7}},
    "items": [{"id": "a"}, {"id": "b"}],
    "tags": ["red", "green"],
    "note": null,
    "empty": {}
  })");
  EXPECT_EQ(body_to_xml(body), std::string(kDecl) +
                                   "<notification>"
                                   "<device><id>X1</id><validity><count>3</count><enabled>true</enabled>"
                                   "<neg>-7</neg><ratio>2.5</ratio></validity></device>"
                                   "<empty/>"
                                   "<items><id>a</id></items><items><id>b</id></items>"
                                   "<note/>"
                                   "<tags>red</tags><tags>green</tags>"
                                   "</notification>");
}

TEST(XmlBodyTest, ValuesRoundTrip) {
  json body = json::parse(R"({
    "person": {"name": {"first": "Zoë", "last": "Ångström 山田"}, "enabled": false, "score": 0.125,
               "big": 9007199254740993, "negative": -42},
    "items": [{"id": 1, "label": "one"}, {"id": 2, "label": "two"}]
  })");
  const std::string xml = body_to_xml(body, "event");
  auto doc = parse(xml);
  pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.name(), "event");
  EXPECT_STREQ(root.child("person").child("name").child_value("first"), "Zoë");
  EXPECT_STREQ(root.child("person").child("name").child_value("last"), "Ångström 山田");
  EXPECT_STREQ(root.child("person").child_value("enabled"), "false");
  EXPECT_DOUBLE_EQ(root.child("person").child("score").text().as_double(), 0.125);
  EXPECT_EQ(root.child("person").child("big").text().as_ullong(), 9007199254740993ull);
  EXPECT_EQ(root.child("person").child("negative").text().as_int(), -42);
  EXPECT_EQ(texts(doc.select_nodes("/event/items/id")), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(texts(doc.select_nodes("/event/items/label")), (std::vector<std::string>{"one", "two"}));
  // The UTF-8 bytes are written as they are, not as character references.
  EXPECT_NE(xml.find("Zoë"), std::string::npos);
  EXPECT_NE(xml.find("山田"), std::string::npos);
}

TEST(XmlBodyTest, DeclarationComesFirst) {
  const std::string xml = body_to_xml(json::object());
  EXPECT_EQ(xml, std::string(kDecl) + "<notification/>");
  auto doc = parse(xml);
  pugi::xml_node decl = doc.first_child();
  EXPECT_EQ(decl.type(), pugi::node_declaration);
  EXPECT_STREQ(decl.attribute("version").value(), "1.0");
  EXPECT_STREQ(decl.attribute("encoding").value(), "UTF-8");
}

TEST(XmlBodyTest, TextIsEscaped) {
  const std::string tricky = "a<b>&c \"quoted\" 'single' ]]> </notification><x>";
  const std::string xml = body_to_xml(json{{"v", tricky}});
  EXPECT_EQ(xml.find("<x>"), std::string::npos);
  EXPECT_NE(xml.find("a&lt;b&gt;&amp;c"), std::string::npos);
  auto doc = parse(xml);
  EXPECT_EQ(std::string(doc.document_element().child_value("v")), tricky);
  EXPECT_EQ(std::distance(doc.document_element().begin(), doc.document_element().end()), 1);
}

TEST(XmlBodyTest, ControlCharactersXmlCannotCarryAreDropped) {
  const std::string value = std::string("tab\there\nline") + '\x01' + "x" + std::string(1, '\0') + "y\x1f";
  const std::string xml = body_to_xml(json{{"v", value}});
  EXPECT_EQ(xml.find("&#"), std::string::npos);  // no character references to forbidden characters
  auto doc = parse(xml);
  EXPECT_STREQ(doc.document_element().child_value("v"), "tab\there\nlinexy");
  // Bytes that are not UTF-8 become U+FFFD.
  json bad = json::object();
  bad["v"] = std::string("ok\xff!");
  auto doc2 = parse(body_to_xml(bad));
  EXPECT_STREQ(doc2.document_element().child_value("v"), "ok\xEF\xBF\xBD!");
}

TEST(XmlBodyTest, InvalidNamesAreMadeValid) {
  EXPECT_EQ(xml_element_name("device"), "device");
  EXPECT_EQ(xml_element_name("first-name.v2"), "first-name.v2");
  EXPECT_EQ(xml_element_name("_x"), "_x");
  EXPECT_EQ(xml_element_name("1st"), "_1st");
  EXPECT_EQ(xml_element_name("-x"), "_-x");
  EXPECT_EQ(xml_element_name(".x"), "_.x");
  EXPECT_EQ(xml_element_name("full name"), "full_name");
  EXPECT_EQ(xml_element_name("ns:tag"), "ns_tag");
  EXPECT_EQ(xml_element_name("a<b>&c"), "a_b__c");
  EXPECT_EQ(xml_element_name("$ref"), "_ref");
  EXPECT_EQ(xml_element_name(""), "_");
  EXPECT_EQ(xml_element_name("Größe"), "Größe");  // non-ASCII letters are name characters
  EXPECT_EQ(xml_element_name("名前"), "名前");
  EXPECT_EQ(xml_element_name("a\xff"
                             "b"),
            "a_b");                             // not UTF-8
  EXPECT_EQ(xml_element_name("§1"), "_1");      // U+00A7 is not a name character
  EXPECT_EQ(xml_element_name("a×b"), "a_b");    // nor is U+00D7
  EXPECT_EQ(xml_element_name("€uro"), "€uro");  // U+20AC is one

  json body = json::parse(R"({"1st": "a", "full name": "b", "ns:tag": "c", "": "d", "Größe": "e"})");
  const std::string xml = body_to_xml(body);
  auto doc = parse(xml);
  pugi::xml_node root = doc.document_element();
  EXPECT_STREQ(root.child_value("_1st"), "a");
  EXPECT_STREQ(root.child_value("full_name"), "b");
  EXPECT_STREQ(root.child_value("ns_tag"), "c");
  EXPECT_STREQ(root.child_value("_"), "d");
  EXPECT_STREQ(root.child_value("Größe"), "e");
}

TEST(XmlBodyTest, RootName) {
  EXPECT_TRUE(is_valid_root_name("notification"));
  EXPECT_TRUE(is_valid_root_name("Person_Added-1.0"));
  EXPECT_TRUE(is_valid_root_name("Größe"));
  EXPECT_FALSE(is_valid_root_name(""));
  EXPECT_FALSE(is_valid_root_name("1st"));
  EXPECT_FALSE(is_valid_root_name("has space"));
  EXPECT_FALSE(is_valid_root_name("ns:root"));
  EXPECT_FALSE(is_valid_root_name("<root>"));

  EXPECT_EQ(body_to_xml(json{{"a", 1}}, "Person"), std::string(kDecl) + "<Person><a>1</a></Person>");
  // An invalid root is made valid rather than producing a broken document.
  const std::string xml = body_to_xml(json{{"a", 1}}, "REST Person Added");
  EXPECT_EQ(xml, std::string(kDecl) + "<REST_Person_Added><a>1</a></REST_Person_Added>");
  parse(xml);
}

TEST(XmlBodyTest, ArraysNestedInArraysAndNonObjectBodies) {
  json body = json::parse(R"({"grid": [[1, 2], [3]], "none": [], "mixed": [null, "x", {"k": true}]})");
  EXPECT_EQ(body_to_xml(body), std::string(kDecl) +
                                   "<notification>"
                                   "<grid><item>1</item><item>2</item></grid><grid><item>3</item></grid>"
                                   "<mixed/><mixed>x</mixed><mixed><k>true</k></mixed>"
                                   "</notification>");
  EXPECT_EQ(body_to_xml(json::array({"a", "b"})),
            std::string(kDecl) + "<notification><item>a</item><item>b</item></notification>");
  EXPECT_EQ(body_to_xml(json("text & more")),
            std::string(kDecl) + "<notification>text &amp; more</notification>");
  EXPECT_EQ(body_to_xml(json()), std::string(kDecl) + "<notification/>");
}

TEST(XmlBodyTest, RenderedStandardBodyRoundTrips) {
  // The shape of a REST Device Issued body, with a photo (base64) and GUIDs.
  json body = json::parse(R"({
    "person": {"id": "F9CBC5EE-5CA9-4E5F-9B0D-5ACF5101726C", "photo": "iVBORw0KGgo+/=",
               "group": {"id": "0C1CA393-1943-4062-BB49-D4E61290703C", "name": "Security & Office"}},
    "device": {"validity": {"from": "2024-02-12T09:30:00.000Z", "enabled": true}}
  })");
  auto doc = parse(body_to_xml(body));
  // Every leaf of the JSON is found at its path with its text form.
  const json flat = body.flatten();
  ASSERT_EQ(flat.size(), 6u);
  for (const auto& [pointer, value] : flat.items()) {
    std::string xpath = "/notification" + pointer;
    std::string expected = value.is_string() ? value.get<std::string>() : value.dump();
    EXPECT_EQ(std::string(doc.select_node(xpath.c_str()).node().text().get()), expected) << xpath;
  }
}

}  // namespace
}  // namespace herald::mapping
