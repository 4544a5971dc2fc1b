// Recipient resolution against a real producer database built from
// config/outbox.sql and config/demo/producer.sql.
#include "rules/recipients.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_env.h"

namespace herald::rules {
namespace {

using json = nlohmann::json;
using test::TempDir;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Demo people: 1 Hana (no manager; Administrators, Security), 2 Owen
// (manager 1; contract manager 5, deleted), 3 Zoë (manager 2; contract
// manager 1), 4 Rafael (manager 1; contract manager 1; an ended contract
// with 3; Security), 5 Teresa (deleted; Security).
class RecipientResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("producer.db");
    auto db = db::Database::open(path_, db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    const std::string source = HERALD_SOURCE_DIR;
    auto s = db->exec(test::read_file(source + "/config/outbox.sql"));
    ASSERT_TRUE(s) << s.error().message;
    s = db->exec(test::read_file(source + "/config/demo/producer.sql"));
    ASSERT_TRUE(s) << s.error().message;
  }

  // Changes to the demo data, made before the resolver opens the file.
  void exec(const std::string& sql) {
    auto db = db::Database::open(path_, db::Database::Mode::ReadWriteCreate);
    ASSERT_TRUE(db) << db.error().message;
    auto s = db->exec(sql);
    ASSERT_TRUE(s) << s.error().message;
  }

  RecipientResolver& resolver(const RecipientQueries& q = {}) {
    auto db = db::Database::open(path_, db::Database::Mode::ReadOnly);
    EXPECT_TRUE(db) << db.error().message;
    db_ = std::move(db).value();
    auto r = RecipientResolver::prepare(db_, q);
    EXPECT_TRUE(r) << r.error().message;
    resolver_.emplace(std::move(r).value());
    return *resolver_;
  }

  std::string prepare_error(const RecipientQueries& q) {
    auto db = db::Database::open(path_, db::Database::Mode::ReadOnly);
    EXPECT_TRUE(db) << db.error().message;
    db_ = std::move(db).value();
    auto r = RecipientResolver::prepare(db_, q);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message;
  }

  static Event event_for(json person_id) {
    Event e;
    e.id = 1;
    e.entity = "identity";
    e.action = "UPDATE";
    e.keys = json::object();
    if (!person_id.is_null()) e.keys["PersonID"] = std::move(person_id);
    return e;
  }

  static std::vector<std::string> ids(const std::vector<Recipient>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.identity);
    return out;
  }

  std::vector<std::string> resolve_ids(RecipientResolver& r, const RecipientSpec& spec, const Event& e,
                                       const std::vector<std::string>& extra = {}) {
    auto rs = r.resolve(spec, e, extra);
    EXPECT_TRUE(rs) << rs.error().message;
    return rs ? ids(*rs) : std::vector<std::string>{};
  }

  TempDir dir_;
  std::string path_;
  db::Database db_;
  std::optional<RecipientResolver> resolver_;
};

TEST_F(RecipientResolverTest, TheIdentityItself) {
  auto& r = resolver();
  RecipientSpec spec;
  spec.identity = true;
  auto rs = r.resolve(spec, event_for(3), {});
  ASSERT_TRUE(rs) << rs.error().message;
  ASSERT_EQ(rs->size(), 1u);
  EXPECT_EQ((*rs)[0].identity, "3");
  EXPECT_EQ((*rs)[0].address, "zoe.achterberg@example.com");
  EXPECT_EQ((*rs)[0].name, "Zoë Achterberg");
  EXPECT_FALSE(r.used_fallback());
  // The key may hold text as well.
  EXPECT_THAT(resolve_ids(r, spec, event_for("3")), ElementsAre("3"));
}

TEST_F(RecipientResolverTest, ManagersAreTheUnionOverContracts) {
  auto& r = resolver();
  RecipientSpec spec;
  spec.manager = true;
  // Zoë: Owen from the organisation, Hana from her contract.
  auto rs = r.resolve(spec, event_for(3), {});
  ASSERT_TRUE(rs) << rs.error().message;
  EXPECT_THAT(ids(*rs), ElementsAre("1", "2"));
  EXPECT_EQ((*rs)[0].address, "hana.nakamura@example.com");
  EXPECT_EQ((*rs)[0].name, "Hana Nakamura");
  // Rafael: Hana twice (organisation and contract) counts once; the ended
  // contract's manager is not one any more.
  EXPECT_THAT(resolve_ids(r, spec, event_for(4)), ElementsAre("1"));
  // Owen: his contract's manager is deleted.
  EXPECT_THAT(resolve_ids(r, spec, event_for(2)), ElementsAre("1"));
}

TEST_F(RecipientResolverTest, RoleMembers) {
  auto& r = resolver();
  RecipientSpec spec;
  spec.roles = {"Security"};
  EXPECT_THAT(resolve_ids(r, spec, event_for(3)), ElementsAre("1", "4"));  // Teresa is deleted
  spec.roles = {"Auditors", "Security"};
  EXPECT_THAT(resolve_ids(r, spec, event_for(3)), ElementsAre("1", "4"));
  EXPECT_THAT(r.dropped(), Contains("role 'Auditors' has no members"));
}

