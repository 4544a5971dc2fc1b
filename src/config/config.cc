#include "config/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <arpa/inet.h>

#include <toml++/toml.h>

#include "common/text.h"
#include "config/duration.h"
#include "db/sqlite.h"
#include "mapping/data_source.h"
#include "schedule/cron.h"
#include "schedule/relative_date.h"
#include "schedule/time_zone.h"

namespace fs = std::filesystem;

namespace herald::config {
namespace {

// The installed plugin folder next to the running program (bin/../lib/herald/plugins),
// else the one configured at build time.
std::string default_plugin_dir() {
#ifdef HERALD_PLUGIN_DIR_FROM_BINDIR
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = (exe.parent_path() / HERALD_PLUGIN_DIR_FROM_BINDIR).lexically_normal();
    if (fs::is_directory(dir, ec)) return dir.string();
  }
#endif
#ifdef HERALD_DEFAULT_PLUGIN_DIR
  return HERALD_DEFAULT_PLUGIN_DIR;
#else
  return {};
#endif
}

// A drop-in's keys replace the same keys before it, its tables merge key by
// key, and its [[arrays]] (notifications) are appended.
void merge_tables(toml::table& into, toml::table& from) {
  for (auto&& [key, value] : from) {
    if (toml::node* existing = into.get(key.str())) {
      if (existing->is_table() && value.is_table()) {
        merge_tables(*existing->as_table(), *value.as_table());
        continue;
      }
      if (existing->is_array_of_tables() && value.is_array_of_tables()) {
        for (auto& item : *value.as_array()) existing->as_array()->push_back(std::move(*item.as_table()));
        continue;
      }
    }
    into.insert_or_assign(key, std::move(value));
  }
}

// "FILE:LINE: " for a place in the configuration: the main file as the user
// named it, or the drop-in (conf.d) file the place comes from.
std::string located(const std::string& main_file, const toml::source_region& where) {
  std::string file = main_file;
  if (where.path && !where.path->empty()) {
    std::error_code ec;
    if (fs::absolute(main_file, ec).string() != *where.path) file = *where.path;
  }
  return file + ":" + std::to_string(where.begin.line) + ": ";
}

// Reads one TOML table, remembering which keys were consumed so that the
// rest can be reported (a typo must not be silently ignored).
class TableReader {
 public:
  TableReader(const std::string& file, const toml::table& table, std::string prefix)
      : file_(file), table_(table), prefix_(std::move(prefix)) {}

  std::string where(const toml::node* node) const {
    return located(file_, node ? node->source() : table_.source());
  }
  int table_line() const { return static_cast<int>(table_.source().begin.line); }
  std::string key_name(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  Error error(std::string_view key, const std::string& what) const {
    return Error{where(table_.get(key)) + "key '" + key_name(key) + "': " + what};
  }

  const toml::node* get(std::string_view key) {
    used_.insert(std::string(key));
    return table_.get(key);
  }

  Status string(std::string_view key, std::string& out, bool required = false) {
    const toml::node* n = get(key);
    if (!n) return required ? Status(error(key, "is required")) : Status();
    auto v = n->value<std::string>();
    if (!n->is_string() || !v) return error(key, "expected a string");
    out = *v;
    return {};
  }

  Status boolean(std::string_view key, bool& out) {
    const toml::node* n = get(key);
    if (!n) return {};
    if (!n->is_boolean()) return error(key, "expected true or false");
    out = *n->value<bool>();
    return {};
  }

  Status integer(std::string_view key, int64_t& out, int64_t min, int64_t max) {
    const toml::node* n = get(key);
    if (!n) return {};
    if (!n->is_integer()) return error(key, "expected an integer");
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) {
      return error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = v;
    return {};
  }

  Status string_list(std::string_view key, std::vector<std::string>& out) {
    const toml::node* n = get(key);
    if (!n) return {};
    const toml::array* arr = n->as_array();
    if (!arr) return error(key, "expected an array of strings");
    for (const auto& item : *arr) {
      auto v = item.value<std::string>();
      if (!v || !item.is_string()) return error(key, "expected an array of strings");
      out.push_back(*v);
    }
    return {};
  }

  Status duration(std::string_view key, std::chrono::milliseconds& out) {
    const toml::node* n = get(key);
    if (!n) return {};
    auto text = n->value<std::string>();
    auto d = text && n->is_string() ? parse_duration(*text) : std::nullopt;
    if (!d) return error(key, "expected a duration such as \"500ms\", \"30s\", \"10m\", \"4h\" or \"1d\"");
    out = *d;
    return {};
  }

  // Reports the first key that nobody asked for.
  Status no_unknown_keys() const {
    for (auto&& [k, v] : table_) {
      if (!used_.count(std::string(k.str()))) {
        return Error{file_ + ":" + std::to_string(k.source().begin.line) + ": unknown key '" +
                     key_name(k.str()) + "'"};
      }
    }
    return {};
  }

  // Keys not consumed so far (for settings passed through to plugins).
  std::vector<std::pair<std::string, const toml::node*>> remaining() const {
    std::vector<std::pair<std::string, const toml::node*>> out;
    for (auto&& [k, v] : table_) {
      if (!used_.count(std::string(k.str()))) out.emplace_back(std::string(k.str()), &v);
    }
    return out;
  }
  void mark_used(const std::string& key) { used_.insert(key); }

 private:
  const std::string& file_;
  const toml::table& table_;
  std::string prefix_;
  std::set<std::string> used_;
};

#define HERALD_TRY(expr)         \
  do {                           \
    if (auto s_ = (expr); !s_) { \
      return s_.error();         \
    }                            \
  } while (0)

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty()) return p;
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (fs::path(dir) / path).lexically_normal().string();
}

