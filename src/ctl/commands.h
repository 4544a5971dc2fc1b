// heraldctl's commands. Each returns the process exit code: 0 success,
// 1 failure, 2 bad usage.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace herald::ctl {

struct Invocation {
  std::string config_path;
  std::string command;
  std::vector<std::string> args;  // after the command
};

int run(const Invocation& inv, std::ostream& out, std::ostream& err);

void usage(std::ostream& out);

}  // namespace herald::ctl
