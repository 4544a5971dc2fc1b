// Decides which notification configurations an event triggers. Built once
// per configuration load: rules are parsed and scripts compiled here, and the
// configurations are indexed by lifecycle name, by entity and action, then by
// the attribute their rule watches, so an event only costs the evaluation of
// configurations that could match it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "config/config.h"
#include "outbox/event.h"
#include "rules/lua_sandbox.h"
#include "rules/rule.h"

namespace herald::rules {

struct Match {
  size_t index = 0;  // into Config::notifications
  // The Rule.* values: attribute, old, new, rule, topic, level.
  nlohmann::json rule;
  // Identities a recipients script returned.
  std::vector<std::string> script_recipients;
};

class Matcher {
 public:
  // Compiles every rule and script; errors name the file, line and key.
  static Result<std::unique_ptr<Matcher>> build(const config::Config& config);

  // Matches in configuration order. A configuration whose rule script or
  // recipients script fails is skipped for this event and the reason (naming
  // the script file and line) is appended to `errors`. Not const: scripts keep per-evaluation state.
  std::vector<Match> match(const Event& event, std::vector<std::string>& errors);

  // How many configurations were evaluated for the last event (for tests
  // and benchmarks of the index).
  size_t last_candidates() const { return last_candidates_; }

 private:
  struct Entry {
    const config::NotificationConfig* config = nullptr;
    size_t index = 0;
    std::optional<Rule> rule;
    std::unique_ptr<Script> script;
    std::unique_ptr<Script> recipients_script;
  };
  // Configurations listening to the same name, or entity and action.
  struct Bucket {
    std::vector<size_t> unconditional;  // no rule, "!", or a script: always evaluated
    std::unordered_map<std::string, std::vector<size_t>> by_attribute;
  };

  Matcher() = default;
  void add_to(Bucket& bucket, size_t entry);
  void collect(const Bucket& bucket, const Event& event, std::vector<size_t>& out) const;
  std::optional<Match> evaluate(Entry& entry, const Event& event, std::vector<std::string>& errors);

  std::vector<Entry> entries_;
  std::unordered_map<std::string, Bucket> by_name_;
  std::unordered_map<std::string, Bucket> by_entity_action_;  // "entity\nACTION"
  std::unordered_map<std::string, Bucket> by_entity_;         // any action
  size_t last_candidates_ = 0;
};

// The text of a JSON value as rules compare it ("abc", 100, true); empty for
// absent or null.
std::string value_text(const nlohmann::json& value);

}  // namespace herald::rules
