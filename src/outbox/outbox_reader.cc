#include "outbox/outbox_reader.h"

#include "common/json_parse.h"

namespace herald::outbox {

Result<OutboxReader> OutboxReader::open(const std::string& database, const std::string& table) {
  if (!db::is_identifier(table)) return Error{"outbox table name '" + table + "' is not a valid identifier"};
  // A short wait: the event loop runs these reads, and a producer's longer
  // write is waited out by retrying later instead (ingest backs off).
  auto db = db::Database::open(database, db::Database::Mode::ReadOnly, kProducerBusyTimeoutMs);
  if (!db) return db.error();
  // Columns are selected by name so a producer may add its own columns.
  auto st = db->prepare("SELECT id, entity, action, name, keys, old_values, new_values, occurred_at FROM " +
                        db::quote_identifier(table) + " WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!st) return Error{"outbox table '" + table + "': " + st.error().message};
  db::Statement select = std::move(st.value());
  return OutboxReader(std::move(db.value()), std::move(select), "outbox:" + table);
}

OutboxRow parse_outbox_row(int64_t id, std::string entity, std::string action,
                           std::optional<std::string> name, const std::optional<std::string>& keys,
                           const std::optional<std::string>& old_values,
                           const std::optional<std::string>& new_values,
                           std::optional<std::string> occurred_at) {
  OutboxRow row;
  Event& e = row.event;
  e.id = id;
  e.entity = std::move(entity);
  e.action = std::move(action);
  e.name = name.value_or("");
  e.occurred_at = occurred_at.value_or("");
  auto fail = [&](std::string why) {
    if (row.error.empty()) row.error = std::move(why);
  };
  if (e.entity.empty()) fail("column 'entity' is empty");
  if (e.action.empty()) fail("column 'action' is empty");

  auto object_column = [&](const char* column, const std::optional<std::string>& text, bool nullable) {
    if (!text) {
      if (!nullable) fail(std::string("column '") + column + "' is NULL");
      return nlohmann::json(nullptr);
    }
    auto j = parse_json(*text);
    if (j.is_discarded()) {
      fail(std::string("column '") + column + "' is not valid JSON");
      return nlohmann::json(nullptr);
    }
    if (!j.is_object() && !(nullable && j.is_null())) {
      fail(std::string("column '") + column + "' is not a JSON object");
      return nlohmann::json(nullptr);
    }
    return j;
  };
  e.keys = object_column("keys", keys, false);
  if (!e.keys.is_object()) e.keys = nlohmann::json::object();
  e.old_values = object_column("old_values", old_values, true);
  e.new_values = object_column("new_values", new_values, true);
  if (e.old_values.is_object()) e.old_values_text = *old_values;
  if (e.new_values.is_object()) e.new_values_text = *new_values;
  return row;
}

Result<std::vector<OutboxRow>> OutboxReader::read_after(int64_t after_id, int limit) {
  select_.reset();
  select_.bind(1, after_id).bind(2, limit);
  std::vector<OutboxRow> rows;
  for (;;) {
    auto r = select_.step();
    if (!r) {
      select_.reset();
      return Error{db_.path() + ": reading the outbox: " + r.error().message};
    }
    if (!*r) break;
    rows.push_back(parse_outbox_row(select_.column_int(0), select_.column_text(1), select_.column_text(2),
                                    select_.column_opt_text(3), select_.column_opt_text(4),
                                    select_.column_opt_text(5), select_.column_opt_text(6),
                                    select_.column_opt_text(7)));
  }
  select_.reset();
  return rows;
}

}  // namespace herald::outbox
