/// @file reducer/detail/tsne_gradient.hpp
/// The gradient of t-SNE's KL divergence, ∂C/∂y_i = 4 (Σ_j p_ij q_ij Z (y_i − y_j)
/// − Σ_j q_ij² Z² (y_i − y_j) / Z), split as usual into an attractive part over the
/// sparse P and a repulsive part over all pairs. The repulsive part is computed either
/// exactly (O(N²), for tests and tiny sets) or with Barnes-Hut on a 2^dims-ary space
/// partitioning tree (a binary tree in 1-D, a quadtree in 2-D): O(N log N).
///
/// Every point's forces are summed by one thread in a fixed order, and Z is summed over
/// the per-point partial sums in point order, so the gradient does not depend on the
/// thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "tsne_affinities.hpp"
#include "tsne_fft.hpp"
#include "tsne_parallel.hpp"

namespace actatlas::detail {

//! Attractive forces: out_i = Σ_j p_ij (y_i − y_j) / (1 + ‖y_i − y_j‖²), y row-major n×Dim.
template <std::size_t Dim>
void tsne_attractive(const tsne_sparse_p& p, const std::vector<double>& y, std::vector<double>& out,
                     unsigned threads) {
  out.assign(p.n * Dim, 0.0);
  tsne_parallel_for(p.n, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      std::array<double, Dim> force{};
      const double* yi = &y[i * Dim];
      for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const double* yj = &y[std::size_t{p.column[e]} * Dim];
        std::array<double, Dim> diff;
        double d2 = 0;
        for (std::size_t c = 0; c < Dim; ++c) {
          diff[c] = yi[c] - yj[c];
          d2 += diff[c] * diff[c];
        }
        const double w = p.value[e] / (1.0 + d2);
        for (std::size_t c = 0; c < Dim; ++c) force[c] += w * diff[c];
      }
      for (std::size_t c = 0; c < Dim; ++c) out[i * Dim + c] = force[c];
    }
  });
}

//! Repulsive forces, exact: out_i = Σ_j q_ij² (y_i − y_j) with q_ij = 1/(1 + d²), and
//! returns Z = Σ_{i≠j} q_ij. The caller divides out by Z.
template <std::size_t Dim>
double tsne_repulsive_exact(const std::vector<double>& y, std::size_t n, std::vector<double>& out,
                            unsigned threads) {
  out.assign(n * Dim, 0.0);
  std::vector<double> z(n, 0.0);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      std::array<double, Dim> force{};
      double zi = 0;
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        std::array<double, Dim> diff;
        double d2 = 0;
        for (std::size_t c = 0; c < Dim; ++c) {
          diff[c] = y[i * Dim + c] - y[j * Dim + c];
          d2 += diff[c] * diff[c];
        }
        const double q = 1.0 / (1.0 + d2);
        zi += q;
        for (std::size_t c = 0; c < Dim; ++c) force[c] += q * q * diff[c];
      }
      z[i] = zi;
      for (std::size_t c = 0; c < Dim; ++c) out[i * Dim + c] = force[c];
    }
  });
  return std::accumulate(z.begin(), z.end(), 0.0);
}

//! A Barnes-Hut space-partitioning tree over n points in Dim dimensions (Dim = 1: binary
//! tree, Dim = 2: quadtree). Cells are cubes; a cell is split into 2^Dim equal children
//! until it holds at most `leaf_size` points. Coincident points (which no split can
//! separate) stay together in a leaf once the cell is 2^-40 of the root's width.
template <std::size_t Dim>
class tsne_bh_tree {
 public:
  static constexpr std::size_t fanout = std::size_t{1} << Dim;
  static constexpr std::size_t leaf_size = 8;

  struct node {
    std::array<double, Dim> centre{};       //!< geometric centre of the cell
    std::array<double, Dim> mass_centre{};  //!< mean of the points inside
    double width = 0;                       //!< side length of the cell
    std::uint32_t begin = 0, end = 0;       //!< the cell's points: order_[begin, end)
    std::int64_t first_child = -1;          //!< children are contiguous; −1 for a leaf
  };

