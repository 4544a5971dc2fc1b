#include "schedule/cron.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <vector>

#include "common/text.h"
#include "schedule/civil_days.h"

namespace herald::schedule {
namespace {

// How far both searches look: 5 years, leap days included.
constexpr int64_t kHorizon = (5 * 365 + 2) * kSecondsPerDay;

constexpr int64_t seconds_at(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}}
             .time_since_epoch()
             .count() *
         kSecondsPerDay;
}
// Instants handled: far enough inside the years 0001-9999 that TimeZone
// never clamps what a 5-year search reaches.
constexpr int64_t kFirstSupported = seconds_at(10, 1, 1);
constexpr int64_t kEndSupported = seconds_at(9990, 1, 1);

constexpr std::string_view kBlanks = " \t\n\r\f\v";

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Where * and a/n end: max, but 6 for weekdays, whose 7 only repeats Sunday.
  int star_max;
  // Three upper-case letters per value from min, or empty.
  std::string_view names;
};

constexpr FieldSpec kSecond{"second", 0, 59, 59, ""};
constexpr FieldSpec kMinute{"minute", 0, 59, 59, ""};
constexpr FieldSpec kHour{"hour", 0, 23, 23, ""};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31, ""};
constexpr FieldSpec kMonth{"month", 1, 12, 12, "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, "SUNMONTUEWEDTHUFRISAT"};

bool is_day_field(const FieldSpec& spec) { return &spec == &kDayOfMonth || &spec == &kDayOfWeek; }

std::string out_of_range(const FieldSpec& spec) {
  return "value out of range " + std::to_string(spec.min) + "-" + std::to_string(spec.max);
}

// Digits only, at most 4 of them (more is out of range anyway); nullopt otherwise.
std::optional<int> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

Result<int> parse_value(std::string_view text, const FieldSpec& spec) {
  if (text.empty()) return Error("missing value");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::optional<int> value = parse_number(text);
    if (!value || *value < spec.min || *value > spec.max) return Error(out_of_range(spec));
    return *value;
  }
  if (text.size() == 3) {
    const std::string upper = ascii_upper(text);
    for (size_t i = 0; i + 3 <= spec.names.size(); i += 3) {
      if (spec.names.substr(i, 3) == upper) return spec.min + static_cast<int>(i / 3);
    }
  }
  return Error("invalid value '" + std::string(text) + "'");
}

// One list item: *, a, a-b, each optionally /n.
Result<uint64_t> parse_item(std::string_view item, const FieldSpec& spec) {
  if (item.empty()) return Error("empty list item");
  std::string_view range = item;
  int step = 1;
  bool stepped = false;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    range = item.substr(0, slash);
    const std::string_view step_text = item.substr(slash + 1);
    if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string_view::npos) {
      return Error("invalid step '" + std::string(step_text) + "'");
    }
    const std::optional<int> value = parse_number(step_text);
    if (!value || *value < 1 || *value > spec.max) {
      return Error("step out of range 1-" + std::to_string(spec.max));
    }
    step = *value;
    stepped = true;
  }

  int first = spec.min;
  int last = spec.star_max;
  if (range == "?") {
    return Error(is_day_field(spec) ? "'?' must be the whole field" : "'?' is only for the day fields");
  }
  if (range != "*") {
    const size_t dash = range.find('-');
    Result<int> low = parse_value(range.substr(0, dash), spec);
    if (!low) return low.error();
    first = *low;
    // a/n runs to the end (7/n on weekdays is Sunday alone).
    last = stepped ? std::max(first, spec.star_max) : first;
    if (dash != std::string_view::npos) {
      Result<int> high = parse_value(range.substr(dash + 1), spec);
      if (!high) return high.error();
      last = *high;
      // SAT-SUN reads as 6-0: Sunday closes the week as 7.
      if (&spec == &kDayOfWeek && last == 0 && first > 0) last = 7;
      if (first > last) return Error("range start after its end");
    }
  }

  uint64_t bits = 0;
  for (int v = first; v <= last; v += step) bits |= uint64_t{1} << v;
  return bits;
}

