#include "e2e/dataset.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "db/sqlite.h"
#include "mapping/mapping.h"
#include "outbox/outbox_reader.h"
#include "support/test_env.h"

namespace herald::bench {

namespace {

const char* kMapping = R"(<?xml version="1.0" encoding="utf-8"?>
<!-- The benchmark's notification: one data source read per event. -->
<Notification>
  <DataSources>
    <DataSource ID="People" View="vPeople" Lookup="PersonID" />
  </DataSources>
  <Endpoint Verb="POST" URL="/events/{Event.id}" />
  <Body>
    <Property JPath="event.id"><Source Retrieval="Event" Field="id" /></Property>
    <Property JPath="event.name"><Source Retrieval="Event" Field="name" /></Property>
    <Property JPath="event.at"><Source Retrieval="Event" Field="occurred_at" /></Property>
    <Property JPath="person.id"><Source Retrieval="People" Field="ObjectID" /></Property>
    <Property JPath="person.name.first"><Source Retrieval="People" Field="FirstName" /></Property>
    <Property JPath="person.name.last"><Source Retrieval="People" Field="Surname" /></Property>
    <Property JPath="person.name.fullName"><Source Retrieval="People" Field="FullName" /></Property>
    <Property JPath="person.contact.emailAddress"><Source Retrieval="People" Field="Email" /></Property>
    <Property JPath="person.account.dn"><Source Retrieval="People" Field="DistinguishedName" /></Property>
    <Property JPath="person.department"><Source Retrieval="People" Field="Department" /></Property>
    <Property JPath="change.title"><Source Retrieval="Event" Field="new.title" /></Property>
    <Property JPath="change.comment"><Source Retrieval="Event" Field="new.comment" /></Property>
  </Body>
</Notification>
)";

void check(const Status& s, const std::string& what) {
  if (!s) throw std::runtime_error(what + ": " + s.error().message);
}

db::Database open_rw(const std::string& path) {
  auto db = db::Database::open(path, db::Database::Mode::ReadWriteCreate);
  if (!db) throw std::runtime_error(path + ": " + db.error().message);
  return std::move(db).value();
}

db::Statement prepare(db::Database& db, const std::string& sql) {
  auto st = db.prepare(sql);
  if (!st) throw std::runtime_error(sql + ": " + st.error().message);
  return std::move(st).value();
}

std::string person_id(int64_t seq) {
  char id[16];
  std::snprintf(id, sizeof id, "P%05lld", static_cast<long long>(seq % kPeople + 1));
  return id;
}

const char* kInsertEvent =
    "INSERT INTO herald_outbox (entity, action, name, keys, old_values, new_values) VALUES ('identity', "
    "'UPDATE', ?1, ?2, '{\"title\":\"Engineer\"}', ?3)";

void bind_event(db::Statement& st, int64_t seq, const std::string& padding) {
  const nlohmann::json keys = {{"PersonID", person_id(seq)}};
  const nlohmann::json values = {{"title", "Engineer " + std::to_string(seq % 7)}, {"comment", padding}};
  st.bind(1, kEventName).bind(2, keys.dump()).bind(3, values.dump());
}

std::string padding_of(int length) {
  std::string pad;
  pad.reserve(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i) pad.push_back(static_cast<char>('a' + i % 26));
  return pad;
}

}  // namespace

void write_mapping(const std::string& path) { test::write_file(path, kMapping); }

