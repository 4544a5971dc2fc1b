// E-mail templates (docs/email.md): optional header lines ("Subject: ...")
// and an empty line, then the body; {placeholders} anywhere, {{ and }} for
// literal braces. Header-only, no dependencies.
#pragma once

#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace herald_mail {

struct MailTemplate {
  std::optional<std::string> subject;  // the template's own Subject line, if any
  std::string body;                    // LF line ends
};

inline bool placeholder_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// Parses a template file's text. Returns "" or what is wrong, with its line.
inline std::string parse_template(std::string_view text, MailTemplate& out) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // editors' UTF-8 BOM
  std::string normalized;
  normalized.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') continue;
      normalized += '\n';
    } else {
      normalized += text[i];
    }
  }
  std::string_view t = normalized;
  // A header block exists only when the first line reads "Name: ..." with a
  // name of letters, digits and '-'; a template may start with an empty line
  // to say its text has no headers.
  auto header_name = [](std::string_view line) -> std::optional<std::string_view> {
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    for (char c : line.substr(0, colon)) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return std::nullopt;
    }
    return line.substr(0, colon);
  };
  size_t first_end = t.find('\n');
  std::string_view first = t.substr(0, first_end);
  if (!header_name(first)) {
    out.body = std::string(t.substr(0, 1) == "\n" ? t.substr(1) : t);
    return {};
  }
  size_t pos = 0;
  int line_no = 0;
  while (pos <= t.size()) {
    size_t end = t.find('\n', pos);
    if (end == std::string_view::npos) return "the header lines must end with an empty line before the body";
    std::string_view line = t.substr(pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line.empty()) break;
    auto name = header_name(line);
    if (!name)
      return "line " + std::to_string(line_no) +
             ": expected a header such as 'Subject: ...' or an empty line";
    std::string lower;
    for (char c : *name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "subject") {
      return "line " + std::to_string(line_no) + ": unknown header '" + std::string(*name) +
             "' (only Subject; start the template with an empty line if its text begins with 'Word:')";
    }
    if (out.subject) return "line " + std::to_string(line_no) + ": a second Subject line";
    std::string_view value = line.substr(name->size() + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    out.subject = std::string(value);
  }
  out.body = std::string(t.substr(std::min(pos, t.size())));
  return {};
}

// Replaces each {name} through lookup. An unknown name stays as written and
// is reported through unknown(name); {{ and }} give single braces; a brace
// that does not start a placeholder is kept.
inline std::string substitute(std::string_view text,
                              const std::function<std::optional<std::string>(std::string_view)>& lookup,
                              const std::function<void(std::string_view)>& unknown) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '{') {
      size_t end = i + 1;
      while (end < text.size() && placeholder_char(text[end])) ++end;
      if (end > i + 1 && end < text.size() && text[end] == '}') {
        std::string_view name = text.substr(i + 1, end - i - 1);
        if (auto value = lookup(name)) {
          out += *value;
        } else {
          out.append(text.substr(i, end - i + 1));
          if (unknown) unknown(name);
        }
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

}  // namespace herald_mail
