#include "mapping/url.h"

#include <algorithm>

namespace herald::mapping {

std::string join_url(std::string_view base, std::string_view path) {
  if (path.empty()) return std::string(base);
  if (base.empty()) return std::string(path);
  if (path.front() == '?' || path.front() == '#') return std::string(base) + std::string(path);
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string out(base);
  out += '/';
  out += path;
  return out;
}

std::string percent_encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::optional<UnsafeSegment> unsafe_segment_from_value(std::string_view path, const PathSpans& from_values) {
  const std::size_t end = std::min(path.find_first_of("?#"), path.size());
  for (std::size_t begin = 0; begin <= end;) {
    const std::size_t stop = std::min(path.find('/', begin), end);
    const std::string_view segment = path.substr(begin, stop - begin);
    if (segment.empty() || segment == "." || segment == "..") {
      for (std::size_t i = 0; i < from_values.size(); ++i) {
        const auto [first, last] = from_values[i];
        const bool inside = first == last ? begin <= first && first <= stop : first < stop && last > begin;
        if (inside) return UnsafeSegment{i, segment};
      }
    }
    begin = stop + 1;
  }
  return std::nullopt;
}

Result<std::vector<UrlTemplatePart>> parse_url_template(std::string_view url) {
  std::vector<UrlTemplatePart> parts;
  std::string literal;
  std::size_t i = 0;
  while (i < url.size()) {
    char c = url[i];
    if (c == '}') return Error{"unmatched '}' at position " + std::to_string(i) + " of the URL"};
    if (c != '{') {
      literal += c;
      ++i;
      continue;
    }
    std::size_t close = url.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || url[close] == '{') {
      return Error{"unmatched '{' at position " + std::to_string(i) + " of the URL"};
    }
    std::string_view inner = url.substr(i + 1, close - i - 1);
    std::string written(url.substr(i, close - i + 1));
    if (inner.empty()) return Error{"empty placeholder {} in the URL"};
    std::size_t dot = inner.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == inner.size()) {
      return Error{"placeholder " + written + " must have the form {Source.Field}"};
    }
    if (!literal.empty()) {
      parts.push_back(UrlTemplatePart{false, std::move(literal), {}, {}});
      literal.clear();
    }
    parts.push_back(UrlTemplatePart{true, std::move(written), std::string(inner.substr(0, dot)),
                                    std::string(inner.substr(dot + 1))});
    i = close + 1;
  }
  if (!literal.empty()) parts.push_back(UrlTemplatePart{false, std::move(literal), {}, {}});
  return parts;
}

}  // namespace herald::mapping
