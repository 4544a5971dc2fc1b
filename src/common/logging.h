// Log set-up shared by heraldd and heraldctl: everything goes to stderr.
#pragma once

#include <string>

namespace herald {

// level: trace, debug, info, warn, error. Unknown names mean info. When stderr
// is the journal (JOURNAL_STREAM), lines carry a syslog priority prefix such as
// "<4>" and no timestamp.
void setup_logging(const std::string& level);

// True when stderr is the stream systemd's JOURNAL_STREAM names.
bool stderr_is_journal();

}  // namespace herald
