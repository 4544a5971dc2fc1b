// Mapping files against a real SQLite producer database: data sources and
// where-clauses, endpoint substitution, body construction, conversions and
// load errors.
#include "mapping/mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "db/sqlite.h"

namespace herald::mapping {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
PRAGMA synchronous = OFF;
CREATE TABLE people (
  PersonID INTEGER PRIMARY KEY, ObjectID TEXT, FirstName TEXT, LastName TEXT, Email TEXT,
  Active INTEGER, Flag TEXT, Score REAL, Photo BLOB, Cert TEXT, Born TEXT, Nickname TEXT);
INSERT INTO people VALUES
  (1, '{79036D80-8322-404F-B146-F37AF6B016B4}', 'Ada', 'Byron', 'ada@example.com', 1, 'yes', 2.5,
   X'89504E47', '4d494942737a4343415632670d0a4177494241674955', '2024-01-01T00:30:00+01:00', NULL),
  (2, 'a/b c' || char(252), 'Chlo' || char(235), 'Okafor', NULL, 0, 'maybe', -1, NULL, 'zz', 'yesterday',
   'Clo');
CREATE TABLE certs (CertID INTEGER PRIMARY KEY, DeviceID INTEGER, Container TEXT, Status TEXT, Serial TEXT,
                    Revoked TEXT);
INSERT INTO certs VALUES
  (1, 10, '5FC101', 'Active', 'A1', NULL),
  (2, 10, '5FC105', 'Active', 'A2', NULL),
  (3, 10, '5FC10A', 'Revoked', 'A3', '2024-05-01'),
  (4, 10, 'O''Brien', 'Active', 'A4', NULL),
  (5, 11, '5FC105', 'Active', 'B1', NULL);
)sql";

class MappingFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::path(::testing::TempDir()) /
           ("herald_mapping_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = db::Database::open((dir_ / "producer.db").string(), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(db).value();
    auto s = db_.exec(kSchema);
    ASSERT_TRUE(s) << s.error().message;
  }

  void TearDown() override {
    db_ = db::Database();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& xml) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << xml;
    return path;
  }

  Result<std::shared_ptr<Mapping>> load(const std::string& xml, const std::vector<std::string>& extra = {}) {
    return Mapping::load(write("m.xml", xml), &db_, extra);
  }

  std::shared_ptr<Mapping> load_ok(const std::string& xml, const std::vector<std::string>& extra = {}) {
    auto m = load(xml, extra);
    EXPECT_TRUE(m) << m.error().message;
    return m ? *m : nullptr;
  }

  // A mapping with one data source and a body; endpoint fixed.
  static std::string with_source(const std::string& data_source, const std::string& body) {
    return "<Notification>\n<DataSources>\n" + data_source +
           "\n</DataSources>\n<Endpoint URL=\"/x\"/>\n<Body>\n" + body + "\n</Body>\n</Notification>\n";
  }
  static std::string with_body(const std::string& body) {
    return "<Notification>\n<Endpoint URL=\"/x\"/>\n<Body>\n" + body + "\n</Body>\n</Notification>\n";
  }
  static std::string prop(const std::string& jpath, const std::string& source_attrs,
                          const std::string& inner = "") {
    return "<Property JPath=\"" + jpath + "\"><Source " + source_attrs +
           (inner.empty() ? "/>" : ">" + inner + "</Source>") + "</Property>\n";
  }

  static Event event(json keys) {
    Event e;
    e.id = 42;
    e.entity = "identity";
    e.action = "UPDATE";
    e.name = "REST Person Edited";
    e.keys = std::move(keys);
    e.occurred_at = "2025-03-04T09:15:27.120Z";
    return e;
  }

  static json body_of(Mapping& m, const Event& e, const json* extra = nullptr) {
    auto r = m.render(RenderContext{e, extra});
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->body : json();
  }

  std::string path() const { return (dir_ / "m.xml").string(); }

  fs::path dir_;
  db::Database db_;
};

// ---------------------------------------------------------------------------
// Data sources and where-clauses.

class MappingWhereTest : public MappingFixture {
 protected:
  // Serial of the cert row chosen by the where-clauses for device 10 (or the
  // given keys); "" when there is none.
  std::string serial(const std::string& wheres, json keys = json{{"DeviceID", 10}}) {
    auto m = load_ok(
        with_source("<DataSource ID=\"Certs\" View=\"certs\" Lookup=\"DeviceID\">" + wheres + "</DataSource>",
                    prop("serial", "Retrieval=\"Certs\" Field=\"Serial\"")));
    if (!m) return "LOAD ERROR";
    json body = body_of(*m, event(std::move(keys)));
    return body.contains("serial") ? body["serial"].get<std::string>() : "";
  }
};

TEST_F(MappingWhereTest, FirstRowWinsWithoutWhere) { EXPECT_EQ(serial(""), "A1"); }

TEST_F(MappingWhereTest, AttributeForm) {
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC105" Operation="=" />)"), "A2");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC105" />)"), "A2");  // = by default
}

TEST_F(MappingWhereTest, ElementForm) {
  EXPECT_EQ(serial(R"(<Where>
      <FieldName>Container</FieldName>
      <FieldValue>5FC105</FieldValue>
      <Operation>=</Operation>
    </Where>)"),
            "A2");
  EXPECT_EQ(serial("<Where><FieldName>Container</FieldName><FieldValue>5FC10A</FieldValue></Where>"), "A3");
}

