// Shared test fixtures: a private temporary folder, file helpers, a producer
// database with an outbox, and running the real programs.
#pragma once

#include <cstdint>
#include <string>

namespace herald::test {

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// Creates a producer database holding the outbox table (config/outbox.sql).
void create_producer_db(const std::string& path);
// Appends an outbox row; returns its id.
long long append_event(const std::string& db_path, const std::string& entity, const std::string& action,
                       const std::string& name, const std::string& keys_json,
                       const std::string& old_json = "", const std::string& new_json = "");

// The first column of the first row of a query (e.g. a COUNT(*)) on a
// database opened read-only; -1 when it cannot be read.
int64_t query_int(const std::string& db_path, const std::string& sql);

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs a shell command line (with a time limit), capturing its output.
ProcessResult run_process(const std::string& command_line, int timeout_seconds = 60);

}  // namespace herald::test
