// An end-to-end set-up: a producer database, a mapping, a config pointing at
// a real HTTP server on 127.0.0.1, and the real rest plugin.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "support/test_env.h"

namespace herald::test {

struct Scenario {
  std::string sink_url;  // e.g. "http://127.0.0.1:PORT"
  std::vector<std::string> retry_schedule = {"1s", "2s"};
  std::string plugin_dir = HERALD_TEST_PLUGIN_DIR;
  std::string poll_interval = "500ms";  // fallback check of the outbox
  std::string extra_toml;               // appended verbatim
};

// The mapping used by the end-to-end tests (Event data source only).
extern const char* kPersonAddedMapping;

// Writes producer.db, person_added.xml and herald.toml into dir; returns the
// config path.
std::string write_scenario(const TempDir& dir, const Scenario& s);

// Runs an in-process daemon's loop until pred() holds or the deadline passes;
// returns pred().
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
               std::chrono::milliseconds deadline = std::chrono::seconds(15));

}  // namespace herald::test
