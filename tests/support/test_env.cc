#include "support/test_env.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "db/sqlite.h"

namespace herald::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "herald-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void create_producer_db(const std::string& path) {
  auto db = db::Database::open(path, db::Database::Mode::ReadWriteCreate);
  if (!db) throw std::runtime_error(db.error().message);
  if (auto s = db->exec("PRAGMA journal_mode=WAL"); !s) throw std::runtime_error(s.error().message);
  if (auto s = db->exec(read_file(std::string(HERALD_SOURCE_DIR) + "/config/outbox.sql")); !s) {
    throw std::runtime_error(s.error().message);
  }
}

long long append_event(const std::string& db_path, const std::string& entity, const std::string& action,
                       const std::string& name, const std::string& keys_json, const std::string& old_json,
                       const std::string& new_json) {
  auto db = db::Database::open(db_path, db::Database::Mode::ReadWriteCreate);
  if (!db) throw std::runtime_error(db.error().message);
  auto st = db->prepare(
      "INSERT INTO herald_outbox (entity, action, name, keys, old_values, new_values) VALUES (?1, ?2, ?3, "
      "?4, ?5, "
      "?6)");
  if (!st) throw std::runtime_error(st.error().message);
  auto opt = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
  st->bind(1, entity).bind(2, action).bind(3, opt(name)).bind(4, keys_json).bind(5, opt(old_json));
  st->bind(6, opt(new_json));
  if (auto s = st->run(); !s) throw std::runtime_error(s.error().message);
  return db->last_insert_rowid();
}

ProcessResult run_process(const std::string& command_line, int timeout_seconds) {
  ProcessResult result;
  std::string cmd = "timeout -k 5 " + std::to_string(timeout_seconds) + " " + command_line + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

int64_t query_int(const std::string& db_path, const std::string& sql) {
  auto db = db::Database::open(db_path, db::Database::Mode::ReadOnly);
  if (!db) return -1;
  auto st = db->prepare(sql);
  if (!st) return -1;
  auto row = st->step();
  return row && *row ? st->column_int(0) : -1;
}

}  // namespace herald::test
