/// @file experiments/class_names.hpp
/// Classes named on the command line: by name (as the model's class list spells it) or by
/// logit index. An unknown name is answered with one line that lists a few close names,
/// so that a typo ("scuba_diver", "snorkle") is fixed at once.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/known_keys.hpp"
#include "../error.hpp"

namespace actatlas::experiments {

namespace detail {

inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace detail

//! Up to `count` class names closest to `text`: names containing it (or contained in it)
//! first, then by edit distance; ties keep the class order.
inline std::vector<std::string> close_class_names(std::string_view text, const std::vector<std::string>& names,
                                                  std::size_t count = 5) {
  const std::string t = detail::lowercase(text);
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // (score, index)
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string n = detail::lowercase(names[i]);
    const bool contains = !t.empty() && (n.find(t) != std::string::npos || t.find(n) != std::string::npos);
    scored.emplace_back(contains ? 0 : 1 + actatlas::detail::levenshtein(t, n), i);
  }
  std::stable_sort(scored.begin(), scored.end(), [](auto a, auto b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t k = 0; k < std::min(count, scored.size()); ++k) out.push_back(names[scored[k].second]);
  return out;
}

//! The logit index of the class `text` names: an exact name (case-sensitive first, then
//! case-insensitive, and a name's part before its first comma, as ImageNet lists
//! synonyms), or a number below the class count. `where` names the argument in errors.
inline std::size_t resolve_class(std::string_view text, const std::vector<std::string>& names, const std::string& where) {
  if (names.empty()) throw input_error(where, "the model lists no classes");
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return i;
  const std::string lower = detail::lowercase(text);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string n = detail::lowercase(names[i]);
    if (n == lower || n.substr(0, n.find(',')) == lower) return i;
  }
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
    if (index < names.size()) return index;
    throw input_error(where, "class index " + std::string(text) + " is out of range (the model has " +
                                 std::to_string(names.size()) + " classes)");
  }
  std::string close;
  for (const auto& n : close_class_names(text, names)) close += (close.empty() ? "" : ", ") + n;
  throw input_error(where, "no class named '" + std::string(text) + "' (closest: " + close + ")");
}

//! Splits "a,b" into its two parts ("--classes A,B"); input_error unless exactly two.
inline std::pair<std::string, std::string> split_pair(std::string_view text, const std::string& where) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos || text.find(',', comma + 1) != std::string_view::npos || comma == 0 ||
      comma + 1 == text.size())
    throw input_error(where, "expects two classes separated by one comma (A,B), got '" + std::string(text) + "'");
  return {std::string(text.substr(0, comma)), std::string(text.substr(comma + 1))};
}

}  // namespace actatlas::experiments
