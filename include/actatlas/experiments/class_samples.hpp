/// @file experiments/class_samples.hpp
/// Which samples enter a class activation atlas: the article's two filters and their
/// combination.
///
/// - `rank`: samples whose largest attribution is to class c (what contributes *mostly* to
///   c, even weakly, like background detectors);
/// - `magnitude`: the top N samples by attribution to c (what contributes *strongly*, even
///   when it contributes more to another class, like fish for "snorkel");
/// - `both`: the rank-filtered samples, then the top N of those by attribution to c.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../filter/magnitude.hpp"
#include "../filter/rank.hpp"
#include "../matrix.hpp"

namespace actatlas::experiments {

enum class class_filter { rank, magnitude, both };

inline class_filter parse_class_filter(std::string_view text) {
  if (text == "rank") return class_filter::rank;
  if (text == "magnitude") return class_filter::magnitude;
  if (text == "both") return class_filter::both;
  throw input_error("--filter", "must be rank, magnitude or both, got '" + std::string(text) + "'");
}

inline std::string_view filter_name(class_filter f) {
  switch (f) {
    case class_filter::rank: return "rank";
    case class_filter::magnitude: return "magnitude";
    case class_filter::both: return "both";
  }
  return "rank";
}

//! The sample ids (ascending) that `f` keeps for class `cls`; top_n bounds magnitude and both.
inline std::vector<std::uint32_t> select_class_samples(matrix_cref attributions, std::size_t cls, class_filter f,
                                                       std::size_t top_n = 2000) {
  if (f == class_filter::magnitude) return filter::magnitude({.cls = cls, .top_n = top_n}).select(attributions);
  auto kept = filter::rank({.cls = cls}).select(attributions);
  if (f == class_filter::both && kept.size() > top_n) {
    auto larger = [&](std::uint32_t a, std::uint32_t b) {
      return attributions(a, cls) > attributions(b, cls) || (attributions(a, cls) == attributions(b, cls) && a < b);
    };
    std::nth_element(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(top_n), kept.end(), larger);
    kept.resize(top_n);
    std::sort(kept.begin(), kept.end());
  }
  return kept;
}

//! The union (ascending) of two sorted id lists: the samples of a two-class comparison.
inline std::vector<std::uint32_t> merge_samples(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  std::vector<std::uint32_t> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace actatlas::experiments
