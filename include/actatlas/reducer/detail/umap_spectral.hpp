/// @file reducer/detail/umap_spectral.hpp
/// UMAP's spectral initialisation: the eigenvectors of the graph's normalised Laplacian
/// with the smallest non-zero eigenvalues, i.e. the top non-trivial eigenvectors of
/// D^-1/2 W D^-1/2, found by block subspace iteration on (I + D^-1/2 W D^-1/2)/2 (which
/// is positive semi-definite, so the wanted end of the spectrum dominates) with the
/// trivial eigenvector D^1/2·1 deflated, and a Rayleigh–Ritz step at the end.
///
/// A disconnected graph has one trivial eigenvector per component and the spectral
/// embedding collapses each component to a point, so then every component is laid out
/// on its own and the components are placed by a principal-component projection of
/// their mean input vectors (a data-driven meta-layout, as umap-learn's
/// multi_component_layout does with centroid distances). Components too small for a
/// spectral layout get a seeded random one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "../../matrix.hpp"
#include "../../neighbors/detail/parallel.hpp"
#include "umap_fuzzy_set.hpp"

namespace actatlas::detail {

//! Component label of every vertex (labels in order of their smallest vertex) and their count.
inline std::size_t connected_components(const sparse_graph& g, std::vector<std::uint32_t>& label) {
  constexpr std::uint32_t unset = std::numeric_limits<std::uint32_t>::max();
  label.assign(g.n, unset);
  std::uint32_t count = 0;
  std::vector<std::uint32_t> queue;
  for (std::size_t s = 0; s < g.n; ++s) {
    if (label[s] != unset) continue;
    queue.assign(1, static_cast<std::uint32_t>(s));
    label[s] = count;
    for (std::size_t h = 0; h < queue.size(); ++h) {
      const std::uint32_t v = queue[h];
      for (std::size_t e = g.row_start[v]; e < g.row_start[v + 1]; ++e)
        if (label[g.col[e]] == unset) {
          label[g.col[e]] = count;
          queue.push_back(g.col[e]);
        }
    }
    ++count;
  }
  return count;
}

//! Orthonormalises the p columns of the row-major m×p block `x` (modified Gram–Schmidt,
//! twice for stability) after removing the unit vector `fixed`. A column that vanishes is
//! replaced by a fresh random one.
inline void orthonormalise(std::vector<double>& x, std::size_t m, std::size_t p, const std::vector<double>& fixed,
                           std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  int refills = 0;
  for (std::size_t c = 0; c < p; ++c) {
    for (int pass = 0; pass < 2; ++pass) {
      double f = 0;
      for (std::size_t i = 0; i < m; ++i) f += fixed[i] * x[i * p + c];
      for (std::size_t i = 0; i < m; ++i) x[i * p + c] -= f * fixed[i];
      for (std::size_t q = 0; q < c; ++q) {
        double dq = 0;
        for (std::size_t i = 0; i < m; ++i) dq += x[i * p + q] * x[i * p + c];
        for (std::size_t i = 0; i < m; ++i) x[i * p + c] -= dq * x[i * p + q];
      }
    }
    double norm = 0;
    for (std::size_t i = 0; i < m; ++i) norm += x[i * p + c] * x[i * p + c];
    norm = std::sqrt(norm);
    if (norm < 1e-10) {  // lost the column: start it again at random (a few times; the
      // caller keeps p + 1 ≤ m, so a random vector always has a part outside the others)
      if (++refills <= 16) {
        for (std::size_t i = 0; i < m; ++i) x[i * p + c] = normal(rng);
        --c;
        continue;
      }
      for (std::size_t i = 0; i < m; ++i) x[i * p + c] = 0;
      continue;
    }
    for (std::size_t i = 0; i < m; ++i) x[i * p + c] /= norm;
  }
}

//! Jacobi eigen-decomposition of a small symmetric p×p matrix (row-major); eigenvalues
//! in `values`, eigenvectors as the columns of `vectors`.
inline void symmetric_eigen(std::vector<double> a, std::size_t p, std::vector<double>& values,
                            std::vector<double>& vectors) {
  vectors.assign(p * p, 0);
  for (std::size_t i = 0; i < p; ++i) vectors[i * p + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = i + 1; j < p; ++j) off += a[i * p + j] * a[i * p + j];
    if (off < 1e-24) break;
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = i + 1; j < p; ++j) {
        if (std::abs(a[i * p + j]) < 1e-300) continue;
        const double theta = (a[j * p + j] - a[i * p + i]) / (2 * a[i * p + j]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < p; ++k) {  // A ← Jᵀ A J
          const double aki = a[k * p + i], akj = a[k * p + j];
          a[k * p + i] = c * aki - s * akj;
          a[k * p + j] = s * aki + c * akj;
        }
        for (std::size_t k = 0; k < p; ++k) {
          const double aik = a[i * p + k], ajk = a[j * p + k];
          a[i * p + k] = c * aik - s * ajk;
          a[j * p + k] = s * aik + c * ajk;
        }
        for (std::size_t k = 0; k < p; ++k) {
          const double vki = vectors[k * p + i], vkj = vectors[k * p + j];
          vectors[k * p + i] = c * vki - s * vkj;
          vectors[k * p + j] = s * vki + c * vkj;
        }
      }
  }
  values.resize(p);
  for (std::size_t i = 0; i < p; ++i) values[i] = a[i * p + i];
}

