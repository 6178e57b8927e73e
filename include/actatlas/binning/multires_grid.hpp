/// @file binning/multires_grid.hpp
/// `binning::multires_grid`: grids of G, 2G, 4G, … cells a side over the same layout,
/// one per zoom level of the viewer. Because each level doubles the previous one, a
/// cell at level k is exactly the union of its four children at level k+1 (before
/// cells below the minimum count are dropped).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "grid.hpp"

namespace actatlas::binning {

class multires_grid {
 public:
  using role = actatlas::role::binning;
  static constexpr std::string_view name = "multires_grid";

  struct options {
    std::size_t base_grid = 20;  //!< cells per side at the coarsest level
    std::size_t levels = 4;      //!< 20, 40, 80, 160 by default
    std::size_t min_count = 3;   //!< per level, cells with fewer members are dropped
  };

  // Two constructors rather than `options o = {}`: GCC rejects a default argument
  // built from a nested aggregate's member initialisers inside the enclosing class.
  multires_grid() = default;
  explicit multires_grid(options o) : options_(o) {}
  const options& opts() const noexcept { return options_; }
  options& opts() noexcept { return options_; }

  //! Levels from coarse to fine.
  std::vector<grid_level> bin(matrix_cref unit_layout) const {
    check();
    std::vector<grid_level> out;
    std::size_t g = options_.base_grid;
    for (std::size_t k = 0; k < options_.levels; ++k, g *= 2)
      out.push_back(detail::bin_level(unit_layout, g, options_.min_count));
    return out;
  }

  //! The finest level's grid, G·2^(levels−1); input_error beyond binning::max_grid_size.
  std::size_t finest_grid() const {
    check();
    return options_.base_grid << (options_.levels - 1);
  }

 private:
  void check() const {
    if (options_.base_grid == 0) throw input_error("binning::multires_grid.base_grid", "must be at least 1");
    if (options_.levels == 0) throw input_error("binning::multires_grid.levels", "must be at least 1");
    // Shift level by level so that a huge `levels` cannot overflow before the comparison.
    std::size_t g = options_.base_grid;
    for (std::size_t k = 1; k < options_.levels && g <= max_grid_size; ++k) g *= 2;
    if (g > max_grid_size)
      throw input_error("binning::multires_grid.levels",
                        "the finest of " + std::to_string(options_.levels) + " levels over a base grid of " +
                            std::to_string(options_.base_grid) + " would have more than " + std::to_string(max_grid_size) +
                            " cells a side, the limit (base_grid × 2^(levels − 1) ≤ " + std::to_string(max_grid_size) + ")");
  }

  options options_{};
};

}  // namespace actatlas::binning
