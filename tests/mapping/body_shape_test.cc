// BodyShape writes a body as text straight from property values; it must
// give what building the tree with jpath_set and writing it gives.
#include "mapping/body_shape.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/json_text.h"
#include "mapping/jpath.h"

namespace herald::mapping {
namespace {

using json = nlohmann::json;
using Values = std::vector<std::optional<json>>;

std::vector<JPath> parse_all(const std::vector<std::string>& texts) {
  std::vector<JPath> paths;
  for (const auto& t : texts) {
    auto p = parse_jpath(t);
    EXPECT_TRUE(p) << t;
    paths.push_back(p ? *p : JPath{});
  }
  return paths;
}

std::string tree_text(const std::vector<JPath>& paths, const Values& values) {
  json body = json::object();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (values[i]) jpath_set(body, paths[i], *values[i]);
  }
  return json_text(body);
}

std::string shape_text(const std::vector<JPath>& paths, const Values& values) {
  std::vector<const JPath*> ptrs;
  for (const auto& p : paths) ptrs.push_back(&p);
  std::string out;
  BodyShape(ptrs).write(out, values);
  return out;
}

TEST(BodyShapeTest, MembersSortedAsTheTreeWritesThem) {
  auto paths = parse_all({"zeta", "alpha.b", "alpha.a", "Beta", "\xc3\xa9t\xc3\xa9", "a\"q"});
  Values values = {json(1), json("x"), json(true), json(nullptr), json("\xc3\xa9"), json(2.5)};
  const std::string text = shape_text(paths, values);
  EXPECT_EQ(text, R"({"Beta":null,"a\"q":2.5,"alpha":{"a":true,"b":"x"},"zeta":1,"été":"é"})");
  EXPECT_EQ(text, tree_text(paths, values));
}

TEST(BodyShapeTest, ObjectsWithNothingBelowAreLeftOut) {
  auto paths = parse_all({"a.b.c", "a.d", "e"});
  EXPECT_EQ(shape_text(paths, {std::nullopt, std::nullopt, json(1)}), R"({"e":1})");
  EXPECT_EQ(shape_text(paths, {json("v"), std::nullopt, std::nullopt}), R"({"a":{"b":{"c":"v"}}})");
  EXPECT_EQ(shape_text(paths, {std::nullopt, std::nullopt, std::nullopt}), "{}");
  EXPECT_EQ(shape_text({}, {}), "{}");
}

TEST(BodyShapeTest, ArraysEndAtTheLastValueAndFillGapsWithNull) {
  auto paths = parse_all({"items[2].id", "items[0]", "items[5]", "grid[1][1]", "grid[0][0]"});
  EXPECT_EQ(shape_text(paths, {json(7), std::nullopt, std::nullopt, std::nullopt, std::nullopt}),
            R"({"items":[null,null,{"id":7}]})");
  EXPECT_EQ(shape_text(paths, {std::nullopt, json("x"), std::nullopt, json(true), std::nullopt}),
            R"({"grid":[null,[null,true]],"items":["x"]})");
  EXPECT_EQ(shape_text(paths, {std::nullopt, std::nullopt, json(5), std::nullopt, json(0)}),
            R"({"grid":[[0]],"items":[null,null,null,null,null,5]})");
  EXPECT_EQ(shape_text(paths, {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}), "{}");
}

TEST(BodyShapeTest, ValuesThatAreObjectsOrArraysAreWrittenWhole) {
  auto paths = parse_all({"keys", "list[1]"});
  Values values = {json{{"b", 1}, {"a", json::array({1, "two"})}}, json::array()};
  EXPECT_EQ(shape_text(paths, values), R"({"keys":{"a":[1,"two"],"b":1},"list":[null,[]]})");
  EXPECT_EQ(shape_text(paths, values), tree_text(paths, values));
}

// Random bodies: paths drawn from a small vocabulary (so that they share
// objects and arrays), kept when jpath_reserve accepts them, random values,
// random ones left out.
TEST(BodyShapeTest, RandomBodiesMatchTheTree) {
  std::mt19937 rng(20261124);
  const std::vector<std::string> names = {"a", "b", "B", "id", "x_y", "\xc3\xa9", "a b", "z"};
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  for (int round = 0; round < 2000; ++round) {
    std::vector<JPath> paths;
    json skeleton = json::object();
    const std::size_t wanted = 1 + pick(12);
    for (std::size_t tries = 0; paths.size() < wanted && tries < 50; ++tries) {
      std::string text = names[pick(names.size())];
      const std::size_t depth = pick(4);
      for (std::size_t d = 0; d < depth; ++d) {
        if (pick(3) == 0) {
          text += "[" + std::to_string(pick(4)) + "]";
        } else {
          text += "." + names[pick(names.size())];
        }
      }
      auto path = parse_jpath(text);
      ASSERT_TRUE(path) << text;
      if (!jpath_reserve(skeleton, *path)) continue;
      paths.push_back(*path);
    }
    Values values(paths.size());
    for (auto& v : values) {
      switch (pick(6)) {
        case 0:
          break;  // left out
        case 1:
          v = json(nullptr);
          break;
        case 2:
          v = json(static_cast<int64_t>(pick(1000)) - 500);
          break;
        case 3:
          v = json("s\"\n" + names[pick(names.size())]);
          break;
        case 4:
          v = json(pick(2) == 1);
          break;
        default:
          v = json{{names[pick(names.size())], json::array({1, nullptr})}};
      }
    }
    ASSERT_EQ(shape_text(paths, values), tree_text(paths, values)) << "round " << round;
  }
}

}  // namespace
}  // namespace herald::mapping