TEST_F(MappingWhereTest, ComparisonOperations) {
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC101" Operation="!=" />)"), "A2");
  EXPECT_EQ(serial(R"(<Where FieldName="CertID" FieldValue="3" Operation="gt" />)"), "A4");
  EXPECT_EQ(serial(R"(<Where FieldName="CertID" FieldValue="3" Operation="GE" />)"), "A3");
  EXPECT_EQ(serial(R"(<Where FieldName="CertID" FieldValue="1" Operation="lt" />)"), "");
  EXPECT_EQ(serial(R"(<Where FieldName="CertID" FieldValue="1" Operation="le" />)"), "A1");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="%0A" Operation="like" />)"), "A3");
}

TEST_F(MappingWhereTest, NullTests) {
  EXPECT_EQ(serial(R"(<Where FieldName="Revoked" Operation="notnull" />)"), "A3");
  EXPECT_EQ(serial(R"(<Where FieldName="Revoked" Operation="isnull" />
                      <Where FieldName="Container" FieldValue="5FC105" />)"),
            "A2");
  EXPECT_EQ(serial("<Where><FieldName>Revoked</FieldName><Operation>IsNull</Operation></Where>"), "A1");
}

TEST_F(MappingWhereTest, InIsTheDefaultForSeveralValues) {
  EXPECT_EQ(serial(R"(<Where><FieldName>Container</FieldName>
                       <FieldValue>5FC10A</FieldValue><FieldValue>O'Brien</FieldValue></Where>)"),
            "A3");
  EXPECT_EQ(serial(R"(<Where><FieldName>Container</FieldName><Operation>in</Operation>
                       <FieldValue>O'Brien</FieldValue></Where>)"),
            "A4");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC105" Operation="IN" />)"), "A2");
}

TEST_F(MappingWhereTest, OrConjunction) {
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="none" />
                      <Where FieldName="Container" FieldValue="5FC10A" Conjunction="or" />)"),
            "A3");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC105" />
                      <Where FieldName="Status" FieldValue="Revoked" Conjunction="AND" />)"),
            "");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC10A" />
                      <Where><FieldName>Container</FieldName><FieldValue>5FC101</FieldValue>
                             <Conjunction>or</Conjunction></Where>)"),
            "A1");
}

TEST_F(MappingWhereTest, OrNeverWidensTheLookup) {
  // Device 11 has only B1; an ungrouped "... OR Container = '5FC10A'" would
  // reach device 10's A3 (a lower rowid).
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC105" />
                      <Where FieldName="Container" FieldValue="5FC10A" Conjunction="or" />)",
                   json{{"DeviceID", 11}}),
            "B1");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC10A" />)", json{{"DeviceID", 11}}), "");
}

TEST_F(MappingWhereTest, AndBindsTighterThanOrInsideTheGroup) {
  // w1 OR w2 AND w3 = w1 OR (w2 AND w3): row 1 matches w1 alone. Read left to
  // right, (w1 OR w2) AND w3 would give A3.
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="5FC101" />
                      <Where FieldName="Container" FieldValue="5FC10A" Conjunction="or" />
                      <Where FieldName="Status" FieldValue="Revoked" Conjunction="and" />)"),
            "A1");
}

TEST_F(MappingWhereTest, ValuesAreBoundNotSpliced) {
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="O'Brien" />)"), "A4");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="x' OR '1'='1" />)"), "");
  EXPECT_EQ(serial(R"(<Where FieldName="Container" FieldValue="'; DROP TABLE certs; --" />)"), "");
  EXPECT_EQ(serial(""), "A1");  // the table is still there
}

TEST_F(MappingWhereTest, LookupKeyTypes) {
  EXPECT_EQ(serial("", json{{"DeviceID", "10"}}), "A1");  // text key against an INTEGER column
  EXPECT_EQ(serial("", json{{"DeviceID", 11}}), "B1");
  EXPECT_EQ(serial("", json{{"DeviceID", 12}}), "");       // no row
  EXPECT_EQ(serial("", json{{"PersonID", 10}}), "");       // event lacks the key
  EXPECT_EQ(serial("", json{{"DeviceID", nullptr}}), "");  // null key
  EXPECT_EQ(serial("", json{{"DeviceID", json::array()}}), "");
}

TEST_F(MappingWhereTest, FieldNameDefaultsToLookupAndCanDiffer) {
  auto m = load_ok(with_source(R"(<DataSource ID="P" View="people" Lookup="Owner" FieldName="PersonID" />)",
                               prop("first", R"(Retrieval="P" Field="FirstName")")));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"Owner", 2}})), json::parse(R"({"first": "Chloë"})"));
  EXPECT_EQ(m->data_source_ids(), std::vector<std::string>{"P"});
}

TEST_F(MappingWhereTest, StatementsAreReusedAcrossRenders) {
  auto m = load_ok(with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" />)",
                               prop("first", R"(Retrieval="P" Field="FirstName")")));
  ASSERT_TRUE(m);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(body_of(*m, event({{"PersonID", 1}}))["first"], "Ada");
    EXPECT_EQ(body_of(*m, event({{"PersonID", 2}}))["first"], "Chloë");
    EXPECT_EQ(body_of(*m, event({{"PersonID", 3}})), json::object());
  }
}