//! Spectral coordinates (m×dims, row-major) of one connected component given by its
//! vertices; false when the component is too small for `dims` non-trivial eigenvectors.
//! `local[v]` is v's position in `vertices`.
inline bool spectral_component(const sparse_graph& g, const std::vector<std::uint32_t>& vertices,
                               const std::vector<std::uint32_t>& local, std::size_t dims, std::uint64_t seed,
                               unsigned threads, std::vector<double>& out) {
  const std::size_t m = vertices.size();
  if (m < dims + 2) return false;
  std::vector<double> inv_sqrt_degree(m), trivial(m);
  double trivial_norm = 0;
  for (std::size_t i = 0; i < m; ++i) {
    double d = 0;
    const std::uint32_t v = vertices[i];
    for (std::size_t e = g.row_start[v]; e < g.row_start[v + 1]; ++e) d += g.weight[e];
    inv_sqrt_degree[i] = d > 0 ? 1 / std::sqrt(d) : 0;
    trivial[i] = std::sqrt(d);
    trivial_norm += d;
  }
  trivial_norm = std::sqrt(trivial_norm);
  for (double& t : trivial) t /= trivial_norm;

  const std::size_t p = std::min(m - 1, dims + 4);  // a few extra vectors speed convergence
  std::mt19937_64 rng(mix_seed(seed, 0x5bec7a1));
  std::normal_distribution<double> normal;
  std::vector<double> x(m * p), y(m * p);
  for (double& v : x) v = normal(rng);
  orthonormalise(x, m, p, trivial, rng);
  auto apply = [&](const std::vector<double>& in, std::vector<double>& res) {  // res = (in + M in) / 2
    parallel_for(m, threads, 2048, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        const std::uint32_t v = vertices[i];
        double* r = &res[i * p];
        for (std::size_t c = 0; c < p; ++c) r[c] = 0;
        for (std::size_t s = g.row_start[v]; s < g.row_start[v + 1]; ++s) {
          const std::uint32_t j = local[g.col[s]];
          const double w = g.weight[s] * inv_sqrt_degree[j];
          for (std::size_t c = 0; c < p; ++c) r[c] += w * in[j * p + c];
        }
        for (std::size_t c = 0; c < p; ++c) r[c] = 0.5 * (in[i * p + c] + inv_sqrt_degree[i] * r[c]);
      }
    });
  };
  // Convergence of subspace iteration on a clustered graph is slow in the cluster
  // subspace, but any basis of it separates the clusters; the iteration count is a
  // budget, stopped early when the Ritz values settle.
  // (umap-learn asks eigsh for tol 1e-4; measured at 100k rows in 30 components, 300
  // iterations at 1e-7 made the initialisation as slow as the SGD)
  const int max_iterations = 100;
  std::vector<double> previous_trace(1, -1);
  for (int it = 0; it < max_iterations; ++it) {
    apply(x, y);
    if (it % 5 == 4) {  // Ritz-value trace of the block, for the stopping test
      double trace = 0;
      for (std::size_t i = 0; i < m * p; ++i) trace += x[i] * y[i];
      if (std::abs(trace - previous_trace[0]) < 1e-4 * std::abs(trace)) {
        x.swap(y);
        orthonormalise(x, m, p, trivial, rng);
        break;
      }
      previous_trace[0] = trace;
    }
    x.swap(y);
    orthonormalise(x, m, p, trivial, rng);
  }
  // Rayleigh–Ritz: the best `dims` directions within the converged block
  apply(x, y);
  std::vector<double> h(p * p, 0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t a = 0; a < p; ++a)
      for (std::size_t b = 0; b < p; ++b) h[a * p + b] += x[i * p + a] * y[i * p + b];
  for (std::size_t a = 0; a < p; ++a)
    for (std::size_t b = a + 1; b < p; ++b) h[a * p + b] = h[b * p + a] = 0.5 * (h[a * p + b] + h[b * p + a]);
  std::vector<double> values, vectors;
  symmetric_eigen(h, p, values, vectors);
  std::vector<std::size_t> order(p);
  for (std::size_t i = 0; i < p; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t l, std::size_t r) { return values[l] > values[r]; });
  out.assign(m * dims, 0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t d = 0; d < dims; ++d) {
      double s = 0;
      for (std::size_t c = 0; c < p; ++c) s += x[i * p + c] * vectors[c * p + order[d]];
      out[i * dims + d] = s;
    }
  return true;
}

