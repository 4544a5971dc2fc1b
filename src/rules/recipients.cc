#include "rules/recipients.h"

#include <cmath>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>

namespace herald::rules {
namespace {

using json = nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Trailing whitespace and semicolons removed.
std::string_view trim_statement(std::string_view s) {
  s = trim(s);
  while (!s.empty() && (s.back() == ';' || is_space(s.back()))) s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<db::Statement> prepare_query(db::Database& db, const std::string& sql, const std::string& key,
                                    int params) {
  const std::string where = "recipients." + key;
  const std::string_view text = trim_statement(sql);
  if (text.empty()) return Error{where + ": the query is empty"};
  auto st = db.prepare(sql);
  if (!st) return Error{where + ": " + st.error().message};
  sqlite3_stmt* h = st->handle();
  if (h == nullptr) return Error{where + ": the query is empty"};
  const char* compiled = sqlite3_sql(h);
  if (compiled == nullptr || trim_statement(compiled).size() != text.size()) {
    return Error{where + ": give exactly one SQL statement"};
  }
  if (sqlite3_stmt_readonly(h) == 0) return Error{where + ": the query must only read (a SELECT)"};
  const int n = sqlite3_bind_parameter_count(h);
  if (n != params) {
    return Error{where + ": the query must take " +
                 (params == 0 ? std::string("no parameter") : std::string("exactly one parameter, ?1")) +
                 ", it takes " + std::to_string(n)};
  }
  const int cols = sqlite3_column_count(h);
  if (cols < 2 || cols > 3) {
    return Error{where +
                 ": the query must return the columns (identity id, address[, display name]), it returns " +
                 std::to_string(cols)};
  }
  return st;
}

// A canonical decimal integer ("42", "-7"; not "042" or "4.0") binds as an
// integer so it compares equal to INTEGER columns and, through affinity, to
// TEXT ones; anything else binds as text.
void bind_id(db::Statement& st, const std::string& id) {
  std::string_view s = id;
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  bool integer = !s.empty() && s.size() <= 18 && (s.size() == 1 || s.front() != '0');
  for (char c : s) integer = integer && c >= '0' && c <= '9';
  if (integer && id != "-0") {
    st.bind(1, static_cast<int64_t>(std::stoll(id)));
  } else {
    st.bind(1, id);
  }
}

std::string who(const std::string& id, const std::string& name) {
  return "identity " + id + (name.empty() ? "" : " (" + name + ")");
}

}  // namespace

Result<RecipientResolver> RecipientResolver::prepare(db::Database& producer, const RecipientQueries& q) {
  RecipientResolver r;
  auto identity = prepare_query(producer, q.identity, "identity_query", 1);
  if (!identity) return identity.error();
  auto managers = prepare_query(producer, q.managers, "manager_query", 1);
  if (!managers) return managers.error();
  auto roles = prepare_query(producer, q.role_members, "role_query", 1);
  if (!roles) return roles.error();
  auto admins = prepare_query(producer, q.administrators, "administrators_query", 0);
  if (!admins) return admins.error();
  if (trim(q.identity_key).empty()) return Error{"recipients.identity_key: must not be empty"};
  r.identity_ = std::move(*identity);
  r.managers_ = std::move(*managers);
  r.role_members_ = std::move(*roles);
  r.administrators_ = std::move(*admins);
  r.identity_key_ = q.identity_key;
  return r;
}

std::string RecipientResolver::event_identity(const Event& e) const {
  if (!e.keys.is_object()) return {};
  auto it = e.keys.find(identity_key_);
  if (it == e.keys.end()) return {};
  const json& v = *it;
  if (v.is_string()) return std::string(trim(v.get_ref<const std::string&>()));
  if (v.is_number_integer()) return v.dump();  // signed and unsigned
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9.0e15) return std::to_string(static_cast<long long>(d));
  }
  return {};
}

Result<std::vector<Recipient>> RecipientResolver::resolve(const RecipientSpec& spec, const Event& e,
                                                          const std::vector<std::string>& extra_identities) {
  dropped_.clear();
  used_fallback_ = false;
  std::vector<Recipient> out;
  std::set<std::string> seen_ids;
  std::set<std::string> seen_addresses;  // lower-cased

  // Runs a prepared statement (bound already) and adds its rows; `rows`
  // receives how many rows it returned.
  auto collect = [&](db::Statement& st, const char* key, const std::string& from, size_t& rows) -> Status {
    rows = 0;
    const bool has_name = st.column_count() > 2;
    while (true) {
      auto step = st.step();
      if (!step) return Error::temporary(std::string("recipients.") + key + ": " + step.error().message);
      if (!*step) break;
      ++rows;
      std::string id(trim(st.column_text(0)));
      std::string address(trim(st.column_text(1)));
      std::string name = has_name ? std::string(trim(st.column_text(2))) : std::string();
      if (id.empty()) {
        dropped_.push_back("a row from " + from + " has no identity id");
        continue;
      }
      if (address.empty()) {
        dropped_.push_back(who(id, name) + " from " + from + " has no address");
        continue;
      }
      if (seen_ids.count(id) != 0) continue;  // already on the list
      std::string folded = ascii_lower(address);
      if (seen_addresses.count(folded) != 0) {
        dropped_.push_back(who(id, name) + " from " + from + " shares the address " + address +
                           " with a recipient already on the list");
        continue;
      }
      seen_ids.insert(id);
      seen_addresses.insert(std::move(folded));
      out.push_back(Recipient{std::move(id), std::move(address), std::move(name)});
    }
    st.reset();
    return {};
  };

  auto add_identity = [&](const std::string& id, const std::string& from) -> Status {
    identity_.reset();
    bind_id(identity_, id);
    size_t rows = 0;
    if (auto s = collect(identity_, "identity_query", from, rows); !s) return s;
    if (rows == 0)
      dropped_.push_back("identity " + id + " from " + from + " was not found by identity_query");
    return {};
  };

  const std::string self = event_identity(e);
  if ((spec.identity || spec.manager) && self.empty()) {
    dropped_.push_back("the event has no usable key '" + identity_key_ +
                       "', so the identity itself and its managers cannot be added");
  }
  if (spec.identity && !self.empty()) {
    if (auto s = add_identity(self, "the event's identity"); !s) return s.error();
  }
  if (spec.manager && !self.empty()) {
    managers_.reset();
    bind_id(managers_, self);
    size_t rows = 0;
    if (auto s = collect(managers_, "manager_query", "the managers of identity " + self, rows); !s) {
      return s.error();
    }
    if (rows == 0) dropped_.push_back("identity " + self + " has no manager");
  }
  for (const auto& id : spec.identities) {
    if (auto s = add_identity(id, "the listed identities"); !s) return s.error();
  }
  for (const auto& role : spec.roles) {
    role_members_.reset();
    role_members_.bind(1, role);
    size_t rows = 0;
    if (auto s = collect(role_members_, "role_query", "role '" + role + "'", rows); !s) return s.error();
    if (rows == 0) dropped_.push_back("role '" + role + "' has no members");
  }
  for (const auto& id : extra_identities) {
    if (auto s = add_identity(id, "the recipients script"); !s) return s.error();
  }

  if (out.empty()) {
    used_fallback_ = true;
    administrators_.reset();
    size_t rows = 0;
    if (auto s = collect(administrators_, "administrators_query", "the administrators", rows); !s) {
      return s.error();
    }
    if (out.empty()) {
      std::string why;
      for (const auto& d : dropped_) why += "; " + d;
      return Error{"no recipients" + why + "; and administrators_query found nobody with an address"};
    }
  }
  return out;
}

}  // namespace herald::rules
