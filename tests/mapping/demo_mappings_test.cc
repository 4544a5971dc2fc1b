// The 12 standard mapping files in mappings/ rendered against the demo
// producer database built from config/demo/producer.sql.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/json_text.h"
#include "db/sqlite.h"
#include "mapping/mapping.h"

namespace herald::mapping {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kPhotoBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGPQyt8CAAIUAU5XXJt1AAAAAElFTkSuQmCC";

const char* const kMappingFiles[] = {
    "DisableCard.xml",          "EnableCard.xml",        "RESTDeviceCancelled.xml", "RESTDeviceIssued.xml",
    "RESTDeviceReassigned.xml", "RESTPersonAdded.xml",   "RESTPersonDeleted.xml",   "RESTPersonDisabled.xml",
    "RESTPersonEdited.xml",     "RESTPersonEnabled.xml", "RESTRequestAdded.xml",    "RESTRequestUpdated.xml"};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MappingDemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("herald_mapping_demo_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = db::Database::open((dir_ / "producer.db").string(), db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(db).value();
    const fs::path source(HERALD_SOURCE_DIR);
    auto s = db_.exec("PRAGMA synchronous = OFF");
    ASSERT_TRUE(s) << s.error().message;
    s = db_.exec(read_text(source / "config/demo/producer.sql"));
    ASSERT_TRUE(s) << s.error().message;
    s = db_.exec(read_text(source / "config/outbox.sql"));  // the real layout: outbox beside the views
    ASSERT_TRUE(s) << s.error().message;
    for (const char* file : kMappingFiles) {
      auto m = Mapping::load((source / "mappings" / file).string(), &db_);
      ASSERT_TRUE(m) << m.error().message;
      mappings_[file] = *m;
    }
  }

