#include "schedule/schedule_query.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/text.h"

namespace herald::schedule {
namespace {

// Index of a column, matched as SQLite matches names (case-insensitive).
int find_column(const std::vector<std::string>& columns, const std::string& name) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (ascii_lower(columns[i]) == ascii_lower(name)) return static_cast<int>(i);
  }
  return -1;
}

nlohmann::json column_json(const db::Statement& st, int col) {
  switch (st.column_type(col)) {
    case SQLITE_INTEGER:
      return st.column_int(col);
    case SQLITE_FLOAT:
      return st.column_double(col);
    case SQLITE_TEXT:
      return st.column_text(col);
    default:
      return nullptr;  // NULL; blobs have no place in an event
  }
}

}  // namespace

Result<ScheduleQuery> ScheduleQuery::prepare(const config::ScheduleConfig& schedule, const TimeZone& zone,
                                             db::Database& producer) {
  ScheduleQuery q(schedule, zone);
  std::vector<mapping::WhereClause> where;
  int param = 1;
  for (const auto& w : schedule.where) {
    mapping::WhereClause c;
    c.field = w.field;
    c.op = mapping::parse_where_op(w.op).value_or(mapping::WhereOp::Equal);
    c.or_with_previous = w.or_with_previous;
    if (!w.date.empty()) {
      auto date = parse_relative_date(w.date);
      if (!date) return date.error();
      auto format = parse_date_format(w.format);
      if (!format) return format.error();
      c.values = {w.date};
      q.dates_.push_back({param++, *date, *format});
    } else {
      c.values = w.values;
      for (const auto& v : w.values) q.literals_.emplace_back(param++, v);
    }
    if (c.op == mapping::WhereOp::IsNull || c.op == mapping::WhereOp::NotNull) c.values.clear();
    where.push_back(std::move(c));
  }
  int next = 1;
  q.sql_ = "SELECT * FROM " + db::quote_identifier(schedule.view);
  if (!where.empty()) q.sql_ += " WHERE " + mapping::where_sql(where, next);
  // One more than allowed, to tell that rows were left for the next run.
  q.sql_ += " LIMIT " + std::to_string(schedule.max_rows + 1);
  auto stmt = producer.prepare(q.sql_);
  if (!stmt) return Error{"view '" + schedule.view + "': " + stmt.error().message};
  q.stmt_ = std::move(stmt).value();
  std::vector<std::string> columns;
  for (int i = 0; i < q.stmt_.column_count(); ++i) columns.push_back(q.stmt_.column_name(i));
  // A double-quoted name that matches no column is a string literal to
  // SQLite: a misspelt column would run and never match. Check each.
  for (const auto& w : schedule.where) {
    if (find_column(columns, w.field) < 0)
      return Error{"view '" + schedule.view + "' has no column '" + w.field + "' (where)"};
  }
  auto fields = [&](const std::vector<std::pair<std::string, std::string>>& from, std::vector<Field>& to,
                    const char* role) -> Status {
    for (const auto& [name, column] : from) {
      int col = find_column(columns, column);
      if (col < 0) return Error{"view '" + schedule.view + "' has no column '" + column + "' (" + role + ")"};
      to.push_back({name, col});
    }
    return {};
  };
  if (auto s = fields(schedule.keys, q.keys_, "keys"); !s) return s.error();
  if (auto s = fields(schedule.values, q.values_, "values"); !s) return s.error();
  return q;
}

Result<QueryResult> ScheduleQuery::run(int64_t now_s) {
  stmt_.reset();
  for (const auto& [param, value] : literals_) stmt_.bind(param, value);
  for (const auto& d : dates_) {
    auto value = format_date(resolve(d.date, now_s, zone_), d.format, zone_);
    if (auto* text = std::get_if<std::string>(&value)) {
      stmt_.bind(d.param, *text);
    } else {
      stmt_.bind(d.param, std::get<int64_t>(value));
    }
  }
  QueryResult out;
  const std::string occurred = std::get<std::string>(format_date(now_s, DateFormat::Iso8601, zone_));
  while (true) {
    auto row = stmt_.step();
    if (!row) {
      stmt_.reset();
      return Error::temporary("schedule '" + schedule_.name + "': " + row.error().message);
    }
    if (!*row) break;
    if (out.events.size() == static_cast<size_t>(schedule_.max_rows)) {
      out.truncated = true;
      break;
    }
    Event e;
    e.entity = schedule_.entity;
    e.action = schedule_.action;
    e.name = schedule_.event;
    for (const auto& k : keys_) e.keys[k.name] = column_json(stmt_, k.column);
    if (!values_.empty()) {
      e.new_values = nlohmann::json::object();
      for (const auto& v : values_) e.new_values[v.name] = column_json(stmt_, v.column);
    }
    e.occurred_at = occurred;
    out.events.push_back(std::move(e));
  }
  stmt_.reset();
  return out;
}

}  // namespace herald::schedule