std::optional<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// A secret others on the host can read deserves a warning at every start.
void warn_if_exposed(const std::string& where, const std::string& key, const std::string& path,
                     std::vector<std::string>& warnings) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  warnings.push_back(where + "key '" + key + "': the secret file '" + path +
                     "' is readable by group or others (mode " + mode + "); chmod 600 it");
}

// Scalars passed to plugins as text.
std::optional<std::string> scalar_text(const toml::node& n) {
  if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
  if (n.is_integer()) return std::to_string(*n.value<int64_t>());
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  if (n.is_floating_point()) return std::to_string(*n.value<double>());
  // A list of strings reaches plugins as one value, one item per line.
  if (const toml::array* a = n.as_array()) {
    std::string joined;
    for (const auto& item : *a) {
      auto s = item.value<std::string>();
      if (!s || !item.is_string() || s->find_first_of("\r\n") != std::string::npos) return std::nullopt;
      joined += (joined.empty() ? "" : "\n") + *s;
    }
    return joined;
  }
  return std::nullopt;
}

// "64KB", "512MB", "2GB" (powers of 1024) or a number of bytes.
std::optional<int64_t> parse_size(const toml::node& n) {
  int64_t bytes = 0;
  if (n.is_integer()) {
    bytes = *n.value<int64_t>();
  } else if (auto text = n.value<std::string>(); text && n.is_string()) {
    size_t digits = 0;
    while (digits < text->size() && std::isdigit(static_cast<unsigned char>((*text)[digits]))) ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    int64_t number = std::stoll(text->substr(0, digits));
    std::string unit = ascii_upper(text->substr(digits));
    static const std::map<std::string, int64_t> kUnits = {
        {"", 1}, {"B", 1}, {"KB", 1LL << 10}, {"MB", 1LL << 20}, {"GB", 1LL << 30}, {"TB", 1LL << 40}};
    auto it = kUnits.find(unit);
    if (it == kUnits.end()) return std::nullopt;
    bytes = number * it->second;
  } else {
    return std::nullopt;
  }
  if (bytes < (64 << 10)) return std::nullopt;
  return bytes;
}

Status load_auth(const std::string& file, const std::string& dir, const toml::table& auth,
                 const std::string& prefix, EndpointConfig& ep, std::vector<std::string>& warnings) {
  TableReader r(file, auth, prefix);
  HERALD_TRY(r.string("type", ep.auth_type, true));
  static const std::set<std::string> kTypes = {"none", "basic", "bearer", "oauth2"};
  if (!kTypes.count(ep.auth_type)) return r.error("type", "expected one of none, basic, bearer, oauth2");
  ep.settings.emplace_back("auth.type", ep.auth_type);

  // A secret comes from a file, a systemd credential (a file in
  // $CREDENTIALS_DIRECTORY, LoadCredential=) or an environment variable.
  auto secret = [&](const std::string& name, bool required) -> Status {
    std::string file_key = name + "_file", cred_key = name + "_credential", env_key = name + "_env";
    std::string path, credential, env;
    HERALD_TRY(r.string(file_key, path));
    HERALD_TRY(r.string(cred_key, credential));
    HERALD_TRY(r.string(env_key, env));
    if (!path.empty() + !credential.empty() + !env.empty() > 1) {
      return r.error(file_key, "give only one of " + file_key + ", " + cred_key + " and " + env_key);
    }
    std::string used_key = file_key;
    if (!credential.empty()) {
      if (credential.find('/') != std::string::npos || credential == "." || credential == "..") {
        return r.error(cred_key, "expected a credential name (as in LoadCredential=NAME:...), not a path");
      }
      const char* cred_dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (cred_dir == nullptr || *cred_dir == '\0') {
        return r.error(cred_key,
                       "$CREDENTIALS_DIRECTORY is not set (give the credential with LoadCredential=)");
      }
      path = (fs::path(cred_dir) / credential).string();
      used_key = cred_key;
    }
    if (!path.empty()) {
      std::string full = resolve(dir, path);
      auto value = read_secret_file(full);
      if (!value) return r.error(used_key, "cannot read '" + full + "'");
      warn_if_exposed(r.where(r.get(used_key)), r.key_name(used_key), full, warnings);
      ep.settings.emplace_back("auth." + name, *value);
    } else if (!env.empty()) {
      const char* value = std::getenv(env.c_str());
      if (!value) return r.error(env_key, "environment variable '" + env + "' is not set");
      ep.settings.emplace_back("auth." + name, value);
    } else if (required) {
      return r.error(file_key, "is required (or " + env_key + ")");
    }
    return {};
  };

  if (ep.auth_type == "basic") {
    std::string user;
    HERALD_TRY(r.string("username", user, true));
    ep.settings.emplace_back("auth.username", user);
    HERALD_TRY(secret("password", true));
  } else if (ep.auth_type == "bearer") {
    HERALD_TRY(secret("token", true));
  } else if (ep.auth_type == "oauth2") {
    auto& o = ep.oauth2;
    HERALD_TRY(r.string("token_url", o.token_url, true));
    if (o.token_url.rfind("https://", 0) != 0 && o.token_url.rfind("http://", 0) != 0) {
      return r.error("token_url", "expected an http:// or https:// URL");
    }
    HERALD_TRY(r.string("client_id", o.client_id, true));
    HERALD_TRY(r.string("client_auth", o.client_auth));
    if (o.client_auth != "basic" && o.client_auth != "post") {
      return r.error("client_auth",
                     "expected \"basic\" (HTTP basic authentication) or \"post\" (form fields)");
    }
    ep.settings.emplace_back("auth.token_url", o.token_url);
    ep.settings.emplace_back("auth.client_id", o.client_id);
    HERALD_TRY(secret("client_secret", true));
    o.client_secret = ep.settings.back().second;
    if (const toml::node* scopes = r.get("scopes")) {
      std::string joined;
      const toml::array* arr = scopes->as_array();
      if (!arr) return r.error("scopes", "expected an array of strings");
      for (const auto& s : *arr) {
        auto v = s.value<std::string>();
        if (!v) return r.error("scopes", "expected an array of strings");
        joined += (joined.empty() ? "" : " ") + *v;
      }
      ep.settings.emplace_back("auth.scopes", joined);
      o.scopes = joined;
    }
  }
  return r.no_unknown_keys();
}

