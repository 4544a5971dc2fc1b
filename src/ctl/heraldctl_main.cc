// heraldctl: operate Herald (validate, emit, render, inspect, retry, cancel)
// and run a receiving test endpoint (sink).
#include <iostream>
#include <string>

#include "common/logging.h"
#include "ctl/commands.h"

int main(int argc, char** argv) {
  herald::ctl::Invocation inv;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      inv.config_path = argv[++i];
    } else if (a == "-h" || a == "--help") {
      herald::ctl::usage(std::cout);
      return 0;
    } else {
      break;
    }
  }
  if (i >= argc) {
    herald::ctl::usage(std::cerr);
    return 2;
  }
  inv.command = argv[i++];
  for (; i < argc; ++i) inv.args.emplace_back(argv[i]);
  herald::setup_logging("warn");
  return herald::ctl::run(inv, std::cout, std::cerr);
}
