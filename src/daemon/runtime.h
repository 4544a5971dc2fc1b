// Everything a configuration file brings to life: the producer database,
// compiled mappings, the rule matcher and one plugin instance per endpoint.
// Loaded as a whole: any error leaves nothing half-built.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "config/config.h"
#include "mapping/mapping.h"
#include "outbox/outbox_reader.h"
#include "plugin/plugin_host.h"
#include "rules/matcher.h"
#include "rules/recipients.h"
#include "schedule/schedule_query.h"
#include "schedule/timetable.h"

namespace herald::daemon {

// A [[schedule]] ready to run: its timetable and its prepared query.
struct Schedule {
  const config::ScheduleConfig* config = nullptr;  // in the Runtime's configuration
  schedule::Timetable timetable;
  schedule::ScheduleQuery query;
};

class Runtime {
 public:
  // Where mappings render: on the caller's thread (heraldctl), or on the
  // daemon's state worker, which then gets a producer connection of its own
  // (SQLite connections here serve one thread each).
  enum class RenderOn { Caller, Worker };
  static Result<std::unique_ptr<Runtime>> load(const std::string& config_path,
                                               RenderOn render_on = RenderOn::Caller);

  const config::Config& config() const { return config_; }
  outbox::OutboxReader& outbox() { return *outbox_; }
  // The rules. With RenderOn::Worker the worker has a matcher and recipient
  // lookups of its own, on render_outbox(), for the outbox rows it reads
  // (`on` = Worker); the caller's pair, on outbox(), serves the rest.
  rules::Matcher& matcher(RenderOn on = RenderOn::Caller) {
    return on == RenderOn::Worker && worker_matcher_ ? *worker_matcher_ : *matcher_;
  }
  // Null when no notification names recipients.
  rules::RecipientResolver* recipients(RenderOn on = RenderOn::Caller) {
    return on == RenderOn::Worker && worker_matcher_ ? worker_recipients_.get() : recipients_.get();
  }
  // The connection mappings and schedules query, and through which the
  // state worker reads the outbox. With RenderOn::Worker it is the worker's
  // own, to be used on its thread only; otherwise outbox().
  outbox::OutboxReader& render_outbox() { return render_outbox_ ? *render_outbox_ : *outbox_; }
  // Compiled against render_outbox(); null when the notification has no
  // mapping file.
  mapping::Mapping* mapping_for(const std::string& notification) const;
  plugin::Channel* channel(const std::string& endpoint) const;
  const config::EndpointConfig* endpoint(const std::string& name) const;
  // Enabled schedules, in configuration order.
  std::vector<Schedule>& schedules() { return schedules_; }
  Schedule* schedule(const std::string& name);

 private:
  Runtime() = default;

  // Declaration order matters: mappings hold statements on the producer
  // database and channels hold the plugin libraries, so they go first.
  config::Config config_;
  std::unique_ptr<outbox::OutboxReader> outbox_;
  std::unique_ptr<outbox::OutboxReader> render_outbox_;  // RenderOn::Worker only
  std::unique_ptr<rules::Matcher> matcher_;
  std::unique_ptr<rules::RecipientResolver> recipients_;
  std::unique_ptr<rules::Matcher> worker_matcher_;               // RenderOn::Worker only
  std::unique_ptr<rules::RecipientResolver> worker_recipients_;  // RenderOn::Worker only
  std::unique_ptr<plugin::PluginHost> plugins_;
  std::map<std::string, std::shared_ptr<mapping::Mapping>> mappings_;
  std::map<std::string, std::unique_ptr<plugin::Channel>> channels_;
  std::vector<Schedule> schedules_;  // hold statements on the producer database too
};

}  // namespace herald::daemon
