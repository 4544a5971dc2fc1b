// Turns an event and a notification configuration into the rendered message
// a channel plugin receives (herald_message), and back from its stored form.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "config/config.h"
#include "herald/plugin.h"
#include "mapping/mapping.h"
#include "outbox/event.h"

namespace herald::delivery {

// What a mapping produced for one notification; stored as JSON in the state
// database at the first attempt so that retries send the same thing.
struct Rendered {
  std::string verb = "POST";
  std::string path;
  std::string url;  // endpoint url joined with path
  nlohmann::json body = nlohmann::json::object();
  // The body as JSON text once to_text() ran; `body` is then null.
  std::string body_text;

  // Serialises the body and lets its tree go, for a channel that needs
  // neither the fields nor the XML form: done where it was rendered, the
  // tree is freed by the thread that made it.
  void to_text();
  // What is stored for the next attempts (read back by from_stored()).
  std::string stored() const;
  // `as_text`: with the body as text (to_text() done), taken from the
  // stored text as it is instead of parsed and written again.
  static Result<Rendered> from_stored(const std::string& text, bool as_text = false);
};

// The body sent when a notification has no mapping file: the event itself.
nlohmann::json default_envelope(const Event& event);

// Renders with the mapping when there is one, else the default envelope.
// `extra` holds further sources for the mapping, e.g. {"Rule": {...}}.
// `as_text`: the body is wanted as text only (to_text() done), which a
// mapping writes without a tree.
Result<Rendered> render(const config::EndpointConfig& endpoint, mapping::Mapping* mapping, const Event& event,
                        const nlohmann::json* extra = nullptr, bool as_text = false);

// Owns every string a herald_message points to.
class Message {
 public:
  // `recipients` is the stored [{identity, address, name}] list (or null);
  // `with_xml` also renders the body as XML (HERALD_PLUGIN_WANTS_XML_BODY).
  // `plugin_flags` (HERALD_PLUGIN_*): what the channel asks for beyond the
  // common members (body_xml) or does without (fields).
  // The verb, path, URL and body are read from `rendered`, which the message
  // keeps, not copied.
  Message(int64_t notification_id, std::string message_id, uint32_t attempt, std::string notification,
          std::shared_ptr<const Rendered> rendered, const Event& event, const nlohmann::json& rule = nullptr,
          const nlohmann::json& recipients = nullptr, uint64_t plugin_flags = 0);
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  const herald_message& get() const { return msg_; }
  // The OAuth2 access token for this attempt ("" clears it).
  void set_auth_token(std::string token);

 private:
  std::shared_ptr<const Rendered> rendered_;
  std::string message_id_, notification_, body_, body_xml_, auth_token_;
  std::vector<std::pair<std::string, std::string>> field_storage_;
  std::vector<herald_kv> fields_;
  std::vector<std::string> recipient_storage_;  // identity, address, name for each recipient
  std::vector<herald_recipient> recipients_;
  herald_message msg_{};
};

}  // namespace herald::delivery
