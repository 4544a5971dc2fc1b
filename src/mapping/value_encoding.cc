#include "mapping/value_encoding.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace herald::mapping {

namespace {

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr long long kMillisPerDay = 86'400'000LL;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=';
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

void civil_from_days(long long z, long long& y, unsigned& m, unsigned& d) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

bool is_leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(long long y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n decimal digits.
bool read_digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[pos + static_cast<std::size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  out = v;
  return true;
}

// Parses the textual SQLite date forms into milliseconds since the epoch (UTC).
std::optional<long long> parse_date_text(std::string_view s) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!read_digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, month) ||
      pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12) return std::nullopt;
  if (day < 1 || static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month)))
    return std::nullopt;
  long long millis =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * kMillisPerDay;
  if (pos == s.size()) return millis;

  if (s[pos] != ' ' && s[pos] != 'T') return std::nullopt;
  ++pos;
  int hour = 0, minute = 0, second = 0, ms = 0;
  if (!read_digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
      !read_digits(s, pos, 2, minute)) {
    return std::nullopt;
  }
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_digits(s, pos, 2, second)) return std::nullopt;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      std::size_t start = pos;
      int scale = 100;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (scale > 0) {
          ms += (s[pos] - '0') * scale;
          scale /= 10;
        }
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  millis += ((hour * 60LL + minute) * 60LL + second) * 1000LL + ms;

  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos == s.size()) return millis;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_digits(s, pos, 2, oh) || pos >= s.size() || s[pos++] != ':' || !read_digits(s, pos, 2, om)) {
      return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    // Local time = UTC + offset, so UTC = local - offset.
    millis -= sign * (oh * 60LL + om) * 60'000LL;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return millis;
}

// Plain decimal number text: optional sign, digits, optional fraction.
std::optional<double> parse_number_text(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  bool digit_seen = false, dot_seen = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit_seen = true;
    } else if (c == '.' && !dot_seen) {
      dot_seen = true;
    } else {
      return std::nullopt;
    }
  }
  if (!digit_seen) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return negative ? -v : v;
}

Result<std::string> number_to_iso(double x) {
  if (!std::isfinite(x)) return Error{"not a finite number"};
  double millis = 0;
  if (x >= 0.0 && x <= 5373484.499999) {
    // Julian day number: day 2440587.5 is the unix epoch.
    millis = (x - 2440587.5) * static_cast<double>(kMillisPerDay);
  } else if (x >= -210866760000.0 && x <= 253402300799.0) {
    millis = x * 1000.0;
  } else {
    return Error{"number out of the range of dates"};
  }
  return format_epoch_millis(std::llround(millis));
}

std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  std::size_t i = 0;
  for (; i < s.size() && out.size() < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (i < s.size()) out += "...";
  return out;
}

}  // namespace

Value Value::of_json(nlohmann::json j) {
  Value v;
  if (j.is_null()) return v;
  v.kind = Kind::Json;
  v.json = std::move(j);
  return v;
}

Value Value::of_bytes(std::string b) {
  Value v;
  v.kind = Kind::Bytes;
  v.bytes = std::move(b);
  return v;
}

