// One notification rule, compiled from its text once per configuration load
// and then evaluated against events without any further parsing.
//
// Grammar (the operator's reference, with examples, is docs/rules.md):
//
//   rule      = "!"                                 always
//             | attribute ":" "CHANGED"             any change of the attribute
//             | attribute ":" value "->" value      a change from one value to another
//   attribute = "EAV:" code                         extended attribute, under "eav"
//             | name ( "." name )*                  standard attribute; dots walk into objects
//   value     = "*"                                 any value, absent included
//             | "null"                              absent, JSON null or the empty string
//             | bare | quoted                       a literal
//
// Literals
//   - A bare literal runs up to the next "->" (old value) or to the end of the
//     rule (new value). A backslash makes the next character literal: "\->"
//     (or "-\>") is a literal arrow, "\\" a backslash, "\*" a literal star,
//     "\null" the four letters null. ":" needs no escape inside a value ("\:"
//     is accepted too). Whitespace around a bare value is ignored; whitespace
//     inside it is kept.
//   - A value that starts with a double quote is quoted: "a->b", "null", " x ".
//     Inside quotes only \" and \\ need escaping (a backslash still makes the
//     next character literal). Quoted values are always literals and keep
//     their surrounding whitespace.
//   - An empty literal ("" or nothing at all) is refused: write null.
//   - Keywords are case-sensitive: EAV, CHANGED, null. NULL is a literal.
//   - Whitespace around the whole rule and around each part is ignored;
//     whitespace inside an attribute name is an error.
//
// Values and comparison
//   - The value of an attribute on one side of the event is looked up in
//     old_values / new_values (under "eav" for EAV:code). A side whose JSON is
//     null (CREATE has no old values, DELETE no new ones), a missing key and a
//     JSON null all mean "absent".
//   - A dotted name such as address.city is first looked up as a key of that
//     exact name; when there is none it walks the objects: {"address":
//     {"city": ...}}.
//   - Values compare by their text: a string by its content, a number or
//     boolean by its JSON text (100, 1.5, true), an object or array by its
//     compact JSON text. Comparison is exact and case-sensitive; 100 and 100.0
//     are different texts.
//   - A value is *empty* when it is absent, JSON null or "". Two values are
//     equal when both are empty, or both are non-empty with the same text.
//
// Matching
//   - "!" matches every event.
//   - Every other rule needs a change: the old and the new value of the
//     attribute must differ (as defined above). An event that does not touch
//     the attribute never matches.
//   - attr:CHANGED matches any change, including empty -> value and
//     value -> empty. It is the same as attr:*->*.
//   - attr:old->new matches a change whose old value matches `old` and whose
//     new value matches `new`. "*" matches any value, absent included, so
//     email:*->null means "email was set and is now empty or gone", and
//     supervisor:*->true also matches a CREATE that sets supervisor to true.
//     "null" matches an empty value only.
//   - A rule whose two sides can never differ (a:x->x, a:null->null) is
//     refused at load.
//
// Errors from parse() read "column N: what", N counting characters (UTF-8
// code points) from 1 in the text as given.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "outbox/event.h"

namespace herald::rules {

// What a matching rule saw; a notification keeps it as Rule.attribute,
// Rule.old and Rule.new.
struct RuleMatch {
  std::string attribute;     // "firstName", "address.city" or "EAV:code"; "" for "!"
  nlohmann::json old_value;  // the value as the event carried it; null when absent
  nlohmann::json new_value;  // null when absent
  std::string rule_text;     // the rule, surrounding whitespace removed
};

class Rule {
 public:
  static Result<Rule> parse(std::string_view text);

  // The match, or nothing when the event does not satisfy the rule. Does no
  // parsing; never throws.
  std::optional<RuleMatch> evaluate(const Event& e) const;

  bool always() const { return kind_ == Kind::Always; }
  bool changed() const { return kind_ == Kind::Changed; }
  // "firstName", "address.city", "EAV:code"; "" for "!".
  const std::string& attribute() const { return attribute_; }
  bool is_eav() const { return eav_; }
  // The rule as given, surrounding whitespace removed.
  const std::string& text() const { return text_; }

 private:
  enum class Kind { Always, Changed, Transition };
  struct Pattern {
    enum class Kind { Any, Null, Literal };
    Kind kind = Kind::Any;
    std::string text;  // for Literal
    bool matches(bool empty, std::string_view text) const;
  };

  Rule() = default;
  const nlohmann::json* lookup(const nlohmann::json& side) const;

  Kind kind_ = Kind::Always;
  bool eav_ = false;
  std::string attribute_;          // as reported in RuleMatch
  std::string key_;                // the key looked up first (the name, or the EAV code)
  std::vector<std::string> path_;  // key_ split at dots; used when key_ itself is missing
  Pattern old_;
  Pattern new_;
  std::string text_;

  friend class RuleParser;
};

}  // namespace herald::rules
