#include "mapping/data_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace herald::mapping {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string condition_sql(const WhereClause& w, int& next_param) {
  std::string col = db::quote_identifier(w.field);
  auto param = [&] { return "?" + std::to_string(next_param++); };
  switch (w.op) {
    case WhereOp::Equal:
      return col + " = " + param();
    case WhereOp::NotEqual:
      return col + " <> " + param();
    case WhereOp::Less:
      return col + " < " + param();
    case WhereOp::LessEqual:
      return col + " <= " + param();
    case WhereOp::Greater:
      return col + " > " + param();
    case WhereOp::GreaterEqual:
      return col + " >= " + param();
    case WhereOp::Like:
      return col + " LIKE " + param();
    case WhereOp::IsNull:
      return col + " IS NULL";
    case WhereOp::NotNull:
      return col + " IS NOT NULL";
    case WhereOp::In: {
      std::string s = col + " IN (";
      for (std::size_t i = 0; i < w.values.size(); ++i) {
        if (i) s += ", ";
        s += param();
      }
      return s + ")";
    }
  }
  return {};
}

// Name of the primary result code, for messages an operator can look up.
std::string result_code_name(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLite result code " + std::to_string(rc);
  }
}

}  // namespace

std::optional<WhereOp> parse_where_op(std::string_view name) {
  static constexpr std::pair<std::string_view, WhereOp> kOps[] = {
      {"=", WhereOp::Equal},      {"!=", WhereOp::NotEqual},   {"lt", WhereOp::Less},
      {"le", WhereOp::LessEqual}, {"gt", WhereOp::Greater},    {"ge", WhereOp::GreaterEqual},
      {"like", WhereOp::Like},    {"isnull", WhereOp::IsNull}, {"notnull", WhereOp::NotNull},
      {"in", WhereOp::In}};
  for (const auto& [text, op] : kOps) {
    if (iequals(name, text)) return op;
  }
  return std::nullopt;
}

std::string where_sql(const std::vector<WhereClause>& where, int& next_param) {
  std::string sql = "(";
  for (std::size_t i = 0; i < where.size(); ++i) {
    if (i) sql += where[i].or_with_previous ? " OR " : " AND ";
    sql += condition_sql(where[i], next_param);
  }
  return sql + ")";
}

std::string build_select_sql(const DataSourceSpec& spec) {
  int next_param = 2;
  std::string sql = "SELECT * FROM " + db::quote_identifier(spec.view) + " WHERE " +
                    db::quote_identifier(spec.field_name) + " = ?1";
  if (!spec.where.empty()) sql += " AND " + where_sql(spec.where, next_param);
  sql += " LIMIT 1";
  return sql;
}

DataSource::DataSource(DataSourceSpec spec, std::string sql, db::Statement stmt,
                       std::vector<std::string> columns)
    : spec_(std::move(spec)), sql_(std::move(sql)), stmt_(std::move(stmt)), columns_(std::move(columns)) {}

Result<DataSource> DataSource::prepare(DataSourceSpec spec, db::Database& db) {
  std::string sql = build_select_sql(spec);
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  std::vector<std::string> columns;
  const int n = stmt->column_count();
  columns.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) columns.push_back(stmt->column_name(i));
  // SQLite reads a double-quoted name that matches no column as a string
  // literal, so a misspelt column would prepare fine and never match. Check
  // every column the query names against what the view really has.
  auto has_column = [&](std::string_view name) {
    return std::any_of(columns.begin(), columns.end(),
                       [&](const std::string& c) { return iequals(c, name); });
  };
  if (!has_column(spec.field_name)) {
    return Error{"view " + spec.view + " has no column \"" + spec.field_name + "\" (FieldName)"};
  }
  for (const auto& w : spec.where) {
    if (!has_column(w.field))
      return Error{"view " + spec.view + " has no column \"" + w.field + "\" (<Where>)"};
  }
  return DataSource(std::move(spec), std::move(sql), std::move(stmt).value(), std::move(columns));
}

std::optional<std::size_t> DataSource::use_column(std::string_view name) {
  for (std::size_t slot = 0; slot < used_names_.size(); ++slot) {
    if (iequals(used_names_[slot], name)) return slot;
  }
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (iequals(columns_[i], name)) {
      used_names_.push_back(columns_[i]);
      used_index_.push_back(static_cast<int>(i));
      return used_names_.size() - 1;
    }
  }
  return std::nullopt;
}

