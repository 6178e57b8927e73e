/// @file experiments/linear_map.hpp
/// An affine map between two activation spaces fitted by least squares: given paired rows
/// X (N×Dx, one layer) and Y (N×Dy, another layer, the same image positions),
///     W = argmin ‖(X − x̄) W − (Y − ȳ)‖² + λ ‖W‖²,   f(x) = (x − x̄) W + ȳ,
/// solved in float64 through the normal equations (XᵀX + λI) W = XᵀY with LAPACK. The ridge
/// λ = ridge · trace(XᵀX) / Dx, relative to the mean eigenvalue as in whitening.hpp, keeps
/// dead channels and N < Dx finite. Aligned atlases use it to express each layer in the
/// other's terms (the article names "comparing layers" as an open problem).
#pragma once

#include <xtensor-blas/xlinalg.hpp>

#include <cstddef>
#include <string>

#include "../detail/xtensor_compat.hpp"
#include "../error.hpp"
#include "../matrix.hpp"

namespace actatlas::experiments {

struct linear_map_options {
  double ridge = 1e-3;  //!< λ relative to the mean eigenvalue of the centred XᵀX
};

//! f(x) = (x − x_mean) W + y_mean.
struct linear_map {
  xt::xtensor<double, 2> weights;  //!< Dx×Dy
  xt::xtensor<double, 1> x_mean;   //!< Dx
  xt::xtensor<double, 1> y_mean;   //!< Dy

  //! f applied to every row of `x` (N×Dx → N×Dy).
  matrix apply(matrix_cref x) const {
    if (x.cols() != weights.shape(0))
      throw input_error("linear map", "input has " + std::to_string(x.cols()) + " columns, the map takes " +
                                          std::to_string(weights.shape(0)));
    xt::xtensor<double, 2> centred = xt::xtensor<double, 2>::from_shape({x.rows(), x.cols()});
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < x.cols(); ++j) centred(i, j) = static_cast<double>(x(i, j)) - x_mean(j);
    const xt::xtensor<double, 2> y = xt::linalg::dot(centred, weights);
    matrix out = matrix::from_shape({x.rows(), weights.shape(1)});
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < weights.shape(1); ++j) out(i, j) = static_cast<float>(y(i, j) + y_mean(j));
    return out;
  }
};

//! Fits f with f(X) ≈ Y row by row (see the file comment).
inline linear_map fit_linear_map(matrix_cref x, matrix_cref y, const linear_map_options& o = {}) {
  const std::size_t n = x.rows(), dx = x.cols(), dy = y.cols();
  if (n == 0 || y.rows() != n)
    throw input_error("linear map", "needs the same number of paired rows on both sides (got " + std::to_string(n) + " and " +
                                        std::to_string(y.rows()) + ")");
  linear_map m;
  m.x_mean = xt::zeros<double>({dx});
  m.y_mean = xt::zeros<double>({dy});
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < dx; ++j) m.x_mean(j) += x(i, j);
    for (std::size_t j = 0; j < dy; ++j) m.y_mean(j) += y(i, j);
  }
  m.x_mean /= static_cast<double>(n);
  m.y_mean /= static_cast<double>(n);
  xt::xtensor<double, 2> xc = xt::xtensor<double, 2>::from_shape({n, dx}), yc = xt::xtensor<double, 2>::from_shape({n, dy});
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < dx; ++j) xc(i, j) = x(i, j) - m.x_mean(j);
    for (std::size_t j = 0; j < dy; ++j) yc(i, j) = y(i, j) - m.y_mean(j);
  }
  xt::xtensor<double, 2> gram = xt::linalg::dot(xt::transpose(xc), xc);
  const xt::xtensor<double, 2> rhs = xt::linalg::dot(xt::transpose(xc), yc);
  double trace = 0;
  for (std::size_t j = 0; j < dx; ++j) trace += gram(j, j);
  const double lambda = o.ridge * (trace > 0 ? trace / static_cast<double>(dx) : 1.0);
  for (std::size_t j = 0; j < dx; ++j) gram(j, j) += lambda;
  m.weights = xt::linalg::solve(gram, rhs);
  return m;
}

//! The share of Y's variance (about its mean) that f(X) explains: 1 − SSE / SST.
inline double explained_variance(const linear_map& f, matrix_cref x, matrix_cref y) {
  const matrix predicted = f.apply(x);
  double sse = 0, sst = 0;
  for (std::size_t i = 0; i < y.rows(); ++i)
    for (std::size_t j = 0; j < y.cols(); ++j) {
      const double e = static_cast<double>(y(i, j)) - predicted(i, j), d = static_cast<double>(y(i, j)) - f.y_mean(j);
      sse += e * e;
      sst += d * d;
    }
  return sst > 0 ? 1.0 - sse / sst : 0.0;
}

}  // namespace actatlas::experiments