//! Top `dims` principal-component scores of the rows of `means` (c×D, row-major, centred
//! here); coordinates beyond D are 0.
inline std::vector<double> principal_scores(std::vector<double> means, std::size_t c, std::size_t D,
                                            std::size_t out_dims, std::uint64_t seed) {
  const std::size_t dims = std::min(out_dims, D);
  std::vector<double> centre(D, 0);
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < D; ++j) centre[j] += means[i * D + j] / double(c);
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < D; ++j) means[i * D + j] -= centre[j];
  std::mt19937_64 rng(mix_seed(seed, 0x9ca));
  std::normal_distribution<double> normal;
  std::vector<double> basis(D * dims), next(D * dims), proj(c * dims);
  for (double& v : basis) v = normal(rng);
  const std::vector<double> none(D, 0);
  orthonormalise(basis, D, dims, none, rng);
  for (int it = 0; it < 100; ++it) {  // power iteration on the covariance, MᵀM
    std::fill(proj.begin(), proj.end(), 0);
    for (std::size_t i = 0; i < c; ++i)
      for (std::size_t j = 0; j < D; ++j)
        for (std::size_t d = 0; d < dims; ++d) proj[i * dims + d] += means[i * D + j] * basis[j * dims + d];
    std::fill(next.begin(), next.end(), 0);
    for (std::size_t i = 0; i < c; ++i)
      for (std::size_t j = 0; j < D; ++j)
        for (std::size_t d = 0; d < dims; ++d) next[j * dims + d] += means[i * D + j] * proj[i * dims + d];
    basis.swap(next);
    orthonormalise(basis, D, dims, none, rng);
  }
  std::vector<double> scores(c * out_dims, 0);
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < D; ++j)
      for (std::size_t d = 0; d < dims; ++d) scores[i * out_dims + d] += means[i * D + j] * basis[j * dims + d];
  return scores;
}

