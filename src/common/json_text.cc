#include "common/json_text.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "common/text.h"

namespace herald {
namespace {

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      char u[8];
      std::snprintf(u, sizeof u, "\\u%04x", static_cast<unsigned>(c));
      out += u;
    }
  }
}

void append_string(std::string& out, const std::string& s) {
  const std::size_t start = out.size();
  out += '"';
  std::size_t run = 0;  // start of the bytes not copied yet
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, 8);
      if (!json_word_needs_a_look(w)) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        // dump() refuses malformed UTF-8 with its own error: let it say so.
        out.resize(start);
        out += nlohmann::json(s).dump();
        return;
      }
      i += n;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(s, run, i - run);
    append_escape(out, c);
    run = ++i;
  }
  out.append(s, run, std::string::npos);
  out += '"';
}

template <typename Int>
void append_integer(std::string& out, Int v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
  (void)ec;  // 24 characters hold any 64-bit integer
  out.append(digits, end);
}

}  // namespace

void append_json(std::string& out, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : j.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        append_json(out, value);
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& value : j) {
        if (!first) out += ',';
        first = false;
        append_json(out, value);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::string:
      append_string(out, j.get_ref<const std::string&>());
      return;
    case nlohmann::json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case nlohmann::json::value_t::number_integer:
      append_integer(out, j.get<nlohmann::json::number_integer_t>());
      return;
    case nlohmann::json::value_t::number_unsigned:
      append_integer(out, j.get<nlohmann::json::number_unsigned_t>());
      return;
    case nlohmann::json::value_t::null:
      out += "null";
      return;
    default:  // floating point, binary, discarded: rare, and dump() knows them
      out += j.dump();
      return;
  }
}

}  // namespace herald
