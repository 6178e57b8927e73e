/// @file experiments/layout_displacement.hpp
/// How far the same sample lands in two layouts (two atlases of the same image positions),
/// and the helpers that make the comparison fair:
///
/// - `shared_frame`: two layouts produced together (one joint reduction) are clipped and
///   scaled to the unit square by *one* transform, then clamped to the range both share, so
///   that each half, normalised on its own later (min→0, max→1), keeps that same frame;
/// - `procrustes_align`: the similarity transform (rotation or reflection, scale,
///   translation) that best maps one layout onto another: two independent reductions have
///   arbitrary orientation, and the baseline should not be penalised for that;
/// - `mean_displacement`: the mean distance between a sample's two positions.
#pragma once

#include <xtensor-blas/xlinalg.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "../detail/xtensor_compat.hpp"
#include "../error.hpp"
#include "../layout/normalise.hpp"
#include "../matrix.hpp"

namespace actatlas::experiments {

//! Mean Euclidean distance between row i of `a` and row i of `b` (both N×2).
inline double mean_displacement(matrix_cref a, matrix_cref b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.rows() == 0)
    throw input_error("layouts", "must have the same, non-zero shape to compare");
  double sum = 0;
  for (std::size_t i = 0; i < a.rows(); ++i) {
    double d2 = 0;
    for (std::size_t j = 0; j < a.cols(); ++j) d2 += (a(i, j) - b(i, j)) * (a(i, j) - b(i, j));
    sum += std::sqrt(d2);
  }
  return sum / static_cast<double>(a.rows());
}

//! `moving` mapped by the similarity transform s·R·x + t (R orthogonal, reflections allowed)
//! that minimises the squared distance to `fixed` (Umeyama's solution by SVD).
inline matrix procrustes_align(matrix_cref moving, matrix_cref fixed) {
  const std::size_t n = moving.rows(), d = moving.cols();
  if (fixed.rows() != n || fixed.cols() != d || n == 0) throw input_error("layouts", "must have the same, non-zero shape");
  xt::xtensor<double, 1> mu_m = xt::zeros<double>({d}), mu_f = xt::zeros<double>({d});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mu_m(j) += moving(i, j), mu_f(j) += fixed(i, j);
  mu_m /= static_cast<double>(n);
  mu_f /= static_cast<double>(n);
  xt::xtensor<double, 2> cross = xt::zeros<double>({d, d});  // Σ (f − μf)(m − μm)ᵀ
  double var_m = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a) {
      const double ma = moving(i, a) - mu_m(a);
      var_m += ma * ma;
      for (std::size_t b = 0; b < d; ++b) cross(b, a) += (fixed(i, b) - mu_f(b)) * ma;
    }
  auto [u, s, vt] = xt::linalg::svd(cross);
  const xt::xtensor<double, 2> r = xt::linalg::dot(u, vt);  // rotation or reflection, whichever fits best
  double trace_s = 0;
  for (std::size_t k = 0; k < s.size(); ++k) trace_s += s(k);
  const double scale = var_m > 0 ? trace_s / var_m : 1.0;
  matrix out = matrix::from_shape({n, d});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a) {
      double v = mu_f(a);
      for (std::size_t b = 0; b < d; ++b) v += scale * r(a, b) * (moving(i, b) - mu_m(b));
      out(i, a) = static_cast<float>(v);
    }
  return out;
}

//! Two layouts (each N×2, from one joint reduction) in one unit-square frame: clipped at the
//! 1st/99th percentile of both together, scaled to [0, 1] by one transform, then clamped to
//! the range both halves reach on each axis and stretched back to [0, 1]. After this each
//! half spans exactly [0, 1] on each axis, so normalising either alone (0th/100th
//! percentile, no margin) changes nothing and the two atlases stay cell for cell aligned.
inline std::pair<matrix, matrix> shared_frame(matrix_cref first, matrix_cref second) {
  const std::size_t n1 = first.rows(), n2 = second.rows();
  if (first.cols() != 2 || second.cols() != 2 || n1 == 0 || n2 == 0) throw input_error("layouts", "must be non-empty N×2");
  matrix joint = matrix::from_shape({n1 + n2, 2});
  std::copy_n(first.data(), n1 * 2, joint.data());
  std::copy_n(second.data(), n2 * 2, joint.data() + n1 * 2);
  const matrix unit = normalise_layout(joint, {.low_percentile = 1.0, .high_percentile = 99.0, .margin = 0.0});
  matrix a = matrix::from_shape({n1, 2}), b = matrix::from_shape({n2, 2});
  for (std::size_t j = 0; j < 2; ++j) {
    float lo_a = 1, hi_a = 0, lo_b = 1, hi_b = 0;
    for (std::size_t i = 0; i < n1; ++i) lo_a = std::min(lo_a, unit(i, j)), hi_a = std::max(hi_a, unit(i, j));
    for (std::size_t i = 0; i < n2; ++i) lo_b = std::min(lo_b, unit(n1 + i, j)), hi_b = std::max(hi_b, unit(n1 + i, j));
    const float lo = std::max(lo_a, lo_b), hi = std::min(hi_a, hi_b);
    const float span = hi - lo;
    auto place = [&](float v) { return span > 0 ? (std::clamp(v, lo, hi) - lo) / span : 0.5f; };
    for (std::size_t i = 0; i < n1; ++i) a(i, j) = place(unit(i, j));
    for (std::size_t i = 0; i < n2; ++i) b(i, j) = place(unit(n1 + i, j));
  }
  return {a, b};
}

}  // namespace actatlas::experiments
