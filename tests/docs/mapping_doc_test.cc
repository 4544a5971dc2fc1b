// The checked examples of docs/mapping.md, run against the demo producer
// database. In the document, a checked example is
//
//   <!-- example: NAME [uses: EARLIER] event: {"keys": {...}, "new": {...}, "rule": {...}} -->
//   ```xml            the mapping file (left out with "uses:": EARLIER's mapping again)
//   Endpoint: `VERB /path`          (optional)
//   ```json           the body the mapping builds for that event
//   ```xml            (optional) the body's XML serialisation, compared with
//                     whitespace between elements ignored
//
// or, instead of the JSON, a ```text block with the exact error message
// (the file is called mapping.xml). The example ends at the next example or
// heading. Event fields: id, entity, action, name, keys, new, old,
// occurred_at, and rule (the Rule source). A complete mapping (an ```xml
// block holding <Notification>) that is not a checked example is an error,
// so no example in the document goes unchecked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <pugixml.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/sqlite.h"
#include "mapping/mapping.h"
#include "mapping/xml_body.h"

namespace herald::mapping {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kDocPath = std::string(HERALD_SOURCE_DIR) + "/docs/mapping.md";
// Fewer than this means the document or the parser lost examples.
constexpr std::size_t kMinimumExamples = 15;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

struct DocExample {
  std::string name;
  int line = 0;  // of the marker, 1-based
  json event = json::object();
  std::string uses;
  std::string mapping;
  std::optional<std::string> endpoint;  // "VERB /path"
  std::optional<json> body;
  std::optional<std::string> error;
  std::optional<std::string> xml;
};

// For gtest's messages about a failing parameter.
void PrintTo(const DocExample& e, std::ostream* os) {
  *os << e.name << " (docs/mapping.md:" << e.line << ")";
}

struct ParsedDoc {
  bool found = false;
  std::vector<DocExample> examples;
  std::vector<std::string> problems;
};

ParsedDoc parse_doc(const std::string& text) {
  ParsedDoc doc;
  doc.found = !text.empty();
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  static const std::regex kMarker(
      R"(^<!-- example: ([A-Za-z0-9_]+)(?: uses: ([A-Za-z0-9_]+))?(?: event: (\{.*\}))? -->\s*$)");
  std::optional<DocExample> current;
  std::map<std::string, std::string> mappings;  // name -> mapping, for "uses:"

  auto problem = [&](int line, const std::string& what) {
    doc.problems.push_back("docs/mapping.md:" + std::to_string(line) + ": " + what);
  };
  auto finish = [&] {
    if (!current) return;
    DocExample& e = *current;
    if (e.mapping.empty()) problem(e.line, "example " + e.name + " has no ```xml mapping");
    if (e.body.has_value() == e.error.has_value()) {
      problem(e.line, "example " + e.name + " needs exactly one of a ```json body or a ```text error");
    }
    if (e.xml && !e.body) problem(e.line, "example " + e.name + ": an XML serialisation needs a JSON body");
    if (mappings.count(e.name)) problem(e.line, "example name " + e.name + " is used twice");
    mappings[e.name] = e.mapping;
    doc.examples.push_back(std::move(e));
    current.reset();
  };

  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const int number = static_cast<int>(i) + 1;
    if (line.rfind("```", 0) == 0) {
      const std::string info = trim(line.substr(3));
      std::string content;
      std::size_t j = i + 1;
      for (; j < lines.size() && trim(lines[j]) != "```"; ++j) content += lines[j] + "\n";
      if (j == lines.size()) problem(number, "unclosed code block");
      i = j;
      const bool complete_mapping = info == "xml" && content.find("<Notification") != std::string::npos;
      if (!current) {
        if (complete_mapping) problem(number, "a complete mapping that is not a checked example");
        continue;
      }
      if (info == "xml" && current->mapping.empty() && current->uses.empty()) {
        current->mapping = content;
      } else if (info == "xml" && current->body && !current->xml) {
        current->xml = content;
      } else if (info == "json" && !current->body) {
        json body = json::parse(content, nullptr, false);
        if (body.is_discarded()) {
          problem(number, "the JSON of example " + current->name + " does not parse");
        } else {
          current->body = std::move(body);
        }
      } else if (info == "text" && !current->error) {
        current->error = trim(content);
      } else {
        problem(number, "unexpected ```" + info + " block in example " + current->name);
      }
      continue;
    }
    if (line.rfind("<!-- example:", 0) == 0) {
      finish();
      std::smatch m;
      if (!std::regex_match(line, m, kMarker)) {
        problem(number, "malformed example marker");
        continue;
      }
      DocExample e;
      e.name = m[1];
      e.line = number;
      e.uses = m[2];
      if (m[3].matched) {
        e.event = json::parse(m[3].str(), nullptr, false);
        if (e.event.is_discarded() || !e.event.is_object()) {
          problem(number, "the event of example " + e.name + " is not a JSON object");
          e.event = json::object();
        }
      }
      if (!e.uses.empty()) {
        auto it = mappings.find(e.uses);
        if (it == mappings.end()) {
          problem(number, "example " + e.name + " uses " + e.uses + ", which is not an earlier example");
        } else {
          e.mapping = it->second;
        }
      }
      current = std::move(e);
      continue;
    }
    if (!current) continue;
    if (line.rfind("#", 0) == 0) {
      finish();
    } else if (line.rfind("Endpoint:", 0) == 0) {
      std::string value = line.substr(9);
      value.erase(std::remove(value.begin(), value.end(), '`'), value.end());
      current->endpoint = trim(value);
    }
  }
  finish();
  return doc;
}

