// Herald's configuration: one TOML file, loaded and validated as a whole.
// Every error names the file, the line and the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/connection_settings.h"
#include "common/result.h"

namespace herald::config {

struct EndpointConfig {
  std::string name;
  std::string channel;  // rest | json | xml | email (any plugin file name)
  std::string url;
  ConnectionSettings connection;
  // Per-entity order: a later notification for the same entity waits while
  // an earlier one is still owed to this endpoint.
  bool ordered = true;
  // At most this many attempts in flight to this endpoint (0: only the
  // daemon's max_in_flight applies).
  int max_in_flight = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // added to every request
  // Host-side override of the plugin's judgement, by status code ("409")
  // or class ("4xx"): "delivered", "retry" or "failed".
  std::map<std::string, std::string> outcomes;
  // One notification per recipient (mail's default) instead of one for all.
  bool per_recipient = false;
  std::string auth_type = "none";
  // auth.type = "oauth2": the host obtains and caches the access token.
  struct OAuth2 {
    std::string token_url;
    std::string client_id;
    std::string client_secret;
    std::string scopes;                 // space-separated
    std::string client_auth = "basic";  // how the client authenticates: basic | post
  } oauth2;
  // Every setting flattened to strings for the plugin: "url", "timeout_ms",
  // "tls_verify", "auth.type", "auth.username", "auth.password", ...
  // Secrets are already read from their files or variables.
  std::vector<std::pair<std::string, std::string>> settings;
  int line = 0;
};

struct RecipientsConfig {
  bool identity = false;  // the identity the event is about
  bool manager = false;   // its managers
  std::vector<std::string> identities;
  std::vector<std::string> roles;
  std::vector<std::string> addresses;  // fixed mail addresses
  std::string script;                  // absolute path of a Lua script returning identities
  // Needs the producer database's recipient queries.
  bool needs_lookup() const {
    return identity || manager || !identities.empty() || !roles.empty() || !script.empty();
  }
  bool any() const { return needs_lookup() || !addresses.empty(); }
};

struct NotificationConfig {
  std::string name;
  std::string on;  // lifecycle event name; empty when matched by entity (+ action)
  std::string entity;
  std::string action;                // empty: any action (subject to `actions`)
  std::vector<std::string> actions;  // allow-list, upper-case; empty: all
  std::string rule;                  // see docs/rules.md
  int rule_line = 0;
  std::string script;           // absolute path of a Lua rule script; wins over `rule`
  std::string form_projection;  // only events whose formProjection attribute equals this
  std::string system;           // only events whose system attribute or key equals this
  std::string topic;
  std::string level = "INFO";  // SUCCESS, INFO, WARNING, ERROR
  RecipientsConfig recipients;
  std::string endpoint;                // the first of `endpoints`
  std::vector<std::string> endpoints;  // each gets its own notification
  std::string mapping;                 // absolute path of the mapping file
  bool enabled = true;
  int line = 0;
};

// [recipients]: how identities become addresses (docs/rules.md). Empty
// strings keep the built-in defaults.
struct RecipientQueriesConfig {
  std::string identity_key = "PersonID";
  std::string identity_query;
  std::string manager_query;
  std::string role_query;
  std::string administrators_query;
};

// [admin]: the metrics and health listener (off unless `listen` is set).
struct AdminConfig {
  std::string listen;  // as written, e.g. "127.0.0.1:9464"; empty: no listener
  std::string host;    // the IP address, without brackets
  uint16_t port = 0;   // 0: a free port, logged at start
  bool allow_remote = false;
  bool enabled() const { return !listen.empty(); }
};

// One <Where>-like condition of a schedule's query (docs/schedules.md).
struct ScheduleWhereConfig {
  std::string field;
  std::string op = "=";             // as in mapping files: =, !=, lt, le, gt, ge, like, isnull, notnull, in
  std::vector<std::string> values;  // literal values, bound as text
  std::string date;                 // a date relative to the run ("today + 3d"); replaces values
  std::string format = "iso8601";   // how `date` is written in the column
  bool or_with_previous = false;    // conjunction = "or"
  int line = 0;
};

// [[schedule]]: a query run on a timetable; each row it returns becomes one
// event in the normal pipeline, at most once per period.
struct ScheduleConfig {
  std::string name;
  std::string cron;                       // 5 or 6 fields; empty: only `every`
  std::chrono::milliseconds every{0};     // 0: only `cron`
  std::chrono::milliseconds once_per{0};  // 0: once per slot of the timetable
  bool run_at_start = false;
  std::string time_zone;  // IANA name; [daemon] time_zone when empty
  std::string view;
  std::vector<ScheduleWhereConfig> where;
  std::string entity;
  std::string action = "SCHEDULED";
  std::string event;  // the lifecycle event name given to each row's event
  // Event keys and new values, each read from a column of the view.
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<std::pair<std::string, std::string>> values;
  int64_t max_rows = 100'000;  // per run; more rows wait for the next run (logged)
  bool enabled = true;
  int line = 0;
};

struct Config {
  std::string path;  // the file loaded
  std::string dir;   // its folder: relative paths resolve against it
  // conf.d/*.toml beside it, merged in name order after it.
  std::vector<std::string> dropins;

  // [daemon]
  std::string state_db;
  std::string plugin_dir;
  std::string mapping_dir;
  std::string log_level = "info";
  int max_in_flight = 64;
  std::chrono::milliseconds poll_interval{2'000};  // fallback when file events are missed
  size_t max_response_bytes = 4096;                // server response kept per attempt
  std::chrono::milliseconds shutdown_grace{10'000};
  // Caps the state database's file (0: no cap). When it is full Herald stops
  // taking new events (they wait in the outbox) and keeps delivering.
  int64_t state_db_max_bytes = 0;
  // Time zone of schedules that name none (IANA name).
  std::string time_zone = "UTC";
  // The state database's PRAGMA synchronous in WAL mode: FULL syncs every
  // commit (survives power loss); NORMAL syncs at checkpoints only (survives
  // a crash of heraldd, may lose the last commits on power loss).
  bool state_synchronous_full = true;

  // [outbox]
  std::string outbox_db;
  std::string outbox_table = "herald_outbox";
  int batch_size = 500;

  // [retry]
  std::vector<std::chrono::milliseconds> retry_schedule;
  // A Retry-After later than the schedule's slot is honoured up to this.
  std::chrono::milliseconds retry_after_max{6 * 3600 * 1000};

  std::map<std::string, EndpointConfig> endpoints;
  std::vector<NotificationConfig> notifications;
  std::vector<ScheduleConfig> schedules;
  RecipientQueriesConfig recipient_queries;
  AdminConfig admin;

  // Things worth a warning at start, e.g. TLS verification turned off.
  std::vector<std::string> warnings;

  const NotificationConfig* find_notification(const std::string& name) const;
};

// The default retry schedule: 10m, 30m, 60m, 4h, 12h, 24h.
std::vector<std::chrono::milliseconds> default_retry_schedule();

Result<Config> load(const std::string& path);

// Keys of endpoint settings whose values must never be printed.
bool is_secret_setting(const std::string& key);

}  // namespace herald::config
