#include "daemon/runtime.h"

namespace herald::daemon {

Result<std::unique_ptr<Runtime>> Runtime::load(const std::string& config_path) {
  auto cfg = config::load(config_path);
  if (!cfg) return cfg.error();
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->config_ = std::move(cfg.value());
  const config::Config& c = rt->config_;

  auto reader = outbox::OutboxReader::open(c.outbox_db, c.outbox_table);
  if (!reader) return Error{c.path + ": [outbox]: " + reader.error().message};
  rt->outbox_ = std::make_unique<outbox::OutboxReader>(std::move(reader.value()));
  rt->matcher_ = std::make_unique<rules::Matcher>(c.notifications);
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
    auto m = mapping::Mapping::load(n.mapping, &rt->outbox_->database());
    if (!m) return m.error();
    rt->mappings_.emplace(n.name, std::move(m.value()));
  }
  return rt;
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