Status load_endpoint(const std::string& file, const std::string& dir, const std::string& name,
                     const toml::table& t, Config& cfg) {
  EndpointConfig ep;
  ep.name = name;
  ep.line = static_cast<int>(t.source().begin.line);
  std::string prefix = "endpoints." + name;
  TableReader r(file, t, prefix);
  HERALD_TRY(r.string("channel", ep.channel, true));
  if (!db::is_identifier(ep.channel)) return r.error("channel", "expected a plugin name such as \"rest\"");
  HERALD_TRY(r.string("url", ep.url));
  // The policy-enforcement-point form: "url;username;password" in one value.
  std::string target;
  HERALD_TRY(r.string("target", target));
  std::optional<std::pair<std::string, std::string>> target_login;
  if (!target.empty()) {
    if (!ep.url.empty()) return r.error("target", "give either 'target' or 'url', not both");
    auto semi = target.find(';');
    ep.url = target.substr(0, semi);
    if (semi != std::string::npos) {
      std::string rest = target.substr(semi + 1);
      auto semi2 = rest.find(';');
      if (semi2 == std::string::npos)
        return r.error("target", "expected \"url\" or \"url;username;password\"");
      target_login.emplace(rest.substr(0, semi2), rest.substr(semi2 + 1));
    }
    if (ep.url.empty()) return r.error("target", "expected \"url\" or \"url;username;password\"");
  }
  ep.per_recipient = ep.channel == "email";
  HERALD_TRY(r.boolean("per_recipient", ep.per_recipient));
  ConnectionSettings& conn = ep.connection;
  HERALD_TRY(r.duration("timeout", conn.timeout));
  HERALD_TRY(r.duration("connect_timeout", conn.connect_timeout));
  HERALD_TRY(r.boolean("tls_verify", conn.tls_verify));
  HERALD_TRY(r.boolean("ordered", ep.ordered));
  int64_t max_in_flight = 0;
  HERALD_TRY(r.integer("max_in_flight", max_in_flight, 1, 100000));
  ep.max_in_flight = static_cast<int>(max_in_flight);
  HERALD_TRY(r.string("ca_file", conn.ca_file));
  conn.ca_file = resolve(dir, conn.ca_file);
  HERALD_TRY(r.string("client_cert", conn.client_cert));
  HERALD_TRY(r.string("client_key", conn.client_key));
  conn.client_cert = resolve(dir, conn.client_cert);
  conn.client_key = resolve(dir, conn.client_key);
  if (conn.client_cert.empty() != conn.client_key.empty()) {
    return r.error(conn.client_cert.empty() ? "client_cert" : "client_key",
                   "client_cert and client_key go together");
  }
  for (const std::string& f : {conn.ca_file, conn.client_cert, conn.client_key}) {
    if (!f.empty() && !fs::is_regular_file(f)) {
      std::string key = f == conn.ca_file ? "ca_file" : f == conn.client_cert ? "client_cert" : "client_key";
      return r.error(key, "cannot read '" + f + "'");
    }
  }
  if (!conn.client_key.empty())
    warn_if_exposed(r.where(r.get("client_key")), r.key_name("client_key"), conn.client_key, cfg.warnings);
  if (const toml::node* h = r.get("headers")) {
    const toml::table* ht = h->as_table();
    if (!ht) return r.error("headers", "expected a table such as { \"X-Tenant\" = \"acme\" }");
    for (auto&& [k, v] : *ht) {
      auto value = v.value<std::string>();
      std::string name(k.str());
      bool bad_name = name.empty() || name.find_first_of(" :\r\n\t") != std::string::npos;
      if (!value || !v.is_string() || bad_name || value->find_first_of("\r\n") != std::string::npos) {
        return Error{located(file, k.source()) + "key '" + prefix + ".headers." + name +
                     "': expected a header name without spaces or ':' and a one-line string value"};
      }
      ep.headers.emplace_back(name, *value);
    }
  }
  if (const toml::node* o = r.get("outcomes")) {
    const toml::table* ot = o->as_table();
    if (!ot)
      return r.error("outcomes", "expected a table such as { \"409\" = \"delivered\", \"404\" = \"retry\" }");
    for (auto&& [k, v] : *ot) {
      std::string code(k.str());
      auto value = v.value<std::string>();
      bool code_ok = code.size() == 3 && code[0] >= '1' && code[0] <= '5' &&
                     ((std::isdigit(static_cast<unsigned char>(code[1])) &&
                       std::isdigit(static_cast<unsigned char>(code[2]))) ||
                      (code[1] == 'x' && code[2] == 'x'));
      bool value_ok = value && (*value == "delivered" || *value == "retry" || *value == "failed");
      if (!code_ok || !value_ok) {
        return Error{
            located(file, k.source()) + "key '" + prefix + ".outcomes." + code +
            "': expected a status such as \"409\" or \"4xx\" set to \"delivered\", \"retry\" or \"failed\""};
      }
      ep.outcomes[code] = *value;
    }
  }
  if (!ep.connection.tls_verify) {
    cfg.warnings.push_back(
        located(file, t.source()) + "endpoint '" + name +
        "': TLS verification is OFF (tls_verify = false); its server's identity is not checked");
  }
  ep.settings.emplace_back("url", ep.url);
  ep.settings.emplace_back("timeout_ms", std::to_string(ep.connection.timeout.count()));
  ep.settings.emplace_back("tls_verify", ep.connection.tls_verify ? "true" : "false");
  // Plugins resolve their own relative paths (templates, ...) against it.
  ep.settings.emplace_back("config_dir", dir);

  if (target_login) {
    if (r.get("auth")) return r.error("auth", "'target' already carries the login; drop one of them");
    ep.auth_type = "basic";
    ep.settings.emplace_back("auth.type", "basic");
    ep.settings.emplace_back("auth.username", target_login->first);
    ep.settings.emplace_back("auth.password", target_login->second);
  } else if (const toml::node* auth = r.get("auth")) {
    const toml::table* at = auth->as_table();
    if (!at) return r.error("auth", "expected a table such as { type = \"bearer\", token_file = \"...\" }");
    HERALD_TRY(load_auth(file, dir, *at, prefix + ".auth", ep, cfg.warnings));
  } else {
    ep.settings.emplace_back("auth.type", "none");
  }
  // Remaining scalar keys belong to the channel plugin, which validates them.
  for (auto& [key, node] : r.remaining()) {
    auto text = scalar_text(*node);
    if (!text) {
      return Error{located(file, node->source()) + "key '" + prefix + "." + key +
                   "': expected a string, number or boolean"};
    }
    ep.settings.emplace_back(key, *text);
  }
  cfg.endpoints.emplace(name, std::move(ep));
  return {};
}

