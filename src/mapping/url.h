// URL helpers for mapping endpoints: joining the channel's base URL with a
// mapping's path, percent-encoding substituted values, and splitting an
// endpoint template such as "/devices/{Devices.ObjectID}/deviceCancelled".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace herald::mapping {

// Appends path to base with exactly one '/' between them ("https://h/Notify"
// + "/devices/x" and "https://h/Notify/" + "devices/x" both give
// "https://h/Notify/devices/x"). An empty path gives base unchanged; an empty
// base gives path; a path starting with '?' or '#' is appended as it is.
std::string join_url(std::string_view base, std::string_view path);

// Percent-encodes s for use as one path segment: RFC 3986 unreserved
// characters (ALPHA, DIGIT, '-', '.', '_', '~') are kept, every other byte
// becomes %XX with upper-case hex, so '/', '?', '#', ' ', '%' and non-ASCII
// bytes are all encoded.
std::string percent_encode_segment(std::string_view s);

// One piece of an endpoint template: literal text, or a {Source.Field}
// placeholder (split at the first '.'; Field may contain further dots).
struct UrlTemplatePart {
  bool placeholder = false;
  std::string text;    // literal text, or the placeholder as written with braces
  std::string source;  // placeholder only
  std::string field;   // placeholder only
};

// Splits a template into parts. Fails (message without file/line) on an
// unmatched '{' or '}', a nested '{', an empty placeholder, or a placeholder
// that is not of the form {Source.Field}.
Result<std::vector<UrlTemplatePart>> parse_url_template(std::string_view url);

}  // namespace herald::mapping
