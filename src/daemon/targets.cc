#include "daemon/targets.h"

namespace herald::daemon {

Result<std::vector<state::IngestItem::Target>> targets_for(Runtime& runtime, const Event& event,
                                                           std::vector<std::string>& warnings) {
  const auto& cfg = runtime.config();
  std::vector<state::IngestItem::Target> targets;
  for (auto& m : runtime.matcher().match(event, warnings)) {
    const auto& n = cfg.notifications[m.index];
    nlohmann::json recipients;
    if (n.recipients.any() && runtime.recipients()) {
      rules::RecipientSpec spec;
      spec.identity = n.recipients.identity;
      spec.manager = n.recipients.manager;
      spec.identities = n.recipients.identities;
      spec.roles = n.recipients.roles;
      auto resolved = runtime.recipients()->resolve(spec, event, m.script_recipients);
      for (const auto& why : runtime.recipients()->dropped()) {
        warnings.push_back("notification '" + n.name + "' for event " + std::to_string(event.id) + ": " +
                           why);
      }
      recipients = nlohmann::json::array();
      if (!resolved) {
        if (resolved.error().transient) return Error::temporary("recipients: " + resolved.error().message);
        warnings.push_back("notification '" + n.name + "' for event " + std::to_string(event.id) +
                           ": no recipients: " + resolved.error().message);
      } else {
        for (const auto& r : resolved.value()) {
          recipients.push_back({{"identity", r.identity}, {"address", r.address}, {"name", r.name}});
        }
      }
    }
    const config::EndpointConfig* ep = runtime.endpoint(n.endpoint);
    targets.emplace_back(n.name, n.endpoint, std::move(m.rule), std::move(recipients), ep && ep->ordered);
  }
  return targets;
}

}  // namespace herald::daemon