Status load_recipients(const std::string& file, const std::string& dir, const toml::table& t,
                       const std::string& prefix, RecipientsConfig& out) {
  TableReader r(file, t, prefix);
  HERALD_TRY(r.boolean("identity", out.identity));
  HERALD_TRY(r.boolean("manager", out.manager));
  HERALD_TRY(r.string_list("identities", out.identities));
  HERALD_TRY(r.string_list("roles", out.roles));
  HERALD_TRY(r.string_list("addresses", out.addresses));
  for (const auto& a : out.addresses) {
    if (a.find('@') == std::string::npos || a.find_first_of(" \t\r\n<>,") != std::string::npos) {
      return r.error("addresses", "'" + a + "' is not a bare mail address such as ops@example.org");
    }
  }
  HERALD_TRY(r.string("script", out.script));
  HERALD_TRY(r.no_unknown_keys());
  if (!out.script.empty()) {
    out.script = resolve(dir, out.script);
    if (!fs::is_regular_file(out.script)) return r.error("script", "no script file '" + out.script + "'");
  }
  return {};
}

Status load_notification(const std::string& file, const toml::table& t, size_t index, Config& cfg) {
  NotificationConfig n;
  n.line = static_cast<int>(t.source().begin.line);
  std::string prefix = "notification[" + std::to_string(index) + "]";
  TableReader r(file, t, prefix);
  HERALD_TRY(r.string("name", n.name, true));
  HERALD_TRY(r.string("on", n.on));
  HERALD_TRY(r.string("entity", n.entity));
  HERALD_TRY(r.string("action", n.action));
  n.action = ascii_upper(n.action);
  HERALD_TRY(r.string_list("actions", n.actions));
  for (auto& a : n.actions) {
    // The manual's form "ENABLE;DISABLE;UPDATE;DELETE" is accepted inside the list too.
    a = ascii_upper(a);
  }
  {
    std::vector<std::string> split;
    for (const auto& a : n.actions) {
      size_t start = 0;
      for (size_t pos; (pos = a.find(';', start)) != std::string::npos; start = pos + 1) {
        if (pos > start) split.push_back(a.substr(start, pos - start));
      }
      if (start < a.size()) split.push_back(a.substr(start));
    }
    n.actions = std::move(split);
  }
  HERALD_TRY(r.string("rule", n.rule));
  if (const toml::node* rn = t.get("rule")) n.rule_line = static_cast<int>(rn->source().begin.line);
  HERALD_TRY(r.string("script", n.script));
  HERALD_TRY(r.string("form_projection", n.form_projection));
  HERALD_TRY(r.string("system", n.system));
  HERALD_TRY(r.string("topic", n.topic));
  HERALD_TRY(r.string("level", n.level));
  n.level = ascii_upper(n.level);
  static const std::set<std::string> kLevels = {"SUCCESS", "INFO", "WARNING", "ERROR"};
  if (!kLevels.count(n.level)) return r.error("level", "expected SUCCESS, INFO, WARNING or ERROR");
  if (const toml::node* rc = r.get("recipients")) {
    const toml::table* rt = rc->as_table();
    if (!rt)
      return r.error("recipients", "expected a table such as { identity = true, roles = [\"Security\"] }");
    HERALD_TRY(load_recipients(file, cfg.dir, *rt, prefix + ".recipients", n.recipients));
  }
  // One endpoint, or several that each get their own notification.
  HERALD_TRY(r.string("endpoint", n.endpoint));
  HERALD_TRY(r.string_list("endpoints", n.endpoints));
  if (!n.endpoint.empty() && !n.endpoints.empty())
    return r.error("endpoints", "give either 'endpoint' or 'endpoints'");
  if (n.endpoint.empty() && n.endpoints.empty()) return r.error("endpoint", "is required (or 'endpoints')");
  if (n.endpoints.empty()) n.endpoints.push_back(n.endpoint);
  n.endpoint = n.endpoints.front();
  HERALD_TRY(r.string("mapping", n.mapping));
  HERALD_TRY(r.boolean("enabled", n.enabled));
  HERALD_TRY(r.no_unknown_keys());
  if (n.on.empty() && n.entity.empty()) {
    return r.error(
        "on", "a notification needs 'on' (a lifecycle event name) or 'entity' (with 'action' or 'actions')");
  }
  if (!n.action.empty() && !n.actions.empty()) {
    return r.error("actions", "give either 'action' or 'actions', not both");
  }
  if (n.topic.empty()) n.topic = n.name;
  for (const auto& e : n.endpoints) {
    const char* key = n.endpoints.size() > 1 || t.contains("endpoints") ? "endpoints" : "endpoint";
    if (!cfg.endpoints.count(e)) return r.error(key, "no endpoint named '" + e + "'");
    if (std::count(n.endpoints.begin(), n.endpoints.end(), e) > 1)
      return r.error(key, "'" + e + "' is listed twice");
  }
  if (cfg.find_notification(n.name)) return r.error("name", "duplicate notification name '" + n.name + "'");
  if (!n.mapping.empty()) {
    n.mapping = resolve(cfg.mapping_dir, n.mapping);
    if (!fs::is_regular_file(n.mapping)) return r.error("mapping", "no mapping file '" + n.mapping + "'");
  }
  if (!n.script.empty()) {
    n.script = resolve(cfg.dir, n.script);
    if (!fs::is_regular_file(n.script)) return r.error("script", "no script file '" + n.script + "'");
    if (!n.rule.empty()) {
      cfg.warnings.push_back(located(file, t.source()) + "notification '" + n.name +
                             "' has both a script and a rule: only the script is evaluated");
    }
  }
  cfg.notifications.push_back(std::move(n));
  return {};
}

