#include "schedule/posix_tz_rule.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include "schedule/civil_days.h"

namespace herald::schedule {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool take(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // "<+03>" (any characters but '>') or three or more letters.
  bool name() {
    if (take('<')) {
      const size_t close = text_.find('>', pos_);
      if (close == std::string_view::npos || close == pos_) return false;
      pos_ = close + 1;
      return true;
    }
    const size_t start = pos_;
    while (std::isalpha(static_cast<unsigned char>(peek())) != 0) ++pos_;
    return pos_ - start >= 3;
  }

  std::optional<int64_t> number(int64_t max) {
    const size_t start = pos_;
    int64_t n = 0;
    while (std::isdigit(static_cast<unsigned char>(peek())) != 0) {
      n = n * 10 + (text_[pos_++] - '0');
      if (n > max) return std::nullopt;
    }
    if (pos_ == start) return std::nullopt;
    return n;
  }

  // [+-]hh[:mm[:ss]] in seconds, hours up to max_hours.
  std::optional<int64_t> duration(int64_t max_hours) {
    int64_t sign = 1;
    if (take('-')) {
      sign = -1;
    } else {
      take('+');
    }
    auto h = number(max_hours);
    if (!h) return std::nullopt;
    int64_t s = *h * 3600;
    for (int64_t unit : {60, 1}) {
      if (!take(':')) break;
      auto part = number(59);
      if (!part) return std::nullopt;
      s += *part * unit;
    }
    return sign * s;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<PosixTzRule> PosixTzRule::parse(std::string_view text) {
  const auto fail = [&](const char* what) { return Error("TZ rule '" + std::string(text) + "': " + what); };
  Reader r(text);
  PosixTzRule rule;
  if (!r.name()) return fail("expected the standard time's name");
  // POSIX counts hours west of Greenwich: "CET-1" is an hour east.
  auto std_west = r.duration(24);
  if (!std_west) return fail("expected the standard time's offset");
  rule.std_offset_ = -*std_west;
  if (r.done()) return fail("no daylight saving");
  if (!r.name()) return fail("expected the daylight-saving time's name");
  rule.dst_offset_ = rule.std_offset_ + 3'600;
  if (r.peek() != ',' && !r.done()) {
    auto dst_west = r.duration(24);
    if (!dst_west) return fail("expected the daylight-saving time's offset");
    rule.dst_offset_ = -*dst_west;
  }
  // Without rules POSIX leaves the dates to the implementation: none to follow.
  if (!r.take(',')) return fail("no rules for daylight saving");
  for (Change* c : {&rule.start_, &rule.end_}) {
    if (c == &rule.end_ && !r.take(',')) return fail("expected ',' and the end rule");
    if (r.take('M')) {
      const int64_t m = r.number(12).value_or(0);
      const int64_t w = r.take('.') ? r.number(5).value_or(0) : 0;
      const int64_t d = r.take('.') ? r.number(6).value_or(-1) : -1;
      if (m < 1 || w < 1 || d < 0) return fail("expected Mm.w.d");
      c->kind = Change::Kind::MonthWeekDay;
      c->month = static_cast<int>(m);
      c->week = static_cast<int>(w);
      c->weekday = static_cast<int>(d);
    } else if (r.take('J')) {
      auto n = r.number(365);
      if (!n || *n < 1) return fail("expected Jn, n from 1 to 365");
      c->kind = Change::Kind::Julian;
      c->day = static_cast<int>(*n);
    } else {
      auto n = r.number(365);
      if (!n) return fail("expected a rule: Mm.w.d, Jn or n");
      c->kind = Change::Kind::ZeroBasedDay;
      c->day = static_cast<int>(*n);
    }
    if (r.take('/')) {
      auto t = r.duration(167);
      if (!t) return fail("expected the rule's time after '/'");
      c->time_s = *t;
    }
  }
  if (!r.done()) return fail("unexpected text after the end rule");
  return rule;
}

int64_t PosixTzRule::instant(int year, const Change& c, int64_t offset_before) {
  using namespace std::chrono;
  const sys_days new_year{std::chrono::year{year} / January / 1};
  int64_t day = 0;
  switch (c.kind) {
    case Change::Kind::MonthWeekDay: {
      const auto in_month = std::chrono::year{year} / month{static_cast<unsigned>(c.month)};
      const weekday wd{static_cast<unsigned>(c.weekday)};
      // Week 5 is the last such day, the 4th or the 5th.
      day = days_of(c.week == 5 ? sys_days{in_month / wd[last]}
                                : sys_days{in_month / wd[static_cast<unsigned>(c.week)]});
      break;
    }
    case Change::Kind::Julian:
      day = days_of(new_year) + c.day - 1 + (std::chrono::year{year}.is_leap() && c.day >= 60 ? 1 : 0);
      break;
    case Change::Kind::ZeroBasedDay:
      day = days_of(new_year) + c.day;
      break;
  }
  return day * kSecondsPerDay + c.time_s - offset_before;
}

std::pair<int64_t, int64_t> PosixTzRule::changes_in(int year) const {
  return {instant(year, start_, std_offset_), instant(year, end_, dst_offset_)};
}

int64_t PosixTzRule::offset_at(int64_t utc_s) const {
  const auto [start, end] = changes_in(year_of(utc_s));
  const bool daylight = start < end ? (utc_s >= start && utc_s < end) : !(utc_s >= end && utc_s < start);
  return daylight ? dst_offset_ : std_offset_;
}

int64_t PosixTzRule::from_local(int64_t local_s) const {
  const int64_t as_std = local_s - std_offset_;
  const int64_t as_dst = local_s - dst_offset_;
  const bool std_reads = offset_at(as_std) == std_offset_;
  const bool dst_reads = offset_at(as_dst) == dst_offset_;
  if (std_reads && dst_reads) return std::min(as_std, as_dst);
  if (std_reads) return as_std;
  if (dst_reads) return as_dst;
  // Neither reading: the clocks skip this time, at a change between the two.
  const int64_t lo = std::min(as_std, as_dst);
  const int64_t hi = std::max(as_std, as_dst);
  const int year = year_of(local_s);
  for (int y = year - 1; y <= year + 1; ++y) {
    const auto [start, end] = changes_in(y);
    for (int64_t change : {start, end}) {
      if (change > lo && change <= hi) return change;
    }
  }
  return as_std;
}

}  // namespace herald::schedule
