// The end-to-end benchmark's data: a producer database (the outbox of
// config/outbox.sql plus a people table behind the view vPeople), the
// mapping that reads it, and the bodies Herald renders from it, written one
// per line for the ceiling client and the peer.
#pragma once

#include <cstdint>
#include <string>

namespace herald::bench {

// The people the events are about; each event names one (PersonID).
constexpr int kPeople = 10'000;
// The lifecycle event name the benchmark's notification listens to.
constexpr const char* kEventName = "Bench Person Changed";

// Writes the mapping file (one DataSource, vPeople by PersonID; URL /events/{Event.id}).
void write_mapping(const std::string& path);

// Creates a producer database with the outbox table and kPeople people, and
// `events` outbox rows whose rendered body is about `body_bytes` long.
// Returns the length of the padding field used to reach that size.
struct ProducerOptions {
  int64_t events = 0;
  int body_bytes = 1024;
  int padding = -1;  // < 0: measured by rendering one event
};
int create_producer(const std::string& path, const std::string& mapping_path, const ProducerOptions& options);

// Appends one event to an open producer database connection (see Producer).
class Producer {
 public:
  Producer(const std::string& path, int padding);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  // Inserts event number `seq` (its own transaction); returns its outbox id.
  int64_t append(int64_t seq);

 private:
  struct Impl;
  Impl* impl_;
};

// Renders every outbox event of the producer with the mapping, as Herald
// would, and writes one JSON body per line. Returns the mean body size.
double write_bodies(const std::string& producer_path, const std::string& mapping_path,
                    const std::string& bodies_path);

}  // namespace herald::bench