// One condition of a schedule's query: { field, op, value | values | date, format, conjunction }.
Status load_schedule_where(const std::string& file, const toml::table& t, const std::string& prefix,
                           ScheduleWhereConfig& w) {
  TableReader r(file, t, prefix);
  w.line = r.table_line();
  HERALD_TRY(r.string("field", w.field, true));
  if (!db::is_identifier(w.field))
    return r.error("field", "'" + w.field + "' is not a valid column name (letters, digits, _)");
  HERALD_TRY(r.string("op", w.op));
  auto op = mapping::parse_where_op(w.op);
  if (!op)
    return r.error("op",
                   "unknown operation '" + w.op + "' (=, !=, lt, le, gt, ge, like, isnull, notnull, in)");
  if (const toml::node* v = r.get("value")) {
    // SQLite keeps booleans as 1 and 0.
    auto text = v->is_boolean() ? std::optional<std::string>(*v->value<bool>() ? "1" : "0")
                : v->is_array() ? std::nullopt
                                : scalar_text(*v);
    if (!text) return r.error("value", "expected a string, number or boolean (a list goes in 'values')");
    w.values.push_back(*text);
  }
  HERALD_TRY(r.string_list("values", w.values));
  HERALD_TRY(r.string("date", w.date));
  HERALD_TRY(r.string("format", w.format));
  std::string conjunction = "and";
  HERALD_TRY(r.string("conjunction", conjunction));
  conjunction = ascii_lower(conjunction);
  if (conjunction != "and" && conjunction != "or")
    return r.error("conjunction", "expected \"and\" or \"or\"");
  w.or_with_previous = conjunction == "or";
  HERALD_TRY(r.no_unknown_keys());
  const bool no_value = *op == mapping::WhereOp::IsNull || *op == mapping::WhereOp::NotNull;
  if (!w.date.empty()) {
    if (!w.values.empty()) return r.error("date", "give either 'date' or 'value'/'values'");
    if (auto d = schedule::parse_relative_date(w.date); !d) return r.error("date", d.error().message);
    if (auto f = schedule::parse_date_format(w.format); !f) return r.error("format", f.error().message);
    if (*op == mapping::WhereOp::In || *op == mapping::WhereOp::Like || no_value)
      return r.error("date", "a date compares with =, !=, lt, le, gt or ge");
  } else if (no_value) {
    if (!w.values.empty()) return r.error("value", "'" + w.op + "' takes no value");
  } else if (w.values.empty()) {
    return r.error("value", "is required for '" + w.op + "' (or 'values', or 'date')");
  } else if (w.values.size() > 1 && *op != mapping::WhereOp::In) {
    return r.error("values", "several values need op = \"in\"");
  }
  return {};
}