const ParsedDoc& doc() {
  static const ParsedDoc kDoc = parse_doc(read_text(kDocPath));
  return kDoc;
}

Event event_of(const json& j) {
  Event e;
  e.id = j.value("id", 1);
  e.entity = j.value("entity", "identity");
  e.action = j.value("action", "UPDATE");
  e.name = j.value("name", "");
  e.keys = j.value("keys", json::object());
  e.new_values = j.value("new", json());
  e.old_values = j.value("old", json());
  e.occurred_at = j.value("occurred_at", "");
  return e;
}

// XML with whitespace-only text between elements removed.
std::string canonical_xml(const std::string& xml) {
  pugi::xml_document d;
  auto r = d.load_string(xml.c_str(), pugi::parse_default | pugi::parse_declaration);
  if (!r) return std::string("(not XML: ") + r.description() + ") " + xml;
  std::ostringstream out;
  d.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

TEST(MappingDoc, ExamplesAreWellFormed) {
  ASSERT_TRUE(doc().found) << kDocPath << " is missing or empty";
  for (const auto& p : doc().problems) ADD_FAILURE() << p;
  EXPECT_GE(doc().examples.size(), kMinimumExamples);
}

// The parser itself: what it accepts and what it reports.
TEST(MappingDoc, ParserReportsUncheckedAndIncompleteExamples) {
  const std::string text = R"(# Title
<!-- example: good event: {"keys": {"PersonID": 1}} -->
```xml
<Notification><Endpoint URL="/x" /></Notification>
```
Endpoint: `POST /x`
```json
{}
```
<!-- example: again uses: good -->
```json
{}
```
## Unchecked
```xml
<Notification><Endpoint URL="/y" /></Notification>
```
```xml
<DataSource ID="fragment" View="v" Lookup="k" />
```
<!-- example: no_result -->
```xml
<Notification><Endpoint URL="/z" /></Notification>
```
<!-- example: bad_use uses: later -->
```json
{}
```
<!-- example: good -->
```xml
<Notification><Endpoint URL="/w" /></Notification>
```
```text
error
```
<!-- example: broken event: {"keys": -->
)";
  ParsedDoc parsed = parse_doc(text);
  ASSERT_GE(parsed.examples.size(), 2u);
  EXPECT_EQ(parsed.examples[0].name, "good");
  EXPECT_EQ(parsed.examples[0].line, 2);
  EXPECT_EQ(parsed.examples[0].endpoint, "POST /x");
  EXPECT_EQ(parsed.examples[0].event, json::parse(R"({"keys": {"PersonID": 1}})"));
  EXPECT_EQ(parsed.examples[1].name, "again");
  EXPECT_EQ(parsed.examples[1].mapping, parsed.examples[0].mapping);
  const std::vector<std::string> expected = {
      "docs/mapping.md:15: a complete mapping that is not a checked example",
      "docs/mapping.md:21: example no_result needs exactly one of a ```json body or a ```text error",
      "docs/mapping.md:25: example bad_use uses later, which is not an earlier example",
      "docs/mapping.md:25: example bad_use has no ```xml mapping",
      "docs/mapping.md:29: example name good is used twice",
      "docs/mapping.md:36: malformed example marker",
  };
  EXPECT_EQ(parsed.problems, expected);
}

class MappingDocExample : public ::testing::TestWithParam<DocExample> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path(::testing::TempDir()) / ("herald_doc_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    auto db = db::Database::open((*dir_ / "producer.db").string(), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    db_ = new db::Database(std::move(db).value());
    ASSERT_TRUE(db_->exec("PRAGMA synchronous = OFF"));
    const std::string source = HERALD_SOURCE_DIR;
    for (const char* file : {"config/outbox.sql", "config/demo/producer.sql", "config/demo/events.sql"}) {
      auto s = db_->exec(read_text(source + "/" + file));
      ASSERT_TRUE(s) << file << ": " << s.error().message;
    }
  }

  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }

  static fs::path* dir_;
  static db::Database* db_;
};

