#include "schedule/relative_date.h"

#include <cctype>
#include <cstdio>

#include <date/date.h>

#include "common/text.h"
#include "config/duration.h"

namespace herald::schedule {
namespace {

constexpr int64_t kDay = 86'400;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Wall-clock seconds written with a date library pattern.
std::string wall_clock(int64_t secs, const char* pattern) {
  return date::format(pattern, date::local_seconds(std::chrono::seconds(secs)));
}

}  // namespace

Result<RelativeDate> parse_relative_date(std::string_view text) {
  std::string_view s = trim(text);
  RelativeDate out;
  auto starts = [&](std::string_view word) {
    if (s.size() < word.size() || ascii_lower(s.substr(0, word.size())) != word) return false;
    s.remove_prefix(word.size());
    return true;
  };
  if (starts("today")) {
    out.base = RelativeDate::Base::Today;
  } else if (starts("now")) {
    out.base = RelativeDate::Base::Now;
  } else {
    return Error{"'" + std::string(text) + "': a date starts with 'now' or 'today'"};
  }
  s = trim(s);
  while (!s.empty()) {
    char sign = s.front();
    if (sign != '+' && sign != '-') {
      return Error{"'" + std::string(text) + "': expected '+' or '-' before '" + std::string(s) + "'"};
    }
    s = trim(s.substr(1));
    size_t end = 0;
    while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])))) ++end;
    std::string_view term = s.substr(0, end);
    std::optional<std::chrono::milliseconds> d;
    // Weeks are handy for calendars; the duration syntax stops at days.
    if (term.size() > 1 && (term.back() == 'w' || term.back() == 'W')) {
      auto days = config::parse_duration(std::string(term.substr(0, term.size() - 1)) + "d");
      if (days) d = *days * 7;
    } else {
      d = config::parse_duration(term);
    }
    if (term.empty() || !d) {
      return Error{"'" + std::string(text) + "': expected a duration such as 3d, 12h, 30m or 2w after '" +
                   std::string(1, sign) + "'"};
    }
    int64_t secs = d->count() / 1000;
    out.offset_s += sign == '+' ? secs : -secs;
    s = trim(s.substr(end));
  }
  return out;
}

int64_t resolve(const RelativeDate& date, int64_t now_s, const TimeZone& zone) {
  int64_t base = date.base == RelativeDate::Base::Today ? align_down(now_s, kDay, zone) : now_s;
  return zone.from_local(zone.to_local(base) + date.offset_s);
}

Result<DateFormat> parse_date_format(std::string_view name) {
  static constexpr std::pair<std::string_view, DateFormat> kFormats[] = {
      {"iso8601", DateFormat::Iso8601}, {"sqlite", DateFormat::Sqlite}, {"local", DateFormat::Local},
      {"date", DateFormat::Date},       {"unix", DateFormat::Unix},     {"unix_ms", DateFormat::UnixMs}};
  std::string lower = ascii_lower(name);
  for (const auto& [n, f] : kFormats) {
    if (lower == n) return f;
  }
  return Error{"unknown date format '" + std::string(name) +
               "' (iso8601, sqlite, local, date, unix or unix_ms)"};
}

std::variant<std::string, int64_t> format_date(int64_t instant_s, DateFormat format, const TimeZone& zone) {
  switch (format) {
    case DateFormat::Iso8601:
      return wall_clock(instant_s, "%FT%TZ");
    case DateFormat::Sqlite:
      return wall_clock(instant_s, "%F %T");
    case DateFormat::Local:
      return wall_clock(zone.to_local(instant_s), "%FT%T");
    case DateFormat::Date:
      return wall_clock(zone.to_local(instant_s), "%F");
    case DateFormat::Unix:
      return instant_s;
    case DateFormat::UnixMs:
      return instant_s * 1000;
  }
  return instant_s;
}

}  // namespace herald::schedule
