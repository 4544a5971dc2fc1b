#include "rules/matcher.h"

#include "common/text.h"

#include <algorithm>
#include <cctype>

namespace herald::rules {
namespace {

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// The event's value of an attribute used by a filter: new values first (the
// state after the change), then old values.
std::string attribute_text(const Event& e, const char* key) {
  if (const auto* v = member(e.new_values, key)) return value_text(*v);
  if (const auto* v = member(e.old_values, key)) return value_text(*v);
  return "";
}

// Top-level attributes the event carries on either side ("EAV:code" for
// extended attributes): a rule on any other attribute cannot match.
void touched(const Event& e, std::vector<std::string>& out) {
  for (const nlohmann::json* side : {&e.old_values, &e.new_values}) {
    if (!side->is_object()) continue;
    for (auto it = side->begin(); it != side->end(); ++it) {
      if (it.key() == "eav" && it->is_object()) {
        for (auto eav = it->begin(); eav != it->end(); ++eav) out.push_back("EAV:" + eav.key());
      } else {
        out.push_back(it.key());
      }
    }
  }
}

}  // namespace

std::string value_text(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

Result<std::unique_ptr<Matcher>> Matcher::build(const config::Config& config) {
  std::unique_ptr<Matcher> m(new Matcher());
  m->entries_.reserve(config.notifications.size());
  for (size_t i = 0; i < config.notifications.size(); ++i) {
    const auto& n = config.notifications[i];
    Entry entry;
    entry.config = &n;
    entry.index = i;
    std::string where = config.path + ":" + std::to_string(n.rule_line ? n.rule_line : n.line) +
                        ": key 'notification[" + std::to_string(i) + "].";
    if (!n.rule.empty()) {
      auto rule = Rule::parse(n.rule);
      if (!rule) return Error{where + "rule': " + rule.error().message + " in \"" + n.rule + "\""};
      entry.rule = std::move(rule.value());
    }
    if (!n.script.empty()) {
      auto script = Script::load(n.script);
      if (!script) return Error{script.error().message + " (script of notification '" + n.name + "')"};
      entry.script = std::move(script.value());
    }
    if (!n.recipients.script.empty()) {
      auto script = Script::load(n.recipients.script);
      if (!script)
        return Error{script.error().message + " (recipients script of notification '" + n.name + "')"};
      entry.recipients_script = std::move(script.value());
    }
    m->entries_.push_back(std::move(entry));
  }
  for (size_t i = 0; i < m->entries_.size(); ++i) {
    const auto& n = *m->entries_[i].config;
    if (!n.enabled) continue;
    if (!n.on.empty()) {
      m->add_to(m->by_name_[n.on], i);
    } else if (!n.action.empty()) {
      m->add_to(m->by_entity_action_[ascii_lower(n.entity) + "\n" + ascii_upper(n.action)], i);
    } else {
      m->add_to(m->by_entity_[ascii_lower(n.entity)], i);
    }
  }
  return m;
}

void Matcher::add_to(Bucket& bucket, size_t i) {
  const Entry& e = entries_[i];
  if (e.script || !e.rule || e.rule->always()) {
    bucket.unconditional.push_back(i);
    return;
  }
  // A dotted attribute is looked up under its full name first, then by
  // walking objects: index it under both.
  const std::string& attr = e.rule->attribute();
  bucket.by_attribute[attr].push_back(i);
  if (!e.rule->is_eav()) {
    auto dot = attr.find('.');
    if (dot != std::string::npos) bucket.by_attribute[attr.substr(0, dot)].push_back(i);
  }
}

void Matcher::collect(const Bucket& bucket, const Event& event, std::vector<size_t>& out) const {
  out.insert(out.end(), bucket.unconditional.begin(), bucket.unconditional.end());
  if (bucket.by_attribute.empty()) return;
  std::vector<std::string> keys;
  touched(event, keys);
  for (const auto& k : keys) {
    if (auto it = bucket.by_attribute.find(k); it != bucket.by_attribute.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
}

std::vector<Match> Matcher::match(const Event& event, std::vector<std::string>& errors) {
  std::vector<size_t> candidates;
  if (!event.name.empty()) {
    if (auto it = by_name_.find(event.name); it != by_name_.end()) collect(it->second, event, candidates);
  }
  std::string entity = ascii_lower(event.entity);
  if (auto it = by_entity_action_.find(entity + "\n" + ascii_upper(event.action));
      it != by_entity_action_.end()) {
    collect(it->second, event, candidates);
  }
  if (auto it = by_entity_.find(entity); it != by_entity_.end()) collect(it->second, event, candidates);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  last_candidates_ = candidates.size();

  std::vector<Match> out;
  for (size_t i : candidates) {
    if (auto m = evaluate(entries_[i], event, errors)) out.push_back(std::move(*m));
  }
  return out;
}

std::optional<Match> Matcher::evaluate(Entry& entry, const Event& event, std::vector<std::string>& errors) {
  const auto& n = *entry.config;
  if (!n.actions.empty() &&
      std::find(n.actions.begin(), n.actions.end(), ascii_upper(event.action)) == n.actions.end()) {
    return std::nullopt;
  }
  if (!n.form_projection.empty() && attribute_text(event, "formProjection") != n.form_projection) {
    return std::nullopt;
  }
  if (!n.system.empty()) {
    const nlohmann::json* key = member(event.keys, "System");
    std::string system = key ? value_text(*key) : attribute_text(event, "system");
    if (system != n.system) return std::nullopt;
  }

  Match m;
  m.index = entry.index;
  // Built in place: an initializer list would build each member, then copy it.
  nlohmann::json::object_t rule;
  rule.emplace("topic", n.topic);
  rule.emplace("level", n.level);
  rule.emplace("notification", n.name);
  if (entry.script) {
    // A script, when present, decides alone.
    auto verdict = entry.script->evaluate_rule(event);
    if (!verdict) {
      errors.push_back("notification '" + n.name + "' skipped for event " + std::to_string(event.id) + ": " +
                       verdict.error().message);
      return std::nullopt;
    }
    if (!verdict.value()) return std::nullopt;
    rule.emplace("rule", "script:" + n.script);
  } else if (entry.rule) {
    auto hit = entry.rule->evaluate(event);
    if (!hit) return std::nullopt;
    rule.emplace("rule", hit->rule_text);
    rule.emplace("attribute", hit->attribute);
    rule.emplace("old", std::move(hit->old_value));
    rule.emplace("new", std::move(hit->new_value));
  }
  m.rule = std::move(rule);
  if (entry.recipients_script) {
    auto ids = entry.recipients_script->evaluate_recipients(event);
    if (!ids) {
      errors.push_back("notification '" + n.name + "' skipped for event " + std::to_string(event.id) +
                       ": recipients script failed: " + ids.error().message);
      return std::nullopt;
    }
    m.script_recipients = std::move(ids.value());
  }
  return m;
}

}  // namespace herald::rules
