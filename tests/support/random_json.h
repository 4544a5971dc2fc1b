// Random JSON documents for tests that compare two ways of reading or
// writing JSON: strings mix every control character, quotes, backslashes,
// DEL and multibyte sequences; numbers come signed, unsigned and floating.
#pragma once

#include <random>

#include <nlohmann/json.hpp>

namespace herald::test {

// A value nested at most a few levels deep (depth counts from 0).
nlohmann::json random_json(std::mt19937& rng, int depth = 0);

}  // namespace herald::test
