#include "rules/matcher.h"

#include <algorithm>
#include <cctype>

namespace herald::rules {
namespace {

std::string entity_action_key(std::string_view entity, std::string_view action) {
  std::string key;
  key.reserve(entity.size() + action.size() + 1);
  for (char c : entity) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  key += '\n';
  for (char c : action) key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

Matcher::Matcher(const std::vector<config::NotificationConfig>& notifications) {
  for (size_t i = 0; i < notifications.size(); ++i) {
    const auto& n = notifications[i];
    if (!n.enabled) continue;
    if (!n.on.empty()) {
      by_name_[n.on].push_back(i);
    } else {
      by_entity_action_[entity_action_key(n.entity, n.action)].push_back(i);
    }
  }
}

std::vector<size_t> Matcher::match(const Event& event) const {
  std::vector<size_t> out;
  if (!event.name.empty()) {
    if (auto it = by_name_.find(event.name); it != by_name_.end()) out = it->second;
  }
  if (auto it = by_entity_action_.find(entity_action_key(event.entity, event.action));
      it != by_entity_action_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace herald::rules