TEST_F(MappingWhereTest, LoadErrors) {
  struct Case {
    std::string where;
    std::string message;
  };
  const Case cases[] = {
      {R"(<Where FieldName="Container" />)", "needs a FieldValue"},
      {R"(<Where FieldValue="x" />)", "FieldName is required"},
      {R"(<Where FieldName="Container; --" FieldValue="x" />)",
       "FieldName \"Container; --\" is not a valid SQL"},
      {R"(<Where FieldName="Container" FieldValue="x" Operation="~" />)", "unknown Operation \"~\""},
      {R"(<Where FieldName="Container" FieldValue="x" Operation="isnull" />)", "takes no FieldValue"},
      {R"(<Where FieldName="Container" Operation="IN" />)", "IN needs at least one FieldValue"},
      {"<Where><FieldName>Container</FieldName><FieldValue>a</FieldValue><FieldValue>b</FieldValue>"
       "<Operation>=</Operation></Where>",
       "needs exactly one FieldValue (found 2)"},
      {R"(<Where FieldName="Container" FieldValue="x" Conjunction="xor" />)", "unknown Conjunction \"xor\""},
      {R"(<Where FieldName="Container" FieldValue="x"><FieldValue>y</FieldValue></Where>)",
       "given both as attribute and as element"},
      {"<Where><FieldName>A</FieldName><FieldName>B</FieldName><FieldValue>x</FieldValue></Where>",
       "given more than once"},
      {R"(<Where FieldName="Container" FieldValue="x" Op="=" />)", "unknown attribute Op"},
      {R"(<Where FieldName="Container" FieldValue="x"><Value>y</Value></Where>)", "<Value>: unknown element"},
      {R"(<Where FieldName="NoSuchColumn" FieldValue="x" />)",
       "view certs has no column \"NoSuchColumn\" (<Where>)"},
      {R"(<Where FieldName="nosuchcolumn" Operation="isnull" />)", "has no column \"nosuchcolumn\""},
  };
  for (const auto& c : cases) {
    auto m = load(with_source(
        "<DataSource ID=\"Certs\" View=\"certs\" Lookup=\"DeviceID\">\n" + c.where + "\n</DataSource>", ""));
    ASSERT_FALSE(m) << c.where;
    EXPECT_THAT(m.error().message, HasSubstr(c.message)) << c.where;
    EXPECT_THAT(m.error().message, HasSubstr(path() + ":")) << c.where;
  }
}

TEST_F(MappingWhereTest, IdentifiersAreRefused) {
  auto m = load(with_source(R"(<DataSource ID="P" View="x; DROP TABLE y" Lookup="PersonID" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message,
              HasSubstr(path() + ":3: <DataSource>: View \"x; DROP TABLE y\" is not a valid SQL"));

  m = load(with_source(R"(<DataSource ID="P" View="people" Lookup="Person ID" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("FieldName (taken from Lookup) \"Person ID\" is not a valid SQL"));

  m = load(with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" FieldName="a&quot;b" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("FieldName \"a\"b\" is not a valid SQL identifier"));

  m = load(with_source(R"(<DataSource ID="P.Q" View="people" Lookup="PersonID" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("ID \"P.Q\" is not a valid name"));
}

TEST_F(MappingWhereTest, MissingViewOrColumnFailsAtLoad) {
  auto m = load(with_source(R"(<DataSource ID="P" View="nosuchview" Lookup="PersonID" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr(path() + ":3: <DataSource>: cannot prepare"));
  EXPECT_THAT(m.error().message, HasSubstr("no such table: nosuchview"));

  m = load(with_source(R"(<DataSource ID="P" View="people" Lookup="DeviceID" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("view people has no column \"DeviceID\" (FieldName)"));

  m = load(with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" />)",
                       prop("x", R"(Retrieval="P" Field="Frist")")));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message,
              HasSubstr(path() + ":7: <Source>: data source \"P\" (view people) has no column \"Frist\""));
}

TEST_F(MappingWhereTest, DataSourceDeclarationErrors) {
  auto two = with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" />
<DataSource ID="P" View="people" Lookup="PersonID" />)",
                         "");
  auto m = load(two);
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr(path() + ":4: <DataSource>: ID \"P\" is declared twice"));

  m = load(with_source(R"(<DataSource ID="Event" View="people" Lookup="PersonID" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("ID \"Event\" is reserved"));

  m = load(with_source(R"(<DataSource ID="P" View="people" />)", ""));
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("Lookup is required"));
}

TEST_F(MappingWhereTest, NoProducerDatabase) {
  auto m = Mapping::load(
      write("m.xml", with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" />)", "")), nullptr);
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message,
              HasSubstr(path() + ":2: <DataSources>: this mapping reads the producer database"));

  // Without data sources no database is needed.
  auto ok = Mapping::load(write("n.xml", with_body(prop("a", R"(Default="1")"))), nullptr);
  ASSERT_TRUE(ok) << ok.error().message;
  Event e = event(json::object());
  EXPECT_EQ(body_of(**ok, e), json::parse(R"({"a": "1"})"));
}

// ---------------------------------------------------------------------------
// Endpoint.

