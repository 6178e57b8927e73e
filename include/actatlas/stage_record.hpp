/// @file stage_record.hpp
/// What made a stage's output. Each stage of a pipeline run over folders writes, next to
/// its output, a record: the stage's name, the options of the policies and settings that
/// shaped it, and the fingerprints of the files it read (io/fingerprint.hpp). A later run
/// computes the record it would write; when the one on disk is equal and the output is
/// there, the stage is reused, otherwise it is redone, and either way the pipeline says
/// which and why (`stage_report`, e.g. "layout: redone (reducer.options.n_neighbors was 15,
/// now 50)").
///
/// A policy is described by its name and its options as JSON: the built-in policies'
/// options convert through detail/policy_json.hpp; a policy of your own can give a
/// `nlohmann::json describe() const` or a `to_json` for its options type. A policy that
/// gives neither cannot be compared, so a stage that uses it is always redone (and says so).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "detail/policy_json.hpp"
#include "io/atomic_file.hpp"

namespace actatlas {

//! What a stage did: reused its output on disk, or (re)made it, and why.
struct stage_report {
  std::string stage;     //!< "collect", "layout", "render"
  bool reused = false;
  std::string why;       //!< e.g. "same options and inputs", "no earlier output", "layer was conv3, now conv4"
  std::string text() const { return stage + ": " + (reused ? "reused" : "done") + " (" + why + ")"; }
};

//! Receives one report per stage as the stage starts its work (or decides to reuse).
using stage_fn = std::function<void(const stage_report&)>;

namespace detail {
//! The options entry of a policy that cannot describe them: never equal to anything.
inline constexpr const char* not_described = "(not described by the policy)";
}  // namespace detail

//! A policy's name and options (`detail::not_described` when it cannot describe them).
template <class P>
nlohmann::json describe_policy(const P& p) {
  nlohmann::json j{{"name", std::string(P::name)}};
  if constexpr (requires { P::power; }) j["power"] = P::power;
  if constexpr (requires { { p.describe() } -> std::convertible_to<nlohmann::json>; })
    j["options"] = p.describe();
  else if constexpr (requires { nlohmann::json(p.opts()); })
    j["options"] = nlohmann::json(p.opts());
  else if constexpr (std::is_empty_v<typename P::options>)
    j["options"] = nlohmann::json::object();
  else
    j["options"] = detail::not_described;
  return j;
}

namespace detail {

//! The first record entries that differ, as "key was X, now Y" (at most three), or "".
//! `not_described` values anywhere cannot be compared and always differ.
inline std::string record_differences(const nlohmann::json& before, const nlohmann::json& now) {
  std::string out;
  int shown = 0;
  const auto flat_before = before.flatten(), flat_now = now.flatten();
  auto note = [&](const std::string& key, const std::string& text) {
    if (shown++ < 3) out += (out.empty() ? "" : "; ") + text;
    else if (shown == 4) out += "; …";
    (void)key;
  };
  // flatten()'s keys are JSON pointers ("/reducer/options/seed"); an empty record flattens
  // to the root pointer "", which has no leading '/' (found by fuzz/records.cpp: a record
  // file holding `{}` threw std::out_of_range out of the reuse decision).
  const auto pointer_name = [](const std::string& key) { return key.empty() ? std::string("(the record)") : key.substr(1); };
  for (const auto& [key, value] : flat_now.items()) {
    const std::string name = pointer_name(key);
    std::string dotted = name;
    for (auto& c : dotted) if (c == '/') c = '.';
    if (value.is_string() && value.get<std::string>() == not_described) {
      note(name, dotted + " cannot be compared (the policy does not describe its options)");
      continue;
    }
    if (!flat_before.contains(key)) note(name, dotted + " is new");
    else if (flat_before.at(key) != value)
      note(name, dotted + " was " + flat_before.at(key).dump() + ", now " + value.dump());
  }
  for (const auto& [key, value] : flat_before.items())
    if (!flat_now.contains(key)) {
      std::string dotted = pointer_name(key);
      for (auto& c : dotted) if (c == '/') c = '.';
      note(key, dotted + " is gone");
    }
  return out;
}

//! The record at `path`, or nothing when it is absent or unreadable (then the stage reruns).
inline std::optional<nlohmann::json> read_record(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

inline void write_record(const std::filesystem::path& path, const nlohmann::json& record) {
  io::atomic_write(path, [&](std::ostream& out) { out << record.dump(2) << '\n'; });
}

//! Decides reuse: compares the record on disk (without the entries listed in `results`,
//! which are outputs, not inputs) with the one this run would write.
inline stage_report decide(const std::string& stage, const std::optional<nlohmann::json>& on_disk, const nlohmann::json& wanted,
                           bool output_present, std::initializer_list<const char*> results = {}) {
  if (!on_disk || !output_present) return {stage, false, on_disk ? "its output is missing" : "no earlier output"};
  nlohmann::json before = *on_disk;
  for (const char* r : results) before.erase(r);
  const std::string diff = record_differences(before, wanted);
  if (diff.empty()) return {stage, true, "same options and inputs"};
  return {stage, false, diff};
}

}  // namespace detail

}  // namespace actatlas
