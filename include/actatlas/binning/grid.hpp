/// @file binning/grid.hpp
/// `binning::grid`: the article's square G×G grid over the unit-square layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../concepts/binning.hpp"
#include "../error.hpp"
#include "detail/assign.hpp"

namespace actatlas::binning {

//! The largest grid a level may have, in cells a side: 4096² ≈ 16.8 million cells, whose
//! per-cell counters alone take 67 MB; beyond it a grid has far more cells than any
//! collection has samples.
inline constexpr std::size_t max_grid_size = 4096;

namespace detail {
//! Cells of one G×G grid holding at least `min_count` points, row-major in (iy, ix).
inline grid_level bin_level(matrix_cref unit_layout, std::size_t grid, std::size_t min_count) {
  if (unit_layout.cols() != 2)
    throw input_error("layout", "binning needs 2 columns, got " + std::to_string(unit_layout.cols()));
  if (grid == 0) throw input_error("binning.grid_size", "must be at least 1");
  if (grid > max_grid_size)
    throw input_error("binning.grid_size", std::to_string(grid) + " cells a side is more than the limit of " +
                                               std::to_string(max_grid_size));
  const auto g = static_cast<std::uint32_t>(grid);  // ≤ 4096, so iy·g + ix fits in 32 bits
  // Counting sort by cell: one pass to count, one to place, so member lists stay in
  // increasing sample order and memory is exactly N ids.
  std::vector<std::uint32_t> cell_of(unit_layout.rows());
  std::vector<std::uint32_t> counts(grid * grid, 0);
  for (std::size_t i = 0; i < unit_layout.rows(); ++i) {
    const auto ix = actatlas::detail::bin_of(unit_layout(i, 0), g);
    const auto iy = actatlas::detail::bin_of(unit_layout(i, 1), g);
    cell_of[i] = iy * g + ix;
    ++counts[cell_of[i]];
  }
  grid_level level;
  level.grid = grid;
  level.samples = unit_layout.rows();
  std::vector<std::int64_t> slot(grid * grid, -1);
  for (std::uint32_t c = 0; c < grid * grid; ++c) {
    if (counts[c] == 0 || counts[c] < min_count) continue;
    slot[c] = static_cast<std::int64_t>(level.cells.size());
    cell out;
    out.ix = c % g;
    out.iy = c / g;
    out.members.reserve(counts[c]);
    level.cells.push_back(std::move(out));
  }
  for (std::size_t i = 0; i < unit_layout.rows(); ++i)
    if (slot[cell_of[i]] >= 0) level.cells[static_cast<std::size_t>(slot[cell_of[i]])].members.push_back(static_cast<std::uint32_t>(i));
  return level;
}
}  // namespace detail

//! One G×G grid.
class grid {
 public:
  using role = actatlas::role::binning;
  static constexpr std::string_view name = "grid";

  struct options {
    std::size_t grid_size = 20;  //!< G, cells per side (the article's default atlas is 20×20 at its coarsest)
    std::size_t min_count = 3;   //!< cells with fewer members are dropped: their mean is too noisy to invert
  };

  // Two constructors rather than `options o = {}`: GCC rejects a default argument
  // built from a nested aggregate's member initialisers inside the enclosing class.
  grid() = default;
  explicit grid(options o) : options_(o) {}
  const options& opts() const noexcept { return options_; }
  options& opts() noexcept { return options_; }

  //! One level: the occupied cells of the grid.
  std::vector<grid_level> bin(matrix_cref unit_layout) const {
    return {detail::bin_level(unit_layout, options_.grid_size, options_.min_count)};
  }

 private:
  options options_{};
};

}  // namespace actatlas::binning
