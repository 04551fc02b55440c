// hubstats: command-line client of the hubstats Statistics API.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::map<std::string, std::string> env;
  for (const char* name : {"HUBSTATS_URL", "HUBSTATS_TOKEN", "HUBSTATS_ADMIN_TOKEN"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  return hubstats::cli::run(args, env, std::cout, std::cerr);
}
