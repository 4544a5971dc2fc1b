// Values read for a notification payload and the conversions a mapping file
// can ask for: base64, hex, GUID braces, UTF-8 substrings, Boolean and ISO
// dates. Pure functions; no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/text.h"

namespace herald::mapping {

// One value taken from a source before it is placed in the payload: absent
// (NULL, no row, missing key), a JSON value (never null), or the raw bytes of
// a BLOB column.
struct Value {
  enum class Kind { Absent, Json, Bytes };
  Kind kind = Kind::Absent;
  nlohmann::json json;
  std::string bytes;

  static Value absent() { return Value{}; }
  // A JSON null gives an absent value.
  static Value of_json(nlohmann::json j);
  static Value of_bytes(std::string b);
  bool present() const { return kind != Kind::Absent; }
};

// Text form of a value: strings as they are, numbers in their shortest JSON
// spelling, true/false, objects and arrays as compact JSON, bytes as base64.
// Absent gives "".
std::string value_to_text(const Value& v);

// Standard base64 alphabet with '=' padding.
std::string base64_encode(std::string_view bytes);
// Hex digits (either case), optionally prefixed by 0x; ASCII whitespace is
// ignored. nullopt for an odd number of digits or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);

using herald::is_valid_utf8;  // common/text.h
// Code-point based substring: start and length count Unicode code points.
// A start beyond the end gives ""; a length running past the end stops at
// the end; no length means "to the end". s must be valid UTF-8.
std::string utf8_substring(std::string_view s, std::size_t start, std::optional<std::size_t> length);

// "{abc}" -> "abc"; anything else is returned unchanged.
std::string strip_guid_braces(std::string_view s);

// 0/1/true/false/yes/no (case-insensitive, surrounding whitespace ignored),
// JSON booleans and the numbers 0 and 1.
Result<bool> to_boolean(const Value& v);

// Converts the date forms SQLite understands to "yyyy-MM-ddTHH:mm:ss.fffZ"
// in UTC: YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS[.f...]] (space or 'T'), with an
// optional trailing Z or +/-HH:MM offset after the time; numbers (or numeric
// text) are Julian day numbers when in 0..5373484.499999 and unix seconds
// otherwise (SQLite's "auto" rule). Milliseconds come from the first three
// fraction digits (truncated), else .000.
Result<std::string> to_iso8601_utc(const Value& v);

// Milliseconds since 1970-01-01T00:00:00Z to "yyyy-MM-ddTHH:mm:ss.fffZ";
// fails outside years 0000-9999.
Result<std::string> format_epoch_millis(long long millis);

// HexedB64Certificate: text is hex whose bytes are base64 text (bytes of a
// BLOB are taken as that base64 text directly); CR and LF are removed and the
// result must be base64.
Result<std::string> decode_hexed_b64_certificate(const Value& v);

// A short, printable excerpt of a value for error messages.
std::string describe_value(const Value& v);

}  // namespace herald::mapping
