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
    std::vector<grid_level> out;
    std::size_t g = options_.base_grid;
    for (std::size_t k = 0; k < options_.levels; ++k, g *= 2)
      out.push_back(detail::bin_level(unit_layout, g, options_.min_count));
    return out;
  }

 private:
  options options_{};
};

}  // namespace actatlas::binning