TEST_F(RecipientResolverTest, EverySourceInOrderWithoutDuplicates) {
  auto& r = resolver();
  RecipientSpec spec;
  spec.identity = true;
  spec.manager = true;
  spec.identities = {"1", "3", "2"};
  spec.roles = {"Security"};
  // Zoë; her managers Hana and Owen; the listed ones are all there already;
  // Security adds Rafael; the script's 3 and 4 are there already.
  EXPECT_THAT(resolve_ids(r, spec, event_for(3), {"3", "4"}), ElementsAre("3", "1", "2", "4"));
  EXPECT_FALSE(r.used_fallback());
}

TEST_F(RecipientResolverTest, ScriptIdentitiesAreAdded) {
  auto& r = resolver();
  RecipientSpec spec;
  spec.identity = true;
  EXPECT_THAT(resolve_ids(r, spec, event_for(3), {"4", "2"}), ElementsAre("3", "4", "2"));
  EXPECT_THAT(resolve_ids(r, RecipientSpec{}, event_for(3), {"2"}), ElementsAre("2"));
}

TEST_F(RecipientResolverTest, FallsBackToAdministratorsWhenEmpty) {
  auto& r = resolver();
  RecipientSpec spec;
  spec.manager = true;
  // Hana has no manager.
  auto rs = r.resolve(spec, event_for(1), {});
  ASSERT_TRUE(rs) << rs.error().message;
  EXPECT_THAT(ids(*rs), ElementsAre("1"));
  EXPECT_TRUE(r.used_fallback());
  EXPECT_THAT(r.dropped(), Contains("identity 1 has no manager"));

  // Nothing asked for at all.
  EXPECT_THAT(resolve_ids(r, RecipientSpec{}, event_for(3)), ElementsAre("1"));
  EXPECT_TRUE(r.used_fallback());

  // No PersonID in the event.
  spec.identity = true;
  EXPECT_THAT(resolve_ids(r, spec, event_for(nullptr)), ElementsAre("1"));
  EXPECT_THAT(r.dropped(), Contains(HasSubstr("no usable key 'PersonID'")));
  EXPECT_THAT(resolve_ids(r, spec, event_for(json::array({3}))), ElementsAre("1"));

  // An unknown identity.
  RecipientSpec listed;
  listed.identities = {"999", "not-a-number"};
  EXPECT_THAT(resolve_ids(r, listed, event_for(3)), ElementsAre("1"));
  EXPECT_THAT(r.dropped(), Contains(HasSubstr("identity 999 from the listed identities was not found")));
  EXPECT_THAT(r.dropped(), Contains(HasSubstr("identity not-a-number from the listed identities")));
}

TEST_F(RecipientResolverTest, RowsWithoutAnAddressAreDroppedWithAReason) {
  exec(
      "INSERT INTO people (PersonID, ObjectID, LogonName, FirstName, Surname, Email, GroupID, ManagerID) "
      "VALUES (6, '{NOMAIL}', 'nomail', 'No', 'Mail', NULL, 2, 3), "
      "       (7, '{BLANK}', 'blank', 'Blank', 'Mail', '  ', 2, 6);"
      "INSERT INTO role_members (RoleID, PersonID) VALUES (2, 6);");
  auto& r = resolver();
  RecipientSpec spec;
  spec.identities = {"6", "4"};
  spec.roles = {"Security"};
  EXPECT_THAT(resolve_ids(r, spec, event_for(6)), ElementsAre("4", "1"));
  EXPECT_THAT(r.dropped(), Contains("identity 6 (No Mail) from the listed identities has no address"));
  EXPECT_THAT(r.dropped(), Contains("identity 6 (No Mail) from role 'Security' has no address"));

  // Only address-less people: the administrators step in.
  RecipientSpec self;
  self.identity = true;
  self.manager = true;
  auto rs = r.resolve(self, event_for(7), {});
  ASSERT_TRUE(rs) << rs.error().message;
  EXPECT_THAT(ids(*rs), ElementsAre("1"));
  EXPECT_TRUE(r.used_fallback());
  EXPECT_THAT(r.dropped(), Contains("identity 7 (Blank Mail) from the event's identity has no address"));
  EXPECT_THAT(r.dropped(), Contains("identity 6 (No Mail) from the managers of identity 7 has no address"));
}

TEST_F(RecipientResolverTest, OneRecipientPerAddress) {
  exec(
      "INSERT INTO people (PersonID, ObjectID, LogonName, FirstName, Surname, Email, GroupID) "
      "VALUES (8, '{SHARED}', 'hana2', 'Hana', 'Second', 'Hana.Nakamura@Example.com', 3);");
  auto& r = resolver();
  RecipientSpec spec;
  spec.identities = {"1", "8"};
  EXPECT_THAT(resolve_ids(r, spec, event_for(3)), ElementsAre("1"));
  EXPECT_THAT(r.dropped(),
              Contains(HasSubstr("identity 8 (Hana Second) from the listed identities shares the "
                                 "address Hana.Nakamura@Example.com")));
}

