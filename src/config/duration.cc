#include "config/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

namespace herald::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t i = 0;
  int64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (value > std::numeric_limits<int64_t>::max() / 10 - 10) return std::nullopt;
    value = value * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (value > std::numeric_limits<int64_t>::max() / factor) return std::nullopt;
  return std::chrono::milliseconds(value * factor);
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  struct Unit {
    int64_t factor;
    const char* suffix;
  };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.factor == 0) return std::to_string(ms / u.factor) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace herald::config
