// Small text helpers shared across the project.
#pragma once

#include <cstddef>
#include <cstdint>
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

// True when one of the eight bytes packed in w needs a look of its own in a
// JSON string: a control character, '"', '\\' or a byte of a multibyte
// sequence. Lets JSON readers and writers pass plain text eight bytes at a
// time (the classic "has a zero byte" and "has a byte below n" word tests).
constexpr bool json_word_needs_a_look(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return ((w & kHigh) | below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) != 0;
}

// Well-formed UTF-8 as Unicode defines it: no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view s);

// Bytes of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII),
// or 0 when it is not one. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace herald
