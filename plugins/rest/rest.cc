// The "rest" channel: sends the mapping's verb, URL and JSON body to a REST
// web service, with no, basic or bearer authentication.
#include <herald/plugin.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

namespace {

struct RestEndpoint {
  std::string name;
  std::string auth_type = "none";
  std::string username;
  std::string password;
  std::string token;
  const herald_host_api* host = nullptr;
};

void write_error(char* err, size_t size, const std::string& text) {
  if (!err || size == 0) return;
  std::snprintf(err, size, "%s", text.c_str());
}

// Settings the host passes for every endpoint, or that this channel reads.
bool known_setting(const std::string& key) {
  return key == "url" || key == "timeout_ms" || key == "tls_verify" || key == "auth.type" ||
         key == "auth.username" || key == "auth.password" || key == "auth.token";
}

int endpoint_open(const herald_host_api* host, const herald_endpoint_config* config, void** instance,
                  char* err, size_t err_size) noexcept {
  try {
    auto ep = new (std::nothrow) RestEndpoint;
    if (!ep) return 1;
    ep->host = host;
    ep->name = config->endpoint_name ? config->endpoint_name : "";
    std::string url;
    for (size_t i = 0; i < config->settings_count; ++i) {
      std::string key = config->settings[i].key, value = config->settings[i].value;
      if (!known_setting(key)) {
        write_error(err, err_size, "unknown setting '" + key + "' for the rest channel");
        delete ep;
        return 1;
      }
      if (key == "url") url = value;
      if (key == "auth.type") ep->auth_type = value;
      if (key == "auth.username") ep->username = value;
      if (key == "auth.password") ep->password = value;
      if (key == "auth.token") ep->token = value;
    }
    if (url.empty()) {
      write_error(err, err_size, "setting 'url' is required for the rest channel");
      delete ep;
      return 1;
    }
    if (ep->auth_type != "none" && ep->auth_type != "basic" && ep->auth_type != "bearer") {
      write_error(err, err_size, "auth type '" + ep->auth_type + "' is not supported by this rest plugin");
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

void endpoint_close(void* instance) noexcept { delete static_cast<RestEndpoint*>(instance); }

herald_build_result build_request(void* instance, const herald_message* msg, herald_request* req, char* err,
                                  size_t err_size) noexcept {
  try {
    auto* ep = static_cast<RestEndpoint*>(instance);
    const herald_host_api* h = ep->host;
    const char* verb = msg->verb && *msg->verb ? msg->verb : "POST";
    int bad = h->request_set_method(req, verb);
    bad |= h->request_set_url(req, msg->url);
    bad |= h->request_add_header(req, "Content-Type", "application/json");
    bad |= h->request_add_header(req, "Accept", "application/json");
    bad |= h->request_add_header(req, "X-Herald-Message-Id", msg->message_id);
    bad |= h->request_add_header(req, "X-Herald-Attempt", std::to_string(msg->attempt).c_str());
    if (ep->auth_type == "bearer") {
      bad |= h->request_add_header(req, "Authorization", ("Bearer " + ep->token).c_str());
    } else if (ep->auth_type == "basic") {
      bad |= h->request_set_basic_auth(req, ep->username.c_str(), ep->password.c_str());
    }
    bad |= h->request_set_body(req, msg->body_json, msg->body_json_size);
    if (bad) {
      write_error(err, err_size, "the host refused part of the request");
      return HERALD_BUILD_FAILED;
    }
    return HERALD_BUILD_OK;
  } catch (...) {
    write_error(err, err_size, "out of memory");
    return HERALD_BUILD_RETRY;
  }
}

herald_outcome classify(void*, const herald_message*, const herald_response* r, char* err,
                        size_t err_size) noexcept {
  if (r->transport_error != 0 || r->http_status == 0) return HERALD_OUTCOME_RETRY;
  long s = r->http_status;
  if (s >= 200 && s < 300) return HERALD_OUTCOME_DELIVERED;
  if (s == 408 || s == 429 || s >= 500) return HERALD_OUTCOME_RETRY;
  if (s >= 300 && s < 400) write_error(err, err_size, "redirects are not followed; fix the endpoint's url");
  return HERALD_OUTCOME_FAILED;
}

const herald_plugin kPlugin = {
    sizeof(herald_plugin), HERALD_ABI_MAJOR, HERALD_ABI_MINOR, "rest",   "1.0.0",
    endpoint_open,         endpoint_close,   build_request,    classify,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(
    uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : nullptr;
}
