#include "rules/rule.h"

#include <utility>

#include "common/text.h"

namespace herald::rules {
namespace {

using json = nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The text a value compares by; false when the value is empty (absent, JSON
// null or ""). `scratch` holds the text of non-string values.
bool value_text(const json* v, std::string& scratch, std::string_view& out) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s.empty()) return false;
    out = s;
    return true;
  }
  scratch = v->dump(-1, ' ', false, json::error_handler_t::replace);
  out = scratch;
  return true;
}

}  // namespace

// Parses one rule; positions are byte offsets into the text as given and
// become 1-based character columns in error messages.
class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : t_(text) {}

  Result<Rule> parse() {
    size_t b = 0;
    size_t e = t_.size();
    while (b < e && is_space(t_[b])) ++b;
    while (e > b && is_space(t_[e - 1])) --e;
    end_ = e;
    if (b == e) return fail(0, "empty rule");

    Rule rule;
    rule.text_ = std::string(t_.substr(b, e - b));
    if (t_[b] == '!') {
      size_t p = b + 1;
      while (p < e && is_space(t_[p])) ++p;
      if (p != e) return fail(p, "unexpected text after '!' (the always rule is '!' alone)");
      rule.kind_ = Rule::Kind::Always;
      return rule;
    }

    // The attribute: a name, or EAV:code.
    size_t colon = t_.find(':', b);
    if (colon == std::string_view::npos || colon >= e) {
      return fail(e, "expected ':' after the attribute name");
    }
    auto name = read_name(b, colon, "attribute name");
    if (!name) return name.error();
    size_t rest = colon + 1;
    if (*name == "EAV") {
      size_t colon2 = t_.find(':', rest);
      if (colon2 == std::string_view::npos || colon2 >= e) {
        return fail(e, "expected ':' after the extended attribute code");
      }
      auto code = read_name(rest, colon2, "extended attribute code");
      if (!code) return code.error();
      rule.eav_ = true;
      rule.key_ = std::move(*code);
      rule.attribute_ = "EAV:" + rule.key_;
      rest = colon2 + 1;
    } else {
      rule.key_ = std::move(*name);
      rule.attribute_ = rule.key_;
    }
    split_path(rule.key_, rule.path_);

    // CHANGED, or old->new.
    size_t p = rest;
    while (p < e && is_space(t_[p])) ++p;
    if (p == e) return fail(e, "expected 'old->new' or CHANGED after ':'");
    std::string_view tail = t_.substr(p, e - p);
    if (tail == "CHANGED") {
      rule.kind_ = Rule::Kind::Changed;
      return rule;
    }

    size_t old_start = p;
    auto old_value = read_value(p, /*is_old=*/true);
    if (!old_value) {
      if (ascii_lower(tail) == "changed") return fail(old_start, "write CHANGED in capitals");
      return old_value.error();
    }
    p += 2;  // past "->"
    size_t new_start = p;
    while (new_start < e && is_space(t_[new_start])) ++new_start;
    auto new_value = read_value(p, /*is_old=*/false);
    if (!new_value) return new_value.error();

    const auto& o = *old_value;
    const auto& n = *new_value;
    if (o.kind == n.kind && o.kind != Rule::Pattern::Kind::Any && o.text == n.text) {
      return fail(new_start,
                  "the old and the new value are the same, so the rule could never match "
                  "(CHANGED matches any change)");
    }
    rule.kind_ = Rule::Kind::Transition;
    rule.old_ = std::move(*old_value);
    rule.new_ = std::move(*new_value);
    return rule;
  }

 private:
  Error fail(size_t pos, const std::string& what) const {
    return Error{"column " + std::to_string(column(pos)) + ": " + what};
  }

  // 1-based character column of byte offset pos.
  size_t column(size_t pos) const {
    size_t col = 1;
    for (size_t i = 0; i < pos && i < t_.size(); ++i) {
      if ((static_cast<unsigned char>(t_[i]) & 0xC0) != 0x80) ++col;
    }
    return col;
  }

  // An attribute name or EAV code in [from, to), surrounding whitespace
  // ignored.
  Result<std::string> read_name(size_t from, size_t to, const char* what) const {
    size_t b = from;
    size_t e = to;
    while (b < e && is_space(t_[b])) ++b;
    while (e > b && is_space(t_[e - 1])) --e;
    if (b == e) return fail(from, std::string("missing ") + what + " before ':'");
    for (size_t i = b; i < e; ++i) {
      char c = t_[i];
      if (is_space(c)) return fail(i, std::string("whitespace inside the ") + what);
      if (c == '\\' || c == '"') return fail(i, std::string("'") + c + "' is not allowed in an " + what);
      if (c == '.' && (i == b || i + 1 == e || t_[i + 1] == '.')) {
        return fail(i, std::string("empty part in the dotted ") + what);
      }
    }
    return std::string(t_.substr(b, e - b));
  }

  static void split_path(const std::string& key, std::vector<std::string>& path) {
    size_t start = 0;
    while (true) {
      size_t dot = key.find('.', start);
      path.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }

  // A value starting at p. The old value ends at its "->" (p is left on it);
  // the new value runs to the end of the rule.
  Result<Rule::Pattern> read_value(size_t& p, bool is_old) const {
    const size_t e = end_;
    while (p < e && is_space(t_[p])) ++p;
    const size_t start = p;
    Rule::Pattern pattern;
    pattern.kind = Rule::Pattern::Kind::Literal;

    if (p < e && t_[p] == '"') {
      size_t q = p + 1;
      bool closed = false;
      while (q < e) {
        char c = t_[q];
        if (c == '\\' && q + 1 < e) {
          pattern.text += t_[q + 1];
          q += 2;
          continue;
        }
        if (c == '"') {
          closed = true;
          ++q;
          break;
        }
        pattern.text += c;
        ++q;
      }
      if (!closed) return fail(start, "unterminated quoted value (no closing '\"')");
      while (q < e && is_space(t_[q])) ++q;
      if (is_old) {
        if (q == e) return fail(e, "expected '->' between the old and the new value");
        if (t_.substr(q, 2) != "->") return fail(q, "unexpected text after the quoted value; expected '->'");
      } else if (q != e) {
        return fail(q, "unexpected text after the quoted value");
      }
      if (pattern.text.empty()) return fail(start, "empty value; write null for an absent or empty value");
      p = q;
      return pattern;
    }

    bool escaped = false;
    size_t keep = 0;  // length of the text up to its last significant character
    size_t q = p;
    while (q < e) {
      char c = t_[q];
      if (c == '\\') {
        if (q + 1 >= e) return fail(q, "'\\' at the end of the rule escapes nothing");
        pattern.text += t_[q + 1];
        escaped = true;
        keep = pattern.text.size();
        q += 2;
        continue;
      }
      if (c == '-' && q + 1 < e && t_[q + 1] == '>') {
        if (is_old) break;
        return fail(q, "a second '->'; write a literal '->' inside a value as '\\->' or quote the value");
      }
      pattern.text += c;
      if (!is_space(c)) keep = pattern.text.size();
      ++q;
    }
    pattern.text.resize(keep);
    if (is_old && q >= e) return fail(e, "expected '->' between the old and the new value, or CHANGED");
    if (pattern.text.empty()) return fail(start, "empty value; write null for an absent or empty value");
    if (!escaped && pattern.text == "*") {
      pattern.kind = Rule::Pattern::Kind::Any;
      pattern.text.clear();
    } else if (!escaped && pattern.text == "null") {
      pattern.kind = Rule::Pattern::Kind::Null;
      pattern.text.clear();
    }
    p = q;
    return pattern;
  }

  std::string_view t_;
  size_t end_ = 0;  // end of the rule without trailing whitespace
};

