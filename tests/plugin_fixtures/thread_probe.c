/* A channel that tells which of the host's threads built each request: the
 * request carries the thread's name in X-Built-On. Built twice, with
 * HERALD_PLUGIN_BUILD_ANY_THREAD (PROBE_FLAGS) and without. A body that
 * holds "probe:fail" cannot be built; one that holds "probe:retry-first"
 * cannot be built at its first attempt. */
#define _GNU_SOURCE
#include <herald/plugin.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int probe_open(const herald_host_api* host, const herald_endpoint_config* config, void** instance,
                      char* err, size_t err_size) {
  (void)config, (void)err, (void)err_size;
  *instance = (void*)host;
  return 0;
}

static void probe_close(void* instance) { (void)instance; }

static herald_build_result probe_build(void* instance, const herald_message* msg, herald_request* req,
                                       char* err, size_t err_size) {
  const herald_host_api* host = instance;
  if (strstr(msg->body_json, "probe:fail")) {
    snprintf(err, err_size, "asked to fail");
    return HERALD_BUILD_FAILED;
  }
  if (strstr(msg->body_json, "probe:retry-first") && msg->attempt == 1) {
    snprintf(err, err_size, "asked to retry the first attempt");
    return HERALD_BUILD_RETRY;
  }
  char name[16] = "";
  pthread_getname_np(pthread_self(), name, sizeof name);
  int bad = host->request_set_method(req, "POST");
  bad |= host->request_set_url(req, msg->url);
  bad |= host->request_add_header(req, "Content-Type", "application/json");
  bad |= host->request_add_header(req, "X-Built-On", name);
  bad |= host->request_set_body(req, msg->body_json, msg->body_json_size);
  if (bad) {
    snprintf(err, err_size, "the host refused the request");
    return HERALD_BUILD_FAILED;
  }
  return HERALD_BUILD_OK;
}

static herald_outcome probe_classify(void* instance, const herald_message* msg,
                                     const herald_response* response, char* err, size_t err_size) {
  (void)instance, (void)msg, (void)err, (void)err_size;
  long s = response->http_status;
  return s >= 200 && s < 300 ? HERALD_OUTCOME_DELIVERED : HERALD_OUTCOME_RETRY;
}

static const herald_plugin kPlugin = {
    .struct_size = sizeof(herald_plugin),
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .name = "rest",
    .version = "1.0.0",
    .endpoint_open = probe_open,
    .endpoint_close = probe_close,
    .build_request = probe_build,
    .classify = probe_classify,
    .flags = PROBE_FLAGS,
};

__attribute__((visibility("default"))) const herald_plugin* herald_plugin_entry(uint32_t host_abi_major) {
  return host_abi_major == HERALD_ABI_MAJOR ? &kPlugin : NULL;
}
