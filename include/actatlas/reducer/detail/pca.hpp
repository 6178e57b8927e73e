/// @file reducer/detail/pca.hpp
/// PCA preprocessing for the reducers: the input projected on its leading principal axes
/// before the neighbour search (Rtsne's `pca = TRUE, initial_dims = 50`).
///
/// How: the D×D second-moment matrix of the rows (centred for the euclidean metric; for
/// cosine, of the L2-normalised rows and not centred, so that the projection keeps the
/// angles the metric sees, mean direction included) is accumulated in double over every
/// row, streaming the input once per block of its rows (so a memory-mapped input is read,
/// never copied); its leading eigenvectors come from block subspace iteration with 2k
/// (at least k + 10) vectors and a Rayleigh–Ritz step by cyclic Jacobi, which for D ≤ that
/// block size is a complete eigendecomposition. Cost at 100,000 × 512 → 50: a few seconds
/// on two cores, against minutes saved in the neighbour search on 512 columns.
///
/// Deterministic: every sum runs in a fixed order (threads split output entries, never a
/// sum), the start block is derived from the seed, and each axis's sign is fixed (largest
/// component positive); so the projection is the same bytes for any thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "../../matrix.hpp"
#include "../../metric.hpp"
#include "../../neighbors/detail/parallel.hpp"

namespace actatlas::detail {

//! Principal axes of a data set: `axes` is row-major k×D (axis a = row a, unit length),
//! `variance` the k leading eigenvalues of the second-moment matrix (descending), `mean`
//! what was subtracted (zeros for cosine), `total_variance` the matrix's trace.
struct principal_axes {
  std::size_t k = 0, d = 0;
  std::vector<double> axes, variance, mean;
  double total_variance = 0;
  bool normalise_rows = false;  //!< cosine: rows are L2-normalised before projecting
};

//! Eigen-decomposition of the symmetric p×p matrix `h` (row-major, destroyed) by cyclic
//! Jacobi rotations: eigenvalues into `values` (descending), eigenvectors into the
//! columns of `vectors` (row-major p×p). For the small Rayleigh–Ritz matrices here.
inline void jacobi_eigen(std::vector<double>& h, std::size_t p, std::vector<double>& values,
                         std::vector<double>& vectors) {
  std::vector<double> v(p * p, 0.0);
  for (std::size_t i = 0; i < p; ++i) v[i * p + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (std::size_t i = 0; i < p; ++i) {
      diag += h[i * p + i] * h[i * p + i];
      for (std::size_t j = i + 1; j < p; ++j) off += h[i * p + j] * h[i * p + j];
    }
    if (off <= 1e-30 * std::max(diag, 1e-300)) break;
    for (std::size_t i = 0; i + 1 < p; ++i)
      for (std::size_t j = i + 1; j < p; ++j) {
        const double hij = h[i * p + j];
        if (std::abs(hij) <= 1e-300) continue;
        const double theta = (h[j * p + j] - h[i * p + i]) / (2 * hij);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t r = 0; r < p; ++r) {  // columns i, j
          const double a = h[r * p + i], b = h[r * p + j];
          h[r * p + i] = c * a - s * b;
          h[r * p + j] = s * a + c * b;
        }
        for (std::size_t r = 0; r < p; ++r) {  // rows i, j
          const double a = h[i * p + r], b = h[j * p + r];
          h[i * p + r] = c * a - s * b;
          h[j * p + r] = s * a + c * b;
        }
        for (std::size_t r = 0; r < p; ++r) {
          const double a = v[r * p + i], b = v[r * p + j];
          v[r * p + i] = c * a - s * b;
          v[r * p + j] = s * a + c * b;
        }
      }
  }
  std::vector<std::size_t> order(p);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return h[a * p + a] > h[b * p + b]; });
  values.resize(p);
  vectors.assign(p * p, 0.0);
  for (std::size_t c = 0; c < p; ++c) {
    values[c] = h[order[c] * p + order[c]];
    for (std::size_t r = 0; r < p; ++r) vectors[r * p + c] = v[r * p + order[c]];
  }
}

//! Row i of x as doubles, L2-normalised when `normalise` (a zero row stays zero).
inline void pca_row(matrix_cref x, std::size_t i, bool normalise, double* out) {
  const std::size_t d = x.cols();
  const float* r = x.data() + i * d;
  double norm2 = 0;
  for (std::size_t c = 0; c < d; ++c) {
    out[c] = r[c];
    norm2 += out[c] * out[c];
  }
  if (normalise && norm2 > 0) {
    const double s = 1.0 / std::sqrt(norm2);
    for (std::size_t c = 0; c < d; ++c) out[c] *= s;
  }
}

