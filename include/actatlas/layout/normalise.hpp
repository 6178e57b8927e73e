/// @file layout/normalise.hpp
/// A reducer's layout has arbitrary units and a few far outliers. Before binning, each
/// axis is clipped to its 1st..99th percentile widened by a margin, then scaled to
/// [0, 1], as in the reference notebooks (lucid's `normalize_layout`), so that a handful
/// of stray points cannot shrink the rest of the atlas into a corner.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../detail/percentile.hpp"
#include "../error.hpp"
#include "../matrix.hpp"

namespace actatlas {

struct normalise_options {
  double low_percentile = 1.0;    //!< lower clip, before the margin
  double high_percentile = 99.0;  //!< upper clip, before the margin
  double margin = 0.1;            //!< widening of the clip range on each side, as a fraction of it

  //! Min to max, no clipping, no margin: for layouts already placed in a frame of their
  //! own (the comparison axis, the aligned pair), which clipping would distort.
  static normalise_options full_range() { return {.low_percentile = 0.0, .high_percentile = 100.0, .margin = 0.0}; }
};

//! Returns the layout (N×dims) clipped and scaled to [0, 1] per axis. An axis on which
//! every point has the same value maps to 0.5.
inline matrix normalise_layout(matrix_cref layout, const normalise_options& o = {}) {
  const std::size_t n = layout.rows(), dims = layout.cols();
  if (n == 0) throw input_error("layout", "is empty");
  matrix out = matrix::from_shape({n, dims});
  std::vector<double> column(n);
  for (std::size_t j = 0; j < dims; ++j) {
    for (std::size_t i = 0; i < n; ++i) column[i] = layout(i, j);
    const double lo_p = detail::percentile_inplace(column, o.low_percentile);
    const double hi_p = detail::percentile_inplace(column, o.high_percentile);
    const double range = hi_p - lo_p;
    const double lo = lo_p - o.margin * range, hi = hi_p + o.margin * range;
    // After clipping, the extremes present are the new min and max (lucid rescales by
    // the clipped data's own min and max, so the atlas always spans the full square).
    double mn = hi, mx = lo;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = std::clamp<double>(layout(i, j), lo, hi);
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    const double span = mx - mn;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = std::clamp<double>(layout(i, j), lo, hi);
      out(i, j) = span > 0 ? static_cast<float>((v - mn) / span) : 0.5f;
    }
  }
  return out;
}

}  // namespace actatlas
