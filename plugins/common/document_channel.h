// Herald's document channels: rest, and the policy-enforcement-point json and
// xml. Each sends the notification's body as one document (the mapping's
// verb and URL; POST without a mapping) with the endpoint's authentication:
// none, basic (also from `target = "url;username;password"`), bearer, or an
// OAuth2 token the host obtained. Without a mapping the body is the host's
// default envelope of the event.
#pragma once

#include <new>
#include <string>

#include "http_channel.h"

namespace herald_channel {

struct DocumentFormat {
  const char* channel;       // "json" | "xml"
  const char* content_type;  // sent as Content-Type and Accept
  bool xml;                  // send herald_message.body_xml instead of body_json
};

template <const DocumentFormat& F>
struct DocumentChannel {
  struct Endpoint {
    HttpSettings settings;
    const herald_host_api* host = nullptr;
  };

  static int open(const herald_host_api* host, const herald_endpoint_config* config, void** instance,
                  char* err, size_t err_size) noexcept {
    try {
      auto ep = new (std::nothrow) Endpoint;
      if (!ep) return 1;
      ep->host = host;
      if (std::string problem = read_http_settings(config, F.channel, {}, ep->settings); !problem.empty()) {
        write_error(err, err_size, problem);
        delete ep;
        return 1;
      }
      *instance = ep;
      return 0;
    } catch (...) {
      write_error(err, err_size, "out of memory");
      return 1;
    }
  }

  static void close(void* instance) noexcept { delete static_cast<Endpoint*>(instance); }

  static herald_build_result build(void* instance, const herald_message* msg, herald_request* req, char* err,
                                   size_t err_size) noexcept {
    try {
      auto* ep = static_cast<Endpoint*>(instance);
      const herald_host_api* h = ep->host;
      const char* body = msg->body_json;
      size_t size = msg->body_json_size;
      if (F.xml) {
        // A host older than ABI 1.1 cannot render XML: fail loudly, not with JSON.
        if (!HERALD_HAS_FIELD(msg, herald_message, body_xml) || !msg->body_xml) {
          write_error(err, err_size, "the host did not provide an XML body");
          return HERALD_BUILD_FAILED;
        }
        body = msg->body_xml;
        size = msg->body_xml_size;
      }
      const char* verb = msg->verb && *msg->verb ? msg->verb : "POST";
      int bad = h->request_set_method(req, verb);
      bad |= h->request_set_url(req, msg->url);
      bad |= h->request_add_header(req, "Content-Type", F.content_type);
      bad |= h->request_add_header(req, "Accept", F.content_type);
      bad |= add_identity_headers(h, req, msg);
      bad |= h->request_set_body(req, body, size);
      if (bad) {
        write_error(err, err_size, "the host refused part of the request");
        return HERALD_BUILD_FAILED;
      }
      std::string why;
      herald_build_result auth = apply_auth(h, req, ep->settings, msg, why);
      if (auth != HERALD_BUILD_OK) write_error(err, err_size, why);
      return auth;
    } catch (...) {
      write_error(err, err_size, "out of memory");
      return HERALD_BUILD_RETRY;
    }
  }

  static herald_outcome classify(void*, const herald_message*, const herald_response* r, char* err,
                                 size_t err_size) noexcept {
    return classify_http(r, err, err_size);
  }

  static constexpr herald_plugin descriptor(const char* version) {
    // The body is all these channels send: no flattened fields. build only
    // reads the endpoint's settings, so it may run on any thread.
    const uint64_t flags = HERALD_PLUGIN_NO_FIELDS | HERALD_PLUGIN_BUILD_ANY_THREAD |
                           (F.xml ? HERALD_PLUGIN_WANTS_XML_BODY : 0u);
    return {sizeof(herald_plugin),
            HERALD_ABI_MAJOR,
            HERALD_ABI_MINOR,
            F.channel,
            version,
            open,
            close,
            build,
            classify,
            flags};
  }
};

}  // namespace herald_channel
