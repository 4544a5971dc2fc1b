#include "delivery/message.h"

#include "common/json_parse.h"
#include "common/json_text.h"
#include "mapping/url.h"
#include "mapping/xml_body.h"

namespace herald::delivery {

void Rendered::to_text() {
  if (!body_text.empty()) return;
  body_text = json_text(body);
  body = nullptr;
}

std::string Rendered::stored() const {
  if (body_text.empty())
    return json_text(nlohmann::json{{"verb", verb}, {"path", path}, {"url", url}, {"body", body}});
  // The same document, with the body spliced in as text (members in the
  // order nlohmann writes them: sorted).
  std::string out =
      json_text(nlohmann::json{{"verb", verb}, {"path", path}, {"url", url}, {"body", nullptr}});
  static const std::string kNullBody = "\"body\":null";
  out.replace(out.find(kNullBody), kNullBody.size(), "\"body\":" + body_text);
  return out;
}

Result<Rendered> Rendered::from_stored(const std::string& text, bool as_text) {
  Rendered r;
  auto read_rest = [&r](const nlohmann::json& j) {
    r.verb = j.value("verb", "POST");
    r.path = j.value("path", "");
    r.url = j.value("url", "");
  };
  // stored() writes the members sorted, so the body comes first: its text
  // is the stored one, byte for byte what to_text() would write again.
  static constexpr std::string_view kBodyFirst = "{\"body\":";
  if (as_text && text.starts_with(kBodyFirst)) {
    const std::size_t end = json_container_end(text, kBodyFirst.size());
    if (end != std::string::npos && end < text.size() && text[end] == ',') {
      auto rest = parse_json("{" + text.substr(end + 1));
      if (!rest.is_discarded() && rest.is_object()) {
        read_rest(rest);
        r.body = nullptr;
        r.body_text = text.substr(kBodyFirst.size(), end - kBodyFirst.size());
        return r;
      }
    }
  }
  auto j = parse_json(text);
  if (j.is_discarded() || !j.is_object()) return Error{"stored payload is not valid JSON"};
  read_rest(j);
  r.body = j.contains("body") ? j["body"] : nlohmann::json::object();
  if (as_text) r.to_text();
  return r;
}

nlohmann::json default_envelope(const Event& e) {
  nlohmann::json j = {
      {"event_id", e.id},    {"entity", e.entity},  {"action", e.action},          {"keys", e.keys},
      {"old", e.old_values}, {"new", e.new_values}, {"occurred_at", e.occurred_at}};
  j["name"] = e.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.name);
  return j;
}

Result<Rendered> render(const config::EndpointConfig& endpoint, mapping::Mapping* mapping, const Event& event,
                        const nlohmann::json* extra, bool as_text) {
  Rendered r;
  if (mapping) {
    auto m = mapping->render(mapping::RenderContext{event, extra},
                             as_text ? mapping::BodyForm::Text : mapping::BodyForm::Tree);
    if (!m) return m.error();
    r.verb = std::move(m->verb);
    r.path = std::move(m->path);
    r.body = std::move(m->body);
    r.body_text = std::move(m->body_text);
  } else {
    r.body = default_envelope(event);
    if (as_text) r.to_text();
  }
  r.url = r.path.empty() ? endpoint.url : mapping::join_url(endpoint.url, r.path);
  return r;
}

namespace {

std::string scalar_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// "Body.person.name", "Body.items.0": every scalar of the body by its path
// (`path` is extended in place and given back as it came).
void flatten(const nlohmann::json& v, std::string& path,
             std::vector<std::pair<std::string, std::string>>& out) {
  const size_t base = path.size();
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      path.append(1, '.').append(it.key());
      flatten(it.value(), path, out);
      path.resize(base);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      path.append(1, '.').append(std::to_string(i));
      flatten(v[i], path, out);
      path.resize(base);
    }
  } else if (!v.is_null()) {
    out.emplace_back(path, scalar_text(v));
  }
}

}  // namespace

Message::Message(int64_t notification_id, std::string message_id, uint32_t attempt, std::string notification,
                 std::shared_ptr<const Rendered> rendered_ptr, const Event& event, const nlohmann::json& rule,
                 const nlohmann::json& recipients, uint64_t plugin_flags)
    : rendered_(std::move(rendered_ptr)),
      message_id_(std::move(message_id)),
      notification_(std::move(notification)) {
  const Rendered& rendered = *rendered_;
  // Only a body the worker did not write out yet is written here.
  if (rendered.body_text.empty()) body_ = json_text(rendered.body);
  const std::string& body = rendered.body_text.empty() ? body_ : rendered.body_text;
  if ((plugin_flags & HERALD_PLUGIN_NO_FIELDS) == 0) {
    field_storage_ = {{"Event.id", std::to_string(event.id)},
                      {"Event.entity", event.entity},
                      {"Event.action", event.action},
                      {"Event.name", event.name},
                      {"Event.occurred_at", event.occurred_at}};
    if (event.keys.is_object()) {
      for (auto it = event.keys.begin(); it != event.keys.end(); ++it) {
        field_storage_.emplace_back("Event." + it.key(), scalar_text(it.value()));
      }
    }
    if (rule.is_object()) {
      for (auto it = rule.begin(); it != rule.end(); ++it) {
        if (!it->is_null()) field_storage_.emplace_back("Rule." + it.key(), scalar_text(it.value()));
      }
    }
    std::string path = "Body";
    flatten(rendered.body, path, field_storage_);
    fields_.reserve(field_storage_.size());
    for (const auto& [k, v] : field_storage_) fields_.push_back({k.c_str(), v.c_str()});
  }

  msg_.struct_size = sizeof(herald_message);
  msg_.notification_id = notification_id;
  msg_.message_id = message_id_.c_str();
  msg_.attempt = attempt;
  msg_.notification = notification_.c_str();
  msg_.verb = rendered.verb.c_str();
  msg_.path = rendered.path.c_str();
  msg_.url = rendered.url.c_str();
  msg_.body_json = body.c_str();
  msg_.body_json_size = body.size();
  msg_.fields = fields_.data();
  msg_.field_count = fields_.size();

  if (recipients.is_array()) {
    for (const auto& r : recipients) {
      for (const char* key : {"identity", "address", "name"}) {
        recipient_storage_.push_back(r.is_object() && r.contains(key) && r[key].is_string()
                                         ? r[key].get<std::string>()
                                         : std::string());
      }
    }
    // Pointers are taken once the storage stops growing.
    for (size_t i = 0; i + 2 < recipient_storage_.size(); i += 3) {
      recipients_.push_back({recipient_storage_[i].c_str(), recipient_storage_[i + 1].c_str(),
                             recipient_storage_[i + 2].c_str()});
    }
  }
  msg_.recipients = recipients_.data();
  msg_.recipient_count = recipients_.size();
  if (plugin_flags & HERALD_PLUGIN_WANTS_XML_BODY) {
    body_xml_ = mapping::body_to_xml(rendered.body);
    msg_.body_xml = body_xml_.c_str();
    msg_.body_xml_size = body_xml_.size();
  }
}

void Message::set_auth_token(std::string token) {
  auth_token_ = std::move(token);
  msg_.auth_token = auth_token_.empty() ? nullptr : auth_token_.c_str();
}

}  // namespace herald::delivery