class MappingEndpointTest : public MappingFixture {
 protected:
  Result<RenderedMessage> render_endpoint(const std::string& endpoint, json keys,
                                          const json* extra = nullptr) {
    auto m = load(
        "<Notification>\n<DataSources>\n"
        "<DataSource ID=\"People\" View=\"people\" Lookup=\"PersonID\" />\n"
        "</DataSources>\n" +
        endpoint + "\n</Notification>\n");
    if (!m) return m.error();
    Event e = event(std::move(keys));
    return (*m)->render(RenderContext{e, extra});
  }
};

TEST_F(MappingEndpointTest, SubstitutesPercentEncodedValues) {
  auto r = render_endpoint(R"(<Endpoint URL="/people/{People.ObjectID}/personEdited" />)", {{"PersonID", 2}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->verb, "POST");
  EXPECT_EQ(r->path, "/people/a%2Fb%20c%C3%BC/personEdited");
  EXPECT_EQ(r->body, json::object());
}

TEST_F(MappingEndpointTest, StripsGuidBraces) {
  auto r = render_endpoint(R"(<Endpoint Verb="POST" URL="/devices/{People.ObjectID}/deviceCancelled" />)",
                           {{"PersonID", 1}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->path, "/devices/79036D80-8322-404F-B146-F37AF6B016B4/deviceCancelled");
  EXPECT_EQ(join_url("https://myserver/Notify", r->path),
            "https://myserver/Notify/devices/79036D80-8322-404F-B146-F37AF6B016B4/deviceCancelled");
}

TEST_F(MappingEndpointTest, EventAndRulePlaceholders) {
  json extra = {{"Rule", {{"topic", "a b/c"}, {"level", 3}}}};
  auto r = render_endpoint(
      R"(<Endpoint Verb="put" URL="/e/{Event.id}/{Event.PersonID}/{Rule.topic}/{Rule.level}" />)",
      {{"PersonID", "p?1"}}, &extra);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->verb, "PUT");
  EXPECT_EQ(r->path, "/e/42/p%3F1/a%20b%2Fc/3");
}

TEST_F(MappingEndpointTest, AValueThatMakesADotOrEmptySegmentIsNotSent) {
  const std::string endpoint = R"(<Endpoint URL="/e/{Event.PersonID}/added" />)";
  for (const char* value : {"..", "."}) {
    auto r = render_endpoint(endpoint, {{"PersonID", value}});
    ASSERT_FALSE(r) << value << " rendered as " << r->path;
    EXPECT_THAT(r.error().message, HasSubstr(path() +
                                             ":5: <Endpoint>: placeholder {Event.PersonID} makes the "
                                             "path segment \"" +
                                             value + "\""));
    EXPECT_FALSE(r.error().transient);
  }
  // Two values that together read "..".
  json extra = {{"Rule", {{"a", "."}, {"b", "."}}}};
  auto joined = render_endpoint(R"(<Endpoint URL="/e/{Rule.a}{Rule.b}/x" />)", {}, &extra);
  ASSERT_FALSE(joined);
  EXPECT_THAT(joined.error().message, HasSubstr("placeholder {Rule.a} makes the path segment \"..\""));
  // An empty value would send "/e//added" (one slash, once servers merge
  // them) or "/e/", the collection.
  for (const char* url : {"/e/{Event.PersonID}/added", "/e/{Event.PersonID}", "{Event.PersonID}"}) {
    auto r = render_endpoint(std::string("<Endpoint URL=\"") + url + "\" />", {{"PersonID", ""}});
    ASSERT_FALSE(r) << url << " rendered as " << r->path;
    EXPECT_THAT(r.error().message,
                HasSubstr(path() + ":5: <Endpoint>: placeholder {Event.PersonID} is empty and leaves "
                                   "an empty path segment; a URL with a hole is not sent"));
  }
  // Dots or nothing within a segment, and values in the query, are sent.
  for (const auto& [url, value, expected] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/e/{Event.PersonID}/added", "...", "/e/.../added"},
           {"/e/{Event.PersonID}/added", "a..", "/e/a../added"},
           {"/e/x{Event.PersonID}/added", "..", "/e/x../added"},
           {"/e/{Event.PersonID}.json", "..", "/e/...json"},
           {"/e?after={Event.PersonID}", "..", "/e?after=.."},
           {"/e/x{Event.PersonID}/added", "", "/e/x/added"},
           {"/e?after={Event.PersonID}", "", "/e?after="}}) {
    auto r = render_endpoint("<Endpoint URL=\"" + url + "\" />", {{"PersonID", value}});
    ASSERT_TRUE(r) << url << " with " << value << ": " << r.error().message;
    EXPECT_EQ(r->path, expected);
  }
}

TEST_F(MappingEndpointTest, VerbsAreCaseInsensitive) {
  for (const char* verb : {"POST", "put", "Delete", "PATCH"}) {
    auto r = render_endpoint(std::string("<Endpoint Verb=\"") + verb + "\" URL=\"/x\" />", {});
    ASSERT_TRUE(r) << r.error().message;
    std::string upper(verb);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(r->verb, upper);
  }
}