//! The D×D second-moment matrix (row-major, both triangles) of x's rows, centred when
//! !normalise, with the mean into `mean`. Threads split the matrix's rows; each entry is
//! a sum over all N rows in row order.
inline std::vector<double> pca_moment_matrix(matrix_cref x, bool normalise, unsigned threads, std::vector<double>& mean) {
  const std::size_t n = x.rows(), d = x.cols();
  mean.assign(d, 0.0);
  if (!normalise) {
    // column sums, threads over column blocks (each a sum over rows in order)
    parallel_for(d, threads, 64, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = 0; i < n; ++i) {
        const float* r = x.data() + i * d;
        for (std::size_t c = b; c < e; ++c) mean[c] += r[c];
      }
    });
    for (double& m : mean) m /= static_cast<double>(n);
  }
  std::vector<double> m(d * d, 0.0);
  constexpr std::size_t group = 8;  // rows folded into the accumulator together
  // Blocks of matrix rows with about equal work (row a has d − a entries in the upper triangle).
  const std::size_t blocks = std::min<std::size_t>(d, std::max<std::size_t>(4 * std::max(threads, 1u), 1));
  std::vector<std::size_t> start(blocks + 1, d);
  {
    const double total = 0.5 * static_cast<double>(d) * static_cast<double>(d + 1);
    std::size_t a = 0;
    double acc = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
      start[b] = a;
      const double target = total * static_cast<double>(b + 1) / static_cast<double>(blocks);
      while (a < d && acc < target) acc += static_cast<double>(d - a++);
    }
    start[blocks] = d;
  }
  parallel_for(blocks, threads, 1, [&](std::size_t bb, std::size_t be) {
    std::vector<double> rows(group * d);
    for (std::size_t blk = bb; blk < be; ++blk) {
      const std::size_t a0 = start[blk], a1 = start[blk + 1];
      if (a0 >= a1) continue;
      for (std::size_t i0 = 0; i0 < n; i0 += group) {
        const std::size_t g = std::min(group, n - i0);
        for (std::size_t s = 0; s < g; ++s) {
          double* r = rows.data() + s * d;
          pca_row(x, i0 + s, normalise, r);
          for (std::size_t c = 0; c < d; ++c) r[c] -= mean[c];
        }
        for (std::size_t a = a0; a < a1; ++a) {
          double* out = m.data() + a * d;
          for (std::size_t s = 0; s < g; ++s) {
            const double* r = rows.data() + s * d;
            const double ra = r[a];
            if (ra == 0) continue;
            for (std::size_t c = a; c < d; ++c) out[c] += ra * r[c];
          }
        }
      }
    }
  });
  const double inv = 1.0 / static_cast<double>(std::max<std::size_t>(n, 1));
  for (std::size_t a = 0; a < d; ++a)
    for (std::size_t c = a; c < d; ++c) {
      m[a * d + c] *= inv;
      m[c * d + a] = m[a * d + c];
    }
  return m;
}

