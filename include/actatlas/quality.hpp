/// @file quality.hpp
/// How well a layout keeps the neighbourhoods of its input, the measures used by the
/// tests and benchmarks. All are exact (brute force, O(q·N·D) for q query rows), so for
/// large N pass a subsample of query rows; neighbours are still searched among all rows.
///
/// - `trustworthiness(x, y, k)` (Venna & Kaski 2001; as sklearn.manifold.trustworthiness):
///   1 − 2/(q·k·(2N − 3k − 1)) · Σ_i Σ_{j ∈ layout kNN(i) \ input kNN(i)} (rank_input(i, j) − k).
///   1 means no point appears among a layout neighbourhood that is not near in the input.
/// - `knn_preservation(x, y, k)`: mean fraction of each row's k input neighbours that are
///   also among its k layout neighbours.
/// - `knn_label_accuracy(y, labels, k)`: mean fraction of each row's k layout neighbours
///   that carry the row's label (how well separated classes stay apart).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "error.hpp"
#include "matrix.hpp"
#include "metric.hpp"
#include "neighbors/detail/distance.hpp"
#include "neighbors/detail/parallel.hpp"

namespace actatlas {

namespace detail {

//! Every row's squared-distance ranking to all others (self excluded), for the query rows.
struct ranked_row {
  std::vector<float> distance;  //!< to every row (self: +inf)
  std::vector<std::uint32_t> nearest;  //!< the k nearest, ascending (ties by index)
};

inline ranked_row rank_row(const search_space& s, std::size_t i, std::size_t k) {
  ranked_row r;
  const std::size_t n = s.size();
  r.distance.resize(n);
  for (std::size_t j = 0; j < n; ++j) r.distance[j] = j == i ? std::numeric_limits<float>::infinity() : s(i, j);
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](std::uint32_t a, std::uint32_t b) {
                      return r.distance[a] < r.distance[b] || (r.distance[a] == r.distance[b] && a < b);
                    });
  r.nearest.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  return r;
}

inline std::vector<std::size_t> all_rows_or(std::span<const std::size_t> queries, std::size_t n) {
  if (!queries.empty()) return {queries.begin(), queries.end()};
  std::vector<std::size_t> q(n);
  std::iota(q.begin(), q.end(), std::size_t{0});
  return q;
}

inline void check_pair(matrix_cref x, matrix_cref y, std::size_t k, const char* what) {
  if (x.rows() != y.rows()) throw input_error(what, "input and layout have different row counts");
  if (k == 0 || k >= x.rows()) throw input_error(what, "k must lie in [1, N − 1]");
}

}  // namespace detail

//! Trustworthiness at k (euclidean in the layout; `m` in the input), over `queries` (all rows if empty).
inline double trustworthiness(matrix_cref x, matrix_cref y, std::size_t k, metric m = metric::euclidean,
                              std::span<const std::size_t> queries = {}, unsigned threads = 0) {
  detail::check_pair(x, y, k, "trustworthiness");
  if (2 * x.rows() < 3 * k + 2) throw input_error("trustworthiness", "k must be below (2N − 1)/3");
  const detail::search_space in(x, m), out(y, metric::euclidean);
  const auto q = detail::all_rows_or(queries, x.rows());
  const std::size_t n = x.rows();
  std::vector<double> penalty(q.size(), 0);
  detail::parallel_for(q.size(), detail::resolve_threads(threads), 16, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      const std::size_t i = q[s];
      const auto input = detail::rank_row(in, i, k);
      const auto layout = detail::rank_row(out, i, k);
      for (std::uint32_t j : layout.nearest) {
        if (std::find(input.nearest.begin(), input.nearest.end(), j) != input.nearest.end()) continue;
        // rank of j among i's input neighbours, 1-based, ties by index
        std::size_t rank = 1;
        const float dj = input.distance[j];
        for (std::size_t t = 0; t < n; ++t)
          if (input.distance[t] < dj || (input.distance[t] == dj && t < j)) ++rank;
        penalty[s] += static_cast<double>(rank) - static_cast<double>(k);
      }
    }
  });
  const double sum = std::accumulate(penalty.begin(), penalty.end(), 0.0);
  const double nk = static_cast<double>(q.size()) * static_cast<double>(k);
  return 1.0 - 2.0 / (nk * (2.0 * double(n) - 3.0 * double(k) - 1.0)) * sum;
}

//! Mean fraction of the k input neighbours kept among the k layout neighbours.
inline double knn_preservation(matrix_cref x, matrix_cref y, std::size_t k, metric m = metric::euclidean,
                               std::span<const std::size_t> queries = {}, unsigned threads = 0) {
  detail::check_pair(x, y, k, "knn_preservation");
  const detail::search_space in(x, m), out(y, metric::euclidean);
  const auto q = detail::all_rows_or(queries, x.rows());
  std::vector<double> kept(q.size(), 0);
  detail::parallel_for(q.size(), detail::resolve_threads(threads), 16, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      const auto input = detail::rank_row(in, q[s], k);
      const auto layout = detail::rank_row(out, q[s], k);
      for (std::uint32_t j : layout.nearest)
        if (std::find(input.nearest.begin(), input.nearest.end(), j) != input.nearest.end()) kept[s] += 1;
    }
  });
  return std::accumulate(kept.begin(), kept.end(), 0.0) / (double(q.size()) * double(k));
}

//! Mean fraction of each row's k layout neighbours that share its label.
template <class Label>
double knn_label_accuracy(matrix_cref y, std::span<const Label> labels, std::size_t k,
                          std::span<const std::size_t> queries = {}, unsigned threads = 0) {
  if (labels.size() != y.rows()) throw input_error("knn_label_accuracy", "one label per row expected");
  if (k == 0 || k >= y.rows()) throw input_error("knn_label_accuracy", "k must lie in [1, N − 1]");
  const detail::search_space out(y, metric::euclidean);
  const auto q = detail::all_rows_or(queries, y.rows());
  std::vector<double> same(q.size(), 0);
  detail::parallel_for(q.size(), detail::resolve_threads(threads), 16, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      const auto layout = detail::rank_row(out, q[s], k);
      for (std::uint32_t j : layout.nearest) same[s] += labels[j] == labels[q[s]] ? 1 : 0;
    }
  });
  return std::accumulate(same.begin(), same.end(), 0.0) / (double(q.size()) * double(k));
}

//! `count` distinct row indices of [0, n), sorted, drawn with `seed` (all rows when count ≥ n).
inline std::vector<std::size_t> subsample_rows(std::size_t n, std::size_t count, std::uint64_t seed = 0) {
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  if (count >= n) return rows;
  for (std::size_t i = 0; i < count; ++i) {  // partial Fisher–Yates with a counter-based stream
    const std::size_t j = i + detail::mix_seed(seed, 0x5ab, i) % (n - i);
    std::swap(rows[i], rows[j]);
  }
  rows.resize(count);
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace actatlas
