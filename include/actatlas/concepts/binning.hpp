/// @file concepts/binning.hpp
/// The binning role: a layout normalised to the unit square (N×2, see `normalise_layout`)
/// to one or more grid levels of cells, each cell holding the ids of its member samples.
///
/// Minimal complete definition:
/// @code
/// struct my_binning {
///   using role = actatlas::role::binning;
///   static constexpr std::string_view name = "my_binning";
///   struct options {};
///   std::vector<actatlas::grid_level> bin(actatlas::matrix_cref unit_layout) const;
/// };
/// @endcode
/// Models: `binning::grid` (one level), `binning::multires_grid` (20, 40, 80, … a side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../matrix.hpp"
#include "roles.hpp"

namespace actatlas {

//! One occupied grid cell: column ix (from the left), row iy (from the top of the picture,
//! i.e. layout y grows downward) and the ids (rows of the activation set) of its members.
struct cell {
  std::uint32_t ix = 0;
  std::uint32_t iy = 0;
  std::vector<std::uint32_t> members;
};

//! The occupied cells of one G×G grid, in row-major order of (iy, ix).
struct grid_level {
  std::size_t grid = 0;       //!< G, cells per side
  std::size_t samples = 0;    //!< N, the number of points binned (for density)
  std::vector<cell> cells;
};

template <class B>
concept binning_policy = plays_role<B, role::binning> && requires(const B& b, matrix_cref layout) {
  { b.bin(layout) } -> std::same_as<std::vector<grid_level>>;
};

}  // namespace actatlas
