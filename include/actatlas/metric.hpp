/// @file metric.hpp
/// The distance used between activation vectors by reducers and neighbour searches.
#pragma once

#include <string_view>

#include "error.hpp"

namespace actatlas {

//! Euclidean distance, or cosine distance 1 − cos(a, b) (the article's choice for most layers).
enum class metric { euclidean, cosine };

inline constexpr std::string_view to_string(metric m) { return m == metric::cosine ? "cosine" : "euclidean"; }

//! Parses "cosine" or "euclidean"; anything else is an input_error naming `where`.
inline metric parse_metric(std::string_view text, const std::string& where = "metric") {
  if (text == "cosine") return metric::cosine;
  if (text == "euclidean") return metric::euclidean;
  throw input_error(where, "unknown metric '" + std::string(text) + "' (expected cosine or euclidean)");
}

}  // namespace actatlas
