/*
 * Herald channel plugin ABI.
 *
 * A channel plugin is a shared object that exports one function,
 * `herald_plugin_entry`, returning a static descriptor. The plugin turns a
 * rendered notification into a request (HTTP or SMTP mail) and classifies
 * the outcome of each attempt. The host owns everything else: the network,
 * the event loop, timeouts, TLS settings, retries and persistence.
 *
 * Rules of the road:
 *  - Pure C. No exceptions may cross this boundary; a C++ plugin catches
 *    everything inside each entry point.
 *  - Every function is called on the host's event-loop thread, one call at a
 *    time (unless the plugin sets HERALD_PLUGIN_BUILD_ANY_THREAD, below).
 *    None may block (no sockets, no sleeps, no waiting on locks held
 *    elsewhere).
 *  - Pointers passed by the host are *borrowed*: valid only for the duration
 *    of the call. Copy what you keep.
 *  - Structs start with `struct_size`; fields are only ever appended, so a
 *    plugin built against an older minor version keeps working. Read a field
 *    only if `struct_size` covers it (HERALD_HAS_FIELD).
 *  - A different major version means an incompatible ABI: the host refuses
 *    the plugin and names its file.
 */
#ifndef HERALD_PLUGIN_H
#define HERALD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_ABI_MAJOR 1u
#define HERALD_ABI_MINOR 1u

/* Name of the one symbol every plugin exports. */
#define HERALD_PLUGIN_ENTRY_SYMBOL "herald_plugin_entry"

/* True when a struct received from the other side is large enough to hold
 * FIELD (it may come from an older minor version). */
#define HERALD_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* A borrowed key/value pair of NUL-terminated UTF-8 strings. */
typedef struct herald_kv {
  const char* key;
  const char* value;
} herald_kv;

typedef enum herald_log_level {
  HERALD_LOG_DEBUG = 0,
  HERALD_LOG_INFO = 1,
  HERALD_LOG_WARN = 2,
  HERALD_LOG_ERROR = 3
} herald_log_level;

/* What an attempt achieved, as judged by the plugin. */
typedef enum herald_outcome {
  HERALD_OUTCOME_DELIVERED = 0, /* done; never sent again */
  HERALD_OUTCOME_RETRY = 1,     /* transient; the host waits for the next slot */
  HERALD_OUTCOME_FAILED = 2     /* permanent; no further attempts */
} herald_outcome;

/* Result of building a request. */
typedef enum herald_build_result {
  HERALD_BUILD_OK = 0,
  HERALD_BUILD_RETRY = 1, /* cannot build now (e.g. a secret is unreadable) */
  HERALD_BUILD_FAILED = 2 /* this notification can never be sent */
} herald_build_result;

/* One configured endpoint (`[endpoints.NAME]`), flattened to strings:
 * "url", "timeout", "tls_verify", "auth.type", "auth.username", ...
 * Secrets are resolved by the host before the call (e.g. "auth.password"
 * holds the content of `password_file`); plugins must never log them. */
typedef struct herald_endpoint_config {
  size_t struct_size;
  const char* endpoint_name;
  const char* channel;
  const herald_kv* settings;
  size_t settings_count;
} herald_endpoint_config;

/* One person a notification is addressed to, resolved by the host when the
 * event was ingested (docs/rules.md, recipients). This struct never grows:
 * it is used in arrays. */
typedef struct herald_recipient {
  const char* identity; /* the identity's key in the producer database, or "" */
  const char* address;  /* e-mail address */
  const char* name;     /* display name, or "" */
} herald_recipient;

/* Bits of herald_plugin.flags (ABI 1.1). */
#define HERALD_PLUGIN_WANTS_XML_BODY 0x1u /* fill herald_message.body_xml */
/* Leave herald_message.fields empty: the plugin reads only the body and the
 * other members, and the host need not flatten every message for it. A host
 * that predates this bit fills the fields anyway. */
#define HERALD_PLUGIN_NO_FIELDS 0x2u
/* build_request may be called on another host thread, at the same time as
 * this plugin's other functions (for the same instance or others): it reads
 * its instance and writes only to req and err. The host then builds a
 * request where it rendered the message, off the event loop, except when
 * the request needs something only the loop has (an OAuth2 token). A host
 * that predates this bit calls build_request on the loop as before. */
#define HERALD_PLUGIN_BUILD_ANY_THREAD 0x4u

