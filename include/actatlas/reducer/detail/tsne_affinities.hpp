/// @file reducer/detail/tsne_affinities.hpp
/// t-SNE's input similarities P: a Gaussian conditional distribution over each point's
/// k nearest neighbours whose bandwidth is found by bisection so that its perplexity
/// (2 to the Shannon entropy in bits) equals the requested one, then symmetrised
/// (p_ij = (p_j|i + p_i|j) / 2N) into a sparse matrix that sums to 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "../../metric.hpp"
#include "tsne_parallel.hpp"

namespace actatlas::detail {

//! A sparse symmetric N×N matrix in compressed-row form; columns ascend within a row.
struct tsne_sparse_p {
  std::size_t n = 0;
  std::vector<std::size_t> row_start;  //!< n + 1 offsets into column/value
  std::vector<std::uint32_t> column;
  std::vector<float> value;

  double sum() const {
    double s = 0;
    for (float v : value) s += v;
    return s;
  }
};

//! The "squared distance" the Gaussian kernel sees. Euclidean distances are squared
//! (as sklearn and openTSNE do). A cosine distance 1 − cos is used as is: for unit
//! vectors ‖a − b‖² = 2(1 − cos), and the bisection absorbs the factor 2, so this is the
//! Gaussian on the chord between the normalised vectors (sklearn's choice too).
inline double tsne_kernel_distance(float d, metric m) {
  return m == metric::euclidean ? static_cast<double>(d) * d : static_cast<double>(d);
}

//! Fills `p[0..k)` with exp(−β d_j) / Σ exp(−β d_l) for the β whose entropy is
//! log(perplexity) (natural log), found by bisection. `d` are kernel distances. Returns
//! the perplexity reached (exp of the entropy), which differs from the target only when
//! the target is out of reach (e.g. k < perplexity, or all distances equal).
inline double tsne_calibrate_row(const double* d, std::size_t k, double perplexity, float* p,
                                 double tolerance = 1e-5, int max_steps = 200) {
  if (k == 0) return 0.0;
  // Shifting by the smallest distance leaves the normalised weights unchanged and keeps
  // exp() from underflowing to 0 for every neighbour when distances are large.
  const double dmin = *std::min_element(d, d + k);
  double mean = 0;
  for (std::size_t j = 0; j < k; ++j) mean += d[j] - dmin;
  mean /= static_cast<double>(k);
  const double target = std::log(perplexity);
  double beta = mean > 0 ? 1.0 / mean : 1.0;
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  std::vector<double> w(k);
  double entropy = 0;
  for (int step = 0; step < max_steps; ++step) {
    double sum = 0, weighted = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const double x = d[j] - dmin;
      w[j] = std::exp(-beta * x);
      sum += w[j];
      weighted += x * w[j];
    }
    entropy = std::log(sum) + beta * weighted / sum;  // H = log Σw + β E[x]
    for (std::size_t j = 0; j < k; ++j) p[j] = static_cast<float>(w[j] / sum);
    const double gap = entropy - target;
    if (std::abs(gap) < tolerance) break;
    if (gap > 0) {  // too flat: narrow the kernel
      lo = beta;
      beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = (beta + lo) / 2;
    }
  }
  return std::exp(entropy);
}

//! Conditional P (row-major n×k, aligned with `index`) from a k-NN graph's distances.
//! Rows are independent, so the result does not depend on the thread count.
inline std::vector<float> tsne_conditional_p(const std::vector<float>& distance, std::size_t n, std::size_t k,
                                             metric m, double perplexity, unsigned threads,
                                             std::vector<double>* reached = nullptr) {
  std::vector<float> p(n * k);
  if (reached) reached->assign(n, 0.0);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    std::vector<double> d(k);
    for (std::size_t i = begin; i < end; ++i) {
      for (std::size_t j = 0; j < k; ++j) d[j] = tsne_kernel_distance(distance[i * k + j], m);
      const double r = tsne_calibrate_row(d.data(), k, perplexity, p.data() + i * k);
      if (reached) (*reached)[i] = r;
    }
  });
  return p;
}

//! p_ij = (p_j|i + p_i|j) / 2N as a sparse matrix, renormalised to sum to exactly 1 in
//! double precision (the float rounding of the rows leaves it off by ~1e-7).
inline tsne_sparse_p tsne_symmetrize(const std::vector<std::uint32_t>& index, const std::vector<float>& cond,
                                     std::size_t n, std::size_t k, unsigned threads) {
  // The transpose, filled in ascending source order so its rows come out sorted.
  std::vector<std::size_t> t_start(n + 1, 0);
  for (std::size_t e = 0; e < n * k; ++e) ++t_start[index[e] + 1];
  std::partial_sum(t_start.begin(), t_start.end(), t_start.begin());
  std::vector<std::uint32_t> t_col(n * k);
  std::vector<float> t_val(n * k);
  {
    std::vector<std::size_t> fill(t_start.begin(), t_start.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < k; ++j) {
        const std::size_t e = i * k + j, at = fill[index[e]]++;
        t_col[at] = static_cast<std::uint32_t>(i);
        t_val[at] = cond[e];
      }
  }
  // Each row's own neighbours sorted by column, merged with its transpose row.
  const auto sorted_row = [&](std::size_t i, std::vector<std::pair<std::uint32_t, float>>& out) {
    out.clear();
    for (std::size_t j = 0; j < k; ++j) out.emplace_back(index[i * k + j], cond[i * k + j]);
    std::sort(out.begin(), out.end());
  };
  const auto merge = [&](std::size_t i, const std::vector<std::pair<std::uint32_t, float>>& own, auto&& emit) {
    std::size_t a = 0, b = t_start[i];
    const std::size_t b_end = t_start[i + 1];
    while (a < own.size() || b < b_end) {
      if (b == b_end || (a < own.size() && own[a].first < t_col[b])) {
        emit(own[a].first, own[a].second);
        ++a;
      } else if (a == own.size() || t_col[b] < own[a].first) {
        emit(t_col[b], t_val[b]);
        ++b;
      } else {
        emit(own[a].first, own[a].second + t_val[b]);
        ++a;
        ++b;
      }
    }
  };
  tsne_sparse_p p;
  p.n = n;
  p.row_start.assign(n + 1, 0);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    std::vector<std::pair<std::uint32_t, float>> own;
    for (std::size_t i = begin; i < end; ++i) {
      sorted_row(i, own);
      std::size_t count = 0;
      merge(i, own, [&](std::uint32_t, float) { ++count; });
      p.row_start[i + 1] = count;
    }
  });
  std::partial_sum(p.row_start.begin(), p.row_start.end(), p.row_start.begin());
  p.column.resize(p.row_start[n]);
  p.value.resize(p.row_start[n]);
  std::vector<double> row_sum(n, 0.0);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    std::vector<std::pair<std::uint32_t, float>> own;
    for (std::size_t i = begin; i < end; ++i) {
      sorted_row(i, own);
      std::size_t at = p.row_start[i];
      merge(i, own, [&](std::uint32_t c, float v) {
        p.column[at] = c;
        p.value[at++] = v;
        row_sum[i] += v;
      });
    }
  });
  // Sum in row order (not per thread) so that the scale is the same for any thread count.
  const double total = std::accumulate(row_sum.begin(), row_sum.end(), 0.0);
  if (total > 0) {
    const double scale = 1.0 / total;
    for (float& v : p.value) v = static_cast<float>(v * scale);
  }
  return p;
}

}  // namespace actatlas::detail
