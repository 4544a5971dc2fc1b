// The layout of a mapping's JSON body, known once the file is loaded: which
// objects and arrays its properties build and in which order their members
// are written. A render writes the body as JSON text straight from the
// property values through it, without building a tree only to serialise
// and free it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mapping/jpath.h"

namespace herald::mapping {

class BodyShape {
 public:
  BodyShape();
  // paths[i] is where property i goes; the paths do not collide (load
  // checks them with jpath_reserve).
  explicit BodyShape(const std::vector<const JPath*>& paths);

  // Appends the body as JSON text. values[i] is property i's value, or
  // nullopt when the property is left out. The text is byte for byte
  // json_text() of the tree jpath_set builds from the same values: an object
  // or array appears once something below it has a value, members in
  // nlohmann's (sorted) order, array gaps null.
  void write(std::string& out, const std::vector<std::optional<nlohmann::json>>& values) const;

  struct Node {
    enum class Kind { Object, Array, Leaf };
    Kind kind = Kind::Object;
    std::size_t property = 0;        // Leaf
    std::vector<std::string> keys;   // Object: "\"name\":" as written, sorted by name
    std::vector<std::size_t> items;  // Array: indexes, ascending
    std::vector<Node> children;      // one per key or index
  };

 private:
  Node root_;
};

}  // namespace herald::mapping
