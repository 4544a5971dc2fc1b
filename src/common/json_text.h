// JSON text for nlohmann::json values, byte for byte what dump() writes
// (compact, members in the value's order, UTF-8 kept as it is), in less
// time: dump() escapes strings one byte at a time through a UTF-8 decoder,
// and bodies, keys and rules are written for every notification.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace herald {

// Appends the text of j to out. Like dump(), throws nlohmann::json's
// type_error for a string that is not valid UTF-8.
void append_json(std::string& out, const nlohmann::json& j);

inline std::string json_text(const nlohmann::json& j) {
  std::string out;
  append_json(out, j);
  return out;
}

}  // namespace herald
