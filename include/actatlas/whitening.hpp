/// @file whitening.hpp
/// Whitening of the activation space for feature inversion ("Activation Atlas": "whitening
/// the activation space to unstretch it can help improve feature visualization"), as
/// lucid's notebooks do it: S = (AᵀA / N)⁻¹, the inverse of the *uncentred* second moment of
/// the collected activations, applied to each target direction, v ← S v, before the
/// objective compares it with the activation.
///
/// Differences from lucid (which calls np.linalg.inv in float32):
///  - AᵀA is accumulated in float64 over row blocks, so a memory-mapped N×D file of any
///    length streams through once (`second_moment::add`).
///  - A ridge λ = ridge · trace(M) / D is added before inverting (M = AᵀA/N), through the
///    symmetric eigendecomposition M = Q Λ Qᵀ: S = Q (max(Λ, 0) + λ)⁻¹ Qᵀ. A rank-deficient A
///    (dead channels, fewer samples than D) gives a finite S instead of NaN or Inf, and
///    S·M = I − λ (M + λI)⁻¹ is the identity up to λ / (μ_min + λ) for full-rank data.
///
/// @code
/// actatlas::second_moment acc(D);
/// for (auto block : blocks) acc.add(block);                 // matrix_cref, rows of A
/// auto S = actatlas::whitening_matrix(acc);                 // D×D float64
/// actatlas::matrix targets = actatlas::whiten_directions(S, cell_means);   // rows ← S·row
/// @endcode
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include "detail/xtensor_compat.hpp"
#include "error.hpp"
#include "matrix.hpp"

namespace actatlas {

//! D×D float64, as whitening matrices are kept.
using matrix64 = xt::xtensor<double, 2>;

//! Streaming accumulator of the uncentred second moment AᵀA over row blocks of A.
class second_moment {
 public:
  explicit second_moment(std::size_t dims) : sum_(matrix64::from_shape({dims, dims})) { sum_.fill(0.0); }

  //! Adds the rows of `block` (n×D float32). Non-finite values are rejected, since one NaN
  //! would poison every entry of S.
  void add(matrix_cref block) {
    if (block.rows() == 0) return;
    if (block.cols() != dims())
      throw input_error("whitening", "activation block has " + std::to_string(block.cols()) +
                                         " columns, expected " + std::to_string(dims()));
    // Rows are converted to float64 in chunks so that the product runs in BLAS (dsyrk-like
    // dgemm) at double precision without a full copy of a large block.
    constexpr std::size_t chunk_rows = 4096;
    for (std::size_t start = 0; start < block.rows(); start += chunk_rows) {
      const std::size_t n = std::min(chunk_rows, block.rows() - start);
      matrix64 chunk = matrix64::from_shape({n, dims()});
      const float* src = block.data() + start * dims();
      for (std::size_t k = 0; k < n * dims(); ++k) {
        if (!std::isfinite(src[k])) throw input_error("whitening", "activation block holds a non-finite value");
        chunk.data()[k] = static_cast<double>(src[k]);
      }
      sum_ += xt::linalg::dot(xt::transpose(chunk), chunk);
    }
    rows_ += block.rows();
  }

  std::size_t dims() const noexcept { return sum_.shape(0); }
  std::size_t rows() const noexcept { return rows_; }

  //! M = AᵀA / N (float64). Throws when nothing was added.
  matrix64 moment() const {
    if (rows_ == 0) throw input_error("whitening", "no activations were added");
    return sum_ / static_cast<double>(rows_);
  }

 private:
  matrix64 sum_;
  std::size_t rows_ = 0;
};

//! How the second moment is inverted.
struct whitening_options {
  //! λ = ridge · trace(M) / D, i.e. relative to the mean eigenvalue. Small enough that S·M
  //! is the identity to ~1e-4 on well-conditioned data, large enough that near-null
  //! directions (dead channels) are amplified at most ~10⁴× the typical one.
  double ridge = 1e-4;
  //! Rows per block when whitening_matrix() streams a whole matrix_cref.
  std::size_t block_rows = 65536;
};

//! S = (M + λI)⁻¹ from an accumulated second moment, by eigendecomposition (symmetric, so
//! S is symmetric too). Finite for any input, including rank-deficient and all-zero A.
inline matrix64 whitening_matrix(const second_moment& acc, const whitening_options& opts = {}) {
  if (!(opts.ridge > 0.0)) throw input_error("whitening", "ridge must be > 0");
  const matrix64 m = acc.moment();
  const std::size_t d = m.shape(0);
  double trace = 0.0;
  for (std::size_t i = 0; i < d; ++i) trace += m(i, i);
  // An all-zero A has trace 0; fall back to an absolute ridge so S = I/λ stays finite.
  const double lambda = opts.ridge * (trace > 0.0 ? trace / static_cast<double>(d) : 1.0);
  auto [eigenvalues, eigenvectors] = xt::linalg::eigh(m);
  matrix64 scaled = eigenvectors;  // Q · diag(1 / (max(μ, 0) + λ))
  for (std::size_t j = 0; j < d; ++j) {
    // Rounding can make the eigenvalues of a PSD matrix slightly negative; clamp them.
    const double inv = 1.0 / (std::max(eigenvalues(j), 0.0) + lambda);
    for (std::size_t i = 0; i < d; ++i) scaled(i, j) *= inv;
  }
  matrix64 s = xt::linalg::dot(scaled, xt::transpose(eigenvectors));
  // Symmetrise away the last rounding asymmetry.
  return 0.5 * (s + xt::transpose(s));
}

//! S for a whole activation matrix, streamed in blocks of `opts.block_rows` rows (works on
//! a memory-mapped file without loading it).
inline matrix64 whitening_matrix(matrix_cref activations, const whitening_options& opts = {}) {
  second_moment acc(activations.cols());
  const std::size_t block = std::max<std::size_t>(1, opts.block_rows);
  for (std::size_t start = 0; start < activations.rows(); start += block) {
    const std::size_t n = std::min(block, activations.rows() - start);
    acc.add(matrix_cref(activations.data() + start * activations.cols(), n, activations.cols()));
  }
  return whitening_matrix(acc, opts);
}

//! Each row v of `directions` (K×D) becomes S v (lucid: `vec @ S`, the same for symmetric S).
inline matrix whiten_directions(const matrix64& s, matrix_cref directions) {
  if (directions.cols() != s.shape(0))
    throw input_error("whitening", "directions have " + std::to_string(directions.cols()) +
                                       " columns, the whitening matrix is " + std::to_string(s.shape(0)) + "×" +
                                       std::to_string(s.shape(1)));
  matrix64 v = matrix64::from_shape({directions.rows(), directions.cols()});
  std::copy(directions.data(), directions.data() + directions.rows() * directions.cols(), v.data());
  matrix64 w = xt::linalg::dot(v, s);  // rows: vᵀS = (S v)ᵀ
  matrix out = matrix::from_shape({directions.rows(), directions.cols()});
  std::transform(w.data(), w.data() + w.size(), out.data(), [](double x) { return static_cast<float>(x); });
  return out;
}

}  // namespace actatlas
