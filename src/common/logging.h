// Log set-up shared by heraldd and heraldctl: everything goes to stderr.
#pragma once

#include <string>

namespace herald {

// level: trace, debug, info, warn, error. Unknown names mean info.
void setup_logging(const std::string& level);

}  // namespace herald
