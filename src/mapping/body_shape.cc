#include "mapping/body_shape.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "common/json_text.h"

namespace herald::mapping {
namespace {

using Node = BodyShape::Node;
using Values = std::vector<std::optional<nlohmann::json>>;

// The node `step` leads to from `parent`, added if new; the step decides
// what the parent is. While building, members are kept by name (unquoted).
Node& child(Node& parent, const JPathStep& step) {
  if (step.is_index) {
    parent.kind = Node::Kind::Array;
    for (std::size_t i = 0; i < parent.items.size(); ++i) {
      if (parent.items[i] == step.index) return parent.children[i];
    }
    parent.items.push_back(step.index);
  } else {
    parent.kind = Node::Kind::Object;
    for (std::size_t i = 0; i < parent.keys.size(); ++i) {
      if (parent.keys[i] == step.key) return parent.children[i];
    }
    parent.keys.push_back(step.key);
  }
  parent.children.emplace_back();
  return parent.children.back();
}

// Orders members as nlohmann's std::map does and arrays by index, then
// turns each name into the text written before its value.
void finish(Node& n) {
  for (Node& c : n.children) finish(c);
  std::vector<std::size_t> order(n.children.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (n.kind == Node::Kind::Object) {
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return n.keys[a] < n.keys[b]; });
  } else if (n.kind == Node::Kind::Array) {
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return n.items[a] < n.items[b]; });
  }
  std::vector<Node> children;
  std::vector<std::string> keys;
  std::vector<std::size_t> items;
  for (std::size_t i : order) {
    children.push_back(std::move(n.children[i]));
    if (n.kind == Node::Kind::Object) keys.push_back(json_text(nlohmann::json(n.keys[i])) + ':');
    if (n.kind == Node::Kind::Array) items.push_back(n.items[i]);
  }
  n.children = std::move(children);
  n.keys = std::move(keys);
  n.items = std::move(items);
}

// Appends n's text; false (and nothing appended) when nothing below n has a value.
bool write_node(const Node& n, std::string& out, const Values& values) {
  const std::size_t start = out.size();
  switch (n.kind) {
    case Node::Kind::Leaf: {
      const auto& v = values[n.property];
      if (!v) return false;
      append_json(out, *v);
      return true;
    }
    case Node::Kind::Object: {
      out += '{';
      bool any = false;
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        const std::size_t mark = out.size();
        if (any) out += ',';
        out += n.keys[i];
        if (write_node(n.children[i], out, values)) {
          any = true;
        } else {
          out.resize(mark);
        }
      }
      if (!any) {
        out.resize(start);
        return false;
      }
      out += '}';
      return true;
    }
    case Node::Kind::Array: {
      out += '[';
      std::size_t next = 0;  // the index the text has reached
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        const std::size_t mark = out.size();
        const std::size_t index = n.items[i];
        for (std::size_t k = next; k < index; ++k) out += k == 0 ? "null" : ",null";
        if (index > 0) out += ',';
        if (write_node(n.children[i], out, values)) {
          next = index + 1;
        } else {
          out.resize(mark);  // the gap is filled by a later item, if any
        }
      }
      if (next == 0) {
        out.resize(start);
        return false;
      }
      out += ']';
      return true;
    }
  }
  return false;
}

}  // namespace

BodyShape::BodyShape() = default;

BodyShape::BodyShape(const std::vector<const JPath*>& paths) {
  for (std::size_t p = 0; p < paths.size(); ++p) {
    const JPath& path = *paths[p];
    Node* node = &root_;
    for (const JPathStep& step : path) node = &child(*node, step);
    node->kind = Node::Kind::Leaf;
    node->property = p;
  }
  finish(root_);
}

void BodyShape::write(std::string& out, const std::vector<std::optional<nlohmann::json>>& values) const {
  if (!write_node(root_, out, values)) out += "{}";
}

}  // namespace herald::mapping