  void TearDown() override {
    mappings_.clear();
    db_ = db::Database();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  RenderedMessage render(const std::string& file, const std::string& entity, const std::string& name,
                         json keys) {
    Event e;
    e.id = 1;
    e.entity = entity;
    e.action = "UPDATE";
    e.name = name;
    e.keys = std::move(keys);
    e.occurred_at = "2025-03-04T10:00:00.000Z";
    auto r = mappings_.at(file)->render(RenderContext{e});
    EXPECT_TRUE(r) << file << ": " << r.error().message;
    if (!r) return RenderedMessage{};
    // The body written as text without a tree is the tree's text, byte for byte.
    auto text = mappings_.at(file)->render(RenderContext{e}, BodyForm::Text);
    EXPECT_TRUE(text) << file << ": " << text.error().message;
    if (text) {
      EXPECT_EQ(text->body_text, json_text(r->body)) << file;
      EXPECT_TRUE(text->body.is_null()) << file;
      EXPECT_EQ(text->path, r->path) << file;
      EXPECT_EQ(text->verb, r->verb) << file;
    }
    return *r;
  }

  fs::path dir_;
  db::Database db_;
  std::map<std::string, std::shared_ptr<Mapping>> mappings_;
};

TEST_F(MappingDemoTest, AllTwelveLoad) {
  EXPECT_EQ(mappings_.size(), 12u);
  EXPECT_EQ(mappings_.at("RESTDeviceIssued.xml")->data_source_ids(),
            (std::vector<std::string>{"Devices", "People"}));
}

TEST_F(MappingDemoTest, DisableCard) {
  auto r = render("DisableCard.xml", "device", "DisableCard", {{"DeviceID", 2}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/devices/1881ED1F-6416-4CFF-91A5-57B03FE208B4/deviceDisabled");
  EXPECT_EQ(r.body, json::parse(R"({
    "device": {
      "id": "1881ED1F-6416-4CFF-91A5-57B03FE208B4",
      "sn": "4F21A0C3E2",
      "dt": "PIV",
      "validity": {"from": "2023-06-01T13:05:09.250Z", "to": "2026-05-31T00:00:00.000Z", "enabled": false},
      "hid": {"serialNumber": "204902", "facilityCode": "117"}
    },
    "person": {"logonName": "obrennan"}
  })"));
  EXPECT_TRUE(r.body["device"]["validity"]["enabled"].is_boolean());
}

TEST_F(MappingDemoTest, EnableCard) {
  auto r = render("EnableCard.xml", "device", "EnableCard", {{"DeviceID", 1}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/devices/E0136D86-4423-4B70-B60D-632617530997/deviceEnabled");
  EXPECT_EQ(r.body["device"]["validity"], json::parse(R"({
    "from": "2024-02-12T09:30:00.000Z", "to": "2027-02-11T23:59:59.000Z", "enabled": true})"));
  EXPECT_EQ(r.body["device"]["hid"]["serialNumber"], "204817");
  EXPECT_EQ(r.body["person"]["logonName"], "hnakamura");
}

TEST_F(MappingDemoTest, DeviceCancelled) {
  auto r = render("RESTDeviceCancelled.xml", "device", "REST Device Cancelled",
                  {{"DeviceID", 4}, {"PersonID", 4}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/devices/916D5306-2184-4E9F-95AF-804DD62522EA/deviceCancelled");
  EXPECT_EQ(r.body, json::parse(R"({
    "person": {
      "id": "BC4F74F1-AA8A-49EA-A04C-678D6D5D1BE3",
      "group": {"id": "2E1DEFBA-FCC2-4660-85A3-5630D91BD8C8", "name": "Corporate"},
      "name": {"first": "Rafael", "last": "Mensah"},
      "contact": {"emailAddress": "rafael.mensah@example.com"},
      "employeeId": "EMP-10120",
      "logonName": "rmensah"
    },
    "device": {
      "id": "916D5306-2184-4E9F-95AF-804DD62522EA",
      "sn": "4F21A0C401",
      "dt": "PIV",
      "hid": {"serialNumber": "199340", "facilityCode": "117"}
    }
  })"));
}

TEST_F(MappingDemoTest, DeviceIssued) {
  auto r = render("RESTDeviceIssued.xml", "device", "REST Device Issued", {{"DeviceID", 1}, {"PersonID", 1}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/devices/deviceIssued");
  EXPECT_EQ(r.body["person"]["id"], "F9CBC5EE-5CA9-4E5F-9B0D-5ACF5101726C");
  EXPECT_EQ(r.body["person"]["photo"], kPhotoBase64);
  EXPECT_EQ(r.body["person"]["group"]["name"], "Security Office");
  EXPECT_EQ(r.body["person"]["logonName"], "hnakamura");
  EXPECT_EQ(r.body["device"]["id"], "E0136D86-4423-4B70-B60D-632617530997");
  EXPECT_EQ(r.body["device"]["validity"]["enabled"], true);
  EXPECT_EQ(r.body["device"]["hid"]["facilityCode"], "117");

  // A virtual smart card has no HID numbers and its owner no photo: left out.
  auto vsc =
      render("RESTDeviceIssued.xml", "device", "REST Device Issued", {{"DeviceID", 3}, {"PersonID", 3}});
  EXPECT_FALSE(vsc.body["device"].contains("hid"));
  EXPECT_FALSE(vsc.body["person"].contains("photo"));
  EXPECT_EQ(vsc.body["person"]["name"]["first"], "Zoë");
  EXPECT_EQ(vsc.body["device"]["dt"], "Virtual Smart Card");
}

TEST_F(MappingDemoTest, DeviceReassigned) {
  auto r = render("RESTDeviceReassigned.xml", "device", "REST Device Reassigned",
                  {{"DeviceID", 3}, {"PreviousPersonID", 2}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/devices/deviceReassigned");
  EXPECT_EQ(r.body, json::parse(R"({
    "devices": {
      "id": "A2A3B932-F85A-42B7-99C9-65F347A1FF80",
      "previousOwnerID": "DC723550-43C9-48A1-A5F0-9E3B0AF2FB15",
      "newOwnerID": "92EA4783-F9A1-4FE9-B3F0-FBFFA26FACCC",
      "operation": "reassign"
    }
  })"));
}

TEST_F(MappingDemoTest, PersonAdded) {
  auto r = render("RESTPersonAdded.xml", "identity", "REST Person Added", {{"PersonID", 3}});
  EXPECT_EQ(r.verb, "PATCH");
  EXPECT_EQ(r.path, "/people/92EA4783-F9A1-4FE9-B3F0-FBFFA26FACCC/personAdded");
  EXPECT_EQ(r.body, json::parse(R"({
    "person": {
      "id": "92EA4783-F9A1-4FE9-B3F0-FBFFA26FACCC",
      "account": {
        "dn": "CN=Zoë Achterberg,OU=Facilities,DC=corp,DC=example,DC=com",
        "domain": "CORP",
        "samAccountName": "zachterberg",
        "upn": "zachterberg@corp.example.com"
      },
      "contact": {"emailAddress": "zoe.achterberg@example.com"},
      "employeeId": "EMP-10112",
      "enabled": "1",
      "name": {"first": "Zoë", "fullName": "Zoë Achterberg", "last": "Achterberg"},
      "group": {"id": "BEEF32AF-8040-4159-B1F3-798EFDB0D2FE", "name": "Facilities"},
      "logonName": "zachterberg"
    }
  })"));
}

TEST_F(MappingDemoTest, PersonDeleted) {
  auto r = render("RESTPersonDeleted.xml", "identity", "REST Person Deleted", {{"PersonID", 5}});
  EXPECT_EQ(r.verb, "DELETE");
  EXPECT_EQ(r.path, "/people/3AB4F75D-3623-4519-A169-D6345C7D334C/personDeleted");
  EXPECT_EQ(r.body["person"]["enabled"], "0");
  EXPECT_EQ(r.body["person"]["logonName"], "tkowalski");
  EXPECT_FALSE(r.body["person"].contains("employeeId"));
}

TEST_F(MappingDemoTest, PersonDisabledEditedEnabled) {
  auto disabled = render("RESTPersonDisabled.xml", "identity", "REST Person Disabled", {{"PersonID", 4}});
  EXPECT_EQ(disabled.verb, "POST");
  EXPECT_EQ(disabled.path, "/people/BC4F74F1-AA8A-49EA-A04C-678D6D5D1BE3/personDisabled");
  EXPECT_EQ(disabled.body["person"]["enabled"], "0");
  EXPECT_EQ(disabled.body["person"]["employeeId"], "EMP-10120");

  auto edited = render("RESTPersonEdited.xml", "identity", "REST Person Edited", {{"PersonID", 2}});
  EXPECT_EQ(edited.verb, "PATCH");
  EXPECT_EQ(edited.path, "/people/DC723550-43C9-48A1-A5F0-9E3B0AF2FB15/personEdited");
  EXPECT_EQ(edited.body["person"]["enabled"], "1");
  EXPECT_EQ(edited.body["person"]["name"]["fullName"], "Owen Brennan");
  EXPECT_EQ(edited.body["person"]["account"]["upn"], "obrennan@corp.example.com");

  auto enabled = render("RESTPersonEnabled.xml", "identity", "REST Person Enabled", {{"PersonID", 1}});
  EXPECT_EQ(enabled.verb, "POST");
  EXPECT_EQ(enabled.path, "/people/F9CBC5EE-5CA9-4E5F-9B0D-5ACF5101726C/personEnabled");
  EXPECT_EQ(enabled.body["person"]["enabled"], "1");
  EXPECT_EQ(enabled.body["person"]["group"]["id"], "0C1CA393-1943-4062-BB49-D4E61290703C");
}

TEST_F(MappingDemoTest, RequestAdded) {
  auto r =
      render("RESTRequestAdded.xml", "request", "REST Request Added", {{"JobID", 1001}, {"PersonID", 3}});
  EXPECT_EQ(r.verb, "POST");
  EXPECT_EQ(r.path, "/requests/4E403FDD-A073-4DB6-93D1-2E25E057EC96/requestAdded");
  EXPECT_EQ(r.body, json::parse(R"({
    "request": {
      "target": {"id": "92EA4783-F9A1-4FE9-B3F0-FBFFA26FACCC", "name": "Zoë Achterberg", "logonName": "zachterberg"},
      "task": {"desc": "IssueCard"},
      "id": "4E403FDD-A073-4DB6-93D1-2E25E057EC96",
      "initiationDate": "2025-03-04T09:15:27.000Z",
      "status": "Awaiting Issue",
      "credProfile": {"id": "1360EA63-7754-4246-9583-69600124AD3F", "name": "PIV Standard"}
    }
  })"));
}

TEST_F(MappingDemoTest, RequestUpdated) {
  auto r = render("RESTRequestUpdated.xml", "request", "REST Request Updated", {{"JobID", 1002}});
  EXPECT_EQ(r.verb, "PATCH");
  EXPECT_EQ(r.path, "/request/14B260F4-933D-4460-8FCC-54D0123DC364/requestUpdated");
  EXPECT_EQ(r.body["request"]["status"], "Completed");
  EXPECT_EQ(r.body["request"]["initiationDate"], "2024-02-10T16:48:03.000Z");
  EXPECT_EQ(r.body["request"]["target"]["logonName"], "hnakamura");
}

TEST_F(MappingDemoTest, UnknownSubjectCannotBeSent) {
  Event e;
  e.entity = "device";
  e.keys = {{"DeviceID", 99}};
  auto r = mappings_.at("DisableCard.xml")->render(RenderContext{e});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message,
              ::testing::HasSubstr("DisableCard.xml:7: <Endpoint>: placeholder {Devices.ObjectID}"));
}

}  // namespace
}  // namespace herald::mapping
