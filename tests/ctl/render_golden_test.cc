// Golden tests of `heraldctl render` for the twelve standard notifications,
// run on the demo: the producer database built from config/outbox.sql,
// config/demo/producer.sql and config/demo/events.sql, and the demo
// configuration config/demo/herald.toml (paths made absolute, endpoints
// pointed at an address nothing listens on: render sends nothing).
//
// The expected output of each is tests/golden/render/<mapping file stem>.json.
// After an intended change, regenerate them and review the diff:
//
//   HERALD_UPDATE_GOLDEN=1 build/bin/herald_tests --gtest_filter='RenderGolden*'
//
// Independently of the golden files, every output is checked against the
// standard notifications' definition: verb, endpoint path and the set of
// body fields, so a wrongly regenerated golden file does not go unnoticed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/sqlite.h"
#include "support/test_env.h"

namespace herald {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kSource = HERALD_SOURCE_DIR;
constexpr const char* kGuid = "[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}";

struct Standard {
  std::string name;                 // notification and lifecycle event name
  std::string stem;                 // mapping file without .xml; golden file name
  std::string verb;                 // as section 2.1 of the manual gives it
  std::string path;                 // regex of the URL path after the endpoint's url; GUID stands for a GUID
  std::vector<std::string> fields;  // every body leaf, as a JSON pointer
};

const std::vector<std::string> kPersonAccount = {"/person/id",
                                                 "/person/account/dn",
                                                 "/person/account/domain",
                                                 "/person/account/samAccountName",
                                                 "/person/account/upn",
                                                 "/person/contact/emailAddress",
                                                 "/person/enabled",
                                                 "/person/name/first",
                                                 "/person/name/fullName",
                                                 "/person/name/last",
                                                 "/person/group/id",
                                                 "/person/group/name",
                                                 "/person/logonName"};

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<std::string> kDeviceState = {"/device/id",
                                               "/device/sn",
                                               "/device/dt",
                                               "/device/validity/from",
                                               "/device/validity/to",
                                               "/device/validity/enabled",
                                               "/device/hid/serialNumber",
                                               "/device/hid/facilityCode",
                                               "/person/logonName"};
const std::vector<std::string> kDevicePerson = {"/person/id",
                                                "/person/group/id",
                                                "/person/group/name",
                                                "/person/name/first",
                                                "/person/name/last",
                                                "/person/employeeId",
                                                "/person/contact/emailAddress",
                                                "/person/logonName",
                                                "/device/id",
                                                "/device/sn",
                                                "/device/dt",
                                                "/device/hid/serialNumber",
                                                "/device/hid/facilityCode"};
const std::vector<std::string> kRequest = {"/request/target/id",
                                           "/request/target/name",
                                           "/request/target/logonName",
                                           "/request/task/desc",
                                           "/request/id",
                                           "/request/initiationDate",
                                           "/request/status",
                                           "/request/credProfile/id",
                                           "/request/credProfile/name"};

const std::vector<Standard>& standards() {
  static const std::vector<Standard> kAll = {
      {"DisableCard", "DisableCard", "POST", "/devices/GUID/deviceDisabled", kDeviceState},
      {"EnableCard", "EnableCard", "POST", "/devices/GUID/deviceEnabled", kDeviceState},
      {"REST Device Cancelled", "RESTDeviceCancelled", "POST", "/devices/GUID/deviceCancelled",
       kDevicePerson},
      {"REST Device Issued", "RESTDeviceIssued", "POST", "/devices/deviceIssued",
       plus(kDevicePerson,
            {"/person/photo", "/device/validity/from", "/device/validity/to", "/device/validity/enabled"})},
      {"REST Device Reassigned",
       "RESTDeviceReassigned",
       "POST",
       "/devices/deviceReassigned",
       {"/devices/id", "/devices/previousOwnerID", "/devices/newOwnerID", "/devices/operation"}},
      {"REST Person Added", "RESTPersonAdded", "PATCH", "/people/GUID/personAdded",
       plus(kPersonAccount, {"/person/employeeId"})},
      {"REST Person Deleted", "RESTPersonDeleted", "DELETE", "/people/GUID/personDeleted", kPersonAccount},
      {"REST Person Disabled", "RESTPersonDisabled", "POST", "/people/GUID/personDisabled",
       plus(kPersonAccount, {"/person/employeeId"})},
      {"REST Person Edited", "RESTPersonEdited", "PATCH", "/people/GUID/personEdited",
       plus(kPersonAccount, {"/person/employeeId"})},
      {"REST Person Enabled", "RESTPersonEnabled", "POST", "/people/GUID/personEnabled",
       plus(kPersonAccount, {"/person/employeeId"})},
      {"REST Request Added", "RESTRequestAdded", "POST", "/requests/GUID/requestAdded", kRequest},
      {"REST Request Updated", "RESTRequestUpdated", "PATCH", "/request/GUID/requestUpdated", kRequest},
  };
  return kAll;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << "config/demo/herald.toml no longer contains: " << from;
  text.replace(pos, from.size(), to);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::set<std::string> leaves(const json& body) {
  std::set<std::string> out;
  const json flat = body.flatten();
  for (const auto& [pointer, value] : flat.items()) out.insert(pointer);
  return out;
}

class RenderGoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db_path = dir_.file("producer.db");
    auto db = db::Database::open(db_path, db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    for (const char* file : {"config/outbox.sql", "config/demo/producer.sql", "config/demo/events.sql"}) {
      auto s = db->exec(test::read_file(kSource + "/" + file));
      ASSERT_TRUE(s) << file << ": " << s.error().message;
    }
    for (const auto& n : standards()) {
      auto st = db->prepare("SELECT id FROM herald_outbox WHERE name = ?1 ORDER BY id LIMIT 1");
      ASSERT_TRUE(st) << st.error().message;
      st->bind(1, n.name);
      auto row = st->step();
      ASSERT_TRUE(row) << row.error().message;
      ASSERT_TRUE(*row) << "config/demo/events.sql has no event named '" << n.name << "'";
      event_ids_.push_back(st->column_int(0));
    }

    // The demo configuration, run from the temporary folder.
    std::string config = test::read_file(kSource + "/config/demo/herald.toml");
    replace_once(config, "plugin_dir = \"../plugins\"",
                 "plugin_dir = \"" + std::string(HERALD_TEST_PLUGIN_DIR) + "\"");
    replace_once(config, "mapping_dir = \"../../mappings\"", "mapping_dir = \"" + kSource + "/mappings\"");
    for (auto pos = config.find("127.0.0.1:18080"); pos != std::string::npos;
         pos = config.find("127.0.0.1:18080")) {
      config.replace(pos, 15, "127.0.0.1:9");
    }
    for (auto pos = config.find("\"../../config/templates/"); pos != std::string::npos;
         pos = config.find("\"../../config/templates/")) {
      config.replace(pos, 24, "\"" + kSource + "/config/templates/");
    }
    config_ = dir_.file("herald.toml");
    test::write_file(config_, config);
    test::write_file(dir_.file("pep.password"), test::read_file(kSource + "/config/demo/pep.password"));
  }

  json render(const std::string& notification, long long event_id) {
    auto r = test::run_process(std::string(HERALDCTL_PATH) + " -c " + shell_quote(config_) +
                               " render --notification " + shell_quote(notification) + " --event-id " +
                               std::to_string(event_id));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    // Configuration warnings (the demo's local mail relay without TLS) come first, on stderr.
    size_t start = r.output.rfind('{', 0) == 0 ? 0 : r.output.find("\n{");
    json out = json::parse(start == std::string::npos ? r.output : r.output.substr(start), nullptr, false);
    EXPECT_FALSE(out.is_discarded()) << "not JSON: " << r.output;
    return out;
  }

  test::TempDir dir_;
  std::string config_;
  std::vector<long long> event_ids_;
};

TEST_F(RenderGoldenTest, MatchesGoldenFiles) {
  const bool update =
      std::getenv("HERALD_UPDATE_GOLDEN") && std::string(std::getenv("HERALD_UPDATE_GOLDEN")) == "1";
  const fs::path golden_dir = fs::path(kSource) / "tests/golden/render";
  ASSERT_EQ(event_ids_.size(), standards().size());
  for (std::size_t i = 0; i < standards().size(); ++i) {
    const Standard& n = standards()[i];
    SCOPED_TRACE(n.name + " (event " + std::to_string(event_ids_[i]) + ")");
    json actual = render(n.name, event_ids_[i]);
    const fs::path golden = golden_dir / (n.stem + ".json");
    if (update) {
      fs::create_directories(golden_dir);
      test::write_file(golden.string(), actual.dump(2) + "\n");
      std::cout << "wrote " << golden.string() << "\n";
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; HERALD_UPDATE_GOLDEN=1 writes it";
    json expected = json::parse(test::read_file(golden.string()), nullptr, false);
    ASSERT_FALSE(expected.is_discarded()) << golden << " is not JSON";
    EXPECT_EQ(actual, expected) << "differences (JSON patch from golden to actual): "
                                << json::diff(expected, actual).dump(2)
                                << "\nIf the change is intended: HERALD_UPDATE_GOLDEN=1 rewrites " << golden;
  }
}

TEST_F(RenderGoldenTest, OutputsFollowTheStandardDefinitions) {
  for (std::size_t i = 0; i < standards().size(); ++i) {
    const Standard& n = standards()[i];
    SCOPED_TRACE(n.name);
    json out = render(n.name, event_ids_[i]);
    ASSERT_TRUE(out.is_object());
    EXPECT_EQ(out["method"], n.verb);
    std::string path = n.path;
    if (auto g = path.find("GUID"); g != std::string::npos) path.replace(g, 4, kGuid);
    const std::string url = out.value("url", "");
    EXPECT_TRUE(std::regex_match(url, std::regex("http://127\\.0\\.0\\.1:9/Notify" + path))) << url;
    EXPECT_EQ(out["headers"]["Content-Type"], "application/json");
    EXPECT_EQ(out["headers"]["X-Herald-Message-Id"], "00000000-0000-4000-8000-000000000000");
    // Every field the definition lists is there, and nothing else: the demo
    // data has a value for each of them.
    const std::set<std::string> expected(n.fields.begin(), n.fields.end());
    EXPECT_EQ(leaves(out["body"]), expected) << out["body"].dump(2);
    // GUIDs are sent without braces; Boolean fields are JSON booleans.
    const json flat = out["body"].flatten();
    for (const auto& [pointer, value] : flat.items()) {
      if (value.is_string()) {
        EXPECT_EQ(value.get<std::string>().find('{'), std::string::npos) << pointer;
      }
      if (pointer.size() >= 8 && pointer.compare(pointer.size() - 8, 8, "/enabled") == 0 &&
          pointer.rfind("/device/", 0) == 0) {
        EXPECT_TRUE(value.is_boolean()) << pointer;
      }
    }
  }
}

}  // namespace
}  // namespace herald