/* A rendered notification handed to the plugin for one attempt. */
typedef struct herald_message {
  size_t struct_size;
  int64_t notification_id;
  const char* message_id;   /* stable across retries of one notification */
  uint32_t attempt;         /* 1 for the first attempt */
  const char* notification; /* the configuration's name */
  const char* verb;         /* from the mapping's <Endpoint Verb>, e.g. "POST" */
  const char* path;         /* the mapping's URL after substitution; may be "" */
  const char* url;          /* the endpoint's url joined with path */
  const char* body_json;    /* the body document as JSON text */
  size_t body_json_size;
  /* Flattened values: "Event.action", "Event.PersonID", "Rule.attribute",
   * and the body's scalars by path: "Body.targetId", "Body.person.name",
   * "Body.items.0" (arrays by index). */
  const herald_kv* fields;
  size_t field_count;
  /* ABI 1.1 */
  /* The access token when the endpoint's auth.type is "oauth2": the host
   * obtains, caches and refreshes it; NULL otherwise. */
  const char* auth_token;
  const herald_recipient* recipients; /* may be empty */
  size_t recipient_count;
  /* The body as an XML document, only for plugins whose descriptor sets
   * HERALD_PLUGIN_WANTS_XML_BODY; NULL otherwise. */
  const char* body_xml;
  size_t body_xml_size;
} herald_message;

/* The host-owned request a plugin fills in; opaque to the plugin. */
typedef struct herald_request herald_request;

/* The answer to one attempt. */
typedef struct herald_response {
  size_t struct_size;
  /* The server's last status code: the HTTP status, or for mail the SMTP
   * reply code (250, 550, ...). 0 when none was received. */
  long http_status;
  int transport_error;    /* 0, or a non-zero transport error code */
  const char* error_text; /* transport error description, or "" */
  const char* body;       /* response body (possibly truncated) */
  size_t body_size;
} herald_response;

/* Services the host offers to plugins. Setters return 0 on success and
 * non-zero when the value is refused (e.g. a header containing CR or LF). */
typedef struct herald_host_api {
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  void (*log)(herald_log_level level, const char* endpoint_name, const char* message);
  int (*request_set_method)(herald_request* req, const char* method);
  int (*request_set_url)(herald_request* req, const char* url);
  int (*request_add_header)(herald_request* req, const char* name, const char* value);
  int (*request_set_body)(herald_request* req, const char* data, size_t size);
  /* HTTP basic authentication; for mail, the SMTP AUTH user and password. */
  int (*request_set_basic_auth)(herald_request* req, const char* username, const char* password);

  /* ABI 1.1: mail. A request whose URL is smtp://host:port (or smtps:// for
   * implicit TLS) is sent by SMTP: the envelope sender and recipients come
   * from these setters and the body is the whole RFC 5322 message (headers,
   * an empty line, the content, CRLF line ends). Addresses are bare
   * (user@example.org) and refused when they hold CR, LF, spaces or <>. */
  int (*request_set_mail_from)(herald_request* req, const char* address);
  int (*request_add_mail_recipient)(herald_request* req, const char* address);
  /* Upgrades an smtp:// connection with STARTTLS and fails the attempt when
   * the server cannot; certificates are verified as for HTTPS. */
  int (*request_require_tls)(herald_request* req);
} herald_host_api;

/* The descriptor a plugin returns from herald_plugin_entry. Static storage,
 * owned by the plugin, valid until the library is unloaded. */
typedef struct herald_plugin {
  size_t struct_size;
  uint32_t abi_major; /* must equal the host's HERALD_ABI_MAJOR */
  uint32_t abi_minor;
  const char* name;    /* channel name, e.g. "rest" */
  const char* version; /* the plugin's own version string */

  /* Called once per configured endpoint when the configuration loads.
   * On success returns 0 and stores the plugin's per-endpoint state in
   * *instance. On error returns non-zero and writes a NUL-terminated
   * message naming the offending setting into err (at most err_size bytes). */
  int (*endpoint_open)(const herald_host_api* host, const herald_endpoint_config* config, void** instance,
                       char* err, size_t err_size);

  /* Releases what endpoint_open created. */
  void (*endpoint_close)(void* instance);

  /* Fills req for one attempt of msg. On anything but HERALD_BUILD_OK,
   * writes the reason into err. */
  herald_build_result (*build_request)(void* instance, const herald_message* msg, herald_request* req,
                                       char* err, size_t err_size);

  /* Judges the outcome of an attempt. May write a short explanation into
   * err (left empty when there is nothing to add). */
  herald_outcome (*classify)(void* instance, const herald_message* msg, const herald_response* response,
                             char* err, size_t err_size);

  /* ABI 1.1: HERALD_PLUGIN_* bits. */
  uint64_t flags;
} herald_plugin;

/* The entry point. host_abi_major lets a plugin that supports several
 * majors pick one; returning NULL refuses the host. */
typedef const herald_plugin* (*herald_plugin_entry_fn)(uint32_t host_abi_major);

#ifdef __cplusplus
}
#endif

#endif /* HERALD_PLUGIN_H */