Error DataSource::step_error(int rc, const std::string& message) const {
  // The statement was prepared and its columns checked when the mapping was
  // loaded, so a failing step says something about the state of the producer
  // database (locked, busy, I/O trouble, a view dropped or redefined under
  // us), never about this event or the mapping file: retry later. The retry
  // schedule is bounded, so a database that never recovers still ends in a
  // failed notification.
  return Error::temporary("data source \"" + spec_.id + "\" (" + spec_.view + "): " + message + " (" +
                          result_code_name(rc) + ")");
}

int DataSource::column_index(std::size_t slot) {
  // SQLite re-prepares the statement by itself after a schema change, which
  // may move the columns of SELECT *; check the name and search again if so.
  int idx = used_index_[slot];
  const int n = stmt_.column_count();
  if (idx < n) {
    const char* name = sqlite3_column_name(stmt_.handle(), idx);
    if (name && iequals(name, used_names_[slot])) return idx;
  }
  for (int i = 0; i < n; ++i) {
    const char* name = sqlite3_column_name(stmt_.handle(), i);
    if (name && iequals(name, used_names_[slot])) return used_index_[slot] = i;
  }
  return -1;
}

Result<bool> DataSource::fetch(const nlohmann::json& keys, Row& row) {
  row.assign(used_names_.size(), Value::absent());
  if (!keys.is_object()) return false;
  auto it = keys.find(spec_.lookup);
  if (it == keys.end()) {
    spdlog::debug("data source {}: event has no key {}", spec_.id, spec_.lookup);
    return false;
  }
  const nlohmann::json& key = *it;
  // Every parameter is bound below before each step, so the resets here leave
  // the previous values in place instead of clearing them.
  stmt_.reset(db::Statement::Bindings::Keep);
  if (key.is_string()) {
    stmt_.bind(1, key.get_ref<const std::string&>());
  } else if (key.is_number_unsigned()) {
    auto u = key.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      stmt_.bind(1, key.get<double>());
    } else {
      stmt_.bind(1, static_cast<std::int64_t>(u));
    }
  } else if (key.is_number_integer()) {
    stmt_.bind(1, key.get<std::int64_t>());
  } else if (key.is_number_float()) {
    stmt_.bind(1, key.get<double>());
  } else if (key.is_boolean()) {
    stmt_.bind(1, key.get<bool>() ? 1 : 0);
  } else {
    spdlog::debug("data source {}: key {} is not a scalar", spec_.id, spec_.lookup);
    return false;
  }
  int param = 2;
  for (const auto& w : spec_.where) {
    for (const auto& v : w.values) stmt_.bind(param++, v);
  }

  // sqlite3_step directly (not Statement::step) to see the result code.
  const int rc = sqlite3_step(stmt_.handle());
  if (rc == SQLITE_DONE) {
    spdlog::debug("data source {}: no row for {} = {}", spec_.id, spec_.lookup, key.dump());
    stmt_.reset(db::Statement::Bindings::Keep);
    return false;
  }
  if (rc != SQLITE_ROW) {
    Error error = step_error(rc, sqlite3_errmsg(sqlite3_db_handle(stmt_.handle())));
    stmt_.reset(db::Statement::Bindings::Keep);
    return error;
  }
  // The names are checked again only after SQLite re-prepared the statement
  // (a schema change), not for every row.
  const int reprepared = sqlite3_stmt_status(stmt_.handle(), SQLITE_STMTSTATUS_REPREPARE, 0);
  const bool checked = reprepared == columns_checked_at_;
  for (std::size_t slot = 0; slot < used_names_.size(); ++slot) {
    const int col = checked ? used_index_[slot] : column_index(slot);
    if (col < 0) {
      // The view was redefined without a column the mapping reads. Leaving
      // the property out would send a wrong message; the producer is
      // probably in the middle of a migration, so try again later.
      stmt_.reset(db::Statement::Bindings::Keep);
      return Error::temporary("data source \"" + spec_.id + "\" (" + spec_.view +
                              "): the view has no column \"" + used_names_[slot] +
                              "\" any more (its schema changed since the mapping was loaded)");
    }
    switch (stmt_.column_type(col)) {
      case SQLITE_INTEGER:
        row[slot] = Value::of_json(stmt_.column_int(col));
        break;
      case SQLITE_FLOAT:
        row[slot] = Value::of_json(stmt_.column_double(col));
        break;
      case SQLITE_TEXT:
        row[slot] = Value::of_json(stmt_.column_text(col));
        break;
      case SQLITE_BLOB: {
        auto blob = stmt_.column_blob(col);
        row[slot] = Value::of_bytes(std::string(blob.begin(), blob.end()));
        break;
      }
      default:
        break;  // NULL: absent
    }
  }
  columns_checked_at_ = reprepared;
  stmt_.reset(db::Statement::Bindings::Keep);
  return true;
}

}  // namespace herald::mapping
