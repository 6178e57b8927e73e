/// @file reducer/detail/tsne_fft.hpp
/// t-SNE's repulsive forces by FFT-accelerated interpolation (Linderman et al., "Fast
/// interpolation-based t-SNE", Nature Methods 2019): O(N) per step instead of Barnes-Hut's
/// O(N log N) with a large constant, which is what makes 10^5..10^6 points affordable.
///
/// The layout's bounding square is cut into B×B equal boxes with p = 3 Lagrange nodes per
/// box and axis; all nodes lie on one uniform grid of m = 3B points per axis. Each point's
/// charges (1, y, |y|² in the form below) are spread onto the 3×3 nodes of its box, the
/// node potentials are the convolution of the node charges with the kernel
/// (1 + d²)^-2 on the grid (a Toeplitz product, done as a zero-padded FFT of size L ≥ 2m),
/// and each point reads its potentials back with the same weights. With
/// φ_c(i) = Σ_j (1 + ‖y_i − y_j‖²)^-2 c_j:
///   repulsion_i = y_i φ_1(i) − φ_y(i),    Z = Σ_i [(1 + ‖y_i‖²) φ_1 − 2 y_i·φ_y + φ_‖y‖²] − N
/// (the second uses (1 + d²)^-1 = (1 + d²)·(1 + d²)^-2 and drops the N self terms).
///
/// Determinism: spreading runs serially in point order; FFT rows/columns and the read-back
/// are independent per row or point, so the result is the same for any thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

#include "tsne_parallel.hpp"

namespace actatlas::detail {

//! In-place radix-2 complex FFT of a power-of-two length, on interleaved (re, im) doubles.
//! (Written out rather than using std::complex, whose operator* goes through a slow
//! NaN-checking library call without -ffast-math.)
class tsne_fft_plan {
 public:
  explicit tsne_fft_plan(std::size_t n) : n_(n), twiddle_(n), reverse_(n) {
    for (std::size_t k = 0; k < n / 2; ++k) {
      const double angle = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
      twiddle_[2 * k] = std::cos(angle);
      twiddle_[2 * k + 1] = std::sin(angle);
    }
    std::size_t bits = 0;
    while ((std::size_t{1} << bits) < n) ++bits;
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t r = 0;
      for (std::size_t b = 0; b < bits; ++b)
        if (i & (std::size_t{1} << b)) r |= std::size_t{1} << (bits - 1 - b);
      reverse_[i] = static_cast<std::uint32_t>(r);
    }
  }
  std::size_t size() const { return n_; }

  //! Unnormalised forward (e^-i) or inverse (e^+i) transform of a[0..2n).
  void run(double* a, bool inverse) const {
    for (std::size_t i = 0; i < n_; ++i) {
      const std::size_t r = reverse_[i];
      if (i < r) {
        std::swap(a[2 * i], a[2 * r]);
        std::swap(a[2 * i + 1], a[2 * r + 1]);
      }
    }
    const double sign = inverse ? -1.0 : 1.0;
    for (std::size_t len = 2; len <= n_; len <<= 1) {
      const std::size_t half = len / 2, step = n_ / len;
      for (std::size_t start = 0; start < n_; start += len) {
        double* lo = a + 2 * start;
        double* hi = lo + 2 * half;
        for (std::size_t j = 0; j < half; ++j) {
          const double wr = twiddle_[2 * j * step], wi = sign * twiddle_[2 * j * step + 1];
          const double vr = hi[2 * j] * wr - hi[2 * j + 1] * wi;
          const double vi = hi[2 * j] * wi + hi[2 * j + 1] * wr;
          hi[2 * j] = lo[2 * j] - vr;
          hi[2 * j + 1] = lo[2 * j + 1] - vi;
          lo[2 * j] += vr;
          lo[2 * j + 1] += vi;
        }
      }
    }
  }

 private:
  std::size_t n_;
  std::vector<double> twiddle_;
  std::vector<std::uint32_t> reverse_;
};

//! Settings of the interpolation grid.
struct tsne_fft_grid_options {
  double intervals_per_unit = 1.0;  //!< boxes per unit of layout length (FIt-SNE: 1)
  std::size_t min_intervals = 40;   //!< at least this many boxes per axis
  std::size_t max_fft_2d = 2048;    //!< largest padded FFT side in 2-D (memory: 16·L² bytes per buffer)
  std::size_t max_fft_1d = 1 << 16;
};

