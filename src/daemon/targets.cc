#include "daemon/targets.h"

#include <algorithm>

namespace herald::daemon {

Result<std::vector<state::IngestItem::Target>> targets_for(Runtime& runtime, const Event& event,
                                                           std::vector<std::string>& warnings,
                                                           Runtime::RenderOn on) {
  const auto& cfg = runtime.config();
  rules::RecipientResolver* resolver = runtime.recipients(on);
  std::vector<state::IngestItem::Target> targets;
  for (auto& m : runtime.matcher(on).match(event, warnings)) {
    const auto& n = cfg.notifications[m.index];
    nlohmann::json recipients;
    if (n.recipients.any()) recipients = nlohmann::json::array();
    if (n.recipients.needs_lookup() && resolver) {
      rules::RecipientSpec spec;
      spec.identity = n.recipients.identity;
      spec.manager = n.recipients.manager;
      spec.identities = n.recipients.identities;
      spec.roles = n.recipients.roles;
      auto resolved = resolver->resolve(spec, event, m.script_recipients);
      for (const auto& why : resolver->dropped()) {
        warnings.push_back("notification '" + n.name + "' for event " + std::to_string(event.id) + ": " +
                           why);
      }
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
    for (const auto& address : n.recipients.addresses) {
      bool listed = std::any_of(recipients.begin(), recipients.end(),
                                [&](const nlohmann::json& r) { return r.value("address", "") == address; });
      if (!listed) recipients.push_back({{"identity", ""}, {"address", address}, {"name", ""}});
    }
    for (size_t e = 0; e < n.endpoints.size(); ++e) {
      const std::string& endpoint = n.endpoints[e];
      const config::EndpointConfig* ep = runtime.endpoint(endpoint);
      bool ordered = ep && ep->ordered;
      if (ep && ep->per_recipient && recipients.is_array() && !recipients.empty()) {
        // One notification each: its own retries, its own order, one message per person.
        for (const auto& r : recipients) {
          state::IngestItem::Target t(n.name, endpoint, m.rule, nlohmann::json::array({r}), ordered);
          t.order_scope = r.value("address", "");
          targets.push_back(std::move(t));
        }
      } else if (e + 1 == n.endpoints.size()) {
        targets.emplace_back(n.name, endpoint, std::move(m.rule), std::move(recipients), ordered);
      } else {
        targets.emplace_back(n.name, endpoint, m.rule, recipients, ordered);
      }
    }
  }
  return targets;
}

}  // namespace herald::daemon
