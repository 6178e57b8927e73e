/// @file compare_axis.hpp
/// The horizontal axis of the article's two-class comparison ("snorkel" vs "scuba
/// diver"): per sample, attribution to A minus attribution to B, divided by the 99th
/// percentile of its absolute value and clipped to [-1, 1], so that a few extreme
/// samples cannot squeeze everyone else into the middle column. Positive means "pulls
/// toward A".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/percentile.hpp"
#include "error.hpp"
#include "matrix.hpp"

namespace actatlas {

//! One value in [-1, 1] per row of `attributions` (N×C), or per row in `rows` when given.
inline std::vector<float> compare_axis(matrix_cref attributions, std::size_t class_a, std::size_t class_b,
                                       const std::vector<std::uint32_t>& rows = {}) {
  for (auto c : {class_a, class_b})
    if (c >= attributions.cols())
      throw input_error("compare_axis", "class index " + std::to_string(c) + " is out of range (the model has " +
                                         std::to_string(attributions.cols()) + " classes)");
  const std::size_t n = rows.empty() ? attributions.rows() : rows.size();
  if (n == 0) throw input_error("compare_axis", "no samples to compare");
  std::vector<double> diff(n), magnitude(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = rows.empty() ? i : rows[i];
    diff[i] = static_cast<double>(attributions(r, class_a)) - static_cast<double>(attributions(r, class_b));
    magnitude[i] = std::abs(diff[i]);
  }
  const double scale = detail::percentile_inplace(magnitude, 99.0);
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = scale > 0 ? static_cast<float>(std::clamp(diff[i] / scale, -1.0, 1.0)) : 0.f;
  return out;
}

}  // namespace actatlas
