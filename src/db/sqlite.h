// Thin RAII wrapper over the SQLite C API: connections, prepared statements,
// bound parameters, transactions. Errors are values.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace herald::db {

class Statement;

// A statement that writes several rows inside a transaction keeps the pages
// it changes in a statement journal, to undo just that statement should it
// fail halfway. SQLite keeps that journal in memory up to 64 KiB, then moves
// it to a temporary file for the rest of the transaction: the 32-row INSERTs
// of an ingest cross that mark, which cost the state worker a file per
// transaction and two writes per page journaled. Up to this size it stays in
// memory, allocated in one piece while the statement runs.
inline constexpr int kStatementJournalInMemory = 1 << 20;

class Database {
 public:
  enum class Mode { ReadOnly, ReadWriteCreate };

  static Result<Database> open(const std::string& path, Mode mode, int busy_timeout_ms = 5000);

  Database() = default;
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);

  int64_t last_insert_rowid() const;
  int changes() const;
  std::string error_message() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based, as in SQLite.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  // Binds without a copy: `value` must stay alive and unchanged until the
  // statement is reset or the index bound again (for large texts).
  Statement& bind_unowned(int index, std::string_view value);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::string>& value);
  Statement& bind(int index, const std::optional<int64_t>& value);

  // Advances: true when a row is available, false when done; an error
  // becomes a failed Result.
  Result<bool> step();

  // What a reset does with the values bound. Clear sets every parameter to
  // NULL and frees the copies SQLite made. Keep is for statements whose every
  // parameter the caller binds again before each step: it skips a pass over
  // all of them (hundreds in a multi-row INSERT), and a text bound with a
  // copy reuses its buffer. Values bound without a copy are not read again
  // until they are replaced, so they may go out of scope meanwhile.
  enum class Bindings { Clear, Keep };

  // Steps a statement that returns no rows, then resets it.
  Status run(Bindings bindings = Bindings::Clear);
  void reset(Bindings bindings = Bindings::Clear);

  int column_count() const;
  std::string column_name(int col) const;
  int column_type(int col) const;  // SQLITE_INTEGER, SQLITE_TEXT, SQLITE_NULL, ...
  bool is_null(int col) const;
  int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string column_text(int col) const;
  std::optional<std::string> column_opt_text(int col) const;
  std::vector<unsigned char> column_blob(int col) const;

  sqlite3_stmt* handle() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when destroyed uncommitted.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

// One read snapshot for several queries: BEGIN when made, ended when
// destroyed. Saves each query taking and dropping its own read lock (file
// locks and a check of the file each time); the snapshot is as fresh as
// when its first query ran. Statements still running at the end are reset.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Database* db_;  // null when BEGIN failed: the queries then run on their own
};

// True when name is safe to use as an SQL identifier: letters, digits and
// underscores, not starting with a digit.
bool is_identifier(std::string_view name);
// Double-quotes an identifier (call is_identifier first).
std::string quote_identifier(std::string_view name);

}  // namespace herald::db