Result<Rule> Rule::parse(std::string_view text) { return RuleParser(text).parse(); }

bool Rule::Pattern::matches(bool empty, std::string_view value) const {
  switch (kind) {
    case Kind::Any:
      return true;
    case Kind::Null:
      return empty;
    case Kind::Literal:
      return !empty && value == text;
  }
  return false;
}

const json* Rule::lookup(const json& side) const {
  if (!side.is_object()) return nullptr;
  const json* scope = &side;
  if (eav_) {
    auto it = side.find("eav");
    if (it == side.end() || !it->is_object()) return nullptr;
    scope = &*it;
  }
  if (auto it = scope->find(key_); it != scope->end()) return it->is_null() ? nullptr : &*it;
  if (path_.size() < 2) return nullptr;
  const json* cur = scope;
  for (const auto& part : path_) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

std::optional<RuleMatch> Rule::evaluate(const Event& e) const {
  if (kind_ == Kind::Always) return RuleMatch{"", nullptr, nullptr, text_};

  const json* old_v = lookup(e.old_values);
  const json* new_v = lookup(e.new_values);
  std::string old_scratch;
  std::string new_scratch;
  std::string_view old_text;
  std::string_view new_text;
  const bool old_empty = !value_text(old_v, old_scratch, old_text);
  const bool new_empty = !value_text(new_v, new_scratch, new_text);

  const bool differ = old_empty != new_empty || (!old_empty && old_text != new_text);
  if (!differ) return std::nullopt;
  if (kind_ == Kind::Transition &&
      !(old_.matches(old_empty, old_text) && new_.matches(new_empty, new_text))) {
    return std::nullopt;
  }
  return RuleMatch{attribute_, old_v ? *old_v : json(nullptr), new_v ? *new_v : json(nullptr), text_};
}

}  // namespace herald::rules
