#include "mapping/mapping.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "common/text.h"
#include "mapping/body_shape.h"
#include "mapping/data_source.h"
#include "mapping/jpath.h"
#include "mapping/value_encoding.h"

namespace herald::mapping {

namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

// Follows dotted segments into objects (by key) and arrays (by decimal index).
const nlohmann::json* navigate(const nlohmann::json& root, const std::vector<std::string>& path,
                               std::size_t from = 0) {
  const nlohmann::json* node = &root;
  for (std::size_t i = from; i < path.size(); ++i) {
    const std::string& seg = path[i];
    if (node->is_object()) {
      auto it = node->find(seg);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      auto [ptr, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
      if (ec != std::errc() || ptr != seg.data() + seg.size() || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

std::optional<std::size_t> parse_count(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::size_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------------------
// The compiled form of a mapping file.

enum class SourceKind { Database, Event, Extra };

// What Event.<Field> names: a member of the Event, or (Key) a key of keys.
enum class EventField { Id, Entity, Action, Name, OccurredAt, Keys, New, Old, Key };

struct FieldRef {
  SourceKind kind = SourceKind::Event;
  std::string source;           // as written
  std::string field;            // as written
  std::size_t data_source = 0;  // Database: index into Compiled::sources
  std::size_t slot = 0;         // Database: slot in the fetched row
  EventField event_field = EventField::Key;
  std::vector<std::string> path;  // Event: segments navigated from path_from; Extra: all segments
  std::size_t path_from = 0;
};

enum class Encoding { None, Boolean, Date };
enum class DataType { None, Image, HexedB64Certificate, Guid };

struct Substring {
  std::size_t start = 0;
  std::optional<std::size_t> length;
};

// A <Source>: where a value comes from and how it is converted.
struct ValueRule {
  std::optional<FieldRef> ref;
  std::optional<std::string> default_value;
  DataType data_type = DataType::None;
  std::vector<Substring> processors;
  Encoding encoding = Encoding::None;
};

struct PropertyRule {
  std::string jpath_text;
  JPath jpath;
  int line = 0;
  ValueRule source;
};

struct UrlPiece {
  std::string literal;
  std::optional<FieldRef> ref;
  std::string placeholder;  // as written, for messages
};

struct Compiled {
  std::string path;
  std::string verb = "POST";
  int endpoint_line = 0;
  std::vector<UrlPiece> url;
  std::vector<DataSource> sources;
  std::vector<PropertyRule> properties;
  BodyShape shape;  // where the properties go, for bodies written as text
};

// Conversion pipeline of one <Source>: DataType decoding first (how the
// value is stored), then the processors in order, then EncodingFormat (the
// JSON type written). Messages carry no location; callers add it.
Result<nlohmann::json> apply_rule(const ValueRule& rule, Value v) {
  switch (rule.data_type) {
    case DataType::None:
      break;
    case DataType::Image:
      // BLOBs and text alike: base64 of the bytes.
      v = Value::of_json(base64_encode(v.kind == Value::Kind::Bytes ? v.bytes : value_to_text(v)));
      break;
    case DataType::HexedB64Certificate: {
      auto decoded = decode_hexed_b64_certificate(v);
      if (!decoded) return decoded.error();
      v = Value::of_json(std::move(decoded).value());
      break;
    }
    case DataType::Guid:
      if (v.kind == Value::Kind::Json && v.json.is_string()) {
        v = Value::of_json(strip_guid_braces(v.json.get_ref<const std::string&>()));
      }
      break;
  }

  if (!rule.processors.empty()) {
    std::string text = value_to_text(v);
    if (!is_valid_utf8(text)) return Error{"value is not valid UTF-8 text"};
    for (const auto& p : rule.processors) text = utf8_substring(text, p.start, p.length);
    v = Value::of_json(std::move(text));
  }

  switch (rule.encoding) {
    case Encoding::None:
      break;
    case Encoding::Boolean: {
      auto b = to_boolean(v);
      if (!b) return b.error();
      return nlohmann::json(*b);
    }
    case Encoding::Date: {
      auto d = to_iso8601_utc(v);
      if (!d) return d.error();
      return nlohmann::json(std::move(d).value());
    }
  }

  if (v.kind == Value::Kind::Bytes) return nlohmann::json(base64_encode(v.bytes));
  if (v.json.is_string() && !is_valid_utf8(v.json.get_ref<const std::string&>())) {
    return Error{"value is not valid UTF-8 text"};
  }
  return std::move(v.json);
}

// ---------------------------------------------------------------------------
// Loading.

constexpr std::string_view kIdentifierRule = "letters, digits and underscores, not starting with a digit";

class Loader {
 public:
  Loader(const std::string& path, std::string text, db::Database* producer,
         const std::vector<std::string>& extra_sources)
      : path_(path), text_(std::move(text)), producer_(producer), extra_sources_(extra_sources) {
    for (std::size_t i = 0; i < text_.size(); ++i) {
      if (text_[i] == '\n') newlines_.push_back(i);
    }
  }

  Result<Compiled> run() {
    pugi::xml_document doc;
    pugi::xml_parse_result parsed =
        doc.load_buffer(text_.data(), text_.size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
    if (!parsed) {
      return Error{path_ + ":" + std::to_string(line_at(parsed.offset)) +
                   ": XML error: " + parsed.description()};
    }
    std::vector<pugi::xml_node> roots;
    for (pugi::xml_node n : doc.children()) {
      if (n.type() == pugi::node_element) roots.push_back(n);
    }
    if (roots.empty()) return Error{path_ + ":1: no <Notification> root element"};
    if (std::string_view(roots[0].name()) != "Notification") {
      return fail(roots[0], "the root element must be <Notification>");
    }
    if (roots.size() > 1) {
      return fail(roots[1],
                  "a mapping file has exactly one root element, <Notification>; this is a second one");
    }
    const pugi::xml_node root = roots[0];
    for (pugi::xml_attribute a : root.attributes()) {
      std::string_view name = a.name();
      if (name.substr(0, 5) != "xmlns" && name.substr(0, 4) != "xsi:") {
        return fail(root, "unknown attribute " + std::string(name));
      }
    }

    auto kids = children(root);
    if (!kids) return kids.error();
    pugi::xml_node data_sources, endpoint, body;
    for (const pugi::xml_node& kid : *kids) {
      std::string_view name = kid.name();
      pugi::xml_node* slot = name == "DataSources" ? &data_sources
                             : name == "Endpoint"  ? &endpoint
                             : name == "Body"      ? &body
                                                   : nullptr;
      if (!slot) return fail(kid, "unknown element (expected <DataSources>, <Endpoint> or <Body>)");
      if (*slot) return fail(kid, "appears more than once");
      *slot = kid;
    }
    out_.path = path_;
    // Data sources first, whatever the order in the file: the endpoint and
    // body refer to them.
    if (data_sources) {
      if (auto s = load_data_sources(data_sources); !s) return s.error();
    }
    if (!endpoint) return fail(root, "missing <Endpoint>");
    if (auto s = load_endpoint(endpoint); !s) return s.error();
    if (body) {
      if (auto s = load_body(body); !s) return s.error();
    }
    std::vector<const JPath*> paths;
    for (const PropertyRule& prop : out_.properties) paths.push_back(&prop.jpath);
    out_.shape = BodyShape(paths);
    return std::move(out_);
  }

 private:
  int line_at(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    auto it = std::lower_bound(newlines_.begin(), newlines_.end(), static_cast<std::size_t>(offset));
    return static_cast<int>(std::distance(newlines_.begin(), it)) + 1;
  }
  int line_of(const pugi::xml_node& n) const { return line_at(n.offset_debug()); }

  Error fail(const pugi::xml_node& n, const std::string& message) const {
    return Error{path_ + ":" + std::to_string(line_of(n)) + ": <" + n.name() + ">: " + message};
  }

  Status check_attributes(const pugi::xml_node& n, std::initializer_list<std::string_view> allowed) const {
    for (pugi::xml_attribute a : n.attributes()) {
      if (std::find(allowed.begin(), allowed.end(), std::string_view(a.name())) == allowed.end()) {
        std::string list;
        for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
        return fail(n, "unknown attribute " + std::string(a.name()) +
                           (list.empty() ? " (no attributes allowed)" : " (allowed: " + list + ")"));
      }
    }
    return {};
  }

  // Element children; non-blank text between them is an error.
  Result<std::vector<pugi::xml_node>> children(const pugi::xml_node& n) const {
    std::vector<pugi::xml_node> out;
    for (pugi::xml_node c : n.children()) {
      if (c.type() == pugi::node_element) {
        out.push_back(c);
      } else if ((c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) && !is_blank(c.value())) {
        return fail(n, "unexpected text \"" + std::string(trim(c.value())) + "\"");
      }
    }
    return out;
  }

  // Text content of an element that holds text only.
  Result<std::string> text_of(const pugi::xml_node& n) const {
    std::string out;
    for (pugi::xml_node c : n.children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        out += c.value();
      } else if (c.type() == pugi::node_element) {
        return fail(c, "unexpected element inside <" + std::string(n.name()) + ">");
      }
    }
    return out;
  }

  static std::optional<std::string> attr(const pugi::xml_node& n, const char* name) {
    pugi::xml_attribute a = n.attribute(name);
    if (!a) return std::nullopt;
    return std::string(a.value());
  }

  bool is_extra_source(std::string_view name) const {
    return name == "Rule" ||
           std::find(extra_sources_.begin(), extra_sources_.end(), name) != extra_sources_.end();
  }

  std::optional<std::size_t> find_data_source(std::string_view id) const {
    for (std::size_t i = 0; i < out_.sources.size(); ++i) {
      if (out_.sources[i].spec().id == id) return i;
    }
    return std::nullopt;
  }

  // ---- <DataSources>

  Status load_data_sources(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {}); !s) return s;
    auto kids = children(n);
    if (!kids) return kids.error();
    if (!kids->empty() && !producer_) {
      return fail(n, "this mapping reads the producer database, but no producer database is configured");
    }
    for (const pugi::xml_node& kid : *kids) {
      if (std::string_view(kid.name()) != "DataSource")
        return fail(kid, "unknown element (expected <DataSource>)");
      if (auto s = load_data_source(kid); !s) return s;
    }
    return {};
  }

  Status load_data_source(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {"ID", "View", "Lookup", "FieldName"}); !s) return s;
    DataSourceSpec spec;
    auto id = attr(n, "ID");
    if (!id || id->empty()) return fail(n, "ID is required");
    if (!db::is_identifier(*id)) {
      return fail(n, "ID \"" + *id + "\" is not a valid name (" + std::string(kIdentifierRule) + ")");
    }
    if (*id == "Event" || is_extra_source(*id)) return fail(n, "ID \"" + *id + "\" is reserved");
    if (find_data_source(*id)) return fail(n, "ID \"" + *id + "\" is declared twice");
    spec.id = *id;

    auto view = attr(n, "View");
    if (!view) return fail(n, "View is required");
    if (!db::is_identifier(*view)) {
      return fail(
          n, "View \"" + *view + "\" is not a valid SQL identifier (" + std::string(kIdentifierRule) + ")");
    }
    spec.view = *view;

    auto lookup = attr(n, "Lookup");
    if (!lookup || lookup->empty()) return fail(n, "Lookup is required (a key of the event, e.g. PersonID)");
    spec.lookup = *lookup;

    auto field_name = attr(n, "FieldName");
    spec.field_name = field_name ? *field_name : *lookup;
    if (!db::is_identifier(spec.field_name)) {
      return fail(n, std::string(field_name ? "FieldName" : "FieldName (taken from Lookup)") + " \"" +
                         spec.field_name + "\" is not a valid SQL identifier (" +
                         std::string(kIdentifierRule) + ")");
    }

    auto kids = children(n);
    if (!kids) return kids.error();
    for (const pugi::xml_node& kid : *kids) {
      if (std::string_view(kid.name()) != "Where") return fail(kid, "unknown element (expected <Where>)");
      auto where = load_where(kid);
      if (!where) return where.error();
      spec.where.push_back(std::move(where).value());
    }

    auto prepared = DataSource::prepare(std::move(spec), *producer_);
    if (!prepared) {
      return fail(n, "cannot prepare the query of data source \"" + *id + "\": " + prepared.error().message);
    }
    out_.sources.push_back(std::move(prepared).value());
    return {};
  }

  // <Where> in attribute form, element form, or a mix of the two (each part
  // given once).
  Result<WhereClause> load_where(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {"FieldName", "FieldValue", "Operation", "Conjunction"}); !s)
      return s.error();
    struct Part {
      std::optional<std::string> value;
      pugi::xml_node node;  // where it was given, for messages
    };
    Part field{attr(n, "FieldName"), n}, operation{attr(n, "Operation"), n},
        conjunction{attr(n, "Conjunction"), n};
    std::vector<std::string> values;
    bool value_attr = false;
    if (auto v = attr(n, "FieldValue")) {
      values.push_back(*v);
      value_attr = true;
    }

    auto kids = children(n);
    if (!kids) return kids.error();
    for (const pugi::xml_node& kid : *kids) {
      std::string_view name = kid.name();
      if (auto s = check_attributes(kid, {}); !s) return s.error();
      auto text = text_of(kid);
      if (!text) return text.error();
      if (name == "FieldValue") {
        if (value_attr) return fail(kid, "FieldValue is given both as attribute and as element");
        values.push_back(std::move(text).value());
        continue;
      }
      Part* part = name == "FieldName"     ? &field
                   : name == "Operation"   ? &operation
                   : name == "Conjunction" ? &conjunction
                                           : nullptr;
      if (!part) {
        return fail(kid,
                    "unknown element (expected <FieldName>, <FieldValue>, <Operation> or <Conjunction>)");
      }
      if (part->value) {
        return fail(kid, std::string(name) + " is given more than once");
      }
      part->value = std::string(trim(*text));
      part->node = kid;
    }

    WhereClause w;
    if (!field.value || field.value->empty()) return fail(n, "FieldName is required");
    if (!db::is_identifier(*field.value)) {
      return fail(field.node, "FieldName \"" + *field.value + "\" is not a valid SQL identifier (" +
                                  std::string(kIdentifierRule) + ")");
    }
    w.field = *field.value;

    if (operation.value) {
      auto op = parse_where_op(*operation.value);
      if (!op) {
        return fail(operation.node, "unknown Operation \"" + *operation.value +
                                        "\" (expected =, !=, lt, le, gt, ge, like, isnull, notnull or IN)");
      }
      w.op = *op;
    } else if (values.size() > 1) {
      w.op = WhereOp::In;
    } else if (values.size() == 1) {
      w.op = WhereOp::Equal;
    } else {
      return fail(n, "needs a FieldValue (or Operation isnull / notnull)");
    }
    // A defaulted operation always fits the values; an explicit one must.
    const std::string op_text = operation.value.value_or("");
    switch (w.op) {
      case WhereOp::IsNull:
      case WhereOp::NotNull:
        if (!values.empty()) return fail(operation.node, "Operation " + op_text + " takes no FieldValue");
        break;
      case WhereOp::In:
        if (values.empty()) return fail(operation.node, "Operation IN needs at least one FieldValue");
        break;
      default:
        if (values.size() != 1) {
          return fail(operation.node, "Operation " + op_text + " needs exactly one FieldValue (found " +
                                          std::to_string(values.size()) + ")");
        }
        break;
    }
    w.values = std::move(values);

    if (conjunction.value) {
      if (iequals(*conjunction.value, "or")) {
        w.or_with_previous = true;
      } else if (!iequals(*conjunction.value, "and")) {
        return fail(conjunction.node,
                    "unknown Conjunction \"" + *conjunction.value + "\" (expected and or or)");
      }
    }
    return w;
  }

  // ---- references to values

  Result<FieldRef> make_ref(const std::string& source, const std::string& field, const pugi::xml_node& n,
                            const std::string& context) {
    FieldRef ref;
    ref.source = source;
    ref.field = field;
    if (field.empty()) return fail(n, context + "Field is empty");
    if (auto index = find_data_source(source)) {
      DataSource& ds = out_.sources[*index];
      auto slot = ds.use_column(field);
      if (!slot) {
        return fail(n, context + "data source \"" + source + "\" (view " + ds.spec().view +
                           ") has no column \"" + field + "\"");
      }
      ref.kind = SourceKind::Database;
      ref.data_source = *index;
      ref.slot = *slot;
      return ref;
    }
    std::vector<std::string> segments = split_dots(field);
    if (std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); })) {
      return fail(n, context + "Field \"" + field + "\" has an empty segment");
    }
    if (source == "Event") {
      ref.kind = SourceKind::Event;
      ref.path = segments;
      ref.path_from = 1;
      static constexpr std::pair<std::string_view, EventField> kScalars[] = {
          {"id", EventField::Id},
          {"entity", EventField::Entity},
          {"action", EventField::Action},
          {"name", EventField::Name},
          {"occurred_at", EventField::OccurredAt}};
      static constexpr std::pair<std::string_view, EventField> kObjects[] = {{"keys", EventField::Keys},
                                                                             {"new", EventField::New},
                                                                             {"new_values", EventField::New},
                                                                             {"old", EventField::Old},
                                                                             {"old_values", EventField::Old}};
      for (const auto& [name, which] : kScalars) {
        if (segments[0] == name) {
          if (segments.size() > 1) return fail(n, context + "Event." + segments[0] + " has no sub-fields");
          ref.event_field = which;
          return ref;
        }
      }
      for (const auto& [name, which] : kObjects) {
        if (segments[0] == name) {
          ref.event_field = which;
          return ref;
        }
      }
      // Any other name is a key of the event: Event.PersonID.
      ref.event_field = EventField::Key;
      ref.path_from = 0;
      return ref;
    }
    if (is_extra_source(source)) {
      ref.kind = SourceKind::Extra;
      ref.path = segments;
      return ref;
    }
    return fail(n, context + "unknown Retrieval \"" + source + "\" (not a <DataSource> ID, Event or Rule)");
  }

  // ---- <Endpoint>

  Status load_endpoint(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {"Verb", "URL"}); !s) return s;
    auto kids = children(n);
    if (!kids) return kids.error();
    if (!kids->empty()) return fail((*kids)[0], "unexpected element inside <Endpoint>");
    out_.endpoint_line = line_of(n);
    if (auto verb = attr(n, "Verb")) {
      std::string upper = ascii_upper(trim(*verb));
      if (upper != "POST" && upper != "PUT" && upper != "DELETE" && upper != "PATCH") {
        return fail(n, "unknown Verb \"" + *verb + "\" (expected POST, PUT, DELETE or PATCH)");
      }
      out_.verb = upper;
    }
    auto url = attr(n, "URL");
    if (!url) return fail(n, "URL is required");
    auto parts = parse_url_template(*url);
    if (!parts) return fail(n, parts.error().message);
    for (auto& part : *parts) {
      UrlPiece piece;
      if (part.placeholder) {
        auto ref = make_ref(part.source, part.field, n, "placeholder " + part.text + ": ");
        if (!ref) return ref.error();
        piece.ref = std::move(ref).value();
        piece.placeholder = part.text;
      } else {
        piece.literal = std::move(part.text);
      }
      out_.url.push_back(std::move(piece));
    }
    return {};
  }

  // ---- <Body>

  Status load_body(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {}); !s) return s;
    auto kids = children(n);
    if (!kids) return kids.error();
    nlohmann::json skeleton = nlohmann::json::object();
    for (const pugi::xml_node& kid : *kids) {
      if (std::string_view(kid.name()) != "Property")
        return fail(kid, "unknown element (expected <Property>)");
      if (auto s = load_property(kid, skeleton); !s) return s;
    }
    return {};
  }

  Status load_property(const pugi::xml_node& n, nlohmann::json& skeleton) {
    if (auto s = check_attributes(n, {"JPath"}); !s) return s;
    PropertyRule prop;
    prop.line = line_of(n);
    auto jpath_text = attr(n, "JPath");
    if (!jpath_text) return fail(n, "JPath is required");
    // A member name goes into the body's JSON text as it is.
    if (!is_valid_utf8(*jpath_text)) return fail(n, "JPath is not valid UTF-8 text");
    auto jpath = parse_jpath(*jpath_text);
    if (!jpath) return fail(n, jpath.error().message);
    if (auto s = jpath_reserve(skeleton, *jpath); !s) return fail(n, s.error().message);
    prop.jpath_text = *jpath_text;
    prop.jpath = std::move(jpath).value();

    auto kids = children(n);
    if (!kids) return kids.error();
    if (kids->empty()) return fail(n, "JPath \"" + prop.jpath_text + "\" needs a <Source>");
    for (std::size_t i = 0; i < kids->size(); ++i) {
      const pugi::xml_node& kid = (*kids)[i];
      if (std::string_view(kid.name()) != "Source") return fail(kid, "unknown element (expected <Source>)");
      if (i > 0) return fail(kid, "a <Property> holds exactly one <Source>");
    }
    auto rule = load_source((*kids)[0]);
    if (!rule) return rule.error();
    prop.source = std::move(rule).value();
    out_.properties.push_back(std::move(prop));
    return {};
  }

  Result<ValueRule> load_source(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {"Retrieval", "Field", "EncodingFormat", "DataType", "Default"}); !s) {
      return s.error();
    }
    ValueRule rule;
    auto retrieval = attr(n, "Retrieval");
    auto field = attr(n, "Field");
    rule.default_value = attr(n, "Default");
    if (retrieval && !field) return fail(n, "Retrieval needs a Field");
    if (field && !retrieval) return fail(n, "Field needs a Retrieval");
    if (!retrieval && !rule.default_value) return fail(n, "needs Retrieval and Field, or a Default");
    if (retrieval) {
      auto ref = make_ref(*retrieval, *field, n, "");
      if (!ref) return ref.error();
      rule.ref = std::move(ref).value();
    }

    if (auto enc = attr(n, "EncodingFormat")) {
      if (iequals(*enc, "Boolean")) {
        rule.encoding = Encoding::Boolean;
      } else if (iequals(*enc, "Date")) {
        rule.encoding = Encoding::Date;
      } else {
        return fail(n, "unknown EncodingFormat \"" + *enc + "\" (expected Boolean or Date)");
      }
    }
    if (auto type = attr(n, "DataType")) {
      if (iequals(*type, "Image")) {
        rule.data_type = DataType::Image;
      } else if (iequals(*type, "HexedB64Certificate")) {
        rule.data_type = DataType::HexedB64Certificate;
      } else if (iequals(*type, "Guid")) {
        rule.data_type = DataType::Guid;
      } else {
        return fail(n, "unknown DataType \"" + *type + "\" (expected Image, HexedB64Certificate or Guid)");
      }
    }

    auto kids = children(n);
    if (!kids) return kids.error();
    for (const pugi::xml_node& kid : *kids) {
      if (std::string_view(kid.name()) != "Processor")
        return fail(kid, "unknown element (expected <Processor>)");
      auto processor = load_processor(kid);
      if (!processor) return processor.error();
      rule.processors.push_back(*processor);
    }

    // The Default stands in for the missing value and goes through the same
    // conversions, so a Default that cannot be converted is caught here.
    if (rule.default_value) {
      auto converted = apply_rule(rule, Value::of_json(*rule.default_value));
      if (!converted) return fail(n, "Default \"" + *rule.default_value + "\": " + converted.error().message);
    }
    return rule;
  }

  Result<Substring> load_processor(const pugi::xml_node& n) {
    if (auto s = check_attributes(n, {"Type", "P1", "P2"}); !s) return s.error();
    if (auto kids = children(n); !kids) {
      return kids.error();
    } else if (!kids->empty()) {
      return fail((*kids)[0], "unexpected element inside <Processor>");
    }
    auto type = attr(n, "Type");
    if (!type) return fail(n, "Type is required");
    if (!iequals(*type, "substring")) return fail(n, "unknown Type \"" + *type + "\" (expected substring)");
    Substring sub;
    auto p1 = attr(n, "P1");
    if (!p1) return fail(n, "substring needs P1 (the zero-based start)");
    auto start = parse_count(*p1);
    if (!start) return fail(n, "P1 \"" + *p1 + "\" is not a non-negative integer");
    sub.start = *start;
    if (auto p2 = attr(n, "P2")) {
      auto length = parse_count(*p2);
      if (!length) return fail(n, "P2 \"" + *p2 + "\" is not a non-negative integer");
      sub.length = *length;
    }
    return sub;
  }

  std::string path_;
  std::string text_;
  db::Database* producer_;
  const std::vector<std::string>& extra_sources_;
  std::vector<std::size_t> newlines_;
  Compiled out_;
};

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read mapping file " + path + ": " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{"cannot read mapping file " + path};
  return ss.str();
}

}  // namespace