Result<uint64_t> parse_field(std::string_view text, const FieldSpec& spec) {
  auto fail = [&](const std::string& problem) {
    return Error(std::string(spec.name) + " field '" + std::string(text) + "': " + problem);
  };
  std::string_view list = text;
  if (text == "?") {
    if (!is_day_field(spec)) return fail("'?' is only for the day fields");
    list = "*";
  }
  uint64_t bits = 0;
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    const std::string_view item =
        list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    Result<uint64_t> item_bits = parse_item(item, spec);
    if (!item_bits) return fail(item_bits.error().message);
    bits |= *item_bits;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

struct Macro {
  std::string_view name;
  std::string_view fields;
};

constexpr Macro kMacros[] = {
    {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
    {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
    {"@hourly", "0 0 * * * *"},
};

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = text.find_first_not_of(kBlanks);
  while (pos != std::string_view::npos) {
    const size_t end = text.find_first_of(kBlanks, pos);
    words.push_back(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    pos = end == std::string_view::npos ? end : text.find_first_not_of(kBlanks, end);
  }
  return words;
}

// A wall-clock time taken apart; `days` counts from 1970-01-01.
struct Civil {
  int64_t days;
  int year;
  unsigned month;
  unsigned day;
  int hour;
  int minute;
  int second;
};

Civil civil(int64_t local_s) {
  const int64_t days = floor_div(local_s, kSecondsPerDay);
  const int64_t in_day = local_s - days * kSecondsPerDay;
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
  return {days,
          static_cast<int>(date.year()),
          static_cast<unsigned>(date.month()),
          static_cast<unsigned>(date.day()),
          static_cast<int>(in_day / 3600),
          static_cast<int>(in_day / 60 % 60),
          static_cast<int>(in_day % 60)};
}

// First second of month m of year y; m may be 13 (January of the next year).
int64_t month_start(int y, unsigned m) { return m > 12 ? seconds_at(y + 1, 1, 1) : seconds_at(y, m, 1); }

// Lowest set bit at or above `from`, or 64.
int next_bit(uint64_t mask, int from) {
  if (from > 63) return 64;
  return std::countr_zero(mask & (~uint64_t{0} << from));
}

// Highest set bit at or below `upto`, or -1.
int prev_bit(uint64_t mask, int upto) {
  if (upto < 0) return -1;
  if (upto < 63) mask &= (uint64_t{2} << upto) - 1;
  return 63 - std::countl_zero(mask);
}

// The local time L at or after `lo` where zone.from_local(L) first exceeds
// utc_s. from_local is non-decreasing, so gallop then bisect. Right after
// lo this is lo + 1; further only in the second pass of a DST overlap, where
// the wall clock repeats times whose (first) instant is already past.
int64_t first_local_past(int64_t lo, int64_t utc_s, const TimeZone& zone) {
  int64_t step = 1;
  int64_t hi = lo + step;
  // 40 doublings reach far past any overlap; the bound only guards the loop.
  for (int i = 0; i < 40 && zone.from_local(hi) <= utc_s; ++i) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (zone.from_local(mid) <= utc_s) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return hi;
}

}  // namespace

Result<CronExpression> CronExpression::parse(std::string_view text) {
  const size_t begin = text.find_first_not_of(kBlanks);
  text = begin == std::string_view::npos ? std::string_view{}
                                         : text.substr(begin, text.find_last_not_of(kBlanks) - begin + 1);
  const std::string quoted = "cron expression '" + std::string(text) + "'";

  std::vector<std::string_view> words = split_words(text);
  if (!words.empty() && words[0].starts_with('@')) {
    if (words.size() > 1) return Error(quoted + ": " + std::string(words[0]) + " takes no fields");
    const std::string name = ascii_lower(words[0]);
    const Macro* macro = nullptr;
    for (const Macro& m : kMacros) {
      if (m.name == name) macro = &m;
    }
    if (macro == nullptr) {
      return Error(quoted + ": unknown macro (expected @yearly, @annually, @monthly, @weekly, @daily, " +
                   "@midnight or @hourly)");
    }
    words = split_words(macro->fields);
  }
  if (words.size() != 5 && words.size() != 6) {
    return Error(quoted + ": expected 5 or 6 fields, got " + std::to_string(words.size()));
  }

  CronExpression cron;
  cron.text_ = std::string(text);
  Fields& f = cron.fields_;
  const FieldSpec* specs[] = {&kSecond, &kMinute, &kHour, &kDayOfMonth, &kMonth, &kDayOfWeek};
  uint64_t* targets[] = {&f.seconds, &f.minutes, &f.hours, &f.days_of_month, &f.months, &f.days_of_week};
  // Five fields: no seconds field, the second is 0.
  const size_t skipped = 6 - words.size();
  if (skipped == 1) f.seconds = 1;
  for (size_t i = 0; i < words.size(); ++i) {
    Result<uint64_t> bits = parse_field(words[i], *specs[i + skipped]);
    if (!bits) return bits.error();
    *targets[i + skipped] = *bits;
  }
  // 7 is Sunday again.
  if (f.days_of_week & (uint64_t{1} << 7)) f.days_of_week = (f.days_of_week | 1) & ~(uint64_t{1} << 7);
  // Vixie cron's test: a day field counts as unrestricted when it starts with
  // * (even */2), so both must match; two restricted fields match either.
  const std::string_view dom = words[words.size() - 3];
  const std::string_view dow = words[words.size() - 1];
  f.any_day_of_month = dom.starts_with('*') || dom == "?";
  f.any_day_of_week = dow.starts_with('*') || dow == "?";
  return cron;
}

uint64_t CronExpression::matching_days(int year, unsigned month) const {
  const auto last = std::chrono::year_month_day_last{std::chrono::year{year} / std::chrono::month{month} /
                                                     std::chrono::last};
  const unsigned days_in_month = static_cast<unsigned>(last.day());
  const uint64_t in_month = ((uint64_t{2} << days_in_month) - 1) & ~uint64_t{1};

  uint64_t by_weekday = in_month;
  if (fields_.days_of_week != 0x7F) {
    by_weekday = 0;
    const std::chrono::sys_days first{std::chrono::year{year} / std::chrono::month{month} / 1};
    unsigned weekday = std::chrono::weekday{first}.c_encoding();
    for (unsigned d = 1; d <= days_in_month; ++d, weekday = (weekday + 1) % 7) {
      if (fields_.days_of_week >> weekday & 1) by_weekday |= uint64_t{1} << d;
    }
  }
  const uint64_t days = fields_.any_day_of_month || fields_.any_day_of_week
                            ? fields_.days_of_month & by_weekday
                            : fields_.days_of_month | by_weekday;
  return days & in_month;
}

// Each step jumps to the start of the next month, day, hour or minute that
// can match, so a search costs a few dozen steps at most.
std::optional<int64_t> CronExpression::next_local(int64_t from, int64_t limit) const {
  int64_t t = from;
  while (t <= limit) {
    const Civil c = civil(t);
    if (!(fields_.months >> c.month & 1)) {
      const int m = next_bit(fields_.months, static_cast<int>(c.month) + 1);
      t = m <= 12 ? month_start(c.year, static_cast<unsigned>(m))
                  : month_start(c.year + 1, static_cast<unsigned>(next_bit(fields_.months, 1)));
      continue;
    }
    const int d = next_bit(matching_days(c.year, c.month), static_cast<int>(c.day));
    if (d > 31) {
      t = month_start(c.year, c.month + 1);
      continue;
    }
    bool same = d == static_cast<int>(c.day);
    const int64_t day_start = (c.days + d - static_cast<int>(c.day)) * kSecondsPerDay;
    const int h = next_bit(fields_.hours, same ? c.hour : 0);
    if (h > 23) {
      t = day_start + kSecondsPerDay;
      continue;
    }
    same = same && h == c.hour;
    const int mi = next_bit(fields_.minutes, same ? c.minute : 0);
    if (mi > 59) {
      t = day_start + (h + 1) * 3600;
      continue;
    }
    same = same && mi == c.minute;
    const int s = next_bit(fields_.seconds, same ? c.second : 0);
    if (s > 59) {
      t = day_start + h * 3600 + (mi + 1) * 60;
      continue;
    }
    const int64_t found = day_start + h * 3600 + mi * 60 + s;
    if (found > limit) break;
    return found;
  }
  return std::nullopt;
}

std::optional<int64_t> CronExpression::prev_local(int64_t from, int64_t limit) const {
  int64_t t = from;
  while (t >= limit) {
    const Civil c = civil(t);
    if (!(fields_.months >> c.month & 1)) {
      const int m = prev_bit(fields_.months, static_cast<int>(c.month) - 1);
      const unsigned last = static_cast<unsigned>(prev_bit(fields_.months, 12));
      t = (m >= 1 ? month_start(c.year, static_cast<unsigned>(m) + 1) : month_start(c.year - 1, last + 1)) -
          1;
      continue;
    }
    const int d = prev_bit(matching_days(c.year, c.month), static_cast<int>(c.day));
    if (d < 1) {
      t = month_start(c.year, c.month) - 1;
      continue;
    }
    bool same = d == static_cast<int>(c.day);
    const int64_t day_start = (c.days + d - static_cast<int>(c.day)) * kSecondsPerDay;
    const int h = prev_bit(fields_.hours, same ? c.hour : 23);
    if (h < 0) {
      t = day_start - 1;
      continue;
    }
    same = same && h == c.hour;
    const int mi = prev_bit(fields_.minutes, same ? c.minute : 59);
    if (mi < 0) {
      t = day_start + h * 3600 - 1;
      continue;
    }
    same = same && mi == c.minute;
    const int s = prev_bit(fields_.seconds, same ? c.second : 59);
    if (s < 0) {
      t = day_start + h * 3600 + mi * 60 - 1;
      continue;
    }
    const int64_t found = day_start + h * 3600 + mi * 60 + s;
    if (found < limit) break;
    return found;
  }
  return std::nullopt;
}

// Both searches run on the wall clock and map the match back with
// from_local(), whose DST choices (gap end, first occurrence) are the firing
// rules. from_local is non-decreasing, so the first wall-clock match past
// the start maps to the first firing past it.
std::optional<int64_t> CronExpression::next_after(int64_t after_utc_s, const TimeZone& zone) const {
  if (after_utc_s < kFirstSupported || after_utc_s >= kEndSupported) return std::nullopt;
  const int64_t from = first_local_past(zone.to_local(after_utc_s), after_utc_s, zone);
  const std::optional<int64_t> local = next_local(from, from + kHorizon);
  if (!local) return std::nullopt;
  return zone.from_local(*local);
}

std::optional<int64_t> CronExpression::latest_at_or_before(int64_t at_utc_s, const TimeZone& zone) const {
  if (at_utc_s < kFirstSupported || at_utc_s >= kEndSupported) return std::nullopt;
  const int64_t from = first_local_past(zone.to_local(at_utc_s), at_utc_s, zone) - 1;
  const std::optional<int64_t> local = prev_local(from, from - kHorizon);
  if (!local) return std::nullopt;
  return zone.from_local(*local);
}

}  // namespace herald::schedule