//! The initial layout (n×dims), each coordinate scaled to [0, 10] as umap-learn does.
//! Returns false in `spectral_used` when any part fell back to random placement.
inline matrix spectral_initialisation(const sparse_graph& g, matrix_cref x, std::size_t dims, std::uint64_t seed,
                                      unsigned threads, bool& spectral_used) {
  const std::size_t n = g.n;
  matrix y = matrix::from_shape({n, dims});
  std::vector<std::uint32_t> label;
  const std::size_t components = connected_components(g, label);
  std::vector<std::vector<std::uint32_t>> members(components);
  std::vector<std::uint32_t> local(n);
  for (std::size_t i = 0; i < n; ++i) {
    local[i] = static_cast<std::uint32_t>(members[label[i]].size());
    members[label[i]].push_back(static_cast<std::uint32_t>(i));
  }
  spectral_used = true;
  std::vector<double> layout;
  // component centres: one component sits at the origin; several are spread out by the
  // principal components of their mean input vectors
  std::vector<double> centres(components * dims, 0);
  double radius = 1;
  if (components > 1) {
    const std::size_t D = x.cols();
    std::vector<double> means(components * D, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < D; ++j) means[label[i] * D + j] += x(i, j);
    for (std::size_t c = 0; c < components; ++c)
      for (std::size_t j = 0; j < D; ++j) means[c * D + j] /= double(members[c].size());
    centres = principal_scores(std::move(means), components, D, dims, seed);
    double extent = 0;
    for (double v : centres) extent = std::max(extent, std::abs(v));
    std::mt19937_64 rng(mix_seed(seed, 0xce17e5));
    std::uniform_real_distribution<double> uniform(-1, 1);
    if (extent < 1e-12)
      for (double& v : centres) v = uniform(rng);  // identical means: spread at random
    else
      for (double& v : centres) v /= extent;
    // each component gets a disc of a radius that keeps typical neighbours apart
    radius = 0.5 / std::sqrt(double(components));
    for (double& v : centres) v *= 10;
    radius *= 10;
  }
  for (std::size_t c = 0; c < components; ++c) {
    const auto& vs = members[c];
    if (spectral_component(g, vs, local, dims, mix_seed(seed, 0x5ec, c), threads, layout)) {
      double extent = 0;
      for (double v : layout) extent = std::max(extent, std::abs(v));
      const double scale = extent > 0 ? radius / extent : 0;
      for (std::size_t i = 0; i < vs.size(); ++i)
        for (std::size_t d = 0; d < dims; ++d)
          y(vs[i], d) = static_cast<float>(centres[c * dims + d] + scale * layout[i * dims + d]);
    } else {
      spectral_used = false;
      std::mt19937_64 rng(mix_seed(seed, 0x7a2d, c));
      std::uniform_real_distribution<double> uniform(-1, 1);
      for (std::uint32_t v : vs)
        for (std::size_t d = 0; d < dims; ++d) y(v, d) = static_cast<float>(centres[c * dims + d] + radius * uniform(rng));
    }
  }
  return y;
}

//! Scales each coordinate to [0, 10] and adds a tiny seeded jitter (σ = 1e-4), so that
//! duplicate points, which start at one place, can be pulled apart by the optimisation.
inline void rescale_and_jitter(matrix& y, std::uint64_t seed) {
  const std::size_t n = y.shape(0), dims = y.shape(1);
  std::mt19937_64 rng(mix_seed(seed, 0x717));
  std::normal_distribution<float> normal(0.f, 1e-4f);
  for (std::size_t d = 0; d < dims; ++d) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < n; ++i) {
      lo = std::min(lo, y(i, d));
      hi = std::max(hi, y(i, d));
    }
    const float span = hi - lo;
    for (std::size_t i = 0; i < n; ++i) y(i, d) = span > 0 ? 10.f * (y(i, d) - lo) / span : 5.f;
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t d = 0; d < dims; ++d) y(i, d) += normal(rng);
}

}  // namespace actatlas::detail
