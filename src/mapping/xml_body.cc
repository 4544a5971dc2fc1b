#include "mapping/xml_body.h"

#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "mapping/value_encoding.h"

namespace herald::mapping {

namespace {

// Decodes the code point starting at s[i] and advances i past it; nullopt
// (advancing one byte) when the bytes there are not UTF-8.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++i;
    return std::nullopt;
  }
  if (i + len > s.size()) {
    ++i;
    return std::nullopt;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return std::nullopt;
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// XML 1.0 (fifth edition) NameStartChar, without ':'.
bool is_name_start(char32_t c) {
  return (c >= 'A' && c <= 'Z') || c == '_' || (c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0xD6) ||
         (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
         (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
         (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
         (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

// XML 1.0 NameChar, without ':'.
bool is_name_char(char32_t c) {
  return is_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
         (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

// XML 1.0 Char: what a text node may hold at all.
bool is_xml_char(char32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
         (c >= 0x10000 && c <= 0x10FFFF);
}

// Text as XML can carry it: characters outside XML's Char production are
// dropped, bytes that are not UTF-8 become U+FFFD.
std::string xml_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    auto cp = next_code_point(s, i);
    if (!cp) {
      append_utf8(out, 0xFFFD);
    } else if (is_xml_char(*cp)) {
      out.append(s.substr(start, i - start));
    }
  }
  return out;
}

void fill(pugi::xml_node element, const nlohmann::json& value);

// An element named name holding value; arrays repeat it, one per item.
void add_member(pugi::xml_node parent, const std::string& name, const nlohmann::json& value) {
  if (value.is_array()) {
    for (const auto& item : value) fill(parent.append_child(name.c_str()), item);
  } else {
    fill(parent.append_child(name.c_str()), value);
  }
}

void fill(pugi::xml_node element, const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      for (auto it = value.begin(); it != value.end(); ++it) {
        add_member(element, xml_element_name(it.key()), it.value());
      }
      break;
    case nlohmann::json::value_t::array:
      // Only reached for an array inside an array (or a top-level array).
      for (const auto& item : value) fill(element.append_child("item"), item);
      break;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      break;
    case nlohmann::json::value_t::string:
      element.text().set(xml_text(value.get_ref<const std::string&>()).c_str());
      break;
    case nlohmann::json::value_t::binary: {
      const auto& bytes = value.get_binary();
      element.text().set(
          base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())).c_str());
      break;
    }
    case nlohmann::json::value_t::boolean:
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      element.text().set(value.dump().c_str());
      break;
  }
}

class StringWriter : public pugi::xml_writer {
 public:
  explicit StringWriter(std::string& out) : out_(out) {}
  void write(const void* data, size_t size) override { out_.append(static_cast<const char*>(data), size); }

 private:
  std::string& out_;
};

}  // namespace

std::string xml_element_name(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  std::size_t i = 0;
  bool first = true;
  while (i < key.size()) {
    const std::size_t start = i;
    auto cp = next_code_point(key, i);
    if (cp && first && !is_name_start(*cp) && is_name_char(*cp)) out += '_';
    if (cp && is_name_char(*cp)) {
      out.append(key.substr(start, i - start));
    } else {
      out += '_';
    }
    first = false;
  }
  if (out.empty()) out.push_back('_');
  return out;
}

bool is_valid_root_name(std::string_view name) { return !name.empty() && xml_element_name(name) == name; }

std::string body_to_xml(const nlohmann::json& body, const std::string& root) {
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  fill(doc.append_child(xml_element_name(root).c_str()), body);

  std::string out;
  StringWriter writer(out);
  doc.save(writer, "", pugi::format_raw | pugi::format_no_declaration | pugi::format_skip_control_chars,
           pugi::encoding_utf8);
  return out;
}

}  // namespace herald::mapping
