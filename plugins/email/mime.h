// Internet message pieces for the e-mail channel: RFC 5322 headers folded to
// 78 columns, RFC 2047 encoded-words for non-ASCII header text, and a
// 7bit or quoted-printable (RFC 2045) body. Header-only, no dependencies.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace herald_mail {

constexpr size_t kMaxHeaderLine = 78;  // RFC 5322 2.1.1 "SHOULD"
constexpr size_t kMaxBodyLine = 998;   // RFC 5322 2.1.1 "MUST", CRLF excluded
constexpr size_t kMaxQpLine = 76;      // RFC 2045 6.7, soft break included
// An encoded-word may be 75 long; shorter ones fit after the longest header
// name we write ("Subject: ") and after a folding space alike.
constexpr size_t kMaxEncodedWord = 66;

inline bool is_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Header text must stay on its line: CR, LF and other control characters
// (which could start a new header or confuse a reader) become spaces.
inline std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

inline std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// "=?UTF-8?B?...?=" words of at most kMaxEncodedWord characters. A word
// never ends inside a UTF-8 sequence: RFC 2047 6.3 wants each word to decode
// to whole characters.
inline std::vector<std::string> encoded_words(std::string_view text) {
  constexpr size_t kOverhead = 12;  // "=?UTF-8?B?" and "?="
  constexpr size_t kMaxBytes = (kMaxEncodedWord - kOverhead) / 4 * 3;
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t n = std::min(kMaxBytes, text.size() - pos);
    if (pos + n < text.size()) {
      size_t cut = n;
      // Back off over continuation bytes (10xxxxxx) to a character start.
      while (cut > 0 && (uint8_t(text[pos + cut]) & 0xC0) == 0x80) --cut;
      if (cut > 0) n = cut;  // invalid UTF-8 (a long run of continuations): cut anyway
    }
    words.push_back("=?UTF-8?B?" + base64(text.substr(pos, n)) + "?=");
    pos += n;
  }
  return words;
}

// "Name: a b c" with a line break before any atom that would pass column 78.
// Atoms are joined with one space; unfolding (removing CRLF) restores them.
inline std::string fold(std::string_view name, const std::vector<std::string>& atoms) {
  std::string out(name);
  out += ':';
  size_t line = out.size();
  bool first = true;
  for (const auto& atom : atoms) {
    if (!first && line + 1 + atom.size() > kMaxHeaderLine) {
      out += "\r\n";
      line = 0;
    }
    out += ' ';
    out += atom;
    line += 1 + atom.size();
    first = false;
  }
  out += "\r\n";
  return out;
}

inline std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> atoms;
  size_t start = 0;
  for (;;) {
    size_t sp = s.find(' ', start);
    atoms.emplace_back(s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return atoms;
}

// An unstructured header (Subject) from UTF-8 text. Plain ASCII is folded at
// its spaces; non-ASCII text, text that already looks like an encoded-word,
// or a word too long to fold becomes encoded-words.
inline std::string unstructured_header(std::string_view name, std::string_view value) {
  std::string text = one_line(value);
  std::vector<std::string> atoms = split_spaces(text);
  bool encode = !is_ascii(text) || text.find("=?") != std::string::npos;
  for (const auto& a : atoms) {
    if (name.size() + 2 + a.size() > kMaxHeaderLine) encode = true;
  }
  if (encode) atoms = text.empty() ? std::vector<std::string>{} : encoded_words(text);
  return fold(name, atoms);
}

// A display name as RFC 5322 phrase atoms: plain words, one quoted-string
// when it holds specials, or encoded-words when it is not ASCII.
inline std::vector<std::string> phrase(std::string_view display) {
  std::string text = one_line(display);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!text.empty() && text.front() == ' ') text.erase(0, 1);
  if (text.empty()) return {};
  if (!is_ascii(text) || text.find("=?") != std::string::npos || text.size() > 60) return encoded_words(text);
  static constexpr std::string_view kAtext = "!#$%&'*+-/=?^_`{|}~ ";
  bool plain = true;
  for (unsigned char c : text) {
    if (!std::isalnum(c) && kAtext.find(static_cast<char>(c)) == std::string_view::npos) plain = false;
  }
  if (plain) {
    std::vector<std::string> words;
    for (auto& w : split_spaces(text)) {
      if (!w.empty()) words.push_back(std::move(w));
    }
    return words;
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return {quoted};
}

struct Mailbox {
  std::string name;     // display name, UTF-8, may be empty
  std::string address;  // bare, already validated
};

// "From: Name <a@b>" / "To: A <a@b>, b@c", folded between words.
inline std::string address_header(std::string_view header, const std::vector<Mailbox>& boxes) {
  std::vector<std::string> atoms;
  for (size_t i = 0; i < boxes.size(); ++i) {
    std::vector<std::string> words = phrase(boxes[i].name);
    std::string addr = words.empty() ? boxes[i].address : "<" + boxes[i].address + ">";
    if (i + 1 < boxes.size()) addr += ',';
    atoms.insert(atoms.end(), words.begin(), words.end());
    atoms.push_back(std::move(addr));
  }
  return fold(header, atoms);
}

// RFC 5322 3.3 date-time in UTC: "Tue, 01 Jul 2025 10:00:00 +0000".
inline std::string rfc5322_date(std::time_t when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// Splits text into lines whatever their ends (CRLF, LF or CR).
inline std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

struct EncodedBody {
  const char* transfer_encoding;  // "7bit" or "quoted-printable"
  std::string text;               // CRLF line ends, ending with CRLF
};

// 7bit when every line is printable ASCII and short enough for SMTP;
// otherwise quoted-printable, which keeps mostly-Latin text readable.
inline EncodedBody encode_body(std::string_view text) {
  std::vector<std::string_view> lines = lines_of(text);
  bool plain = true;
  for (auto line : lines) {
    if (line.size() > kMaxBodyLine) plain = false;
    for (unsigned char c : line) {
      if ((c < 0x20 && c != '\t') || c >= 0x7f) plain = false;
    }
  }
  EncodedBody out{plain ? "7bit" : "quoted-printable", {}};
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (auto line : lines) {
    if (plain) {
      out.text.append(line);
      out.text += "\r\n";
      continue;
    }
    size_t column = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::string token;
      // Trailing blanks would be stripped in transit (RFC 2045 6.7 rule 3).
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        token.assign(1, static_cast<char>(c));
      } else {
        token = {'=', kHex[c >> 4], kHex[c & 15]};
      }
      // Room for the soft break's "=" (or the whole line when this is its end).
      size_t room = last ? kMaxQpLine : kMaxQpLine - 1;
      if (column + token.size() > room) {
        out.text += "=\r\n";
        column = 0;
      }
      out.text += token;
      column += token.size();
    }
    out.text += "\r\n";
  }
  return out;
}

}  // namespace herald_mail
