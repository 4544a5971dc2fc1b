// A <DataSource> of a mapping file: one prepared SELECT on a producer view,
// looked up by a key of the event and optionally narrowed by <Where> clauses.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "db/sqlite.h"
#include "mapping/value_encoding.h"

namespace herald::mapping {

enum class WhereOp { Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, Like, IsNull, NotNull, In };

// "=", "!=", "lt", "le", "gt", "ge", "like", "isnull", "notnull", "in"; case-insensitive.
std::optional<WhereOp> parse_where_op(std::string_view name);

struct WhereClause {
  std::string field;  // column name; must pass db::is_identifier
  WhereOp op = WhereOp::Equal;
  std::vector<std::string> values;  // bound as text, never spliced into the SQL
  bool or_with_previous = false;    // Conjunction="or"; ignored on the first clause
};

struct DataSourceSpec {
  std::string id;
  std::string view;        // table or view; must pass db::is_identifier
  std::string lookup;      // name of a key in Event::keys
  std::string field_name;  // column compared with the lookup value; must pass db::is_identifier
  std::vector<WhereClause> where;
};

// "(w1 AND|OR w2 ...)" with numbered parameters from next_param on, which
// is advanced past them; each value of each clause takes one parameter, in
// order. Identifiers must have been checked.
std::string where_sql(const std::vector<WhereClause>& where, int& next_param);

// SELECT * FROM "view" WHERE "field_name" = ?1 [AND (w1 AND|OR w2 ...)] LIMIT 1
// The where-clauses are grouped in one pair of parentheses so that an "or"
// can never widen the lookup; inside the group SQL's usual precedence holds
// (AND binds tighter than OR). Identifiers must have been checked.
std::string build_select_sql(const DataSourceSpec& spec);

class DataSource {
 public:
  // Values of the columns the mapping uses, indexed by slot (see use_column).
  using Row = std::vector<Value>;

  // Prepares the statement; fails when the view does not exist or when
  // field_name or a where-clause field is not one of its columns.
  static Result<DataSource> prepare(DataSourceSpec spec, db::Database& db);

  const DataSourceSpec& spec() const { return spec_; }
  const std::string& sql() const { return sql_; }
  const std::vector<std::string>& columns() const { return columns_; }

  // Registers a column the mapping reads (case-insensitive match, as in
  // SQLite) and returns its slot in Row; nullopt when there is no such column.
  std::optional<std::size_t> use_column(std::string_view name);

  // Runs the lookup for an event's keys. Returns false (no values) when the
  // key is missing, null or not a scalar, or when no row matches; the first
  // row wins otherwise. The statement is reset before returning. A failure
  // of the database (SQLITE_BUSY, SQLITE_LOCKED, I/O errors, a view dropped
  // or redefined since load, a used column gone) is an Error::temporary: the
  // caller retries later.
  Result<bool> fetch(const nlohmann::json& keys, Row& row);

 private:
  DataSource(DataSourceSpec spec, std::string sql, db::Statement stmt, std::vector<std::string> columns);
  int column_index(std::size_t slot);
  Error step_error(int rc, const std::string& message) const;

  DataSourceSpec spec_;
  std::string sql_;
  db::Statement stmt_;
  std::vector<std::string> columns_;
  std::vector<std::string> used_names_;  // by slot
  std::vector<int> used_index_;          // by slot, column index at prepare time
  // The statement's re-prepare count when used_index_ was last checked
  // against its column names (SQLITE_STMTSTATUS_REPREPARE); -1: never.
  int columns_checked_at_ = -1;
};

}  // namespace herald::mapping