TEST_F(MappingEndpointTest, MissingValueIsARenderError) {
  auto r =
      render_endpoint(R"(<Endpoint URL="/people/{People.Email}/x" />)", {{"PersonID", 2}});  // NULL email
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message,
              HasSubstr(path() + ":5: <Endpoint>: placeholder {People.Email} has no value"));

  r = render_endpoint(R"(<Endpoint URL="/people/{People.ObjectID}/x" />)", {{"DeviceID", 1}});  // no key
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("{People.ObjectID} has no value"));

  r = render_endpoint(R"(<Endpoint URL="/rules/{Rule.old}" />)", {});  // no extra at all
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("{Rule.old} has no value"));
}

TEST_F(MappingEndpointTest, LoadErrors) {
  struct Case {
    std::string endpoint;
    std::string message;
  };
  const Case cases[] = {
      {R"(<Endpoint Verb="GET" URL="/x" />)", "<Endpoint>: unknown Verb \"GET\""},
      {R"(<Endpoint URL="/x/{People.ObjectID" />)", "unmatched '{'"},
      {R"(<Endpoint URL="/x/People.ObjectID}" />)", "unmatched '}'"},
      {R"(<Endpoint URL="/x/{ObjectID}" />)", "must have the form {Source.Field}"},
      {R"(<Endpoint URL="/x/{Devices.ObjectID}" />)",
       "placeholder {Devices.ObjectID}: unknown Retrieval \"Devices\""},
      {R"(<Endpoint URL="/x/{People.Nope}" />)", "has no column \"Nope\""},
      {R"(<Endpoint URL="/x/{Event.id.x}" />)", "Event.id has no sub-fields"},
      {R"(<Endpoint Verb="POST" />)", "URL is required"},
      {R"(<Endpoint URL="/x" Method="POST" />)", "unknown attribute Method"},
  };
  for (const auto& c : cases) {
    auto r = render_endpoint(c.endpoint, {{"PersonID", 1}});
    ASSERT_FALSE(r) << c.endpoint;
    EXPECT_THAT(r.error().message, HasSubstr(path() + ":5: ")) << c.endpoint;
    EXPECT_THAT(r.error().message, HasSubstr(c.message)) << c.endpoint;
  }
}

// ---------------------------------------------------------------------------
// Body: JPaths, sources, conversions.

class MappingBodyTest : public MappingFixture {
 protected:
  std::shared_ptr<Mapping> people_mapping(const std::string& body,
                                          const std::vector<std::string>& extra = {}) {
    return load_ok(with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" />)", body), extra);
  }
  Result<RenderedMessage> render_person(Mapping& m, int person) {
    Event e = event({{"PersonID", person}});
    return m.render(RenderContext{e, nullptr});
  }
};

TEST_F(MappingBodyTest, NestedAndArrayJPaths) {
  auto m = people_mapping(prop("person.name.first", R"(Retrieval="P" Field="FirstName")") +
                          prop("person.name.last", R"(Retrieval="P" Field="LastName")") +
                          prop("items[1].id", R"(Retrieval="P" Field="PersonID")") +
                          prop("items[0].id", R"(Default="first")") + prop("tags[1]", R"(Default="b")") +
                          prop("tags[2]", R"(Retrieval="P" Field="Nickname")"));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})), json::parse(R"({
    "person": {"name": {"first": "Ada", "last": "Byron"}},
    "items": [{"id": "first"}, {"id": 1}],
    "tags": [null, "b"]
  })"));
  EXPECT_EQ(body_of(*m, event({{"PersonID", 2}}))["tags"], json::parse(R"([null, "b", "Clo"])"));
}

TEST_F(MappingBodyTest, ColumnTypes) {
  auto m = people_mapping(
      prop("id", R"(Retrieval="P" Field="PersonID")") + prop("active", R"(Retrieval="P" Field="Active")") +
      prop("score", R"(Retrieval="P" Field="Score")") +
      prop("email", R"(Retrieval="P" Field="email")") +  // column names are case-insensitive
      prop("photo", R"(Retrieval="P" Field="Photo")") + prop("nick", R"(Retrieval="P" Field="Nickname")"));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})), json::parse(R"({
    "id": 1, "active": 1, "score": 2.5, "email": "ada@example.com", "photo": "iVBORw=="
  })"));
}

TEST_F(MappingBodyTest, DefaultsAndOmission) {
  auto m = people_mapping(prop("email", R"(Retrieval="P" Field="Email" Default="none@example.com")") +
                          prop("nick", R"(Retrieval="P" Field="Nickname")") +
                          prop("kind", R"(Default="person")") + prop("empty", R"(Default="")"));
  ASSERT_TRUE(m);
  // Row with a value.
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})),
            json::parse(R"({"email": "ada@example.com", "kind": "person", "empty": ""})"));
  // NULL column: Default; the property without a Default is left out.
  EXPECT_EQ(body_of(*m, event({{"PersonID", 2}})),
            json::parse(R"({"email": "none@example.com", "nick": "Clo", "kind": "person", "empty": ""})"));
  // No row, and no key at all: the same.
  EXPECT_EQ(body_of(*m, event({{"PersonID", 9}})),
            json::parse(R"({"email": "none@example.com", "kind": "person", "empty": ""})"));
  EXPECT_EQ(body_of(*m, event(json::object())),
            json::parse(R"({"email": "none@example.com", "kind": "person", "empty": ""})"));
}

