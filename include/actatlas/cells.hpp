/// @file cells.hpp
/// What the atlas shows for each cell: the mean of its members' activations (the
/// direction feature inversion renders), the mean of their attributions (which
/// classes the cell supports), its count and its density.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "concepts/binning.hpp"
#include "error.hpp"
#include "matrix.hpp"

namespace actatlas {

//! The aggregate of one cell.
struct cell_summary {
  std::uint32_t ix = 0, iy = 0;
  std::size_t count = 0;
  //! count · G² / N: 1 where the cell holds its share of a uniform spread, more where
  //! points crowd. The viewer sizes icons by min(1, √density).
  double density = 0.0;
  std::vector<float> mean_activation;   //!< D values
  std::vector<float> mean_attribution;  //!< C values (empty when no attributions were given)

  //! The k classes with the largest mean attribution, largest first, as (class, value).
  std::vector<std::pair<std::size_t, float>> top_classes(std::size_t k) const {
    std::vector<std::size_t> order(mean_attribution.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    k = std::min(k, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t a, std::size_t b) {
                        return mean_attribution[a] > mean_attribution[b] || (mean_attribution[a] == mean_attribution[b] && a < b);
                      });
    std::vector<std::pair<std::size_t, float>> out;
    for (std::size_t i = 0; i < k; ++i) out.emplace_back(order[i], mean_attribution[order[i]]);
    return out;
  }
};

//! Means over each cell's members. `activations` is N×D and `attributions` N×C or empty;
//! member ids index their rows. Sums run in double so that cells of a million members
//! average as accurately as small ones. Works on memory-mapped inputs (matrix_cref).
inline std::vector<cell_summary> summarise(const grid_level& level, matrix_cref activations,
                                           matrix_cref attributions = {}) {
  const bool with_attr = !attributions.empty();
  if (with_attr && attributions.rows() != activations.rows())
    throw input_error("attributions", "has " + std::to_string(attributions.rows()) + " rows but activations have " +
                                          std::to_string(activations.rows()));
  std::vector<cell_summary> out;
  out.reserve(level.cells.size());
  const double g2 = static_cast<double>(level.grid) * static_cast<double>(level.grid);
  std::vector<double> acc_a(activations.cols()), acc_t(with_attr ? attributions.cols() : 0);
  for (const auto& c : level.cells) {
    cell_summary s;
    s.ix = c.ix;
    s.iy = c.iy;
    s.count = c.members.size();
    s.density = level.samples ? static_cast<double>(s.count) * g2 / static_cast<double>(level.samples) : 0.0;
    std::fill(acc_a.begin(), acc_a.end(), 0.0);
    std::fill(acc_t.begin(), acc_t.end(), 0.0);
    for (auto id : c.members) {
      if (id >= activations.rows())
        throw input_error("cells", "member id " + std::to_string(id) + " is beyond the " +
                                       std::to_string(activations.rows()) + " activation rows");
      auto a = activations.row(id);
      for (std::size_t j = 0; j < a.size(); ++j) acc_a[j] += a[j];
      if (with_attr) {
        auto t = attributions.row(id);
        for (std::size_t j = 0; j < t.size(); ++j) acc_t[j] += t[j];
      }
    }
    const double inv = s.count ? 1.0 / static_cast<double>(s.count) : 0.0;
    s.mean_activation.resize(acc_a.size());
    for (std::size_t j = 0; j < acc_a.size(); ++j) s.mean_activation[j] = static_cast<float>(acc_a[j] * inv);
    s.mean_attribution.resize(acc_t.size());
    for (std::size_t j = 0; j < acc_t.size(); ++j) s.mean_attribution[j] = static_cast<float>(acc_t[j] * inv);
    out.push_back(std::move(s));
  }
  return out;
}

//! The mean activations of all cells as one matrix (cells × D), the batch that feature
//! inversion renders.
inline matrix directions(const std::vector<cell_summary>& cells) {
  const std::size_t d = cells.empty() ? 0 : cells.front().mean_activation.size();
  matrix out = matrix::from_shape({cells.size(), d});
  for (std::size_t i = 0; i < cells.size(); ++i)
    std::copy(cells[i].mean_activation.begin(), cells[i].mean_activation.end(), out.data() + i * d);
  return out;
}

}  // namespace actatlas
