/// @file detail/percentile.hpp
/// Percentiles with numpy's default ("linear") interpolation, so that layouts and
/// comparison axes match what a numpy user computes from the same `.npy` files.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace actatlas::detail {

//! The p-th percentile (p in [0, 100]) of `values`, which is reordered.
inline double percentile_inplace(std::vector<double>& values, double p) {
  if (values.empty()) throw std::invalid_argument("percentile of an empty set");
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double at_lo = values[lo];
  if (hi == lo) return at_lo;
  // The next order statistic is the minimum of the part after `lo`.
  const double at_hi = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return at_lo + (rank - static_cast<double>(lo)) * (at_hi - at_lo);
}

}  // namespace actatlas::detail