TEST_F(RecipientResolverTest, ConfigurableIdentityKeyAndQueries) {
  RecipientQueries q;
  q.identity_key = "OwnerID";
  q.identity = "SELECT PersonID, LogonName || '@corp.example.com' FROM people WHERE PersonID = ?1";
  auto& r = resolver(q);
  RecipientSpec spec;
  spec.identity = true;
  Event e = event_for(3);
  e.keys["OwnerID"] = 2;
  auto rs = r.resolve(spec, e, {});
  ASSERT_TRUE(rs) << rs.error().message;
  ASSERT_EQ(rs->size(), 1u);
  EXPECT_EQ((*rs)[0].identity, "2");
  EXPECT_EQ((*rs)[0].address, "obrennan@corp.example.com");
  EXPECT_EQ((*rs)[0].name, "");
  EXPECT_EQ(r.event_identity(e), "2");
}

TEST_F(RecipientResolverTest, NobodyAtAllIsAnError) {
  RecipientQueries q;
  q.administrators = "SELECT PersonID, Email FROM vRoleMembers WHERE RoleName = 'Nobody'";
  auto& r = resolver(q);
  RecipientSpec spec;
  spec.manager = true;
  auto rs = r.resolve(spec, event_for(1), {});
  ASSERT_FALSE(rs);
  EXPECT_FALSE(rs.error().transient);
  EXPECT_THAT(rs.error().message, AllOf(HasSubstr("no recipients"), HasSubstr("identity 1 has no manager"),
                                        HasSubstr("administrators_query found nobody")));
}

TEST_F(RecipientResolverTest, DatabaseErrorsAtResolveTimeAreTemporary) {
  RecipientQueries q;
  // Fails while stepping (integer overflow), not while preparing.
  q.managers =
      "SELECT ManagerID, ManagerEmail, abs(-9223372036854775807 - 1) FROM vManagers WHERE PersonID = ?1";
  auto& r = resolver(q);
  RecipientSpec spec;
  spec.manager = true;
  auto rs = r.resolve(spec, event_for(3), {});
  ASSERT_FALSE(rs);
  EXPECT_TRUE(rs.error().transient);
  EXPECT_THAT(rs.error().message, HasSubstr("recipients.manager_query"));
  // The statement is usable again.
  spec.manager = false;
  spec.identity = true;
  EXPECT_THAT(resolve_ids(r, spec, event_for(3)), ElementsAre("3"));
}

TEST_F(RecipientResolverTest, BadQueriesAreRefusedAtPrepare) {
  RecipientQueries q;
  q.managers = "SELECT nope FROM nowhere WHERE x = ?1";
  EXPECT_THAT(prepare_error(q), AllOf(HasSubstr("recipients.manager_query"), HasSubstr("no such table")));

  q = {};
  q.identity = "SELECT PersonID, Email FROM people";
  EXPECT_THAT(prepare_error(q),
              HasSubstr("recipients.identity_query: the query must take exactly one parameter"));

  q = {};
  q.role_members = "SELECT PersonID FROM vRoleMembers WHERE RoleName = ?1";
  EXPECT_THAT(prepare_error(q), HasSubstr("recipients.role_query: the query must return the columns"));

  q = {};
  q.administrators = "SELECT PersonID, Email FROM people WHERE PersonID = ?1";
  EXPECT_THAT(prepare_error(q),
              HasSubstr("recipients.administrators_query: the query must take no parameter"));

  q = {};
  q.identity = "DELETE FROM people WHERE PersonID = ?1 RETURNING PersonID, Email";
  EXPECT_THAT(prepare_error(q), HasSubstr("recipients.identity_query: the query must only read"));

  q = {};
  q.identity = "SELECT PersonID, Email FROM people WHERE PersonID = ?1; DELETE FROM people";
  EXPECT_THAT(prepare_error(q), HasSubstr("recipients.identity_query: give exactly one SQL statement"));

  q = {};
  q.managers = "  ;  ";
  EXPECT_THAT(prepare_error(q), HasSubstr("recipients.manager_query: the query is empty"));

  q = {};
  q.identity_key = " ";
  EXPECT_THAT(prepare_error(q), HasSubstr("recipients.identity_key"));

  // A trailing semicolon is fine.
  q = {};
  q.identity = "SELECT PersonID, Email FROM people WHERE PersonID = ?1;";
  auto db = db::Database::open(path_, db::Database::Mode::ReadOnly);
  ASSERT_TRUE(db);
  EXPECT_TRUE(RecipientResolver::prepare(*db, q));
}

}  // namespace
}  // namespace herald::rules
