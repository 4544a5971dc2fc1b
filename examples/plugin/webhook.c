/*
 * The "webhook" channel: POSTs each notification's JSON body to the
 * endpoint's url, with an X-Webhook-Secret header the receiver can check.
 *
 * An example of a third-party plugin built against the installed SDK. Plain
 * C on purpose: the plugin ABI is C, nothing here needs C++.
 *
 *   [endpoints.hooks]
 *   channel = "webhook"
 *   url = "https://hooks.example.com/herald"
 *   secret = "s3cret"          # optional; sent as X-Webhook-Secret
 */
#include <herald/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WEBHOOK_VERSION
#define WEBHOOK_VERSION "1.0.0"
#endif

typedef struct webhook_endpoint {
  const herald_host_api* host;
  char* secret; /* NULL when not configured */
} webhook_endpoint;

static char* copy_string(const char* s) {
  size_t n = strlen(s) + 1;
  char* out = malloc(n);
  if (out) memcpy(out, s, n);
  return out;
}

/* Keys the host passes to every endpoint, whether or not this channel uses
 * them. Newer hosts may add auth.* keys and config_dir; accept them rather
 * than refuse to load. */
static int host_setting(const char* key) {
  return strcmp(key, "url") == 0 || strcmp(key, "timeout_ms") == 0 || strcmp(key, "tls_verify") == 0 ||
         strcmp(key, "config_dir") == 0 || strncmp(key, "auth.", 5) == 0;
}

static int endpoint_open(const herald_host_api* host, const herald_endpoint_config* config, void** instance,
                         char* err, size_t err_size) {
  const char* url = NULL;
  const char* secret = NULL;
  const char* auth_type = NULL;
  webhook_endpoint* ep;
  size_t i;

  /* The setters used below exist since ABI 1.0; a shorter table cannot be a
   * host this plugin understands. */
  if (!HERALD_HAS_FIELD(host, herald_host_api, request_set_body)) {
    snprintf(err, err_size, "the host's API table is too old for the webhook channel");
    return 1;
  }
  for (i = 0; i < config->settings_count; ++i) {
    const char* key = config->settings[i].key;
    const char* value = config->settings[i].value;
    if (strcmp(key, "secret") == 0) {
      secret = value;
    } else if (host_setting(key)) {
      if (strcmp(key, "url") == 0) url = value;
      if (strcmp(key, "auth.type") == 0) auth_type = value;
    } else {
      /* A typo in the config should stop it loading, not be ignored. */
      snprintf(err, err_size, "unknown setting '%s' for the webhook channel", key);
      return 1;
    }
  }
  if (!url || !*url) {
    snprintf(err, err_size, "setting 'url' is required for the webhook channel");
    return 1;
  }
  if (secret && (strchr(secret, '\r') || strchr(secret, '\n'))) {
    snprintf(err, err_size, "setting 'secret' must not contain line breaks");
    return 1;
  }
  if (auth_type && strcmp(auth_type, "none") != 0) {
    host->log(HERALD_LOG_WARN, config->endpoint_name,
              "the webhook channel ignores [auth]; the receiver checks X-Webhook-Secret instead");
  }

  ep = calloc(1, sizeof *ep);
  if (!ep) {
    snprintf(err, err_size, "out of memory");
    return 1;
  }
  ep->host = host;
  if (secret) {
    ep->secret = copy_string(secret);
    if (!ep->secret) {
      free(ep);
      snprintf(err, err_size, "out of memory");
      return 1;
    }
  }
  *instance = ep;
  return 0;
}

static void endpoint_close(void* instance) {
  webhook_endpoint* ep = instance;
  if (!ep) return;
  free(ep->secret);
  free(ep);
}

static herald_build_result build_request(void* instance, const herald_message* msg, herald_request* req,
                                         char* err, size_t err_size) {
  const webhook_endpoint* ep = instance;
  const herald_host_api* h = ep->host;
  int bad = 0;

  bad |= h->request_set_method(req, "POST");
  bad |= h->request_set_url(req, msg->url);
  bad |= h->request_add_header(req, "Content-Type", "application/json");
  /* Stable across retries, so the receiver can drop duplicates. */
  bad |= h->request_add_header(req, "X-Herald-Message-Id", msg->message_id);
  if (ep->secret) bad |= h->request_add_header(req, "X-Webhook-Secret", ep->secret);
  bad |= h->request_set_body(req, msg->body_json, msg->body_json_size);
  if (bad) {
    snprintf(err, err_size, "the host refused part of the request");
    return HERALD_BUILD_FAILED;
  }
  return HERALD_BUILD_OK;
}

static herald_outcome classify(void* instance, const herald_message* msg, const herald_response* r, char* err,
                               size_t err_size) {
  long s = r->http_status;
  (void)instance;
  (void)msg;
  if (r->transport_error != 0 || s == 0) return HERALD_OUTCOME_RETRY;
  if (s >= 200 && s < 300) return HERALD_OUTCOME_DELIVERED;
  if (s == 408 || s == 429 || s >= 500) return HERALD_OUTCOME_RETRY;
  snprintf(err, err_size, "the webhook answered HTTP %ld", s);
  return HERALD_OUTCOME_FAILED;
}

/* Designated initialisers: fields a newer minor version appends start out
 * zero, and HERALD_ABI_MINOR records the header this was built against. */
static const herald_plugin kPlugin = {
    .struct_size = sizeof(herald_plugin),
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .name = "webhook",
    .version = WEBHOOK_VERSION,
    .endpoint_open = endpoint_open,
    .endpoint_close = endpoint_close,
    .build_request = build_request,
    .classify = classify,
};

__attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : NULL;
}