// ---------------------------------------------------------------------------
// Rendering.

struct Mapping::Impl {
  Compiled c;

  enum class Fetch { NotYet, Row, NoRow };
  struct RenderState {
    std::vector<Fetch> fetched;
    std::vector<DataSource::Row> rows;
  };

  static Value event_value(const FieldRef& ref, const Event& e) {
    auto text = [](const std::string& s) { return s.empty() ? Value::absent() : Value::of_json(s); };
    auto from = [&](const nlohmann::json& root) {
      const nlohmann::json* p = navigate(root, ref.path, ref.path_from);
      return p ? Value::of_json(*p) : Value::absent();
    };
    switch (ref.event_field) {
      case EventField::Id:
        return Value::of_json(e.id);
      case EventField::Entity:
        return text(e.entity);
      case EventField::Action:
        return text(e.action);
      case EventField::Name:
        return text(e.name);
      case EventField::OccurredAt:
        return text(e.occurred_at);
      case EventField::Keys:
      case EventField::Key:
        return from(e.keys);
      case EventField::New:
        return from(e.new_values);
      case EventField::Old:
        return from(e.old_values);
    }
    return Value::absent();
  }

  Result<Value> resolve(const FieldRef& ref, const RenderContext& ctx, RenderState& st) {
    switch (ref.kind) {
      case SourceKind::Database: {
        const std::size_t i = ref.data_source;
        if (st.fetched[i] == Fetch::NotYet) {
          auto found = c.sources[i].fetch(ctx.event.keys, st.rows[i]);
          if (!found) return found.error();
          st.fetched[i] = *found ? Fetch::Row : Fetch::NoRow;
        }
        if (st.fetched[i] == Fetch::NoRow) return Value::absent();
        return st.rows[i][ref.slot];
      }
      case SourceKind::Event:
        return event_value(ref, ctx.event);
      case SourceKind::Extra: {
        if (!ctx.extra || !ctx.extra->is_object()) return Value::absent();
        auto it = ctx.extra->find(ref.source);
        if (it == ctx.extra->end()) return Value::absent();
        const nlohmann::json* p = navigate(*it, ref.path);
        return p ? Value::of_json(*p) : Value::absent();
      }
    }
    return Value::absent();
  }

