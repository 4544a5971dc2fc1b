// URL helpers for mapping endpoints: joining the channel's base URL with a
// mapping's path, percent-encoding substituted values, and splitting an
// endpoint template such as "/devices/{Devices.ObjectID}/deviceCancelled".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// Where values were written into a path: [begin, end) byte ranges.
using PathSpans = std::vector<std::pair<std::size_t, std::size_t>>;

// A path segment that values left empty or made "." or "..", and the
// first of those values.
struct UnsafeSegment {
  std::size_t value;         // index into the spans
  std::string_view segment;  // "", "." or ".."
};

// The first path segment that is empty, "." or ".." and holds a value of
// `from_values` (an empty value counts where it stands), if any. curl and
// servers resolve "." and "..", so a value of ".." would climb out of its
// place in the URL however well it is encoded; an empty one turns
// "/people/{id}" into "/people/", the collection. Segments after a '?' or
// '#' are not path segments.
std::optional<UnsafeSegment> unsafe_segment_from_value(std::string_view path, const PathSpans& from_values);

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
