// Durations as operators write them: "500ms", "30s", "10m", "4h", "1d".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace herald::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace herald::config
