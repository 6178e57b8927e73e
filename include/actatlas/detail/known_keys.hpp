/// @file detail/known_keys.hpp
/// Metadata a user writes by hand (or with a script of their own) is checked against the
/// keys the library knows: a misspelt key ("classes" for "class_names") would otherwise be
/// ignored without a word and its value lost. The error names the closest known key.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"

namespace actatlas::detail {

//! Levenshtein distance (insert, delete, substitute), byte-wise.
inline std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

//! The entry of `known` (not empty) closest to `name` by edit distance, ignoring case;
//! ties keep the order of `known`.
inline std::string_view closest_key(std::string_view name, std::span<const std::string_view> known) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view best = known.front();
  std::size_t best_distance = levenshtein(lower, best);
  for (const auto k : known.subspan(1)) {
    if (const auto d = levenshtein(lower, k); d < best_distance) best = k, best_distance = d;
  }
  return best;
}

//! Throws input_error(where, "<what>: unknown key "k" (closest: "c"; known keys: a, b)")
//! for the first of `keys` that `known` lacks.
inline void check_known_keys(const std::vector<std::string>& keys, std::span<const std::string_view> known,
                             const std::string& where, const std::string& what) {
  for (const std::string_view k : keys) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string list;
    for (const auto n : known) list.append(list.empty() ? "" : ", ").append(n);
    throw input_error(where, what + ": unknown key \"" + std::string(k) + "\" (closest: \"" +
                                 std::string(closest_key(k, known)) + "\"; known keys: " + list + ")");
  }
}

}  // namespace actatlas::detail
