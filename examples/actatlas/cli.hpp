// The actatlas program's small framework: a registry of subcommands and an argument
// parser. Each subcommand lives in its own cmd_<name>.cpp and registers itself with
//
//   static const bool registered = cli::add_command({"layout", "N×D activations to an N×2 layout",
//                                                    usage_text, run_layout});
//
// Exit statuses: 0 success, 2 bad usage or bad input (one line naming the file or
// argument and the problem: throw actatlas::input_error or cli::usage_error), 1 an
// internal error (any other exception).
#pragma once

#include <actatlas/error.hpp>

#include <charconv>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cli {

//! Bad command-line usage; printed as one line and answered with exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

//! Parsed `--name value` / `--flag` arguments of one subcommand.
class args {
 public:
  //! `flags` are the options that take no value; every other `--x` takes one.
  args(std::string command, const std::vector<std::string>& argv, std::set<std::string> flags = {})
      : command_(std::move(command)), flags_(std::move(flags)) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "-h" || a == "--help") { help_ = true; continue; }
      if (a.rfind("--", 0) != 0) { positional_.push_back(a); continue; }
      std::string key = a.substr(2), value;
      if (auto eq = key.find('='); eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else if (flags_.count(key)) {
        value = "1";
      } else {
        if (i + 1 >= argv.size()) throw usage_error("--" + key + " needs a value");
        value = argv[++i];
      }
      values_[key] = value;
    }
  }

  bool help() const { return help_; }
  bool has(const std::string& key) const { used_.insert(key); return values_.count(key) != 0; }
  bool flag(const std::string& key) const { return has(key); }

  std::string str(const std::string& key, std::optional<std::string> fallback = std::nullopt) const {
    used_.insert(key);
    if (auto it = values_.find(key); it != values_.end()) return it->second;
    if (fallback) return *fallback;
    throw usage_error("--" + key + " is required (see actatlas " + command_ + " --help)");
  }

  template <class T>
  T number(const std::string& key, std::optional<T> fallback = std::nullopt) const {
    used_.insert(key);
    auto it = values_.find(key);
    if (it == values_.end()) {
      if (fallback) return *fallback;
      throw usage_error("--" + key + " is required (see actatlas " + command_ + " --help)");
    }
    const std::string& text = it->second;
    T value{};
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size())
      throw usage_error("--" + key + " expects a number, got '" + text + "'");
    return value;
  }

  const std::vector<std::string>& positional() const { return positional_; }

  //! Call after reading every option: an option nobody asked for is a typo.
  void reject_unknown() const {
    for (const auto& [key, value] : values_)
      if (!used_.count(key)) throw usage_error("unknown option --" + key + " (see actatlas " + command_ + " --help)");
  }

 private:
  std::string command_;
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  mutable std::set<std::string> used_;
  bool help_ = false;
};

struct command {
  std::string name;
  std::string summary;  //!< one line for `actatlas --help`
  std::string usage;    //!< the text of `actatlas <name> --help`
  std::function<int(const std::vector<std::string>& argv)> run;
};

inline std::map<std::string, command>& registry() {
  static std::map<std::string, command> commands;
  return commands;
}

inline bool add_command(command c) {
  auto name = c.name;
  registry().emplace(std::move(name), std::move(c));
  return true;
}

}  // namespace cli
