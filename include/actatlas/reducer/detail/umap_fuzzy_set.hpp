/// @file reducer/detail/umap_fuzzy_set.hpp
/// The fuzzy simplicial set of UMAP (McInnes, Healy, Melville 2018, §3): each point's
/// neighbour distances are shifted by ρ (the distance to its nearest neighbour, so every
/// point is connected to at least one other with weight 1: local connectivity) and scaled
/// by σ, found by bisection so that Σ exp(−(d − ρ)/σ) = log2(n_neighbors) (smooth-kNN
/// calibration). The directed memberships are then combined by the fuzzy union
/// w + wᵀ − w∘wᵀ (set_op_mix_ratio 1), or the intersection w∘wᵀ, or a mix of both.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "../../neighbors/knn.hpp"
#include "../../neighbors/detail/parallel.hpp"

namespace actatlas::detail {

//! A symmetric sparse graph in compressed-row form (both directions stored).
struct sparse_graph {
  std::size_t n = 0;
  std::vector<std::size_t> row_start;  //!< n + 1 offsets into col/weight
  std::vector<std::uint32_t> col;
  std::vector<float> weight;
};

//! σ and ρ of every point, as umap-learn's smooth_knn_dist. `target_neighbors` is
//! n_neighbors (which counts the point itself), `g` holds the other n_neighbors − 1.
inline void smooth_knn_calibration(const knn_graph& g, double target_neighbors, double local_connectivity,
                                   unsigned threads, std::vector<float>& sigma, std::vector<float>& rho) {
  constexpr double tolerance = 1e-5, min_scale = 1e-3;
  const std::size_t n = g.n, k = g.k;
  sigma.assign(n, 1.f);
  rho.assign(n, 0.f);
  const double target = std::log2(std::max(target_neighbors, 1.0 + 1e-9));
  double mean_all = 0;
  for (float d : g.distance) mean_all += d;
  mean_all = g.distance.empty() ? 0 : mean_all / double(g.distance.size());
  parallel_for(n, threads, 1024, [&](std::size_t b, std::size_t e) {
    std::vector<double> nonzero;
    for (std::size_t i = b; i < e; ++i) {
      const float* d = g.distance.data() + i * k;
      nonzero.clear();
      double mean_i = 0;
      for (std::size_t r = 0; r < k; ++r) {
        mean_i += d[r];
        if (d[r] > 0) nonzero.push_back(d[r]);
      }
      mean_i = k ? mean_i / double(k) : 0;
      double rho_i = 0;
      if (nonzero.size() >= local_connectivity) {
        const auto index = static_cast<std::size_t>(std::floor(local_connectivity));
        const double interpolation = local_connectivity - double(index);
        if (index > 0) {
          rho_i = nonzero[index - 1];
          if (interpolation > tolerance && index < nonzero.size())
            rho_i += interpolation * (nonzero[index] - nonzero[index - 1]);
        } else {
          rho_i = interpolation * nonzero[0];
        }
      } else if (!nonzero.empty()) {
        rho_i = *std::max_element(nonzero.begin(), nonzero.end());
      }
      double lo = 0, hi = std::numeric_limits<double>::infinity(), mid = 1;
      for (int it = 0; it < 64; ++it) {
        double psum = 0;
        for (std::size_t r = 0; r < k; ++r) {
          const double x = d[r] - rho_i;
          psum += x > 0 ? std::exp(-x / mid) : 1.0;
        }
        if (std::abs(psum - target) < tolerance) break;
        if (psum > target) {
          hi = mid;
          mid = (lo + hi) / 2;
        } else {
          lo = mid;
          mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2;
        }
      }
      if (rho_i > 0) mid = std::max(mid, min_scale * mean_i);
      else mid = std::max(mid, min_scale * mean_all);
      sigma[i] = static_cast<float>(mid);
      rho[i] = static_cast<float>(rho_i);
    }
  });
}

//! The symmetric membership graph. Edges whose weight is 0 are dropped.
inline sparse_graph fuzzy_simplicial_set(const knn_graph& g, double n_neighbors, double local_connectivity,
                                         double set_op_mix_ratio, unsigned threads) {
  const std::size_t n = g.n, k = g.k;
  std::vector<float> sigma, rho;
  smooth_knn_calibration(g, n_neighbors, local_connectivity, threads, sigma, rho);
  // directed memberships, then every edge keyed by its unordered pair
  struct entry {
    std::uint32_t lo, hi;
    float w;
    bool forward;  // lo → hi
  };
  std::vector<entry> entries;
  entries.reserve(n * k);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < k; ++r) {
      const std::uint32_t j = g.index[i * k + r];
      if (j == i) continue;
      const double x = g.distance[i * k + r] - rho[i];
      const double w = (x <= 0 || sigma[i] == 0) ? 1.0 : std::exp(-x / sigma[i]);
      const auto ui = static_cast<std::uint32_t>(i);
      entries.push_back({std::min(ui, j), std::max(ui, j), static_cast<float>(w), ui < j});
    }
  std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
    return a.lo != b.lo ? a.lo < b.lo : a.hi != b.hi ? a.hi < b.hi : a.forward > b.forward;
  });
  struct edge {
    std::uint32_t a, b;
    float w;
  };
  std::vector<edge> edges;
  edges.reserve(entries.size());
  for (std::size_t s = 0; s < entries.size();) {
    float forward = 0, backward = 0;
    std::size_t t = s;
    for (; t < entries.size() && entries[t].lo == entries[s].lo && entries[t].hi == entries[s].hi; ++t)
      (entries[t].forward ? forward : backward) = entries[t].w;
    const double product = double(forward) * backward;
    const double w = set_op_mix_ratio * (forward + backward - product) + (1 - set_op_mix_ratio) * product;
    if (w > 0) edges.push_back({entries[s].lo, entries[s].hi, static_cast<float>(w)});
    s = t;
  }
  entries = {};
  sparse_graph out;
  out.n = n;
  out.row_start.assign(n + 1, 0);
  for (const edge& e : edges) {
    ++out.row_start[e.a + 1];
    ++out.row_start[e.b + 1];
  }
  std::partial_sum(out.row_start.begin(), out.row_start.end(), out.row_start.begin());
  out.col.resize(out.row_start[n]);
  out.weight.resize(out.row_start[n]);
  std::vector<std::size_t> fill(out.row_start.begin(), out.row_start.end() - 1);
  for (const edge& e : edges) {  // edges are sorted by (a, b), so every row ends up sorted by column
    out.col[fill[e.a]] = e.b;
    out.weight[fill[e.a]++] = e.w;
  }
  for (const edge& e : edges) {
    out.col[fill[e.b]] = e.a;
    out.weight[fill[e.b]++] = e.w;
  }
  // rows received their higher neighbours first, then their lower ones: sort each row
  std::vector<std::pair<std::uint32_t, float>> row;
  for (std::size_t i = 0; i < n; ++i) {
    row.clear();
    for (std::size_t s = out.row_start[i]; s < out.row_start[i + 1]; ++s) row.emplace_back(out.col[s], out.weight[s]);
    std::sort(row.begin(), row.end());
    for (std::size_t s = 0; s < row.size(); ++s) {
      out.col[out.row_start[i] + s] = row[s].first;
      out.weight[out.row_start[i] + s] = row[s].second;
    }
  }
  return out;
}

}  // namespace actatlas::detail
