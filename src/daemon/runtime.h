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
  static Result<std::unique_ptr<Runtime>> load(const std::string& config_path);

  const config::Config& config() const { return config_; }
  outbox::OutboxReader& outbox() { return *outbox_; }
  rules::Matcher& matcher() { return *matcher_; }
  // Null when no notification names recipients.
  rules::RecipientResolver* recipients() { return recipients_.get(); }
  // Null when the notification has no mapping file.
  mapping::Mapping* mapping_for(const std::string& notification) const;

  // The state worker's side: a connection of its own to the producer's
  // database, for reading the outbox and rendering, and the mappings
  // compiled against it. SQLite connections here serve one thread each, so
  // only the worker's thread may use these.
  outbox::OutboxReader& worker_outbox() { return *worker_outbox_; }
  mapping::Mapping* worker_mapping_for(const std::string& notification) const;
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
  std::unique_ptr<rules::Matcher> matcher_;
  std::unique_ptr<rules::RecipientResolver> recipients_;
  std::unique_ptr<plugin::PluginHost> plugins_;
  std::map<std::string, std::shared_ptr<mapping::Mapping>> mappings_;
  std::unique_ptr<outbox::OutboxReader> worker_outbox_;
  std::map<std::string, std::shared_ptr<mapping::Mapping>> worker_mappings_;  // before worker_outbox_ goes
  std::map<std::string, std::unique_ptr<plugin::Channel>> channels_;
  std::vector<Schedule> schedules_;  // hold statements on the producer database too
};

}  // namespace herald::daemon