// keys = { PersonID = "PersonID" }: event key (or value) name -> column.
Status load_column_map(TableReader& r, std::string_view key,
                       std::vector<std::pair<std::string, std::string>>& out) {
  const toml::node* n = r.get(key);
  if (!n) return {};
  const toml::table* t = n->as_table();
  if (!t) return r.error(key, "expected a table such as { PersonID = \"PersonID\" } (name = column)");
  for (auto&& [k, v] : *t) {
    auto column = v.value<std::string>();
    if (!v.is_string() || !column || !db::is_identifier(*column)) {
      return r.error(key, "'" + std::string(k.str()) + "' must name a column (letters, digits, _)");
    }
    out.emplace_back(std::string(k.str()), *column);
  }
  return {};
}

Status load_schedule(const std::string& file, const toml::table& t, size_t index, Config& cfg) {
  ScheduleConfig s;
  s.line = static_cast<int>(t.source().begin.line);
  std::string prefix = "schedule[" + std::to_string(index) + "]";
  TableReader r(file, t, prefix);
  HERALD_TRY(r.string("name", s.name, true));
  HERALD_TRY(r.string("cron", s.cron));
  HERALD_TRY(r.duration("every", s.every));
  HERALD_TRY(r.duration("once_per", s.once_per));
  HERALD_TRY(r.boolean("run_at_start", s.run_at_start));
  HERALD_TRY(r.string("time_zone", s.time_zone));
  HERALD_TRY(r.string("view", s.view, true));
  if (!db::is_identifier(s.view))
    return r.error("view", "'" + s.view + "' is not a valid table or view name (letters, digits, _)");
  if (const toml::node* w = r.get("where")) {
    const toml::array* arr = w->as_array();
    if (!arr)
      return r.error("where", "expected an array of tables such as [{ field = \"Enabled\", value = 1 }]");
    size_t i = 0;
    for (const auto& item : *arr) {
      const toml::table* wt = item.as_table();
      std::string wprefix = prefix + ".where[" + std::to_string(i++) + "]";
      if (!wt) return Error{located(file, item.source()) + "key '" + wprefix + "': expected a table"};
      ScheduleWhereConfig clause;
      HERALD_TRY(load_schedule_where(file, *wt, wprefix, clause));
      s.where.push_back(std::move(clause));
    }
  }
  HERALD_TRY(r.string("entity", s.entity, true));
  HERALD_TRY(r.string("action", s.action));
  s.action = ascii_upper(s.action);
  HERALD_TRY(r.string("event", s.event));
  HERALD_TRY(load_column_map(r, "keys", s.keys));
  HERALD_TRY(load_column_map(r, "values", s.values));
  HERALD_TRY(r.integer("max_rows", s.max_rows, 1, 10'000'000));
  HERALD_TRY(r.boolean("enabled", s.enabled));
  HERALD_TRY(r.no_unknown_keys());
  if (s.cron.empty() && s.every.count() == 0)
    return r.error("cron", "a schedule needs 'cron' (e.g. \"0 0 8 * * *\") or 'every' (e.g. \"1h\")");
  if (!s.cron.empty()) {
    if (auto c = schedule::CronExpression::parse(s.cron); !c) return r.error("cron", c.error().message);
  }
  if (t.contains("every") && s.every < std::chrono::seconds(1))
    return r.error("every", "must be at least 1s");
  if (t.contains("once_per") && s.once_per < std::chrono::seconds(1))
    return r.error("once_per", "must be at least 1s");
  if (s.time_zone.empty()) s.time_zone = cfg.time_zone;
  if (auto z = schedule::TimeZone::locate(s.time_zone); !z)
    return r.error(t.contains("time_zone") ? "time_zone" : "name", z.error().message);
  if (s.keys.empty())
    return r.error("keys", "is required: the columns that identify a row, e.g. { PersonID = \"PersonID\" }");
  for (const auto& other : cfg.schedules) {
    if (other.name == s.name) return r.error("name", "duplicate schedule name '" + s.name + "'");
  }
  cfg.schedules.push_back(std::move(s));
  return {};
}

