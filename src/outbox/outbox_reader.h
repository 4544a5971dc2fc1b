// Reads new rows from the producer's outbox table. The producer's database
// is opened read-only: Herald never writes to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "db/sqlite.h"
#include "outbox/event.h"

namespace herald::outbox {

struct OutboxRow {
  Event event;
  std::string error;  // non-empty when the row could not be parsed (kept as rejected)
};

// How long a read of the producer's database waits for a lock the producer
// holds (also for mappings and recipients, which share the connection).
constexpr int kProducerBusyTimeoutMs = 250;

class OutboxReader {
 public:
  static Result<OutboxReader> open(const std::string& database, const std::string& table);

  // Rows with id > after_id, in id order, at most `limit`.
  Result<std::vector<OutboxRow>> read_after(int64_t after_id, int limit);

  // Identifies this outbox in the state database's cursor table.
  const std::string& source() const { return source_; }
  db::Database& database() { return db_; }

 private:
  OutboxReader(db::Database db, db::Statement select, std::string source)
      : db_(std::move(db)), select_(std::move(select)), source_(std::move(source)) {}

  db::Database db_;
  db::Statement select_;
  std::string source_;
};

// Parses one outbox row's JSON columns; the error names the column.
OutboxRow parse_outbox_row(int64_t id, std::string entity, std::string action,
                           std::optional<std::string> name, const std::optional<std::string>& keys,
                           const std::optional<std::string>& old_values,
                           const std::optional<std::string>& new_values,
                           std::optional<std::string> occurred_at);

}  // namespace herald::outbox