  tsne_bh_tree(const std::vector<double>& y, std::size_t n) : y_(y), order_(n), scratch_(n), code_(n) {
    std::iota(order_.begin(), order_.end(), std::uint32_t{0});
    if (n == 0) return;
    std::array<double, Dim> lo, hi;
    lo.fill(std::numeric_limits<double>::infinity());
    hi.fill(-std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < Dim; ++c) {
        lo[c] = std::min(lo[c], y[i * Dim + c]);
        hi[c] = std::max(hi[c], y[i * Dim + c]);
      }
    node root;
    double width = 0;
    for (std::size_t c = 0; c < Dim; ++c) {
      root.centre[c] = (lo[c] + hi[c]) / 2;
      width = std::max(width, hi[c] - lo[c]);
    }
    root.width = width * (1 + 1e-9) + 1e-300;  // every point strictly inside
    root.end = static_cast<std::uint32_t>(n);
    min_width_ = root.width * std::ldexp(1.0, -40);
    nodes_.reserve(2 * n / leaf_size + 16);
    nodes_.push_back(root);
    build(0);
  }

  //! Repulsive force on point i (Σ q² (y_i − y_j), into `force`) and its part of Z
  //! (Σ_{j≠i} q), with cells whose width/distance < theta taken as one body.
  double repulse(std::size_t i, double theta, double* force) const {
    const double* yi = &y_[i * Dim];
    const double theta2 = theta * theta;
    double z = 0;
    std::array<double, Dim> f{};
    std::int64_t stack[64 * fanout + 1];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const node& cell = nodes_[static_cast<std::size_t>(stack[--top])];
      const double count = cell.end - cell.begin;
      std::array<double, Dim> diff;
      double d2 = 0;
      for (std::size_t c = 0; c < Dim; ++c) {
        diff[c] = yi[c] - cell.mass_centre[c];
        d2 += diff[c] * diff[c];
      }
      if (cell.first_child >= 0 && cell.width * cell.width < theta2 * d2) {
        const double q = 1.0 / (1.0 + d2);
        z += count * q;
        for (std::size_t c = 0; c < Dim; ++c) f[c] += count * q * q * diff[c];
      } else if (cell.first_child < 0) {
        for (std::uint32_t at = cell.begin; at < cell.end; ++at) {
          const std::size_t j = order_[at];
          if (j == i) continue;
          double e2 = 0;
          std::array<double, Dim> dj;
          for (std::size_t c = 0; c < Dim; ++c) {
            dj[c] = yi[c] - y_[j * Dim + c];
            e2 += dj[c] * dj[c];
          }
          const double q = 1.0 / (1.0 + e2);
          z += q;
          for (std::size_t c = 0; c < Dim; ++c) f[c] += q * q * dj[c];
        }
      } else {
        for (std::size_t child = 0; child < fanout; ++child) {
          const auto at = cell.first_child + static_cast<std::int64_t>(child);
          if (nodes_[static_cast<std::size_t>(at)].end > nodes_[static_cast<std::size_t>(at)].begin)
            stack[top++] = at;
        }
      }
    }
    for (std::size_t c = 0; c < Dim; ++c) force[c] = f[c];
    return z;
  }

  std::size_t size() const { return nodes_.size(); }

 private:
  void build(std::size_t at) {
    // Copy out: nodes_ may reallocate while the children are appended.
    const node cell = nodes_[at];
    std::array<double, Dim> sum{};
    for (std::uint32_t k = cell.begin; k < cell.end; ++k)
      for (std::size_t c = 0; c < Dim; ++c) sum[c] += y_[std::size_t{order_[k]} * Dim + c];
    const double count = cell.end - cell.begin;
    for (std::size_t c = 0; c < Dim; ++c) nodes_[at].mass_centre[c] = count > 0 ? sum[c] / count : cell.centre[c];
    if (cell.end - cell.begin <= leaf_size || cell.width <= min_width_) return;

    // A stable counting sort of the cell's points by child code keeps the order (and so
    // every later floating-point sum) independent of anything but the positions.
    std::array<std::uint32_t, fanout + 1> start{};
    for (std::uint32_t k = cell.begin; k < cell.end; ++k) {
      const double* p = &y_[std::size_t{order_[k]} * Dim];
      unsigned code = 0;
      for (std::size_t c = 0; c < Dim; ++c)
        if (p[c] >= cell.centre[c]) code |= 1u << c;
      code_[k] = static_cast<std::uint8_t>(code);
      ++start[code + 1];
    }
    for (std::size_t b = 0; b < fanout; ++b) start[b + 1] += start[b];
    std::array<std::uint32_t, fanout> fill;
    for (std::size_t b = 0; b < fanout; ++b) fill[b] = cell.begin + start[b];
    for (std::uint32_t k = cell.begin; k < cell.end; ++k) scratch_[fill[code_[k]]++] = order_[k];
    std::copy(scratch_.begin() + cell.begin, scratch_.begin() + cell.end, order_.begin() + cell.begin);

    const auto first = static_cast<std::int64_t>(nodes_.size());
    nodes_[at].first_child = first;
    for (std::size_t b = 0; b < fanout; ++b) {
      node child;
      child.width = cell.width / 2;
      for (std::size_t c = 0; c < Dim; ++c)
        child.centre[c] = cell.centre[c] + ((b >> c) & 1u ? 0.25 : -0.25) * cell.width;
      child.begin = cell.begin + start[b];
      child.end = cell.begin + start[b + 1];
      nodes_.push_back(child);
    }
    for (std::size_t b = 0; b < fanout; ++b) build(static_cast<std::size_t>(first) + b);
  }

  const std::vector<double>& y_;
  std::vector<std::uint32_t> order_, scratch_;
  std::vector<std::uint8_t> code_;
  std::vector<node> nodes_;
  double min_width_ = 0;
};