TEST_F(MappingBodyTest, BooleanEncoding) {
  auto m = people_mapping(
      prop("active", R"(Retrieval="P" Field="Active" EncodingFormat="Boolean")") +
      prop("flag", R"(Retrieval="P" Field="Flag" EncodingFormat="boolean")") +
      prop("fallback", R"(Retrieval="P" Field="Nickname" EncodingFormat="Boolean" Default="no")"));
  ASSERT_TRUE(m);
  auto r = render_person(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, json::parse(R"({"active": true, "flag": true, "fallback": false})"));
  EXPECT_TRUE(r->body["active"].is_boolean());

  r = render_person(*m, 2);  // Flag is "maybe"
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message,
              HasSubstr(path() + ":8: <Property JPath=\"flag\">: value \"maybe\" is not a Boolean"));
}

TEST_F(MappingBodyTest, DateEncoding) {
  auto m = people_mapping(prop("born", R"(Retrieval="P" Field="Born" EncodingFormat="Date")") +
                          prop("at", R"(Retrieval="Event" Field="occurred_at" EncodingFormat="Date")") +
                          prop("static", R"(Default="2024-02-12 09:30" EncodingFormat="Date")"));
  ASSERT_TRUE(m);
  auto r = render_person(*m, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, json::parse(R"({"born": "2023-12-31T23:30:00.000Z", "at": "2025-03-04T09:15:27.120Z",
                                     "static": "2024-02-12T09:30:00.000Z"})"));
  r = render_person(*m, 2);  // Born is "yesterday"
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("<Property JPath=\"born\">: value \"yesterday\" is not a date"));
}

TEST_F(MappingBodyTest, ImageEncoding) {
  auto m = people_mapping(prop("photo", R"(Retrieval="P" Field="Photo" DataType="Image")") +
                          prop("text", R"(Retrieval="P" Field="FirstName" DataType="Image")"));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})), json::parse(R"({"photo": "iVBORw==", "text": "QWRh"})"));
  EXPECT_EQ(body_of(*m, event({{"PersonID", 2}})),
            json::parse(R"({"text": "Q2hsb8Or"})"));  // NULL photo: omitted
}

TEST_F(MappingBodyTest, HexedB64Certificate) {
  auto m = people_mapping(prop("cert", R"(Retrieval="P" Field="Cert" DataType="HexedB64Certificate")"));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})), json::parse(R"({"cert": "MIIBszCCAV2gAwIBAgIU"})"));
  auto r = render_person(*m, 2);  // "zz" is not hex
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("<Property JPath=\"cert\">: value \"zz\" is not hex text"));
}

TEST_F(MappingBodyTest, GuidDataType) {
  auto m = people_mapping(prop("id", R"(Retrieval="P" Field="ObjectID" DataType="Guid")") +
                          prop("raw", R"(Retrieval="P" Field="ObjectID")"));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})), json::parse(R"({
    "id": "79036D80-8322-404F-B146-F37AF6B016B4", "raw": "{79036D80-8322-404F-B146-F37AF6B016B4}"})"));
}

TEST_F(MappingBodyTest, SubstringProcessor) {
  auto m = people_mapping(
      prop("from2", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="substring" P1="2" />)") +
      prop("mid", R"(Retrieval="P" Field="Email")", R"(<Processor Type="substring" P1="4" P2="7" />)") +
      prop("beyond", R"(Retrieval="P" Field="FirstName")",
           R"(<Processor Type="substring" P1="50" P2="2" />)") +
      prop("long", R"(Retrieval="P" Field="LastName")", R"(<Processor Type="Substring" P1="3" P2="100" />)") +
      prop("chain", R"(Retrieval="P" Field="Email")",
           R"(<Processor Type="substring" P1="4" /><Processor Type="substring" P1="0" P2="3" />)") +
      prop("number", R"(Retrieval="P" Field="Score")", R"(<Processor Type="substring" P1="0" P2="1" />)") +
      prop("guid", R"(Retrieval="P" Field="ObjectID" DataType="Guid")",
           R"(<Processor Type="substring" P1="0" P2="8" />)"));
  ASSERT_TRUE(m);
  EXPECT_EQ(body_of(*m, event({{"PersonID", 1}})), json::parse(R"({
    "from2": "a", "mid": "example", "beyond": "", "long": "on", "chain": "exa", "number": "2",
    "guid": "79036D80"})"));
  // Code points, not bytes: "Chloë" from 2 is "loë"; the REAL -1 becomes "-1.0" first.
  json second = body_of(*m, event({{"PersonID", 2}}));
  EXPECT_EQ(second["from2"], "loë");
  EXPECT_EQ(second["number"], "-");
  EXPECT_FALSE(second.contains("mid"));  // NULL email: omitted, processors do not run
}

