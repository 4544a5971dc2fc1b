// Decides which notification configurations an event triggers. Built once
// per configuration load; matching an event does no parsing.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "outbox/event.h"

namespace herald::rules {

class Matcher {
 public:
  explicit Matcher(const std::vector<config::NotificationConfig>& notifications);

  // Indices into the notifications given to the constructor, in
  // configuration order. Disabled configurations never match.
  std::vector<size_t> match(const Event& event) const;

 private:
  // Lifecycle names are case-sensitive; entity and action are not.
  std::unordered_map<std::string, std::vector<size_t>> by_name_;
  std::unordered_map<std::string, std::vector<size_t>> by_entity_action_;
};

}  // namespace herald::rules
