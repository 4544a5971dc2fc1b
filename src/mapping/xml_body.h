// XML serialisation of a rendered body document, for channels that send XML.
// The JSON body a mapping builds is written as elements under one root:
//
//   {"device": {"id": "X", "tags": ["a", "b"], "note": null}}
//   <?xml version="1.0" encoding="UTF-8"?>
//   <notification><device><id>X</id><note/><tags>a</tags><tags>b</tags></device></notification>
//
// Rules (docs/mapping.md, "XML serialisation"):
// - an object member becomes an element named after its key, holding the
//   member's value; members come in the body's key order (sorted);
// - an array becomes its element repeated once per item (an empty array
//   writes nothing); an item that is itself an array becomes one element
//   holding an <item> element per inner item, by the same rule;
// - null becomes an empty element; strings are text as they are; numbers
//   and booleans are their JSON spelling (3, 2.5, true, false);
// - text is escaped by pugixml (& < > become entities); control characters
//   that XML 1.0 cannot carry (U+0000-U+001F except tab, LF and CR) are
//   dropped; everything else, non-ASCII included, is written as UTF-8;
// - names that are not XML element names are made into one: every character
//   that may not appear in a name (':' included, so no namespaces arise) is
//   replaced by '_', and '_' is put in front when the first character may
//   only appear later in a name (a digit, '-', '.'); an empty name becomes
//   "_". Two keys can thereby give the same element name ("a b", "a_b").
// - the document starts with <?xml version="1.0" encoding="UTF-8"?> and has
//   no indentation or line breaks.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace herald::mapping {

// Serialises body (normally an object; any other value is written inside
// the root as an object member's value would be) under an element named
// root. An invalid root name is made valid with the same rule as keys; use
// is_valid_root_name to refuse it up front instead.
std::string body_to_xml(const nlohmann::json& body, const std::string& root = "notification");

// True when name is usable as an element name unchanged: non-empty, starts
// with a letter or '_' (or a non-ASCII letter XML allows), continues with
// those, digits, '-', '.' or the other XML name characters, and has no ':'.
bool is_valid_root_name(std::string_view name);

// The element name a key is written as (the rule above); is_valid_root_name
// holds for the result.
std::string xml_element_name(std::string_view key);

}  // namespace herald::mapping