TEST_F(MappingBodyTest, EventSource) {
  auto m = people_mapping(prop("id", R"(Retrieval="Event" Field="id")") +
                          prop("entity", R"(Retrieval="Event" Field="entity")") +
                          prop("action", R"(Retrieval="Event" Field="action")") +
                          prop("name", R"(Retrieval="Event" Field="name")") +
                          prop("at", R"(Retrieval="Event" Field="occurred_at")") +
                          prop("person", R"(Retrieval="Event" Field="PersonID")") +
                          prop("viaKeys", R"(Retrieval="Event" Field="keys.PersonID")") +
                          prop("first", R"(Retrieval="Event" Field="new.firstName")") +
                          prop("oldBadge", R"(Retrieval="Event" Field="old.eav.badge")") +
                          prop("count", R"(Retrieval="Event" Field="new.count")") +
                          prop("flag", R"(Retrieval="Event" Field="new.flag")") +
                          prop("nothing", R"(Retrieval="Event" Field="new.missing")") +
                          prop("nulled", R"(Retrieval="Event" Field="new.gone" Default="was null")") +
                          prop("arr", R"(Retrieval="Event" Field="new.list.1")") +
                          prop("obj", R"(Retrieval="Event" Field="old.eav")"));
  ASSERT_TRUE(m);
  Event e = event({{"PersonID", 7}});
  e.new_values =
      json::parse(R"({"firstName": "Ada", "count": 3, "flag": false, "gone": null, "list": ["a", "b"]})");
  e.old_values = json::parse(R"({"eav": {"badge": "B-1"}})");
  EXPECT_EQ(body_of(*m, e), json::parse(R"({
    "id": 42, "entity": "identity", "action": "UPDATE", "name": "REST Person Edited",
    "at": "2025-03-04T09:15:27.120Z", "person": 7, "viaKeys": 7, "first": "Ada", "oldBadge": "B-1",
    "count": 3, "flag": false, "nulled": "was null", "arr": "b", "obj": {"badge": "B-1"}})"));

  Event bare = event(json::object());
  bare.name.clear();  // NULL name
  json body = body_of(*m, bare);
  EXPECT_FALSE(body.contains("name"));
  EXPECT_FALSE(body.contains("first"));  // new_values is null
  EXPECT_EQ(body["nulled"], "was null");
}

TEST_F(MappingBodyTest, RuleAndExtraSources) {
  auto m = people_mapping(prop("rule.old", R"(Retrieval="Rule" Field="old")") +
                              prop("rule.level", R"(Retrieval="Rule" Field="level")") +
                              prop("rule.deep", R"(Retrieval="Rule" Field="meta.origin")") +
                              prop("rule.missing", R"(Retrieval="Rule" Field="nope" Default="-")") +
                              prop("ctx", R"(Retrieval="Context" Field="site")"),
                          {"Context"});
  ASSERT_TRUE(m);
  json extra = {
      {"Rule", {{"attribute", "Email"}, {"old", "a@x"}, {"level", 2}, {"meta", {{"origin", "hr"}}}}},
      {"Context", {{"site", "north"}}}};
  Event e = event({{"PersonID", 1}});
  EXPECT_EQ(body_of(*m, e, &extra), json::parse(R"({
    "rule": {"old": "a@x", "level": 2, "deep": "hr", "missing": "-"}, "ctx": "north"})"));
  EXPECT_EQ(body_of(*m, e, nullptr), json::parse(R"({"rule": {"missing": "-"}})"));

  // Without declaring it, Context is an unknown Retrieval.
  auto bad = load(with_body(prop("ctx", R"(Retrieval="Context" Field="site")")));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr(path() + ":4: <Source>: unknown Retrieval \"Context\""));
}

TEST_F(MappingBodyTest, SourceLoadErrors) {
  struct Case {
    std::string property;
    std::string message;
  };
  const Case cases[] = {
      {prop("a", R"(Retrieval="P" Field="Active" EncodingFormat="Bool")"),
       "<Source>: unknown EncodingFormat \"Bool\""},
      {prop("a", R"(Retrieval="P" Field="Active" DataType="Blob")"), "<Source>: unknown DataType \"Blob\""},
      {prop("a", R"(Retrieval="Nope" Field="Active")"), "<Source>: unknown Retrieval \"Nope\""},
      {prop("a", R"(Retrieval="P")"), "Retrieval needs a Field"},
      {prop("a", R"(Field="Active")"), "Field needs a Retrieval"},
      {prop("a", ""), "needs Retrieval and Field, or a Default"},
      {prop("a", R"(Retrieval="P" Field="Active" Fromat="x")"), "unknown attribute Fromat"},
      {prop("a", R"(Default="maybe" EncodingFormat="Boolean")"),
       "Default \"maybe\": value \"maybe\" is not a Boolean"},
      {prop("a", R"(Default="soon" EncodingFormat="Date")"), "Default \"soon\""},
      {prop("a", R"(Retrieval="Event" Field="new..x")"), "has an empty segment"},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="substring" P1="-1" />)"),
       "<Processor>: P1 \"-1\" is not a non-negative integer"},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="substring" P1="x" />)"),
       "P1 \"x\" is not a non-negative integer"},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="substring" P1="1" P2="-2" />)"),
       "P2 \"-2\" is not a non-negative integer"},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="substring" P1="1.5" />)"),
       "P1 \"1.5\""},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="substring" />)"), "needs P1"},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Processor Type="upper" P1="1" />)"),
       "<Processor>: unknown Type \"upper\""},
      {prop("a", R"(Retrieval="P" Field="FirstName")", R"(<Trim />)"), "<Trim>: unknown element"},
      {"<Property JPath=\"a\"/>", "needs a <Source>"},
      {"<Property><Source Default=\"1\"/></Property>", "JPath is required"},
      {"<Property JPath=\"a..b\"><Source Default=\"1\"/></Property>", "empty name"},
      // Latin-1 bytes where UTF-8 belongs: a name that no JSON text can hold.
      {"<Property JPath=\"caf\xe9\"><Source Default=\"1\"/></Property>", "JPath is not valid UTF-8"},
      {"<Property JPath=\"a\"><Source Default=\"1\"/><Source Default=\"2\"/></Property>",
       "exactly one <Source>"},
      {prop("a.b", R"(Default="1")") + prop("a.b", R"(Default="2")"), "used twice"},
      {prop("a", R"(Default="1")") + prop("a.b", R"(Default="2")"), "inside the value of a"},
      {"<Item JPath=\"a\"/>", "<Item>: unknown element (expected <Property>)"},
      {"stray text", "<Body>: unexpected text \"stray text\""},
  };
  for (const auto& c : cases) {
    auto m = load(with_source(R"(<DataSource ID="P" View="people" Lookup="PersonID" />)", c.property));
    ASSERT_FALSE(m) << c.property;
    EXPECT_THAT(m.error().message, HasSubstr(c.message)) << c.property;
    EXPECT_THAT(m.error().message, HasSubstr(path() + ":")) << c.property;
  }
}