  std::string where(int line) const { return c.path + ":" + std::to_string(line) + ": "; }

  Result<RenderedMessage> render(const RenderContext& ctx, BodyForm form) {
    RenderState st;
    st.fetched.assign(c.sources.size(), Fetch::NotYet);
    st.rows.resize(c.sources.size());

    RenderedMessage msg;
    msg.verb = c.verb;

    // Values that are empty or dots only, in case one makes a whole path
    // segment "", "." or "..".
    PathSpans suspects;
    std::vector<const UrlPiece*> suspect_pieces;
    for (const UrlPiece& piece : c.url) {
      if (!piece.ref) {
        msg.path += piece.literal;
        continue;
      }
      auto v = resolve(*piece.ref, ctx, st);
      if (!v) {
        return Error(where(c.endpoint_line) + "<Endpoint>: placeholder " + piece.placeholder + ": " +
                         v.error().message,
                     v.error().transient);
      }
      if (!v->present()) {
        return Error{where(c.endpoint_line) + "<Endpoint>: placeholder " + piece.placeholder +
                     " has no value; a URL with a hole is not sent"};
      }
      // Braces around a GUID have no place in a URL: {79036D80-...} -> 79036D80-...
      const std::size_t begin = msg.path.size();
      msg.path += percent_encode_segment(strip_guid_braces(value_to_text(*v)));
      if (msg.path.find_first_not_of('.', begin) == std::string::npos) {
        suspects.emplace_back(begin, msg.path.size());
        suspect_pieces.push_back(&piece);
      }
    }
    if (!suspects.empty()) {
      if (auto u = unsafe_segment_from_value(msg.path, suspects)) {
        const std::string prefix =
            where(c.endpoint_line) + "<Endpoint>: placeholder " + suspect_pieces[u->value]->placeholder;
        if (u->segment.empty()) {
          return Error{prefix + " is empty and leaves an empty path segment; a URL with a hole is not sent"};
        }
        return Error{prefix + " makes the path segment \"" + std::string(u->segment) +
                     "\", which would leave its place in the URL; not sent"};
      }
    }

    // Every value first, in file order (so the first failing property is
    // the one named), then the body in the form asked for.
    std::vector<std::optional<nlohmann::json>> values(c.properties.size());
    for (std::size_t i = 0; i < c.properties.size(); ++i) {
      const PropertyRule& prop = c.properties[i];
      // Built only for an error: a render runs for every notification.
      auto context = [&] { return where(prop.line) + "<Property JPath=\"" + prop.jpath_text + "\">: "; };
      Value v;
      if (prop.source.ref) {
        auto got = resolve(*prop.source.ref, ctx, st);
        if (!got) return Error(context() + got.error().message, got.error().transient);
        v = std::move(got).value();
      }
      if (!v.present()) {
        if (!prop.source.default_value) continue;  // no value, no Default: left out
        v = Value::of_json(*prop.source.default_value);
      }
      auto j = apply_rule(prop.source, std::move(v));
      if (!j) return Error{context() + j.error().message};
      values[i] = std::move(j).value();
    }
    if (form == BodyForm::Text) {
      c.shape.write(msg.body_text, values);
      return msg;
    }
    msg.body = nlohmann::json::object();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i]) jpath_set(msg.body, c.properties[i].jpath, std::move(*values[i]));
    }
    return msg;
  }
};

Mapping::Mapping(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Mapping::~Mapping() = default;

Result<std::shared_ptr<Mapping>> Mapping::load(const std::string& path, db::Database* producer,
                                               const std::vector<std::string>& extra_sources) {
  auto text = read_file(path);
  if (!text) return text.error();
  Loader loader(path, std::move(text).value(), producer, extra_sources);
  auto compiled = loader.run();
  if (!compiled) return compiled.error();
  auto impl = std::make_unique<Impl>();
  impl->c = std::move(compiled).value();
  return std::shared_ptr<Mapping>(new Mapping(std::move(impl)));
}

Result<RenderedMessage> Mapping::render(const RenderContext& ctx, BodyForm form) {
  return impl_->render(ctx, form);
}

const std::string& Mapping::path() const { return impl_->c.path; }

std::vector<std::string> Mapping::data_source_ids() const {
  std::vector<std::string> ids;
  ids.reserve(impl_->c.sources.size());
  for (const auto& ds : impl_->c.sources) ids.push_back(ds.spec().id);
  return ids;
}

}  // namespace herald::mapping
