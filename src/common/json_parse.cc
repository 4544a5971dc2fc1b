#include "common/json_parse.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "common/text.h"

namespace herald {
namespace {

using json = nlohmann::json;

// Deeper documents go to nlohmann's parser, which keeps its own stack.
constexpr int kMaxDepth = 64;

// Parses what it knows; returns nullopt (the caller then asks nlohmann) for
// anything else, valid or not.
class QuickParser {
 public:
  explicit QuickParser(std::string_view text) : s_(text) {}

  std::optional<json> document() {
    auto v = value(0);
    if (!v) return std::nullopt;
    skip_space();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  std::optional<json> value(int depth) {
    skip_space();
    if (i_ == s_.size()) return std::nullopt;
    switch (s_[i_]) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"': {
        auto text = string();
        if (!text) return std::nullopt;
        return json(std::move(*text));
      }
      case 't':
        if (literal("true")) return json(true);
        return std::nullopt;
      case 'f':
        if (literal("false")) return json(false);
        return std::nullopt;
      case 'n':
        if (literal("null")) return json(nullptr);
        return std::nullopt;
      default:
        return number();
    }
  }

  std::optional<json> object(int depth) {
    if (depth >= kMaxDepth) return std::nullopt;
    ++i_;  // '{'
    json out = json::object();
    auto& members = out.get_ref<json::object_t&>();
    skip_space();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return out;
    }
    for (;;) {
      skip_space();
      if (i_ == s_.size() || s_[i_] != '"') return std::nullopt;
      auto key = string();
      if (!key) return std::nullopt;
      skip_space();
      if (i_ == s_.size() || s_[i_] != ':') return std::nullopt;
      ++i_;
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      members[std::move(*key)] = std::move(*v);  // a repeated key: the last one wins, as in nlohmann
      skip_space();
      if (i_ == s_.size()) return std::nullopt;
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        return out;
      }
      return std::nullopt;
    }
  }

  std::optional<json> array(int depth) {
    if (depth >= kMaxDepth) return std::nullopt;
    ++i_;  // '['
    json out = json::array();
    auto& items = out.get_ref<json::array_t&>();
    skip_space();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return out;
    }
    for (;;) {
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      items.push_back(std::move(*v));
      skip_space();
      if (i_ == s_.size()) return std::nullopt;
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ']') {
        ++i_;
        return out;
      }
      return std::nullopt;
    }
  }

  // At the opening quote. Escapes other than \u are decoded here.
  std::optional<std::string> string() {
    ++i_;
    std::string out;
    std::size_t run = i_;  // start of the bytes not copied yet
    for (;;) {
      if (i_ + 8 <= s_.size()) {
        std::uint64_t w = 0;
        std::memcpy(&w, s_.data() + i_, 8);
        if (!json_word_needs_a_look(w)) {
          i_ += 8;
          continue;
        }
      }
      if (i_ == s_.size()) return std::nullopt;
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        out.append(s_.data() + run, i_ - run);
        ++i_;
        return out;
      }
      if (c < 0x20) return std::nullopt;
      if (c >= 0x80) {
        const std::size_t n = utf8_sequence_length(s_, i_);
        if (n == 0) return std::nullopt;
        i_ += n;
        continue;
      }
      if (c != '\\') {
        ++i_;
        continue;
      }
      out.append(s_.data() + run, i_ - run);
      if (++i_ == s_.size()) return std::nullopt;
      switch (s_[i_]) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        default:  // \u (surrogate pairs and all) and anything invalid
          return std::nullopt;
      }
      run = ++i_;
    }
  }

  // Integers only: "-"? then 0 or a digit run without a leading zero, that
  // fits 64 bits. Non-negative ones are unsigned, as nlohmann makes them.
  std::optional<json> number() {
    const bool negative = s_[i_] == '-';
    std::size_t k = i_ + (negative ? 1 : 0);
    const std::size_t first = k;
    std::uint64_t magnitude = 0;
    while (k < s_.size() && s_[k] >= '0' && s_[k] <= '9') {
      const auto digit = static_cast<std::uint64_t>(s_[k] - '0');
      if (magnitude > (UINT64_MAX - digit) / 10) return std::nullopt;
      magnitude = magnitude * 10 + digit;
      ++k;
    }
    if (k == first) return std::nullopt;
    if (s_[first] == '0' && k - first > 1) return std::nullopt;
    if (k < s_.size() && (s_[k] == '.' || s_[k] == 'e' || s_[k] == 'E')) return std::nullopt;
    i_ = k;
    if (!negative) return json(static_cast<json::number_unsigned_t>(magnitude));
    if (magnitude > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
    if (magnitude == 0) return json(json::number_integer_t{0});  // "-0", as nlohmann reads it
    return json(static_cast<json::number_integer_t>(-static_cast<std::int64_t>(magnitude - 1) - 1));
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

json parse_json(std::string_view text) {
  if (auto quick = QuickParser(text).document()) return std::move(*quick);
  return json::parse(text.begin(), text.end(), nullptr, false);
}

std::size_t json_container_end(std::string_view text, std::size_t pos) {
  std::string open;  // the closing brackets owed, innermost last
  for (std::size_t i = pos; i < text.size(); ++i) {
    switch (text[i]) {
      case '{':
        open += '}';
        break;
      case '[':
        open += ']';
        break;
      case '}':
      case ']':
        if (open.empty() || open.back() != text[i]) return std::string_view::npos;
        open.pop_back();
        if (open.empty()) return i + 1;
        break;
      case '"':
        // To the closing quote: one that no backslash escapes.
        for (++i; i < text.size() && text[i] != '"'; ++i) {
          if (text[i] == '\\') ++i;
        }
        if (i >= text.size()) return std::string_view::npos;
        break;
      default:
        if (open.empty()) return std::string_view::npos;  // not at a bracket
    }
  }
  return std::string_view::npos;
}

}  // namespace herald