//! Repulsive forces with Barnes-Hut (theta > 0); same contract as tsne_repulsive_exact.
template <std::size_t Dim>
double tsne_repulsive_bh(const std::vector<double>& y, std::size_t n, double theta, std::vector<double>& out,
                         unsigned threads) {
  out.assign(n * Dim, 0.0);
  if (n < 2) return 0.0;
  const tsne_bh_tree<Dim> tree(y, n);
  std::vector<double> z(n, 0.0);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) z[i] = tree.repulse(i, theta, &out[i * Dim]);
  });
  return std::accumulate(z.begin(), z.end(), 0.0);
}

//! How the repulsive forces are computed.
enum class tsne_repulsion { exact, barnes_hut, fft };

//! The full gradient 4 (exaggeration · attractive − repulsive / Z) into `grad`.
template <std::size_t Dim>
void tsne_gradient(const tsne_sparse_p& p, const std::vector<double>& y, double exaggeration, tsne_repulsion method,
                   double theta, unsigned threads, std::vector<double>& grad, std::vector<double>& scratch) {
  tsne_attractive<Dim>(p, y, grad, threads);
  const double z = method == tsne_repulsion::fft          ? tsne_repulsive_fft<Dim>(y, p.n, scratch, threads)
                   : method == tsne_repulsion::barnes_hut ? tsne_repulsive_bh<Dim>(y, p.n, theta, scratch, threads)
                                                          : tsne_repulsive_exact<Dim>(y, p.n, scratch, threads);
  const double inv_z = z > 0 ? 1.0 / z : 0.0;
  for (std::size_t e = 0; e < grad.size(); ++e) grad[e] = 4.0 * (exaggeration * grad[e] - scratch[e] * inv_z);
}

}  // namespace actatlas::detail
