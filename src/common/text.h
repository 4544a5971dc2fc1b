// Small text helpers shared across the project.
#pragma once

#include <cstddef>
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

// Well-formed UTF-8 as Unicode defines it: no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view s);

// Bytes of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII),
// or 0 when it is not one. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace herald