// [admin] listen: "HOST:PORT" or "[V6]:PORT", HOST an IP address or localhost.
// Not loopback is refused unless allow_remote, since metrics and health
// carry no authentication.
Status load_admin(const std::string& file, const toml::table& t, AdminConfig& admin) {
  TableReader r(file, t, "admin");
  HERALD_TRY(r.string("listen", admin.listen));
  HERALD_TRY(r.boolean("allow_remote", admin.allow_remote));
  HERALD_TRY(r.no_unknown_keys());
  if (admin.listen.empty()) return {};
  const std::string& text = admin.listen;
  auto bad = [&] {
    return r.error(
        "listen",
        "expected an address and port such as \"127.0.0.1:9464\" or \"[::1]:9464\", got \"" + text + "\"");
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return bad();
  }
  int port_number = std::stoi(port);
  if (port_number > 65535) return bad();
  bool loopback = false;
  unsigned char buf[16];
  if (host == "localhost") {
    host = "127.0.0.1";
    loopback = true;
  } else if (!bracketed && inet_pton(AF_INET, host.c_str(), buf) == 1) {
    loopback = buf[0] == 127;
  } else if (bracketed && inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    static const unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    loopback = std::equal(buf, buf + 16, kLoopback6);
  } else {
    return bad();
  }
  if (!loopback && !admin.allow_remote) {
    return r.error("listen",
                   "'" + text +
                       "' is not a loopback address: metrics and health have no authentication; set "
                       "allow_remote = true to listen there anyway");
  }
  admin.host = host;
  admin.port = static_cast<uint16_t>(port_number);
  return {};
}

