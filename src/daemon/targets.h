// Which notifications one event creates: the matching configurations, each
// with its Rule.* values and resolved recipients. Shared by ingest and by
// `heraldctl replay`.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "daemon/runtime.h"
#include "state/state_store.h"

namespace herald::daemon {

// Problems that skip one configuration (a failing script, a recipient
// without address) are appended to `warnings`; a transient database error
// fails the whole call so that the event is tried again later.
// `on`: whose rules (see Runtime::matcher()).
Result<std::vector<state::IngestItem::Target>> targets_for(Runtime& runtime, const Event& event,
                                                           std::vector<std::string>& warnings,
                                                           Runtime::RenderOn on = Runtime::RenderOn::Caller);

}  // namespace herald::daemon
