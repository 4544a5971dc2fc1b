#include "support/random_json.h"

#include <cstdint>
#include <iterator>
#include <string>

namespace herald::test {

nlohmann::json random_json(std::mt19937& rng, int depth) {
  static const std::string pieces[] = {
      "a", "Z", " ", "\"", "\\", "/", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf"};
  auto text = [&] {
    std::string s;
    const int n = std::uniform_int_distribution<int>(0, 20)(rng);
    for (int i = 0; i < n; ++i) {
      if (rng() % 4 == 0) {
        s += static_cast<char>(rng() % 0x20);  // any control character, NUL included
      } else {
        s += pieces[rng() % std::size(pieces)];
      }
    }
    return s;
  };
  switch (std::uniform_int_distribution<int>(0, depth > 3 ? 5 : 7)(rng)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng()) - static_cast<int64_t>(rng()) * 65536;
    case 3:
      return static_cast<uint64_t>(rng()) << 32 | rng();
    case 4:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    case 5:
      return text();
    case 6: {
      nlohmann::json a = nlohmann::json::array();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i) a.push_back(random_json(rng, depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i) o[text()] = random_json(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace herald::test
