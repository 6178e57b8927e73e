/// @file experiments/aligned_layout.hpp
/// Layouts of two layers (or two models) in which the same concept sits in the same place
/// — a step the article names as a limitation ("comparing layers").
///
/// Input: paired samples, row i of A (N×Da, layer a) and row i of B (N×Db, layer b) taken
/// at the same image position (the same receptive-field centre). Steps:
/// 1. each side is centred and scaled to unit mean squared row norm (Za, Zb), so that
///    neither layer dominates distances by its width or its activation scale;
/// 2. least-squares affine maps f: Za → Zb and g: Zb → Za (experiments/linear_map.hpp);
/// 3. every sample of layer a becomes [Za, f(Za)], every sample of layer b [g(Zb), Zb]:
///    both live in one (Da + Db)-dimensional space, each half written in the other
///    layer's terms too;
/// 4. one UMAP of the 2N stacked rows; the first N rows are layer a's layout, the last N
///    layer b's, put in one unit-square frame (layout_displacement.hpp: shared_frame).
/// The baseline, `independent_layouts`, runs one UMAP per layer.
#pragma once

#include <cmath>
#include <cstddef>
#include <utility>

#include "../error.hpp"
#include "../layout/normalise.hpp"
#include "../matrix.hpp"
#include "../progress.hpp"
#include "../reducer/umap.hpp"
#include "layout_displacement.hpp"
#include "linear_map.hpp"

namespace actatlas::experiments {

struct aligned_layout_options {
  linear_map_options map{};
  reducer::umap::options umap{};
};

struct aligned_layouts {
  matrix a, b;                 //!< N×2 each, one unit-square frame
  double explained_ab = 0;     //!< share of Zb's variance f(Za) explains
  double explained_ba = 0;     //!< share of Za's variance g(Zb) explains
};

//! Centred and scaled to unit mean squared row norm.
inline matrix standardise_rows(matrix_cref x) {
  const std::size_t n = x.rows(), d = x.cols();
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mean[j] += x(i, j);
  for (auto& m : mean) m /= static_cast<double>(n);
  double sq = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) sq += (x(i, j) - mean[j]) * (x(i, j) - mean[j]);
  const double scale = sq > 0 ? std::sqrt(static_cast<double>(n) / sq) : 1.0;
  matrix out = matrix::from_shape({n, d});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) out(i, j) = static_cast<float>((x(i, j) - mean[j]) * scale);
  return out;
}

//! The aligned layouts of paired samples (see the file comment).
inline aligned_layouts align_layouts(matrix_cref a, matrix_cref b, const aligned_layout_options& o = {},
                                     const progress_fn& progress = {}) {
  const std::size_t n = a.rows();
  if (b.rows() != n || n < 4) throw input_error("aligned layout", "needs the same number (at least 4) of paired samples in both layers");
  const matrix za = standardise_rows(a), zb = standardise_rows(b);
  const auto f = fit_linear_map(za, zb, o.map), g = fit_linear_map(zb, za, o.map);
  aligned_layouts out;
  out.explained_ab = explained_variance(f, za, zb);
  out.explained_ba = explained_variance(g, zb, za);
  const matrix fa = f.apply(za), gb = g.apply(zb);
  const std::size_t da = a.cols(), db = b.cols();
  matrix joint = matrix::from_shape({2 * n, da + db});
  for (std::size_t i = 0; i < n; ++i) {
    std::copy_n(za.data() + i * da, da, joint.data() + i * (da + db));
    std::copy_n(fa.data() + i * db, db, joint.data() + i * (da + db) + da);
    std::copy_n(gb.data() + i * da, da, joint.data() + (n + i) * (da + db));
    std::copy_n(zb.data() + i * db, db, joint.data() + (n + i) * (da + db) + da);
  }
  const matrix y = reducer::umap(o.umap).reduce(joint, 2, progress);
  matrix ya = matrix::from_shape({n, 2}), yb = matrix::from_shape({n, 2});
  std::copy_n(y.data(), n * 2, ya.data());
  std::copy_n(y.data() + n * 2, n * 2, yb.data());
  std::tie(out.a, out.b) = shared_frame(ya, yb);
  return out;
}

//! The baseline: one UMAP per layer, each normalised to the unit square on its own
//! (1st/99th percentile clip, no margin).
inline std::pair<matrix, matrix> independent_layouts(matrix_cref a, matrix_cref b, const reducer::umap::options& o = {},
                                                     const progress_fn& progress = {}) {
  const normalise_options unit{.low_percentile = 1.0, .high_percentile = 99.0, .margin = 0.0};
  return {normalise_layout(reducer::umap(o).reduce(standardise_rows(a), 2, progress), unit),
          normalise_layout(reducer::umap(o).reduce(standardise_rows(b), 2, progress), unit)};
}

}  // namespace actatlas::experiments