//! The k leading principal axes of x's rows (k is clipped to D).
inline principal_axes compute_principal_axes(matrix_cref x, std::size_t k, metric met, std::uint64_t seed,
                                             unsigned threads) {
  principal_axes out;
  const std::size_t d = x.cols();
  k = std::min(k, d);
  out.k = k;
  out.d = d;
  out.normalise_rows = met == metric::cosine;
  if (k == 0 || x.rows() == 0) return out;
  const std::vector<double> m = pca_moment_matrix(x, out.normalise_rows, threads, out.mean);
  for (std::size_t a = 0; a < d; ++a) out.total_variance += m[a * d + a];

  // Block subspace iteration on m with p columns (Q is row-major d×p).
  const std::size_t p = std::min(d, std::max(2 * k, k + 10));
  std::vector<double> q(d * p), z(d * p), h(p * p), values, vectors;
  {
    std::mt19937_64 rng(mix_seed(seed, 0x9ca));
    std::normal_distribution<double> normal;
    for (double& v : q) v = normal(rng);
  }
  auto multiply = [&](const std::vector<double>& in, std::vector<double>& res) {  // res = m · in
    parallel_for(d, threads, 16, [&](std::size_t b, std::size_t e) {
      for (std::size_t r = b; r < e; ++r) {
        double* o = res.data() + r * p;
        std::fill(o, o + p, 0.0);
        const double* mr = m.data() + r * d;
        for (std::size_t c = 0; c < d; ++c) {
          const double w = mr[c];
          if (w == 0) continue;
          const double* ic = in.data() + c * p;
          for (std::size_t j = 0; j < p; ++j) o[j] += w * ic[j];
        }
      }
    });
  };
  auto orthonormalise = [&](std::vector<double>& a) {  // modified Gram–Schmidt, twice
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t j = 0; j < p; ++j) {
        for (std::size_t i = 0; i < j; ++i) {
          double dot = 0;
          for (std::size_t r = 0; r < d; ++r) dot += a[r * p + i] * a[r * p + j];
          for (std::size_t r = 0; r < d; ++r) a[r * p + j] -= dot * a[r * p + i];
        }
        double norm = 0;
        for (std::size_t r = 0; r < d; ++r) norm += a[r * p + j] * a[r * p + j];
        norm = std::sqrt(norm);
        if (norm > 1e-300) {
          for (std::size_t r = 0; r < d; ++r) a[r * p + j] /= norm;
        } else {  // a vanished direction (rank-deficient data): any unit vector orthogonal later
          for (std::size_t r = 0; r < d; ++r) a[r * p + j] = (r == (j * 7919) % d) ? 1.0 : 0.0;
        }
      }
  };
  auto rayleigh_ritz = [&]() {  // q ← q·V with QᵀMQ = V Λ Vᵀ; returns the Ritz values
    multiply(q, z);
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = 0; j < p; ++j) {
        double acc = 0;
        for (std::size_t r = 0; r < d; ++r) acc += q[r * p + i] * z[r * p + j];
        h[i * p + j] = acc;
      }
    for (std::size_t i = 0; i < p; ++i)  // exact symmetry for Jacobi
      for (std::size_t j = i + 1; j < p; ++j) h[i * p + j] = h[j * p + i] = 0.5 * (h[i * p + j] + h[j * p + i]);
    jacobi_eigen(h, p, values, vectors);
    std::vector<double> row(p);
    for (std::size_t r = 0; r < d; ++r) {
      for (std::size_t j = 0; j < p; ++j) {
        double acc = 0;
        for (std::size_t i = 0; i < p; ++i) acc += q[r * p + i] * vectors[i * p + j];
        row[j] = acc;
      }
      std::copy(row.begin(), row.end(), q.begin() + static_cast<std::ptrdiff_t>(r * p));
    }
  };
  orthonormalise(q);
  if (p < d) {
    std::vector<double> previous(k, 0.0);
    for (int it = 0; it < 300; ++it) {
      multiply(q, z);
      std::swap(q, z);
      orthonormalise(q);
      if (it % 5 == 4) {
        rayleigh_ritz();
        double change = 0;
        for (std::size_t j = 0; j < k; ++j)
          change = std::max(change, std::abs(values[j] - previous[j]) / std::max(std::abs(values[0]), 1e-300));
        std::copy_n(values.begin(), k, previous.begin());
        if (change < 1e-10 && it > 10) break;
      }
    }
  }
  rayleigh_ritz();
  out.axes.assign(k * d, 0.0);
  out.variance.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k));
  for (std::size_t a = 0; a < k; ++a) {
    double big = 0;
    for (std::size_t r = 0; r < d; ++r)
      if (std::abs(q[r * p + a]) > std::abs(big)) big = q[r * p + a];
    const double sign = big < 0 ? -1.0 : 1.0;
    for (std::size_t r = 0; r < d; ++r) out.axes[a * d + r] = sign * q[r * p + a];
  }
  return out;
}

//! x (N×D) → N×k coordinates on the axes (rows centred, or L2-normalised for cosine, first).
inline matrix pca_project(matrix_cref x, const principal_axes& pa, unsigned threads) {
  const std::size_t n = x.rows(), d = x.cols(), k = pa.k;
  matrix y = matrix::from_shape({n, k});
  parallel_for(n, threads, 256, [&](std::size_t b, std::size_t e) {
    std::vector<double> r(d);
    for (std::size_t i = b; i < e; ++i) {
      pca_row(x, i, pa.normalise_rows, r.data());
      for (std::size_t c = 0; c < d; ++c) r[c] -= pa.mean[c];
      for (std::size_t a = 0; a < k; ++a) {
        const double* ax = pa.axes.data() + a * d;
        double acc = 0;
        for (std::size_t c = 0; c < d; ++c) acc += r[c] * ax[c];
        y(i, a) = static_cast<float>(acc);
      }
    }
  });
  return y;
}

//! The reducers' preprocessing: x projected on its first `dims` principal components when
//! it has more columns than that (else nothing is computed: `applied` is false).
inline matrix pca_reduce(matrix_cref x, std::size_t dims, metric met, std::uint64_t seed, unsigned threads,
                         bool& applied) {
  applied = dims > 0 && x.cols() > dims && x.rows() > 1;
  if (!applied) return matrix{};
  return pca_project(x, compute_principal_axes(x, dims, met, seed, threads), threads);
}

}  // namespace actatlas::detail
