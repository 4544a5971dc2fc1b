#include "daemon/runtime.h"

#include <algorithm>

namespace herald::daemon {

Result<std::unique_ptr<Runtime>> Runtime::load(const std::string& config_path, RenderOn render_on) {
  auto cfg = config::load(config_path);
  if (!cfg) return cfg.error();
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->config_ = std::move(cfg.value());
  const config::Config& c = rt->config_;

  auto reader = outbox::OutboxReader::open(c.outbox_db, c.outbox_table);
  if (!reader) return Error{c.path + ": [outbox]: " + reader.error().message, reader.error().transient};
  rt->outbox_ = std::make_unique<outbox::OutboxReader>(std::move(reader.value()));
  if (render_on == RenderOn::Worker) {
    auto own = outbox::OutboxReader::open(c.outbox_db, c.outbox_table);
    if (!own) return Error{c.path + ": [outbox]: " + own.error().message, own.error().transient};
    rt->render_outbox_ = std::make_unique<outbox::OutboxReader>(std::move(own.value()));
  }
  auto matcher = rules::Matcher::build(c);
  if (!matcher) return matcher.error();
  rt->matcher_ = std::move(matcher.value());
  if (render_on == RenderOn::Worker) {
    auto own = rules::Matcher::build(c);
    if (!own) return own.error();
    rt->worker_matcher_ = std::move(own.value());
  }
  bool wants_recipients =
      std::any_of(c.notifications.begin(), c.notifications.end(),
                  [](const config::NotificationConfig& n) { return n.recipients.needs_lookup(); });
  if (wants_recipients) {
    rules::RecipientQueries q;
    const auto& rq = c.recipient_queries;
    q.identity_key = rq.identity_key;
    if (!rq.identity_query.empty()) q.identity = rq.identity_query;
    if (!rq.manager_query.empty()) q.managers = rq.manager_query;
    if (!rq.role_query.empty()) q.role_members = rq.role_query;
    if (!rq.administrators_query.empty()) q.administrators = rq.administrators_query;
    auto resolver = rules::RecipientResolver::prepare(rt->outbox_->database(), q);
    if (!resolver) return Error{c.path + ": [recipients]: " + resolver.error().message};
    rt->recipients_ = std::make_unique<rules::RecipientResolver>(std::move(resolver.value()));
    if (render_on == RenderOn::Worker) {
      auto own = rules::RecipientResolver::prepare(rt->render_outbox().database(), q);
      if (!own) return Error{c.path + ": [recipients]: " + own.error().message};
      rt->worker_recipients_ = std::make_unique<rules::RecipientResolver>(std::move(own.value()));
    }
  }
  rt->plugins_ = std::make_unique<plugin::PluginHost>(c.plugin_dir);

  for (const auto& [name, ep] : c.endpoints) {
    auto lib = rt->plugins_->library(ep.channel);
    if (!lib)
      return Error{c.path + ":" + std::to_string(ep.line) + ": endpoint '" + name +
                   "': " + lib.error().message};
    auto ch = plugin::Channel::open(lib.value(), ep);
    if (!ch) return Error{c.path + ":" + std::to_string(ep.line) + ": " + ch.error().message};
    rt->channels_.emplace(name, std::move(ch.value()));
  }
  for (const auto& n : c.notifications) {
    if (n.mapping.empty()) continue;
    auto m = mapping::Mapping::load(n.mapping, &rt->render_outbox().database());
    if (!m) return m.error();
    rt->mappings_.emplace(n.name, std::move(m.value()));
  }
  for (const auto& sc : c.schedules) {
    if (!sc.enabled) continue;
    std::string where = c.path + ":" + std::to_string(sc.line) + ": schedule '" + sc.name + "': ";
    auto timetable = schedule::Timetable::make(sc);
    if (!timetable) return Error{where + timetable.error().message};
    // Run where the rows are matched: on the worker's connection, if any.
    auto query = schedule::ScheduleQuery::prepare(sc, timetable->zone(), rt->render_outbox().database());
    if (!query) return Error{where + query.error().message, query.error().transient};
    rt->schedules_.push_back({&sc, std::move(timetable).value(), std::move(query).value()});
  }
  return rt;
}

Schedule* Runtime::schedule(const std::string& name) {
  for (auto& s : schedules_) {
    if (s.config->name == name) return &s;
  }
  return nullptr;
}

mapping::Mapping* Runtime::mapping_for(const std::string& notification) const {
  auto it = mappings_.find(notification);
  return it == mappings_.end() ? nullptr : it->second.get();
}

plugin::Channel* Runtime::channel(const std::string& endpoint) const {
  auto it = channels_.find(endpoint);
  return it == channels_.end() ? nullptr : it->second.get();
}

const config::EndpointConfig* Runtime::endpoint(const std::string& name) const {
  auto it = config_.endpoints.find(name);
  return it == config_.endpoints.end() ? nullptr : &it->second;
}

}  // namespace herald::daemon