//! Repulsive forces by interpolation; same contract as tsne_repulsive_exact: writes
//! Σ_j q_ij² (y_i − y_j) into `out` and returns Z = Σ_{i≠j} q_ij.
template <std::size_t Dim>
double tsne_repulsive_fft(const std::vector<double>& y, std::size_t n, std::vector<double>& out, unsigned threads,
                          const tsne_fft_grid_options& grid = {}) {
  static_assert(Dim == 1 || Dim == 2);
  constexpr std::size_t p = 3;  // Lagrange nodes per box and axis
  out.assign(n * Dim, 0.0);
  if (n < 2) return 0.0;
  double lo = y[0], hi = y[0];
  for (double v : y) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double extent = std::max(hi - lo, 1e-12);
  std::size_t boxes = std::max<std::size_t>(grid.min_intervals, static_cast<std::size_t>(std::ceil(extent * grid.intervals_per_unit)));
  // Padded size: a power of two holding the 2m − 1 offsets of the linear convolution;
  // then use as many boxes as that size allows (finer boxes for free).
  const std::size_t cap = Dim == 2 ? grid.max_fft_2d : grid.max_fft_1d;
  std::size_t size = 16;
  while (size < 2 * p * boxes && size < cap) size <<= 1;
  boxes = size / (2 * p);
  const std::size_t m = boxes * p;
  const double box = extent / static_cast<double>(boxes);
  const double spacing = box / p;
  lo -= 1e-9 * extent;  // keep the largest coordinate inside the last box
  const double box_scale = static_cast<double>(boxes) / (extent * (1 + 2e-9));

  // Lagrange weights of each point on its box's p nodes (at (k + 0.5)/p within the box).
  std::vector<std::uint32_t> cell(n * Dim);
  std::vector<double> weight(n * Dim * p);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      for (std::size_t c = 0; c < Dim; ++c) {
        const double t = (y[i * Dim + c] - lo) * box_scale;
        const std::size_t b = std::min(boxes - 1, static_cast<std::size_t>(std::max(0.0, t)));
        const double u = t - static_cast<double>(b);
        cell[i * Dim + c] = static_cast<std::uint32_t>(b * p);
        for (std::size_t k = 0; k < p; ++k) {
          double w = 1;
          const double uk = (static_cast<double>(k) + 0.5) / p;
          for (std::size_t l = 0; l < p; ++l)
            if (l != k) w *= (u - (static_cast<double>(l) + 0.5) / p) / (uk - (static_cast<double>(l) + 0.5) / p);
          weight[(i * Dim + c) * p + k] = w;
        }
      }
  });

  const tsne_fft_plan plan(size);
  // Kernel on the padded grid: offsets 0..m−1 at the start, −(m−1)..−1 wrapped to the end.
  const auto used = [&](std::size_t a) { return a < m || a > size - m; };
  const auto offset = [&](std::size_t a) {
    return a < m ? static_cast<double>(a) * spacing : (static_cast<double>(a) - static_cast<double>(size)) * spacing;
  };
  const auto kernel = [](double d2) { return 1.0 / ((1.0 + d2) * (1.0 + d2)); };

  // Two packed complex charge grids: (1 + i·y_1) and (y_2 + i·‖y‖²) in 2-D,
  // (1 + i·y) and (y² + 0i) in 1-D.
  const std::size_t total = Dim == 2 ? size * size : size;
  std::vector<double> kernel_hat(2 * total, 0.0), grid_a(2 * total, 0.0), grid_b(2 * total, 0.0);

  const auto fft_2d = [&](std::vector<double>& g, bool inverse, bool prune_rows) {
    // Rows: only the first m hold data going forward, only the first m are read back.
    const std::size_t rows = prune_rows ? m : size;
    if (!inverse)
      tsne_parallel_for(rows, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t r = b; r < e; ++r) plan.run(&g[2 * r * size], false);
      });
    // Columns in blocks of 8: each row visit then reads 128 contiguous bytes instead of
    // one 16-byte element per cache line (a plain strided gather is several times slower).
    constexpr std::size_t block = 8;
    tsne_parallel_for(size / block, threads, [&](std::size_t b, std::size_t e) {
      std::vector<double> columns(2 * size * block);
      for (std::size_t c0 = b * block; c0 < e * block; c0 += block) {
        for (std::size_t r = 0; r < size; ++r)
          for (std::size_t j = 0; j < block; ++j) {
            columns[2 * (j * size + r)] = g[2 * (r * size + c0 + j)];
            columns[2 * (j * size + r) + 1] = g[2 * (r * size + c0 + j) + 1];
          }
        for (std::size_t j = 0; j < block; ++j) plan.run(&columns[2 * j * size], inverse);
        for (std::size_t r = 0; r < size; ++r)
          for (std::size_t j = 0; j < block; ++j) {
            g[2 * (r * size + c0 + j)] = columns[2 * (j * size + r)];
            g[2 * (r * size + c0 + j) + 1] = columns[2 * (j * size + r) + 1];
          }
      }
    });
    if (inverse)
      tsne_parallel_for(rows, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t r = b; r < e; ++r) plan.run(&g[2 * r * size], true);
      });
  };

  if constexpr (Dim == 2) {
    for (std::size_t a = 0; a < size; ++a) {
      if (!used(a)) continue;
      const double da = offset(a);
      for (std::size_t b = 0; b < size; ++b) {
        if (!used(b)) continue;
        const double db = offset(b);
        kernel_hat[2 * (a * size + b)] = kernel(da * da + db * db);
      }
    }
    fft_2d(kernel_hat, false, false);
  } else {
    for (std::size_t a = 0; a < size; ++a) {
      if (!used(a)) continue;
      const double da = offset(a);
      kernel_hat[2 * a] = kernel(da * da);
    }
    plan.run(kernel_hat.data(), false);
  }

  // Spread, serially in point order (deterministic sums).
  for (std::size_t i = 0; i < n; ++i) {
    const double* yi = &y[i * Dim];
    const double* w = &weight[i * Dim * p];
    if constexpr (Dim == 2) {
      const double norm2 = yi[0] * yi[0] + yi[1] * yi[1];
      for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) {
          const double wab = w[a] * w[p + b];
          const std::size_t at = 2 * ((cell[i * 2] + a) * size + cell[i * 2 + 1] + b);
          grid_a[at] += wab;
          grid_a[at + 1] += wab * yi[0];
          grid_b[at] += wab * yi[1];
          grid_b[at + 1] += wab * norm2;
        }
    } else {
      for (std::size_t a = 0; a < p; ++a) {
        const std::size_t at = 2 * (cell[i] + a);
        grid_a[at] += w[a];
        grid_a[at + 1] += w[a] * yi[0];
        grid_b[at] += w[a] * yi[0] * yi[0];
      }
    }
  }

  // Convolve: the kernel is real and even, so its transform is real and one complex
  // product convolves both packed real charges at once.
  const double scale = 1.0 / static_cast<double>(total);
  for (auto* g : {&grid_a, &grid_b}) {
    if constexpr (Dim == 2)
      fft_2d(*g, false, true);
    else
      plan.run(g->data(), false);
    for (std::size_t e = 0; e < total; ++e) {
      const double k = kernel_hat[2 * e] * scale;
      (*g)[2 * e] *= k;
      (*g)[2 * e + 1] *= k;
    }
    if constexpr (Dim == 2)
      fft_2d(*g, true, true);
    else
      plan.run(g->data(), true);
  }

  // Read back potentials and form the forces.
  std::vector<double> z(n);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const double* yi = &y[i * Dim];
      const double* w = &weight[i * Dim * p];
      std::array<double, 4> phi{};
      if constexpr (Dim == 2) {
        for (std::size_t a = 0; a < p; ++a)
          for (std::size_t b = 0; b < p; ++b) {
            const double wab = w[a] * w[p + b];
            const std::size_t at = 2 * ((cell[i * 2] + a) * size + cell[i * 2 + 1] + b);
            phi[0] += wab * grid_a[at];
            phi[1] += wab * grid_a[at + 1];
            phi[2] += wab * grid_b[at];
            phi[3] += wab * grid_b[at + 1];
          }
        const double norm2 = yi[0] * yi[0] + yi[1] * yi[1];
        z[i] = (1 + norm2) * phi[0] - 2 * (yi[0] * phi[1] + yi[1] * phi[2]) + phi[3];
        out[i * 2] = yi[0] * phi[0] - phi[1];
        out[i * 2 + 1] = yi[1] * phi[0] - phi[2];
      } else {
        for (std::size_t a = 0; a < p; ++a) {
          const std::size_t at = 2 * (cell[i] + a);
          phi[0] += w[a] * grid_a[at];
          phi[1] += w[a] * grid_a[at + 1];
          phi[2] += w[a] * grid_b[at];
        }
        z[i] = (1 + yi[0] * yi[0]) * phi[0] - 2 * yi[0] * phi[1] + phi[2];
        out[i] = yi[0] * phi[0] - phi[1];
      }
    }
  });
  double sum = 0;
  for (double v : z) sum += v;
  return sum - static_cast<double>(n);
}

}  // namespace actatlas::detail