int create_producer(const std::string& path, const std::string& mapping_path,
                    const ProducerOptions& options) {
  test::create_producer_db(path);
  db::Database db = open_rw(path);
  check(
      db.exec("CREATE TABLE people (PersonID TEXT PRIMARY KEY, ObjectID TEXT, FirstName TEXT, Surname TEXT, "
              "FullName TEXT, Email TEXT, DistinguishedName TEXT, Department TEXT);"
              "CREATE VIEW vPeople AS SELECT * FROM people;"),
      "people");
  {
    auto tx = db::Transaction::begin(db);
    if (!tx) throw std::runtime_error(tx.error().message);
    db::Statement st = prepare(db, "INSERT INTO people VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (int i = 0; i < kPeople; ++i) {
      const std::string id = person_id(i);
      char guid[40];
      std::snprintf(guid, sizeof guid, "%08X-4E2B-4C1D-9A7F-%012X", 0x5EED0000u + static_cast<unsigned>(i),
                    static_cast<unsigned>(i) * 2654435761u);
      const std::string first = "First" + std::to_string(i), last = "Last" + std::to_string(i);
      st.bind(1, id).bind(2, std::string(guid)).bind(3, first).bind(4, last).bind(5, first + " " + last);
      st.bind(6, first + "." + last + "@example.com");
      st.bind(7, "CN=" + first + " " + last + ",OU=People,DC=example,DC=com")
          .bind(8, "Department " + std::to_string(i % 40));
      check(st.run(), "insert person");
    }
    check(tx->commit(), "commit people");
  }

  int padding = options.padding;
  if (padding < 0) {
    // Render one event without padding, then pad the rest of the way to body_bytes.
    db::Statement ins = prepare(db, kInsertEvent);
    bind_event(ins, 0, "");
    check(ins.run(), "insert probe event");
    const std::string probe = path + ".probe";
    std::remove(probe.c_str());
    const double base = write_bodies(path, mapping_path, probe);
    std::remove(probe.c_str());
    check(db.exec("DELETE FROM herald_outbox; DELETE FROM sqlite_sequence WHERE name = 'herald_outbox'"),
          "remove probe");
    padding = std::max(0, options.body_bytes - static_cast<int>(base));
  }

  const std::string pad = padding_of(padding);
  auto tx = db::Transaction::begin(db);
  if (!tx) throw std::runtime_error(tx.error().message);
  db::Statement ins = prepare(db, kInsertEvent);
  for (int64_t seq = 0; seq < options.events; ++seq) {
    bind_event(ins, seq, pad);
    check(ins.run(), "insert event");
  }
  check(tx->commit(), "commit events");
  return padding;
}

struct Producer::Impl {
  db::Database db;
  db::Statement insert;
  std::string padding;
};

Producer::Producer(const std::string& path, int padding) : impl_(new Impl) {
  impl_->db = open_rw(path);
  // The producer's own choice, so that its inserts keep the pace; Herald's side is what is measured.
  check(impl_->db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"), "producer pragmas");
  impl_->insert = prepare(impl_->db, kInsertEvent);
  impl_->padding = padding_of(padding);
}

Producer::~Producer() { delete impl_; }

int64_t Producer::append(int64_t seq) {
  bind_event(impl_->insert, seq, impl_->padding);
  check(impl_->insert.run(), "append event");
  return impl_->db.last_insert_rowid();
}

double write_bodies(const std::string& producer_path, const std::string& mapping_path,
                    const std::string& bodies_path) {
  auto reader = outbox::OutboxReader::open(producer_path, "herald_outbox");
  if (!reader) throw std::runtime_error(producer_path + ": " + reader.error().message);
  auto mapping = mapping::Mapping::load(mapping_path, &reader->database());
  if (!mapping) throw std::runtime_error(mapping.error().message);
  std::ofstream out(bodies_path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + bodies_path);
  int64_t after = 0, count = 0;
  double bytes = 0;
  for (;;) {
    auto rows = reader->read_after(after, 1000);
    if (!rows) throw std::runtime_error(rows.error().message);
    if (rows->empty()) break;
    for (const auto& row : rows.value()) {
      auto rendered = mapping.value()->render(mapping::RenderContext{row.event});
      if (!rendered) throw std::runtime_error(rendered.error().message);
      const std::string body = rendered->body.dump();
      out << body << '\n';
      bytes += static_cast<double>(body.size());
      ++count;
      after = row.event.id;
    }
  }
  if (count == 0) throw std::runtime_error(producer_path + ": no events to render");
  return bytes / static_cast<double>(count);
}

}  // namespace herald::bench
