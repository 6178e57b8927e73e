/// @file binning/detail/assign.hpp
/// The one rule that puts a point of the unit square into a cell of a G×G grid.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace actatlas::detail {

//! Bin of coordinate u in [0, 1] among G half-open bins [k/G, (k+1)/G), the last one
//! closed so that u = 1 lands in bin G−1: every point lands in exactly one cell.
//! Because floor(u·2G) / 2 == floor(u·G) exactly (scaling by two is exact in floating
//! point), grids of G, 2G, 4G, … nest exactly.
inline std::uint32_t bin_of(float u, std::uint32_t grid) {
  const double scaled = std::floor(static_cast<double>(u) * grid);
  return static_cast<std::uint32_t>(std::clamp(scaled, 0.0, static_cast<double>(grid - 1)));
}

}  // namespace actatlas::detail
