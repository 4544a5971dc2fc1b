// The worked examples of the mapping-file specification (the product manual,
// section 2.2), each run as written against a small producer database that
// has the views they name: vPeopleUserAccounts, vDevices, vCertInstances.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "db/sqlite.h"
#include "mapping/mapping.h"

namespace herald::mapping {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The manual's FASC-N example value, spaced around the dashes exactly as the
// manual prints it: "0011 - 0000 - " is 14 characters, so the 6 characters
// from position 14 are the agency's "250018".
constexpr const char* kSn3 = "0011 - 0000 - 250018 - 1 - 1 - 0000000001 1 1234 4 - 28";

constexpr const char* kSchema = R"sql(
PRAGMA synchronous = OFF;
CREATE TABLE people (PersonID INTEGER PRIMARY KEY, ObjectID TEXT, Email TEXT);
INSERT INTO people VALUES (1, '{f0e1d2c3-0000-4000-8000-00000000000a}', 'pat.doe@example.com');
CREATE VIEW vPeopleUserAccounts AS SELECT PersonID, ObjectID, Email FROM people;

CREATE TABLE devices (DeviceID INTEGER PRIMARY KEY, ObjectID TEXT, SN3 TEXT, Enabled INTEGER);
CREATE VIEW vDevices AS SELECT DeviceID, ObjectID, SN3, Enabled FROM devices;

CREATE TABLE cert_instances (CertInstanceID INTEGER PRIMARY KEY, DeviceID INTEGER, ContainerName TEXT,
                             SerialNumber TEXT);
INSERT INTO cert_instances VALUES
  (1, 10, '5FC101', 'CARD-AUTH-01'),
  (2, 10, '5FC105', 'PIV-AUTH-01'),
  (3, 10, '5FC10A', 'SIGNATURE-01'),
  (4, 11, '5FC105', 'PIV-AUTH-02');
CREATE VIEW vCertInstances AS SELECT CertInstanceID, DeviceID, ContainerName, SerialNumber FROM cert_instances;
)sql";

class ManualExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::path(::testing::TempDir()) /
           ("herald_manual_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = db::Database::open((dir_ / "producer.db").string(), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(db).value();
    auto s = db_.exec(kSchema);
    ASSERT_TRUE(s) << s.error().message;
    auto insert = db_.prepare("INSERT INTO devices VALUES (?1, ?2, ?3, ?4)");
    ASSERT_TRUE(insert) << insert.error().message;
    // The device GUID of the manual's endpoint example, stored in braces.
    insert->bind(1, 10).bind(2, "{79036d80-8322-404f-b146-f37af6b016b4}").bind(3, kSn3).bind(4, 1);
    ASSERT_TRUE(insert->run());
    insert->bind(1, 11).bind(2, "{0a0b0c0d-1111-4222-8333-444455556666}").bind(3, "short").bind(4, 0);
    ASSERT_TRUE(insert->run());
  }

  void TearDown() override {
    db_ = db::Database();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  RenderedMessage render(const std::string& xml, json keys) {
    const std::string path = (dir_ / "example.xml").string();
    std::ofstream(path, std::ios::binary) << xml;
    auto m = Mapping::load(path, &db_);
    EXPECT_TRUE(m) << m.error().message;
    if (!m) return {};
    Event e;
    e.id = 1;
    e.entity = "device";
    e.action = "UPDATE";
    e.keys = std::move(keys);
    auto r = (*m)->render(RenderContext{e});
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : RenderedMessage{};
  }

  fs::path dir_;
  db::Database db_;
};

// 2.2.2: two data sources; a device field in the endpoint and a person field
// in the body (the <Source> attributes in the manual's order).
TEST_F(ManualExamplesTest, DataSourcesExample) {
  auto r = render(R"(<Notification>
  <DataSources>
    <DataSource ID="People" View="vPeopleUserAccounts" Lookup="PersonID" />
    <DataSource ID="Devices" View="vDevices" Lookup="DeviceID" />
  </DataSources>
  <Endpoint Verb="POST" URL="/devices/{Devices.ObjectID}/deviceCancelled" />
  <Body>
    <Property JPath="person.contact.emailAddress">
      <Source Field="Email" Retrieval="People" />
    </Property>
  </Body>
</Notification>)",
                  {{"PersonID", 1}, {"DeviceID", 10}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/devices/79036d80-8322-404f-b146-f37af6b016b4/deviceCancelled");
  EXPECT_EQ(r.body, json::parse(R"({"person": {"contact": {"emailAddress": "pat.doe@example.com"}}})"));
}

// 2.2.2.1: several certificates per device; the element-form <Where> picks
// the PIV Authentication one (container 5FC105), not the first row.
TEST_F(ManualExamplesTest, PivAuthCertWhereExample) {
  const std::string element_form = R"(<Notification>
  <DataSources>
    <DataSource ID="PivAuthCert" View="vCertInstances" Lookup="DeviceID">
      <Where>
        <FieldName>ContainerName</FieldName>
        <FieldValue>5FC105</FieldValue>
        <Operation>=</Operation>
      </Where>
    </DataSource>
  </DataSources>
  <Endpoint URL="/certs" />
  <Body>
    <Property JPath="cert.serial"><Source Retrieval="PivAuthCert" Field="SerialNumber" /></Property>
    <Property JPath="cert.container"><Source Retrieval="PivAuthCert" Field="ContainerName" /></Property>
  </Body>
</Notification>)";
  EXPECT_EQ(render(element_form, {{"DeviceID", 10}}).body,
            json::parse(R"({"cert": {"serial": "PIV-AUTH-01", "container": "5FC105"}})"));
  EXPECT_EQ(render(element_form, {{"DeviceID", 11}}).body["cert"]["serial"], "PIV-AUTH-02");

  // The attribute form says the same.
  const std::string attribute_form = R"(<Notification>
  <DataSources>
    <DataSource ID="PivAuthCert" View="vCertInstances" Lookup="DeviceID">
      <Where FieldName="ContainerName" FieldValue="5FC105" Operation="=" />
    </DataSource>
  </DataSources>
  <Endpoint URL="/certs" />
  <Body>
    <Property JPath="cert.serial"><Source Retrieval="PivAuthCert" Field="SerialNumber" /></Property>
  </Body>
</Notification>)";
  EXPECT_EQ(render(attribute_form, {{"DeviceID", 10}}).body["cert"]["serial"], "PIV-AUTH-01");
}

