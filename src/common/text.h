// Small text helpers shared across the project.
#pragma once

#include <string>
#include <string_view>

namespace herald {

// ASCII-only case conversion: keywords, actions and entity names are ASCII,
// and other bytes (UTF-8 included) pass through unchanged.
inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace herald