std::string value_to_text(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Absent:
      return {};
    case Value::Kind::Bytes:
      return base64_encode(v.bytes);
    case Value::Kind::Json:
      if (v.json.is_string()) return v.json.get<std::string>();
      // Numbers, booleans, objects and arrays: compact JSON, which for
      // numbers is the shortest round-trip form and for booleans true/false.
      return v.json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return {};
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest == 1) {
    std::uint32_t n = byte(i) << 16;
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  hex = trim(hex);
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  std::string out;
  out.reserve(hex.size() / 2);
  int high = -1;
  for (char c : hex) {
    if (is_space(c)) continue;
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    if (high < 0) {
      high = d;
    } else {
      out += static_cast<char>((high << 4) | d);
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

std::string utf8_substring(std::string_view s, std::size_t start, std::optional<std::size_t> length) {
  auto advance = [&](std::size_t pos, std::size_t count) {
    while (pos < s.size() && count > 0) {
      ++pos;
      while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
      --count;
    }
    return pos;
  };
  std::size_t begin = advance(0, start);
  if (begin >= s.size()) return {};
  std::size_t end = length ? advance(begin, *length) : s.size();
  return std::string(s.substr(begin, end - begin));
}

std::string strip_guid_braces(std::string_view s) {
  if (s.size() >= 2 && s.front() == '{' && s.back() == '}') return std::string(s.substr(1, s.size() - 2));
  return std::string(s);
}

Result<bool> to_boolean(const Value& v) {
  if (v.kind == Value::Kind::Json) {
    const auto& j = v.json;
    if (j.is_boolean()) return j.get<bool>();
    if (j.is_number()) {
      double d = j.get<double>();
      if (d == 0.0) return false;
      if (d == 1.0) return true;
    } else if (j.is_string()) {
      std::string_view t = trim(j.get_ref<const std::string&>());
      if (t == "1" || iequals(t, "true") || iequals(t, "yes")) return true;
      if (t == "0" || iequals(t, "false") || iequals(t, "no")) return false;
    }
  }
  return Error{"value " + describe_value(v) + " is not a Boolean (accepted: 0, 1, true, false, yes, no)"};
}

Result<std::string> format_epoch_millis(long long millis) {
  long long days = millis / kMillisPerDay;
  long long rem = millis % kMillisPerDay;
  if (rem < 0) {
    rem += kMillisPerDay;
    --days;
  }
  long long y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) return Error{"date outside the years 0000-9999"};
  const auto ms = static_cast<int>(rem % 1000);
  const auto secs = static_cast<int>(rem / 1000);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(y), m, d,
                secs / 3600, (secs / 60) % 60, secs % 60, ms);
  return std::string(buf);
}

Result<std::string> to_iso8601_utc(const Value& v) {
  if (v.kind == Value::Kind::Json) {
    if (v.json.is_number()) {
      auto r = number_to_iso(v.json.get<double>());
      if (r) return r;
      return Error{"value " + describe_value(v) + " is not a date: " + r.error().message};
    }
    if (v.json.is_string()) {
      std::string_view t = trim(v.json.get_ref<const std::string&>());
      if (auto number = parse_number_text(t)) {
        auto r = number_to_iso(*number);
        if (r) return r;
        return Error{"value " + describe_value(v) + " is not a date: " + r.error().message};
      }
      if (auto millis = parse_date_text(t)) {
        auto r = format_epoch_millis(*millis);
        if (r) return r;
        return Error{"value " + describe_value(v) + " is not a date: " + r.error().message};
      }
    }
  }
  return Error{
      "value " + describe_value(v) +
      " is not a date (expected YYYY-MM-DD[ HH:MM[:SS[.fff]]][Z|+HH:MM], a Julian day or unix seconds)"};
}

Result<std::string> decode_hexed_b64_certificate(const Value& v) {
  std::string decoded;
  if (v.kind == Value::Kind::Bytes) {
    decoded = v.bytes;
  } else {
    auto bytes = hex_decode(value_to_text(v));
    if (!bytes) return Error{"value " + describe_value(v) + " is not hex text"};
    decoded = std::move(*bytes);
  }
  std::string out;
  out.reserve(decoded.size());
  for (char c : decoded) {
    if (c == '\r' || c == '\n') continue;
    if (!is_base64_char(c)) return Error{"hex-decoded certificate is not base64 text"};
    out += c;
  }
  return out;
}

std::string describe_value(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Absent:
      return "(none)";
    case Value::Kind::Bytes:
      return "(BLOB of " + std::to_string(v.bytes.size()) + " bytes)";
    case Value::Kind::Json:
      return "\"" + excerpt(value_to_text(v)) + "\"";
  }
  return {};
}

}  // namespace herald::mapping
