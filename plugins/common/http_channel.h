// Shared by Herald's HTTP channel plugins (rest, json, xml): reading the
// settings the host passes, applying authentication, and the standard
// outcome rules. Header-only, built into each plugin; uses nothing but the
// public ABI.
#pragma once

#include <herald/plugin.h>

#include <cstdio>
#include <set>
#include <string>

namespace herald_channel {

inline void write_error(char* err, size_t size, const std::string& text) {
  if (!err || size == 0) return;
  std::snprintf(err, size, "%s", text.c_str());
}

struct HttpSettings {
  std::string endpoint;
  std::string url;
  std::string auth_type = "none";  // none | basic | bearer | oauth2
  std::string username, password, token;
};

// Settings the host passes to every endpoint.
inline bool host_setting(const std::string& key) {
  static const std::set<std::string> kKeys = {"url",
                                              "timeout_ms",
                                              "tls_verify",
                                              "config_dir",
                                              "auth.type",
                                              "auth.username",
                                              "auth.password",
                                              "auth.token",
                                              "auth.token_url",
                                              "auth.client_id",
                                              "auth.client_secret",
                                              "auth.scopes"};
  return kKeys.count(key) > 0;
}

// Reads the host's settings; any other key must be in `own` (the channel
// reads those itself). Returns "" or what is wrong, naming the setting.
inline std::string read_http_settings(const herald_endpoint_config* config, const char* channel,
                                      const std::set<std::string>& own, HttpSettings& out) {
  out.endpoint = config->endpoint_name ? config->endpoint_name : "";
  for (size_t i = 0; i < config->settings_count; ++i) {
    std::string key = config->settings[i].key, value = config->settings[i].value;
    if (!host_setting(key) && !own.count(key)) {
      return "unknown setting '" + key + "' for the " + channel + " channel";
    }
    if (key == "url") out.url = value;
    if (key == "auth.type") out.auth_type = value;
    if (key == "auth.username") out.username = value;
    if (key == "auth.password") out.password = value;
    if (key == "auth.token") out.token = value;
  }
  if (out.url.empty())
    return std::string("setting 'url' is required (or 'target') for the ") + channel + " channel";
  if (out.auth_type != "none" && out.auth_type != "basic" && out.auth_type != "bearer" &&
      out.auth_type != "oauth2") {
    return "auth type '" + out.auth_type + "' is not supported by the " + channel + " channel";
  }
  return {};
}

// Adds the Authorization the endpoint asks for. With OAuth2 the host has put
// a fresh token into the message; without one the attempt waits.
inline herald_build_result apply_auth(const herald_host_api* h, herald_request* req, const HttpSettings& s,
                                      const herald_message* msg, std::string& err) {
  int bad = 0;
  if (s.auth_type == "bearer") {
    bad = h->request_add_header(req, "Authorization", ("Bearer " + s.token).c_str());
  } else if (s.auth_type == "basic") {
    bad = h->request_set_basic_auth(req, s.username.c_str(), s.password.c_str());
  } else if (s.auth_type == "oauth2") {
    const char* token = HERALD_HAS_FIELD(msg, herald_message, auth_token) ? msg->auth_token : nullptr;
    if (!token || !*token) {
      err = "no OAuth2 access token is available yet";
      return HERALD_BUILD_RETRY;
    }
    bad = h->request_add_header(req, "Authorization", (std::string("Bearer ") + token).c_str());
  }
  if (bad) {
    err = "the host refused the authentication (a line break in a credential?)";
    return HERALD_BUILD_FAILED;
  }
  return HERALD_BUILD_OK;
}

// Headers that let receivers drop duplicates: the message id stays the same
// across retries of one notification.
inline int add_identity_headers(const herald_host_api* h, herald_request* req, const herald_message* msg) {
  int bad = h->request_add_header(req, "X-Herald-Message-Id", msg->message_id);
  bad |= h->request_add_header(req, "X-Herald-Attempt", std::to_string(msg->attempt).c_str());
  return bad;
}

// 2xx delivered; no answer, 408, 429 and 5xx retried; the rest failed.
inline herald_outcome classify_http(const herald_response* r, char* err, size_t err_size) {
  if (r->transport_error != 0 || r->http_status == 0) return HERALD_OUTCOME_RETRY;
  long s = r->http_status;
  if (s >= 200 && s < 300) return HERALD_OUTCOME_DELIVERED;
  if (s == 408 || s == 429 || s >= 500) return HERALD_OUTCOME_RETRY;
  if (s >= 300 && s < 400) write_error(err, err_size, "redirects are not followed; fix the endpoint's url");
  return HERALD_OUTCOME_FAILED;
}

}  // namespace herald_channel