// 2.2.3: API location + endpoint URL, the GUID's braces removed.
TEST_F(ManualExamplesTest, EndpointExample) {
  auto r = render(R"(<Notification>
  <DataSources>
    <DataSource ID="Devices" View="vDevices" Lookup="DeviceID" />
  </DataSources>
  <Endpoint Verb="POST" URL="/devices/{Devices.ObjectID}/deviceCancelled" />
</Notification>)",
                  {{"DeviceID", 10}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(join_url("https://myserver/Notify", r.path),
            "https://myserver/Notify/devices/79036d80-8322-404f-b146-f37af6b016b4/deviceCancelled");
  EXPECT_EQ(r.body, json::object());
}

// 2.3: a fixed endpoint appended to the API location; no Verb means POST.
TEST_F(ManualExamplesTest, ApiLocationExample) {
  auto r = render(R"(<Notification><Endpoint Verb="POST" URL="/devices/deviceIssued" /></Notification>)", {});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(join_url("https://myserver.example.com/Notify", r.path),
            "https://myserver.example.com/Notify/devices/deviceIssued");
  auto defaulted = render(R"(<Notification><Endpoint URL="/devices/deviceIssued" /></Notification>)", {});
  EXPECT_EQ(defaulted.verb, "POST");
}

// 2.2.4: Enabled is 0 or 1 in the database, true or false in the JSON.
TEST_F(ManualExamplesTest, BooleanEnabledExample) {
  const std::string xml = R"(<Notification>
  <DataSources>
    <DataSource ID="Devices" View="vDevices" Lookup="DeviceID" />
  </DataSources>
  <Endpoint URL="/x" />
  <Body>
    <Property JPath="device.validity.enabled">
      <Source EncodingFormat="Boolean" Field="Enabled" Retrieval="Devices" />
    </Property>
  </Body>
</Notification>)";
  auto on = render(xml, {{"DeviceID", 10}});
  EXPECT_EQ(on.body, json::parse(R"({"device": {"validity": {"enabled": true}}})"));
  EXPECT_TRUE(on.body["device"]["validity"]["enabled"].is_boolean());
  EXPECT_EQ(render(xml, {{"DeviceID", 11}}).body,
            json::parse(R"({"device": {"validity": {"enabled": false}}})"));
}

// 2.2.4.1: six characters from zero-based position 14 of SN3.
TEST_F(ManualExamplesTest, SubstringFascnExample) {
  const std::string xml = R"(<Notification>
  <DataSources>
    <DataSource ID="Devices" View="vDevices" Lookup="DeviceID" />
  </DataSources>
  <Endpoint URL="/x" />
  <Body>
    <Property JPath="device.fascn">
      <Source Field="SN3" Retrieval="Devices">
        <Processor Type="substring" P1="14" P2="6"/>
      </Source>
    </Property>
  </Body>
</Notification>)";
  EXPECT_EQ(render(xml, {{"DeviceID", 10}}).body, json::parse(R"({"device": {"fascn": "250018"}})"));
  // A value shorter than the start position gives an empty string.
  EXPECT_EQ(render(xml, {{"DeviceID", 11}}).body, json::parse(R"({"device": {"fascn": ""}})"));
}

// 2.2.4: Default stands in for a missing value or replaces the retrieval;
// without one, a missing value leaves its JPath out.
TEST_F(ManualExamplesTest, DefaultAndOmission) {
  const std::string xml = R"(<Notification>
  <DataSources>
    <DataSource ID="People" View="vPeopleUserAccounts" Lookup="PersonID" />
  </DataSources>
  <Endpoint URL="/x" />
  <Body>
    <Property JPath="device.id"><Source Default="static" /></Property>
    <Property JPath="person.email"><Source Retrieval="People" Field="Email" Default="unknown" /></Property>
    <Property JPath="person.id"><Source Retrieval="People" Field="ObjectID" DataType="Guid" /></Property>
  </Body>
</Notification>)";
  EXPECT_EQ(render(xml, {{"PersonID", 1}}).body, json::parse(R"({
    "device": {"id": "static"},
    "person": {"email": "pat.doe@example.com", "id": "f0e1d2c3-0000-4000-8000-00000000000a"}})"));
  EXPECT_EQ(render(xml, {{"PersonID", 2}}).body,
            json::parse(R"({"device": {"id": "static"}, "person": {"email": "unknown"}})"));
}

}  // namespace
}  // namespace herald::mapping
