// JSON text to nlohmann::json, giving exactly what
// nlohmann::json::parse(text, nullptr, false) gives (a discarded value for
// text that is not JSON), in less time for the documents producers write:
// objects of strings, integers, true, false and null. Strings are found
// eight bytes at a time instead of one character at a time. Anything else
// (fractions, exponents, \u escapes, numbers beyond 64 bits, deep nesting,
// and every error) goes to nlohmann's parser, which decides.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace herald {

nlohmann::json parse_json(std::string_view text);

// Where the object or array that opens at text[pos] ('{' or '[') ends: the
// index just past its closing bracket, or npos when it is not closed (or
// its brackets do not match). Strings are stepped over, escapes and all;
// nothing else is checked, so this is for text a JSON writer produced.
std::size_t json_container_end(std::string_view text, std::size_t pos);

}  // namespace herald
