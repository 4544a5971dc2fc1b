// JPath: where a <Property> puts its value in the JSON body. Dotted names
// build nested objects ("device.validity.enabled"); a name may be followed by
// one or more [N] indexes to build arrays ("items[0].id", "tags[1]",
// "grid[0][2]").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace herald::mapping {

struct JPathStep {
  bool is_index = false;
  std::string key;        // when !is_index
  std::size_t index = 0;  // when is_index
};
using JPath = std::vector<JPathStep>;

// Largest array index a JPath may use (keeps a typo from allocating a huge array).
inline constexpr std::size_t kMaxJPathIndex = 9999;

// Parses a JPath; the first step is always a name, since the body is an
// object. Names may hold any character except '.', '[' and ']'. Fails
// (message without file/line) on empty names, bad or too large indexes.
Result<JPath> parse_jpath(std::string_view text);

// Stores value at path inside root (an object), creating objects and arrays
// on the way; array gaps are filled with null. Anything already at the final
// place is replaced.
void jpath_set(nlohmann::json& root, const JPath& path, nlohmann::json value);

// Records path in skeleton (a plan of the body built at load time) and fails
// when it collides with a path recorded before: the same place twice, a
// place inside another property's value, or an object step where an array
// step was used (or the reverse).
Status jpath_reserve(nlohmann::json& skeleton, const JPath& path);

std::string jpath_to_string(const JPath& path);

}  // namespace herald::mapping
