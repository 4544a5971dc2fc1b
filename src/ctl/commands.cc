#include "ctl/commands.h"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "config/duration.h"
#include "daemon/daemon.h"
#include "daemon/runtime.h"
#include "daemon/targets.h"
#include "db/sqlite.h"
#include "delivery/message.h"
#include "schedule/timetable.h"
#include "state/state_store.h"
#include "tools/http_sink.h"

namespace herald::ctl {
namespace {

using nlohmann::json;

// Parses "--flag value" and "--switch" arguments; positional ones are kept.
struct Args {
  std::multimap<std::string, std::string> options;
  std::vector<std::string> positional;
  std::string bad;

  Args(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
       const std::vector<std::string>& switches) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto is = [&](const std::vector<std::string>& v) {
        return std::find(v.begin(), v.end(), a) != v.end();
      };
      if (is(with_value)) {
        if (i + 1 >= args.size()) {
          bad = a + " needs a value";
          return;
        }
        options.emplace(a, args[++i]);
      } else if (is(switches)) {
        options.emplace(a, "");
      } else if (a.rfind("--", 0) == 0) {
        bad = "unknown option " + a;
        return;
      } else {
        positional.push_back(a);
      }
    }
  }
  bool has(const std::string& k) const { return options.count(k) > 0; }
  std::optional<std::string> get(const std::string& k) const {
    auto it = options.find(k);
    return it == options.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> out;
    for (auto [it, end] = options.equal_range(k); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

std::string iso_time(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// "2026-11-22T10:00:00Z", "2026-11-22" (UTC), or a duration meaning that
// long ago ("2h", "7d").
std::optional<int64_t> parse_time(const std::string& s) {
  if (auto d = config::parse_duration(s)) return daemon::now_ms() - d->count();
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || (*end && std::string_view(end) != "Z")) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::optional<int64_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(s);
}

// An event id: an outbox id, or one below zero for an event a schedule emitted.
std::optional<int64_t> parse_event_id(const std::string& s) {
  if (s.size() > 1 && s[0] == '-') {
    auto v = parse_id(s.substr(1));
    return v && *v > 0 ? std::optional<int64_t>(-*v) : std::nullopt;
  }
  return parse_id(s);
}

std::string state_names() {
  std::string names;
  for (auto s : state::kAllStates) names += (names.empty() ? "" : ", ") + std::string(state::to_string(s));
  return names;
}

json notification_json(const state::NotificationRow& r) {
  json j = {{"id", r.id},
            {"event_id", r.event_id},
            {"notification", r.notification},
            {"endpoint", r.endpoint},
            {"state", state::to_string(r.state)},
            {"attempts", r.attempts},
            {"message_id", r.message_id},
            {"created_at", iso_time(r.created_at)},
            {"updated_at", iso_time(r.updated_at)}};
  j["next_attempt_at"] = r.state == state::State::Waiting || r.state == state::State::Pending
                             ? json(iso_time(r.next_attempt_at))
                             : json();
  j["last_status"] = r.last_status ? json(*r.last_status) : json();
  j["last_error"] = r.last_error ? json(*r.last_error) : json();
  j["rule"] = r.rule;
  j["recipients"] = r.recipients;
  return j;
}

// What kind of status code an endpoint's attempts record: "smtp" for mail
// endpoints, "http" otherwise, null for an endpoint no longer configured.
const char* protocol_of(const config::Config& cfg, const std::string& endpoint) {
  auto it = cfg.endpoints.find(endpoint);
  if (it == cfg.endpoints.end()) return nullptr;
  return it->second.channel == "email" ? "smtp" : "http";
}

// `protocol` as protocol_of(): "status" is the code either way; "http_status"
// (kept for the scripts that read it) only for HTTP.
json attempt_json(const state::AttemptRow& a, const char* protocol) {
  json j = {{"number", a.number},
            {"started_at", iso_time(a.started_at)},
            {"finished_at", iso_time(a.finished_at)},
            {"duration_ms", a.finished_at - a.started_at},
            {"outcome", a.outcome},
            {"error", a.error},
            {"response", a.response}};
  j["status"] = a.http_status ? json(*a.http_status) : json();
  j["protocol"] = protocol ? json(protocol) : json();
  const bool smtp = protocol && std::string_view(protocol) == "smtp";
  j["http_status"] = a.http_status && !smtp ? json(*a.http_status) : json();
  j["error_class"] = a.error_class.empty() ? json() : json(a.error_class);
  return j;
}

class Command {
 public:
  Command(const Invocation& inv, std::ostream& out, std::ostream& err) : inv_(inv), out_(out), err_(err) {}

  int fail(const std::string& msg, int code = 1) {
    err_ << "heraldctl " << inv_.command << ": " << msg << "\n";
    return code;
  }

  std::optional<config::Config> config() {
    if (inv_.config_path.empty()) {
      fail("needs -c CONFIG", 2);
      return std::nullopt;
    }
    auto cfg = config::load(inv_.config_path);
    if (!cfg) {
      err_ << cfg.error().message << "\n";
      return std::nullopt;
    }
    return std::move(cfg.value());
  }

  std::optional<state::StateStore> store() {
    auto cfg = config();
    if (!cfg) return std::nullopt;
    return store(*cfg);
  }

  std::optional<state::StateStore> store(const config::Config& cfg) {
    auto st = state::StateStore::open(cfg.state_db);
    if (!st) {
      fail(cfg.state_db + ": " + st.error().message);
      return std::nullopt;
    }
    return std::move(st.value());
  }

  // What a stored status code is: an SMTP reply for mail endpoints, an HTTP
  // status otherwise ("status" for an endpoint no longer configured).
  static std::string status_label(const config::Config& cfg, const std::string& endpoint, int64_t code) {
    const char* protocol = protocol_of(cfg, endpoint);
    const char* kind = !protocol ? "status" : std::string_view(protocol) == "smtp" ? "SMTP" : "HTTP";
    return std::string(kind) + " " + std::to_string(code);
  }

  int validate() {
    if (inv_.config_path.empty()) return fail("needs -c CONFIG", 2);
    auto rt = daemon::Runtime::load(inv_.config_path);
    if (!rt) {
      err_ << rt.error().message << "\n";
      return 1;
    }
    const auto& c = rt.value()->config();
    for (const auto& w : c.warnings) err_ << "warning: " << w << "\n";
    out_ << inv_.config_path << ": OK (" << c.endpoints.size() << " endpoint(s), " << c.notifications.size()
         << " notification(s))\n";
    return 0;
  }

  int emit() {
    Args a(inv_.args, {"--entity", "--action", "--name", "--key", "--old", "--new"}, {});
    if (!a.bad.empty()) return fail(a.bad, 2);
    auto entity = a.get("--entity"), action = a.get("--action");
    if (!entity || !action) return fail("--entity and --action are required", 2);
    json keys = json::object();
    for (const auto& kv : a.all("--key")) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return fail("--key expects K=V, got '" + kv + "'", 2);
      keys[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto object_arg = [&](const char* flag) -> std::optional<std::optional<std::string>> {
      auto v = a.get(flag);
      if (!v) return std::optional<std::string>{};
      auto j = json::parse(*v, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        fail(std::string(flag) + " expects a JSON object");
        return std::nullopt;
      }
      return std::optional<std::string>(j.dump());
    };
    auto old_values = object_arg("--old");
    auto new_values = object_arg("--new");
    if (!old_values || !new_values) return 2;
    auto cfg = config();
    if (!cfg) return 1;
    auto db = db::Database::open(cfg->outbox_db, db::Database::Mode::ReadWriteCreate);
    if (!db) return fail(db.error().message);
    auto st = db->prepare("INSERT INTO " + db::quote_identifier(cfg->outbox_table) +
                          " (entity, action, name, keys, old_values, new_values, occurred_at) VALUES "
                          "(?1, ?2, ?3, ?4, ?5, ?6, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    if (!st) return fail(st.error().message);
    st->bind(1, *entity).bind(2, *action).bind(3, a.get("--name")).bind(4, keys.dump());
    st->bind(5, *old_values).bind(6, *new_values);
    if (auto s = st->run(); !s) return fail(s.error().message);
    out_ << db->last_insert_rowid() << "\n";
    return 0;
  }

  int render() {
    Args a(inv_.args, {"--notification", "--event-id", "--to"}, {});
    if (!a.bad.empty()) return fail(a.bad, 2);
    auto name = a.get("--notification");
    auto id = a.get("--event-id") ? parse_event_id(*a.get("--event-id")) : std::nullopt;
    if (!name || !id) return fail("--notification NAME and --event-id N are required", 2);
    if (inv_.config_path.empty()) return fail("needs -c CONFIG", 2);
    auto rt = daemon::Runtime::load(inv_.config_path);
    if (!rt) {
      err_ << rt.error().message << "\n";
      return 1;
    }
    auto& runtime = *rt.value();
    const auto* ncfg = runtime.config().find_notification(*name);
    if (!ncfg) return fail("no notification named '" + *name + "'");
    Event event;
    if (*id < 0) {
      // A schedule's event lives in the state database only.
      auto st = state::StateStore::open(runtime.config().state_db);
      if (!st) return fail(runtime.config().state_db + ": " + st.error().message);
      auto kept = st->event(*id);
      if (!kept) return fail(kept.error().message);
      if (!kept.value()) return fail("no scheduled event " + std::to_string(*id) + " in the state database");
      event = *kept.value();
    } else {
      auto rows = runtime.outbox().read_after(*id - 1, 1);
      if (!rows) return fail(rows.error().message);
      if (rows->empty() || rows->front().event.id != *id)
        return fail("no outbox row with id " + std::to_string(*id));
      if (!rows->front().error.empty())
        return fail("outbox row " + std::to_string(*id) + ": " + rows->front().error);
      event = rows->front().event;
    }
    const auto* endpoint = runtime.endpoint(ncfg->endpoint);
    // What ingest would create for the event: the Rule.* values and the
    // resolved recipients (one notification each on a per-recipient endpoint).
    std::vector<std::string> warnings;
    auto targets = daemon::targets_for(runtime, event, warnings);
    for (const auto& w : warnings) err_ << "warning: " << w << "\n";
    if (!targets) return fail(targets.error().message);
    std::vector<const state::IngestItem::Target*> mine;
    for (const auto& t : targets.value()) {
      if (t.notification == *name && t.endpoint == ncfg->endpoint) mine.push_back(&t);
    }
    nlohmann::json rule = {{"topic", ncfg->topic}, {"level", ncfg->level}, {"notification", ncfg->name}};
    nlohmann::json recipients;
    if (mine.empty()) {
      err_ << "note: event " << *id << " does not trigger '" << *name << "'; rendering it anyway\n";
    } else {
      rule = mine.front()->rule;
      recipients = mine.front()->recipients;
    }
    if (auto to = a.get("--to")) {
      // One of the recipients by address (with its name), or this address alone (a preview to oneself).
      json chosen = {{"identity", ""}, {"address", *to}, {"name", ""}};
      bool listed = false;
      for (const auto* t : mine) {
        if (!t->recipients.is_array()) continue;
        for (const auto& r : t->recipients) {
          if (r.value("address", "") == *to) {
            chosen = r;
            listed = true;
          }
        }
      }
      recipients = json::array({chosen});
      if (!listed && !mine.empty())
        err_ << "note: " << *to << " is not among the recipients; rendering for it anyway\n";
    } else if (mine.size() > 1) {
      err_ << "note: " << mine.size()
           << " messages, one per recipient; this is the first (--to ADDRESS picks "
           << "another)\n";
    }
    nlohmann::json extra = {{"Rule", rule}};
    auto rendered = delivery::render(*endpoint, runtime.mapping_for(*name), event, &extra);
    if (!rendered) return fail(rendered.error().message);
    plugin::Channel* channel = runtime.channel(ncfg->endpoint);
    auto message_body = std::make_shared<const delivery::Rendered>(std::move(rendered.value()));
    delivery::Message msg(0, "00000000-0000-4000-8000-000000000000", 1, *name, message_body, event, rule,
                          recipients, channel->flags());
    // A stand-in: render never asks the token endpoint.
    if (endpoint->auth_type == "oauth2") msg.set_auth_token("oauth2-token-not-fetched-by-render");
    auto built = channel->build(msg.get());
    if (built.result != HERALD_BUILD_OK) return fail("plugin: " + built.error);
    json headers = json::object();
    for (const auto& [k, v] : built.request.headers) {
      // Never print credentials.
      headers[k] = (k == "Authorization" || k == "Proxy-Authorization") ? "<redacted>" : v;
    }
    if (built.request.is_mail()) {
      // The envelope and the whole message as it would go out (credentials are not part of it).
      out_ << json{{"url", built.request.url},
                   {"mail_from", built.request.mail_from},
                   {"recipients", built.request.mail_recipients},
                   {"message", built.request.body}}
                  .dump(2)
           << "\n";
      return 0;
    }
    if (built.request.basic_auth) headers["Authorization"] = "<redacted: basic auth>";
    json body = json::parse(built.request.body, nullptr, false);
    json out = {{"method", built.request.method}, {"url", built.request.url}, {"headers", headers}};
    out["body"] = body.is_discarded() ? json(built.request.body) : body;
    out_ << out.dump(2) << "\n";
    return 0;
  }

  int status() {
    Args a(inv_.args, {}, {"--json"});
    if (!a.bad.empty()) return fail(a.bad, 2);
    auto st = store();
    if (!st) return 1;
    auto counts = st->counts();
    if (!counts) return fail(counts.error().message);
    auto endpoints = st->endpoint_status(daemon::now_ms());
    if (!endpoints) return fail(endpoints.error().message);
    if (a.has("--json")) {
      json j = json::object();
      for (const auto& c : counts.value()) j[c.state] = c.count;
      json eps = json::object();
      for (const auto& e : endpoints.value()) {
        eps[e.endpoint] = {{"counts", e.counts}, {"oldest_waiting_seconds", e.oldest_waiting_ms / 1000}};
      }
      j["endpoints"] = eps;
      out_ << j.dump() << "\n";
      return 0;
    }
    for (const auto& c : counts.value())
      out_ << std::left << std::setw(11) << c.state << " " << c.count << "\n";
    if (!endpoints->empty()) {
      out_ << "\n"
           << std::left << std::setw(20) << "ENDPOINT" << std::setw(9) << "PENDING" << std::setw(6) << "HELD"
           << std::setw(9) << "WAITING" << std::setw(11) << "DELIVERED" << std::setw(8) << "FAILED"
           << "OLDEST WAITING\n";
      for (const auto& e : endpoints.value()) {
        auto count = [&](const char* k) {
          auto it = e.counts.find(k);
          return it == e.counts.end() ? int64_t{0} : it->second;
        };
        out_ << std::left << std::setw(20) << e.endpoint << std::setw(9)
             << count("pending") + count("in_flight") << std::setw(6) << count("held") << std::setw(9)
             << count("waiting") << std::setw(11) << count("delivered") << std::setw(8) << count("failed")
             << (e.oldest_waiting_ms ? std::to_string(e.oldest_waiting_ms / 1000) + " s" : "-") << "\n";
      }
    }
    return 0;
  }

  // Each schedule: its timetable, its latest run and its next slot.
  int schedules() {
    Args a(inv_.args, {}, {"--json"});
    if (!a.bad.empty()) return fail(a.bad, 2);
    auto cfg = config();
    if (!cfg) return 1;
    auto st = store();
    if (!st) return 1;
    auto runs = st->schedule_runs();
    if (!runs) return fail(runs.error().message);
    json rows = json::array();
    for (const auto& sc : cfg->schedules) {
      auto timetable = schedule::Timetable::make(sc);
      if (!timetable) return fail(sc.name + ": " + timetable.error().message);
      std::string when = sc.cron;
      if (sc.every.count() > 0)
        when += (when.empty() ? "every " : " + every ") + config::format_duration(sc.every);
      json row = {{"name", sc.name}, {"when", when}, {"time_zone", sc.time_zone}, {"enabled", sc.enabled}};
      auto run =
          std::find_if(runs->begin(), runs->end(), [&](const auto& r) { return r.schedule == sc.name; });
      if (run != runs->end()) {
        row["last_slot"] = timetable->zone().format(run->last_slot);
        row["last_run_at"] = iso_time(run->last_run_at);
        row["emitted"] = run->emitted;
      }
      auto next = sc.enabled ? timetable->next_after(daemon::now_ms() / 1000) : std::nullopt;
      row["next"] = next ? json(timetable->zone().format(*next)) : json(nullptr);
      rows.push_back(row);
    }
    if (a.has("--json")) {
      out_ << rows.dump() << "\n";
      return 0;
    }
    if (rows.empty()) {
      out_ << "no schedules in " << cfg->path << "\n";
      return 0;
    }
    out_ << std::left << std::setw(20) << "NAME" << std::setw(22) << "WHEN" << std::setw(27) << "LAST SLOT"
         << std::setw(9) << "EMITTED"
         << "NEXT\n";
    for (const auto& r : rows) {
      auto text = [&](const char* k) {
        return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : "-";
      };
      out_ << std::left << std::setw(20) << r["name"].get<std::string>() << std::setw(22)
           << r["when"].get<std::string>() << std::setw(27) << text("last_slot") << std::setw(9)
           << (r.contains("emitted") ? std::to_string(r["emitted"].get<int64_t>()) : "-")
           << (r["enabled"].get<bool>() ? text("next") : "disabled") << "\n";
    }
    return 0;
  }

  int list() {
    Args a(inv_.args, {"--state", "--limit"}, {"--json"});
    if (!a.bad.empty()) return fail(a.bad, 2);
    std::optional<state::State> filter;
    if (auto s = a.get("--state")) {
      filter = state::state_from_string(*s);
      if (!filter) return fail("unknown state '" + *s + "' (" + state_names() + ")", 2);
    }
    int limit = 100;
    if (auto l = a.get("--limit")) {
      auto v = parse_id(*l);
      if (!v || *v == 0) return fail("--limit expects a positive number", 2);
      limit = static_cast<int>(std::min<int64_t>(*v, 1'000'000));
    }
    auto cfg = config();
    if (!cfg) return 1;
    auto st = store(*cfg);
    if (!st) return 1;
    auto rows = st->list(filter, limit);
    if (!rows) return fail(rows.error().message);
    if (a.has("--json")) {
      json arr = json::array();
      for (const auto& r : rows.value()) arr.push_back(notification_json(r));
      out_ << arr.dump(2) << "\n";
      return 0;
    }
    out_ << std::left << std::setw(7) << "ID" << std::setw(10) << "EVENT" << std::setw(11) << "STATE"
         << std::setw(9) << "ATTEMPTS" << std::setw(26) << "NOTIFICATION" << std::setw(16) << "ENDPOINT"
         << "LAST\n";
    for (const auto& r : rows.value()) {
      std::string last = r.last_status ? status_label(*cfg, r.endpoint, *r.last_status) : "";
      if (r.last_error && !r.last_error->empty()) last += (last.empty() ? "" : " ") + *r.last_error;
      out_ << std::left << std::setw(7) << r.id << std::setw(10) << r.event_id << std::setw(11)
           << state::to_string(r.state) << std::setw(9) << r.attempts << std::setw(26) << r.notification
           << std::setw(16) << r.endpoint << last.substr(0, 80) << "\n";
    }
    return 0;
  }

  int show() {
    Args a(inv_.args, {}, {"--json"});
    if (!a.bad.empty()) return fail(a.bad, 2);
    if (a.positional.size() != 1 || !parse_id(a.positional[0])) return fail("usage: show ID [--json]", 2);
    int64_t id = *parse_id(a.positional[0]);
    auto cfg = config();
    if (!cfg) return 1;
    auto st = store(*cfg);
    if (!st) return 1;
    auto row = st->get(id);
    if (!row) return fail(row.error().message);
    if (!row.value()) return fail("no notification " + std::to_string(id));
    auto attempts = st->attempts(id);
    if (!attempts) return fail(attempts.error().message);
    json j = notification_json(*row.value());
    std::optional<int64_t> behind;
    if (row.value()->state == state::State::Held) {
      auto b = st->held_behind(id);
      if (!b) return fail(b.error().message);
      behind = b.value();
    }
    j["held_behind"] = behind ? json(*behind) : json();
    j["attempt_log"] = json::array();
    const char* protocol = protocol_of(*cfg, row.value()->endpoint);
    for (const auto& at : attempts.value()) j["attempt_log"].push_back(attempt_json(at, protocol));
    if (row.value()->payload) {
      auto p = json::parse(*row.value()->payload, nullptr, false);
      if (!p.is_discarded()) j["payload"] = p;
    }
    if (a.has("--json")) {
      out_ << j.dump(2) << "\n";
      return 0;
    }
    const auto& r = *row.value();
    out_ << "notification " << r.id << " (" << r.notification << " -> " << r.endpoint << ")\n"
         << "  state:      " << state::to_string(r.state) << "\n"
         << "  event:      " << r.event_id << "\n"
         << "  message id: " << r.message_id << "\n"
         << "  attempts:   " << r.attempts << "\n";
    if (r.state == state::State::Waiting || r.state == state::State::Pending) {
      out_ << "  next:       " << iso_time(r.next_attempt_at) << "\n";
    }
    if (behind) out_ << "  held:       until notification " << *behind << " is delivered or ends\n";
    if (r.last_error) out_ << "  last error: " << *r.last_error << "\n";
    if (r.rule.is_object() && r.rule.contains("rule")) out_ << "  rule:       " << r.rule.dump() << "\n";
    if (r.recipients.is_array()) {
      out_ << "  recipients:";
      for (const auto& rc : r.recipients)
        out_ << " " << rc.value("address", "") << " (" << rc.value("identity", "") << ")";
      out_ << "\n";
    }
    for (const auto& at : attempts.value()) {
      out_ << "  attempt " << at.number << " at " << iso_time(at.started_at) << ": " << at.outcome;
      if (at.http_status) out_ << ", " << status_label(*cfg, r.endpoint, *at.http_status);
      out_ << ", " << (at.finished_at - at.started_at) << " ms";
      if (!at.error.empty())
        out_ << ", " << (at.error_class.empty() ? "" : at.error_class + ": ") << at.error;
      out_ << "\n";
      if (!at.response.empty()) out_ << "    response: " << at.response << "\n";
    }
    return 0;
  }

  int retry_or_cancel(bool retry) {
    Args a(inv_.args, retry ? std::vector<std::string>{"--since", "--endpoint"} : std::vector<std::string>{},
           retry ? std::vector<std::string>{"--failed"} : std::vector<std::string>{});
    if (!a.bad.empty()) return fail(a.bad, 2);
    if (a.has("--failed")) {
      std::optional<int64_t> since;
      if (auto t = a.get("--since")) {
        since = parse_time(*t);
        if (!since)
          return fail("--since expects a time such as 2026-11-22T10:00:00Z or a duration such as 2h", 2);
      }
      auto st = store();
      if (!st) return 1;
      auto n = st->retry_failed(daemon::now_ms(), since, a.get("--endpoint"));
      if (!n) return fail(n.error().message);
      out_ << n.value() << " failed notification(s) will be sent again\n";
      return 0;
    }
    if (a.positional.size() != 1 || !parse_id(a.positional[0]))
      return fail("usage: " + inv_.command + " ID", 2);
    int64_t id = *parse_id(a.positional[0]);
    auto st = store();
    if (!st) return 1;
    auto done = retry ? st->retry_now(id, daemon::now_ms()) : st->cancel(id, daemon::now_ms());
    if (!done) return fail(done.error().message);
    if (!done.value()) {
      auto row = st->get(id);
      if (row && row.value()) {
        return fail("notification " + std::to_string(id) + " is " + state::to_string(row.value()->state) +
                    "; cannot " + inv_.command + " it");
      }
      return fail("no notification " + std::to_string(id));
    }
    if (retry) {
      // Sent again behind an earlier one of its entity that is owed: it waits for that one.
      auto behind = st->held_behind(id);
      if (behind && behind.value()) {
        out_ << "notification " << id << " will be sent once notification " << *behind.value()
             << " is delivered or ends\n";
        return 0;
      }
    }
    out_ << "notification " << id << (retry ? " will be sent as soon as heraldd sees it\n" : " cancelled\n");
    return 0;
  }

  int replay() {
    Args a(inv_.args, {}, {});
    if (!a.bad.empty()) return fail(a.bad, 2);
    if (a.positional.size() != 1 || !parse_event_id(a.positional[0]))
      return fail("usage: replay EVENT_ID", 2);
    int64_t id = *parse_event_id(a.positional[0]);
    if (inv_.config_path.empty()) return fail("needs -c CONFIG", 2);
    auto rt = daemon::Runtime::load(inv_.config_path);
    if (!rt) {
      err_ << rt.error().message << "\n";
      return 1;
    }
    auto st = state::StateStore::open(rt.value()->config().state_db);
    if (!st) return fail(st.error().message);
    // The outbox has the event as the producer wrote it; Herald's own copy
    // serves when the producer has pruned its outbox since.
    std::optional<Event> event;
    auto rows = rt.value()->outbox().read_after(std::max<int64_t>(id - 1, 0), 1);
    if (id > 0 && rows && !rows->empty() && rows->front().event.id == id && rows->front().error.empty()) {
      event = rows->front().event;
    } else if (auto kept = st->event(id); kept && kept.value()) {
      event = *kept.value();
    }
    if (!event) return fail("no event " + std::to_string(id) + " in the outbox or the state database");
    std::vector<std::string> warnings;
    auto targets = daemon::targets_for(*rt.value(), *event, warnings);
    for (const auto& w : warnings) err_ << "warning: " << w << "\n";
    if (!targets) return fail(targets.error().message);
    state::IngestItem item;
    item.event = *event;
    item.targets = std::move(targets.value());
    auto created = st->replay(item, daemon::now_ms());
    if (!created) return fail(created.error().message);
    out_ << created.value() << " notification(s) created for event " << id << "\n";
    return 0;
  }

  int rejected() {
    Args a(inv_.args, {"--limit"}, {"--json"});
    if (!a.bad.empty()) return fail(a.bad, 2);
    int limit = 100;
    if (auto l = a.get("--limit")) {
      auto v = parse_id(*l);
      if (!v || *v == 0) return fail("--limit expects a positive number", 2);
      limit = static_cast<int>(std::min<int64_t>(*v, 1'000'000));
    }
    auto st = store();
    if (!st) return 1;
    auto rows = st->rejected(limit);
    if (!rows) return fail(rows.error().message);
    if (a.has("--json")) {
      json arr = json::array();
      for (const auto& [id, reason] : rows.value()) arr.push_back({{"event_id", id}, {"reason", reason}});
      out_ << arr.dump(2) << "\n";
      return 0;
    }
    for (const auto& [id, reason] : rows.value()) out_ << "outbox row " << id << ": " << reason << "\n";
    return 0;
  }

  int prune() {
    Args a(inv_.args, {"--delivered-before"}, {});
    if (!a.bad.empty()) return fail(a.bad, 2);
    auto t = a.get("--delivered-before");
    auto before = t ? parse_time(*t) : std::nullopt;
    if (!before)
      return fail("usage: prune --delivered-before TIME (2026-11-01, 2026-11-01T00:00:00Z or 30d)", 2);
    auto st = store();
    if (!st) return 1;
    auto n = st->prune_delivered_before(*before);
    if (!n) return fail(n.error().message);
    out_ << n.value() << " delivered or cancelled notification(s) removed\n";
    return 0;
  }

 private:
  const Invocation& inv_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

void usage(std::ostream& out) {
  out << "usage: heraldctl [-c CONFIG] COMMAND [ARGS]\n"
         "  validate                                  load the configuration, mappings and plugins\n"
         "  emit --entity E --action A [--name N] [--key K=V]... [--old JSON] [--new JSON]\n"
         "                                            append an event to the outbox; prints its id\n"
         "  render --notification NAME --event-id N [--to ADDRESS]\n"
         "                                            print the request (or mail) that event would produce\n"
         "  status [--json]                           notifications by state\n"
         "  list [--state S] [--limit N] [--json]     recent notifications\n"
         "  schedules [--json]                        each schedule's latest run and next slot\n"
         "  show ID [--json]                          one notification with every attempt\n"
         "  retry ID                                  send a waiting, failed or cancelled notification now\n"
         "  retry --failed [--since TIME] [--endpoint E]\n"
         "                                            send every matching failed notification again\n"
         "  replay EVENT_ID                           fresh notifications for an event seen before\n"
         "  prune --delivered-before TIME             remove delivered and cancelled notifications\n"
         "  cancel ID                                 stop sending a notification\n"
         "  rejected [--limit N] [--json]            outbox rows Herald could not read, with the reason\n"
         "  sink --listen HOST:PORT [--status N] [--statuses 503,200] [--delay MS] [--max-requests N]\n"
         "       [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n"
         "                                            accept HTTP(S) requests, answer, and print each one\n";
}

int run(const Invocation& inv, std::ostream& out, std::ostream& err) {
  Command c(inv, out, err);
  const std::string& cmd = inv.command;
  if (cmd == "validate") return c.validate();
  if (cmd == "emit") return c.emit();
  if (cmd == "render") return c.render();
  if (cmd == "status") return c.status();
  if (cmd == "list") return c.list();
  if (cmd == "schedules") return c.schedules();
  if (cmd == "show") return c.show();
  if (cmd == "retry") return c.retry_or_cancel(true);
  if (cmd == "cancel") return c.retry_or_cancel(false);
  if (cmd == "replay") return c.replay();
  if (cmd == "prune") return c.prune();
  if (cmd == "rejected") return c.rejected();
  if (cmd == "sink") return tools::run_sink_command(inv.args);
  err << "heraldctl: unknown command '" << cmd << "'\n";
  usage(err);
  return 2;
}

}  // namespace herald::ctl
