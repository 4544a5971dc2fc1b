// One row of the producer's outbox, parsed.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace herald {

struct Event {
  int64_t id = 0;
  std::string entity;                              // identity, device, request, policy, ...
  std::string action;                              // CREATE, UPDATE, DELETE, ENABLE, DISABLE, ...
  std::string name;                                // lifecycle event name; empty when NULL
  nlohmann::json keys = nlohmann::json::object();  // PersonID, DeviceID, JobID, ...
  nlohmann::json old_values;                       // object or null; extended attributes under "eav"
  nlohmann::json new_values;                       // object or null
  std::string occurred_at;                         // ISO-8601 as written by the producer
  // The producer's own text of old_values and new_values when they are
  // objects read from an outbox row: stored as they came, which spares
  // serialising them again (empty otherwise).
  std::string old_values_text;
  std::string new_values_text;
};

}  // namespace herald