fs::path* MappingDocExample::dir_ = nullptr;
db::Database* MappingDocExample::db_ = nullptr;

TEST_P(MappingDocExample, RendersAsDocumented) {
  const DocExample& ex = GetParam();
  ASSERT_NE(db_, nullptr);
  const std::string path = (*dir_ / "mapping.xml").string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << ex.mapping;
  auto as_documented = [&](std::string message) {
    for (auto pos = message.find(path); pos != std::string::npos; pos = message.find(path)) {
      message.replace(pos, path.size(), "mapping.xml");
    }
    return message;
  };

  auto mapping = Mapping::load(path, db_);
  if (!mapping) {
    ASSERT_TRUE(ex.error) << "the mapping does not load: " << as_documented(mapping.error().message);
    EXPECT_EQ(as_documented(mapping.error().message), *ex.error);
    return;
  }
  const Event event = event_of(ex.event);
  json extra = json::object();
  if (ex.event.contains("rule")) extra["Rule"] = ex.event["rule"];
  auto rendered = (*mapping)->render(RenderContext{event, &extra});
  if (ex.error) {
    ASSERT_FALSE(rendered) << "documented to fail, but rendered " << rendered->body.dump();
    EXPECT_EQ(as_documented(rendered.error().message), *ex.error);
    return;
  }
  ASSERT_TRUE(rendered) << as_documented(rendered.error().message);
  ASSERT_TRUE(ex.body);
  EXPECT_EQ(rendered->body, *ex.body) << "rendered: " << rendered->body.dump(2);
  if (ex.endpoint) {
    EXPECT_EQ(rendered->verb + " " + rendered->path, *ex.endpoint);
  }
  if (ex.xml) {
    EXPECT_EQ(canonical_xml(body_to_xml(rendered->body)), canonical_xml(*ex.xml));
  }
}

INSTANTIATE_TEST_SUITE_P(Doc, MappingDocExample, ::testing::ValuesIn(doc().examples),
                         [](const ::testing::TestParamInfo<DocExample>& info) { return info.param.name; });

}  // namespace
}  // namespace herald::mapping