// ---------------------------------------------------------------------------
// Whole-file errors.

class MappingLoadTest : public MappingFixture {};

TEST_F(MappingLoadTest, RootElement) {
  auto m = load("<?xml version=\"1.0\"?>\n<!-- nothing -->\n");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr(path() + ":"));
  EXPECT_THAT(m.error().message, HasSubstr("XML error: No document element found"));

  m = load("<?xml version=\"1.0\"?>\n<Notifications>\n<Endpoint URL=\"/x\"/>\n</Notifications>\n");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message,
              HasSubstr(path() + ":2: <Notifications>: the root element must be <Notification>"));

  m = load("<Notification>\n<Endpoint URL=\"/x\"/>\n</Notification>\n\n<Notification>\n</Notification>\n");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message,
              HasSubstr(path() + ":5: <Notification>: a mapping file has exactly one root"));
}

TEST_F(MappingLoadTest, MalformedXmlNamesTheLine) {
  auto m = load(
      "<Notification>\n  <Endpoint URL=\"/x\"/>\n  <Body>\n    <Property JPath=\"a\">\n  </Body>\n"
      "</Notification>\n");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr(path() + ":5: XML error: "));

  m = load("<Notification>\n\n<Endpoint URL=\"/x/>\n</Notification>\n");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr(path() + ":"));
  EXPECT_THAT(m.error().message, HasSubstr("XML error: Error parsing"));
}

TEST_F(MappingLoadTest, StructureErrors) {
  struct Case {
    std::string xml;
    std::string message;
  };
  const Case cases[] = {
      {"<Notification>\n<Body/>\n</Notification>", ":1: <Notification>: missing <Endpoint>"},
      {"<Notification>\n<Endpoint URL=\"/x\"/>\n<Endpoint URL=\"/y\"/>\n</Notification>",
       ":3: <Endpoint>: appears more than once"},
      {"<Notification>\n<Endpoint URL=\"/x\"/>\n<Headers/>\n</Notification>",
       ":3: <Headers>: unknown element"},
      {"<Notification Version=\"2\">\n<Endpoint URL=\"/x\"/>\n</Notification>",
       ":1: <Notification>: unknown attribute Version"},
      {"<Notification>\n<Endpoint URL=\"/x\"/>\n<DataSources>\n<Source/>\n</DataSources>\n</Notification>",
       ":4: <Source>: unknown element (expected <DataSource>)"},
      {"<Notification>\n<Endpoint URL=\"/x\" Verb=\"FETCH\"/>\n</Notification>",
       ":2: <Endpoint>: unknown Verb"},
  };
  for (const auto& c : cases) {
    auto m = load(c.xml);
    ASSERT_FALSE(m) << c.xml;
    EXPECT_THAT(m.error().message, HasSubstr(path() + c.message)) << c.xml;
  }
}

TEST_F(MappingLoadTest, MissingFile) {
  auto m = Mapping::load((dir_ / "absent.xml").string(), &db_);
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, HasSubstr("absent.xml"));
}

TEST_F(MappingLoadTest, MinimalMappingAndAttributesOrderFree) {
  // Body before Endpoint and DataSources last: order does not matter.
  auto m = load_ok(R"(<?xml version="1.0" encoding="utf-8"?>
<Notification xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <!-- a comment -->
  <Body>
    <Property JPath="who"><Source Retrieval="P" Field="FirstName" /></Property>
  </Body>
  <Endpoint URL="/people/{P.PersonID}" Verb="patch" />
  <DataSources><DataSource ID="P" View="people" Lookup="PersonID" /></DataSources>
</Notification>
)");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->path(), path());
  Event e = event({{"PersonID", 1}});
  auto r = m->render(RenderContext{e});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->verb, "PATCH");
  EXPECT_EQ(r->path, "/people/1");
  EXPECT_EQ(r->body, json::parse(R"({"who": "Ada"})"));

  auto empty = load_ok("<Notification><Endpoint URL=\"\"/></Notification>");
  ASSERT_TRUE(empty);
  auto r2 = empty->render(RenderContext{e});
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->path, "");
  EXPECT_TRUE(r2->body.is_object());
  EXPECT_TRUE(r2->body.empty());
  EXPECT_TRUE(empty->data_source_ids().empty());
}

}  // namespace
}  // namespace herald::mapping
