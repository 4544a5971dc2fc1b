// Who receives a notification: resolved against the producer's database
// (read-only) through configurable queries.
//
// Each query returns rows of (identity id, address[, display name]); the
// first three take exactly one bound parameter, ?1:
//   identity        ?1 = an identity id       the identity's own address
//   managers        ?1 = an identity id       its managers
//   role_members    ?1 = a role name          the members of the role
//   administrators  no parameter              the fallback when nobody is left
// The defaults read the views vPeopleUserAccounts, vManagers and vRoleMembers
// of config/demo/producer.sql (docs/rules.md describes them).
//
// resolve() collects, in this order: the event's identity (spec.identity),
// its managers (spec.manager), the listed identities (spec.identities), the
// members of each role (spec.roles), then the identities a recipients script
// returned. The event's identity is the value of keys[identity_key]
// ("PersonID" unless configured). A recipient whose identity or address
// (compared without regard to ASCII case) is already on the list is left
// out; so is a row without an address, with a reason in dropped(). When the
// list ends empty, the administrators query fills it.
//
// A resolver owns prepared statements: use it from one thread at a time.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "db/sqlite.h"
#include "outbox/event.h"

namespace herald::rules {

struct RecipientQueries {
  std::string identity = "SELECT PersonID, Email, FullName FROM vPeopleUserAccounts WHERE PersonID = ?1";
  std::string managers =
      "SELECT ManagerID, ManagerEmail, ManagerName FROM vManagers WHERE PersonID = ?1 ORDER BY ManagerID";
  std::string role_members =
      "SELECT PersonID, Email, FullName FROM vRoleMembers WHERE RoleName = ?1 ORDER BY PersonID";
  std::string administrators =
      "SELECT PersonID, Email, FullName FROM vRoleMembers WHERE RoleName = 'Administrators' ORDER BY "
      "PersonID";
  // The event key that holds the identity the event is about.
  std::string identity_key = "PersonID";
};

struct Recipient {
  std::string identity;
  std::string address;
  std::string name;  // empty when the query has no third column or it is NULL
};

struct RecipientSpec {
  bool identity = false;                // the identity the event is about
  bool manager = false;                 // its managers
  std::vector<std::string> identities;  // listed identity ids
  std::vector<std::string> roles;       // role names
};

class RecipientResolver {
 public:
  // Prepares every query once. An error names the query by its
  // configuration key (identity_query, manager_query, role_query,
  // administrators_query) and says what is wrong: SQL errors, a wrong number
  // of parameters or columns, a statement that writes, or more than one
  // statement. `producer` must outlive the resolver.
  static Result<RecipientResolver> prepare(db::Database& producer, const RecipientQueries& q);

  // The recipients, never empty: when nobody is left after the
  // administrators fallback the result is an Error. A database error is
  // Error::temporary.
  Result<std::vector<Recipient>> resolve(const RecipientSpec& spec, const Event& e,
                                         const std::vector<std::string>& extra_identities);

  // Why the last resolve() left rows or requested recipients out, one
  // sentence each ("identity 7 (Ann Lee) from role 'Security' has no
  // address"); for the log.
  const std::vector<std::string>& dropped() const { return dropped_; }
  // Whether the last resolve() fell back to the administrators.
  bool used_fallback() const { return used_fallback_; }

  // The event's identity as text ("" when the key is missing or unusable).
  std::string event_identity(const Event& e) const;

 private:
  RecipientResolver() = default;

  db::Statement identity_;
  db::Statement managers_;
  db::Statement role_members_;
  db::Statement administrators_;
  std::string identity_key_;
  std::vector<std::string> dropped_;
  bool used_fallback_ = false;
};

}  // namespace herald::rules
