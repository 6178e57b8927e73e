// actatlas: the command line. Dispatches to the subcommands registered by cmd_*.cpp and
// turns exceptions into the documented exit statuses.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

//! One line "actatlas <command>: <problem>", without repeating the command when the
//! message already starts with it.
void print_error(const std::string& name, std::string message, const char* kind = "") {
  if (message.rfind(name + ": ", 0) == 0) message.erase(0, name.size() + 2);
  std::fprintf(stderr, "actatlas %s: %s%s\n", name.c_str(), kind, message.c_str());
}

void print_overview() {
  std::printf("actatlas: activation atlases for image classifiers\n\nusage: actatlas <command> [options]\n\ncommands:\n");
  for (const auto& [name, c] : cli::registry()) std::printf("  %-14s %s\n", name.c_str(), c.summary.c_str());
  std::printf("\n`actatlas <command> --help` shows a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_overview();
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_overview();
    return 0;
  }
  auto it = cli::registry().find(name);
  if (it == cli::registry().end()) {
    std::fprintf(stderr, "actatlas: unknown command '%s' (see actatlas --help)\n", name.c_str());
    return 2;
  }
  std::vector<std::string> rest(argv + 2, argv + argc);
  for (const auto& a : rest)
    if (a == "--help" || a == "-h") {
      std::printf("%s\n", it->second.usage.c_str());
      return 0;
    }
  try {
    return it->second.run(rest);
  } catch (const cli::usage_error& e) {
    print_error(name, e.what());
    return 2;
  } catch (const actatlas::input_error& e) {
    print_error(name, e.what());
    return 2;
  } catch (const std::exception& e) {
    print_error(name, e.what(), "internal error: ");
    return 1;
  }
}
