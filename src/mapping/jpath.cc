#include "mapping/jpath.h"

#include <charconv>
#include <utility>

namespace herald::mapping {

Result<JPath> parse_jpath(std::string_view text) {
  if (text.empty()) return Error{"empty JPath"};
  JPath path;
  std::size_t i = 0;
  bool expect_name = true;
  while (i < text.size()) {
    if (expect_name) {
      std::size_t end = text.find_first_of(".[]", i);
      if (end == std::string_view::npos) end = text.size();
      if (end == i)
        return Error{"JPath \"" + std::string(text) + "\": empty name at position " + std::to_string(i)};
      path.push_back(JPathStep{false, std::string(text.substr(i, end - i)), 0});
      i = end;
      expect_name = false;
      continue;
    }
    char c = text[i];
    if (c == '.') {
      ++i;
      expect_name = true;
      if (i == text.size()) return Error{"JPath \"" + std::string(text) + "\" ends with '.'"};
      continue;
    }
    if (c == '[') {
      std::size_t close = text.find(']', i);
      if (close == std::string_view::npos) return Error{"JPath \"" + std::string(text) + "\": unclosed '['"};
      std::string_view digits = text.substr(i + 1, close - i - 1);
      std::size_t index = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
        return Error{"JPath \"" + std::string(text) + "\": index [" + std::string(digits) +
                     "] is not a non-negative integer"};
      }
      if (index > kMaxJPathIndex) {
        return Error{"JPath \"" + std::string(text) + "\": index " + std::to_string(index) +
                     " is larger than " + std::to_string(kMaxJPathIndex)};
      }
      path.push_back(JPathStep{true, {}, index});
      i = close + 1;
      continue;
    }
    return Error{"JPath \"" + std::string(text) + "\": unexpected '" + std::string(1, c) + "' at position " +
                 std::to_string(i)};
  }
  return path;
}

void jpath_set(nlohmann::json& root, const JPath& path, nlohmann::json value) {
  nlohmann::json* node = &root;
  for (const auto& step : path) {
    if (step.is_index) {
      if (!node->is_array()) *node = nlohmann::json::array();
      while (node->size() <= step.index) node->push_back(nullptr);
      node = &(*node)[step.index];
    } else {
      if (!node->is_object()) *node = nlohmann::json::object();
      node = &(*node)[step.key];
    }
  }
  *node = std::move(value);
}

Status jpath_reserve(nlohmann::json& skeleton, const JPath& path) {
  // Leaves are marked with `true`; null means "not used yet".
  nlohmann::json* node = &skeleton;
  for (std::size_t k = 0; k < path.size(); ++k) {
    const auto& step = path[k];
    if (node->is_boolean()) {
      return Error{"JPath " + jpath_to_string(path) + " lies inside the value of " +
                   jpath_to_string(JPath(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(k)))};
    }
    if (step.is_index) {
      if (node->is_object()) {
        return Error{"JPath " + jpath_to_string(path) +
                     " uses an array index where another JPath has an object"};
      }
      if (node->is_null()) *node = nlohmann::json::array();
      while (node->size() <= step.index) node->push_back(nullptr);
      node = &(*node)[step.index];
    } else {
      if (node->is_array()) {
        return Error{"JPath " + jpath_to_string(path) +
                     " uses an object key where another JPath has an array"};
      }
      if (node->is_null()) *node = nlohmann::json::object();
      node = &(*node)[step.key];
    }
  }
  if (node->is_boolean()) return Error{"JPath " + jpath_to_string(path) + " is used twice"};
  if (!node->is_null())
    return Error{"JPath " + jpath_to_string(path) + " would replace values set by other JPaths"};
  *node = true;
  return {};
}

std::string jpath_to_string(const JPath& path) {
  std::string out;
  for (const auto& step : path) {
    if (step.is_index) {
      out += "[" + std::to_string(step.index) + "]";
    } else {
      if (!out.empty()) out += '.';
      out += step.key;
    }
  }
  return out;
}

}  // namespace herald::mapping