Status load_tables(const std::string& file, const toml::table& root, Config& cfg) {
  TableReader top(file, root, "");
  const toml::node* daemon = top.get("daemon");
  const toml::node* outbox = top.get("outbox");
  const toml::node* retry = top.get("retry");
  const toml::node* endpoints = top.get("endpoints");
  const toml::node* notifications = top.get("notification");
  const toml::node* recipients = top.get("recipients");
  const toml::node* admin = top.get("admin");
  const toml::node* schedules = top.get("schedule");
  HERALD_TRY(top.no_unknown_keys());

  cfg.mapping_dir = cfg.dir;
  cfg.state_db = resolve(cfg.dir, "herald-state.db");
  cfg.plugin_dir = default_plugin_dir();
  if (daemon) {
    if (!daemon->is_table()) return top.error("daemon", "expected a table");
    TableReader r(file, *daemon->as_table(), "daemon");
    HERALD_TRY(r.string("state_db", cfg.state_db));
    HERALD_TRY(r.string("plugin_dir", cfg.plugin_dir));
    HERALD_TRY(r.string("mapping_dir", cfg.mapping_dir));
    HERALD_TRY(r.string("log_level", cfg.log_level));
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(cfg.log_level))
      return r.error("log_level", "expected trace, debug, info, warn or error");
    int64_t v = cfg.max_in_flight;
    HERALD_TRY(r.integer("max_in_flight", v, 1, 100'000));
    cfg.max_in_flight = static_cast<int>(v);
    v = static_cast<int64_t>(cfg.max_response_bytes);
    HERALD_TRY(r.integer("max_response_bytes", v, 0, 16 << 20));
    cfg.max_response_bytes = static_cast<size_t>(v);
    HERALD_TRY(r.duration("poll_interval", cfg.poll_interval));
    HERALD_TRY(r.duration("shutdown_grace", cfg.shutdown_grace));
    if (const toml::node* n = r.get("state_db_max_size")) {
      auto bytes = parse_size(*n);
      if (!bytes)
        return r.error("state_db_max_size", "expected a size such as \"512MB\" or \"2GB\" (at least 64KB)");
      cfg.state_db_max_bytes = *bytes;
    }
    HERALD_TRY(r.string("time_zone", cfg.time_zone));
    if (auto z = schedule::TimeZone::locate(cfg.time_zone); !z)
      return r.error("time_zone", z.error().message);
    std::string synchronous = cfg.state_synchronous_full ? "full" : "normal";
    HERALD_TRY(r.string("state_synchronous", synchronous));
    if (synchronous != "full" && synchronous != "normal")
      return r.error("state_synchronous", "expected \"full\" or \"normal\"");
    cfg.state_synchronous_full = synchronous == "full";
    HERALD_TRY(r.no_unknown_keys());
    cfg.state_db = resolve(cfg.dir, cfg.state_db);
    cfg.plugin_dir = resolve(cfg.dir, cfg.plugin_dir);
    cfg.mapping_dir = resolve(cfg.dir, cfg.mapping_dir);
  }

  if (!outbox || !outbox->is_table())
    return Error{file + ":1: table [outbox] with key 'database' is required"};
  {
    TableReader r(file, *outbox->as_table(), "outbox");
    HERALD_TRY(r.string("database", cfg.outbox_db, true));
    HERALD_TRY(r.string("table", cfg.outbox_table));
    if (!db::is_identifier(cfg.outbox_table)) {
      return r.error("table", "'" + cfg.outbox_table + "' is not a valid table name (letters, digits, _)");
    }
    int64_t v = cfg.batch_size;
    HERALD_TRY(r.integer("batch_size", v, 1, 100'000));
    cfg.batch_size = static_cast<int>(v);
    HERALD_TRY(r.no_unknown_keys());
    cfg.outbox_db = resolve(cfg.dir, cfg.outbox_db);
  }

  cfg.retry_schedule = default_retry_schedule();
  if (retry) {
    if (!retry->is_table()) return top.error("retry", "expected a table");
    TableReader r(file, *retry->as_table(), "retry");
    HERALD_TRY(r.duration("retry_after_max", cfg.retry_after_max));
    if (const toml::node* s = r.get("schedule")) {
      const toml::array* arr = s->as_array();
      if (!arr || arr->empty()) return r.error("schedule", "expected a non-empty array of durations");
      cfg.retry_schedule.clear();
      for (const auto& item : *arr) {
        auto text = item.value<std::string>();
        auto d = text && item.is_string() ? parse_duration(*text) : std::nullopt;
        if (!d) {
          return Error{located(file, item.source()) +
                       "key 'retry.schedule': expected durations such as \"10m\", got " +
                       (text ? "\"" + *text + "\"" : std::string("a non-string"))};
        }
        cfg.retry_schedule.push_back(*d);
      }
    }
    HERALD_TRY(r.no_unknown_keys());
  }

  if (endpoints) {
    const toml::table* t = endpoints->as_table();
    if (!t) return top.error("endpoints", "expected tables [endpoints.NAME]");
    for (auto&& [k, v] : *t) {
      const toml::table* et = v.as_table();
      std::string name(k.str());
      if (!et) {
        return Error{located(file, k.source()) + "key 'endpoints." + name +
                     "': expected a table [endpoints." + name + "]"};
      }
      HERALD_TRY(load_endpoint(file, cfg.dir, name, *et, cfg));
    }
  }

  if (recipients) {
    if (!recipients->is_table()) return top.error("recipients", "expected a table");
    TableReader r(file, *recipients->as_table(), "recipients");
    auto& q = cfg.recipient_queries;
    HERALD_TRY(r.string("identity_key", q.identity_key));
    HERALD_TRY(r.string("identity_query", q.identity_query));
    HERALD_TRY(r.string("manager_query", q.manager_query));
    HERALD_TRY(r.string("role_query", q.role_query));
    HERALD_TRY(r.string("administrators_query", q.administrators_query));
    HERALD_TRY(r.no_unknown_keys());
  }

  if (admin) {
    if (!admin->is_table()) return top.error("admin", "expected a table");
    HERALD_TRY(load_admin(file, *admin->as_table(), cfg.admin));
  }

  if (notifications) {
    const toml::array* arr = notifications->as_array();
    if (!arr || !arr->is_array_of_tables())
      return top.error("notification", "expected [[notification]] tables");
    size_t i = 0;
    for (const auto& item : *arr) HERALD_TRY(load_notification(file, *item.as_table(), i++, cfg));
  }

  if (schedules) {
    const toml::array* arr = schedules->as_array();
    if (!arr || !arr->is_array_of_tables()) return top.error("schedule", "expected [[schedule]] tables");
    size_t i = 0;
    for (const auto& item : *arr) HERALD_TRY(load_schedule(file, *item.as_table(), i++, cfg));
  }
  return {};
}

}  // namespace

std::vector<std::chrono::milliseconds> default_retry_schedule() {
  using namespace std::chrono_literals;
  return {10min, 30min, 60min, 4h, 12h, 24h};
}

const NotificationConfig* Config::find_notification(const std::string& name) const {
  for (const auto& n : notifications) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

bool is_secret_setting(const std::string& key) {
  return key == "auth.password" || key == "auth.token" || key == "auth.client_secret" ||
         key.find("password") != std::string::npos || key.find("secret") != std::string::npos;
}

Result<Config> load(const std::string& path) {
  Config cfg;
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  cfg.path = path;
  cfg.dir = abs.parent_path().string();
  if (!fs::is_regular_file(abs, ec)) return Error{path + ": cannot read the configuration file"};
  toml::table root;
  try {
    root = toml::parse_file(abs.string());
  } catch (const toml::parse_error& e) {
    return Error{path + ":" + std::to_string(e.source().begin.line) + ":" +
                 std::to_string(e.source().begin.column) +
                 ": TOML syntax error: " + std::string(e.description())};
  }
  // Drop-ins: conf.d/*.toml beside the file, merged in name order.
  fs::path dropin_dir = abs.parent_path() / "conf.d";
  std::vector<fs::path> dropins;
  if (fs::is_directory(dropin_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(dropin_dir, ec)) {
      if (entry.path().extension() == ".toml" && entry.is_regular_file(ec)) dropins.push_back(entry.path());
    }
  }
  std::sort(dropins.begin(), dropins.end());
  for (const auto& d : dropins) {
    try {
      toml::table extra = toml::parse_file(d.string());
      merge_tables(root, extra);
    } catch (const toml::parse_error& e) {
      return Error{d.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                   std::to_string(e.source().begin.column) +
                   ": TOML syntax error: " + std::string(e.description())};
    }
    cfg.dropins.push_back(d.string());
  }
  if (auto s = load_tables(path, root, cfg); !s) return s.error();
  return cfg;
}

}  // namespace herald::config
