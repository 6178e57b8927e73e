/// @file neighbors/knn.hpp
/// The k-nearest-neighbour graph that both reducers start from (UMAP's fuzzy set, t-SNE's
/// perplexity calibration), with the search method chosen by size.
///
/// @code
/// actatlas::knn_graph g = actatlas::nearest_neighbors(x, 15, actatlas::metric::cosine);
/// // g.index[i * g.k + r] is the r-th nearest neighbour of row i (r = 0 the nearest), and
/// // g.distance[...] its distance: euclidean, or cosine distance 1 − cos.
/// @endcode
///
/// Methods (see docs/reducers.md for the measurements behind the automatic choice):
/// - `exact`: every pair, tiled and multithreaded. O(N²D).
/// - `nn_descent`: random-projection forest, then NN-descent (Dong et al. 2011) local joins.
/// - `hnsw`: hnswlib's graph index (built serially so that it is reproducible; queries in parallel).
/// - `automatic`: exact up to `knn_options::exact_below` rows, NN-descent above.
///
/// Determinism: for a given seed every method returns the same graph whatever the thread
/// count (random choices are derived from (seed, index), never from a shared stream, and
/// candidates are merged in an order-independent way).
#pragma once

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../matrix.hpp"
#include "../metric.hpp"
#include "../progress.hpp"
#include "detail/distance.hpp"
#include "detail/knn_exact.hpp"
#include "detail/knn_hnsw.hpp"
#include "detail/neighbor_heap.hpp"
#include "detail/nn_descent.hpp"
#include "detail/parallel.hpp"

namespace actatlas {

//! Row-major n×k neighbour lists: the point itself excluded, ascending by distance (ties
//! by index). `distance` is euclidean distance or cosine distance (1 − cos).
struct knn_graph {
  std::size_t n = 0, k = 0;
  std::vector<std::uint32_t> index;
  std::vector<float> distance;

  std::uint32_t neighbor(std::size_t i, std::size_t r) const noexcept { return index[i * k + r]; }
  float dist(std::size_t i, std::size_t r) const noexcept { return distance[i * k + r]; }
};

struct knn_options {
  enum class method { automatic, exact, hnsw, nn_descent } algorithm = method::automatic;
  std::uint64_t seed = 42;
  unsigned threads = 0;  //!< 0 = all cores

  //! automatic: exact search up to this many rows.
  std::size_t exact_below = 8192;

  // NN-descent (0 = automatic, as in pynndescent).
  std::size_t trees = 0;           //!< random-projection trees; 0 = min(32, 5 + round(N^0.25))
  std::size_t leaf_size = 0;       //!< rows per tree leaf; 0 = max(10, min(k + 1, 64))
  std::size_t max_candidates = 60; //!< candidates sampled per point per iteration (umap-learn passes 60)
  std::size_t iterations = 0;      //!< 0 = max(5, round(log2 N))
  double delta = 0.001;            //!< stop when fewer than delta·N·k neighbours changed in an iteration

  // hnswlib.
  std::size_t hnsw_m = 16;
  std::size_t hnsw_ef_construction = 200;
  std::size_t hnsw_ef_search = 0;  //!< 0 = max(2k, 64)
};

namespace detail {

//! Rejects NaN and infinity with an input_error naming `where`; scans in parallel.
inline void check_all_finite(matrix_cref x, unsigned threads, const std::string& where) {
  const std::size_t d = x.cols();
  std::atomic<std::size_t> bad{static_cast<std::size_t>(-1)};
  parallel_for(x.rows(), threads, 4096, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const float* r = x.data() + i * d;
      for (std::size_t j = 0; j < d; ++j)
        if (!std::isfinite(r[j])) {
          std::size_t cur = bad.load();
          while (i < cur && !bad.compare_exchange_weak(cur, i)) {
          }
          break;
        }
    }
  });
  if (bad.load() != static_cast<std::size_t>(-1))
    throw input_error(where, "row " + std::to_string(bad.load()) + " holds a NaN or infinite value");
}

inline knn_graph graph_from_heap(neighbor_heap& heap, const search_space& space) {
  heap.sort_rows();
  knn_graph g;
  g.n = heap.rows();
  g.k = heap.k();
  g.index.resize(g.n * g.k);
  g.distance.resize(g.n * g.k);
  for (std::size_t i = 0; i < g.n; ++i)
    for (std::size_t r = 0; r < g.k; ++r) {
      g.index[i * g.k + r] = heap.index(i)[r];
      g.distance[i * g.k + r] = space.reported(heap.dist(i)[r]);
    }
  return g;
}

}  // namespace detail

//! The k nearest neighbours of every row of `x` (self excluded). k is clipped to N − 1
//! (the returned graph's `k` says what was used). NaN or infinity: input_error.
inline knn_graph nearest_neighbors(matrix_cref x, std::size_t k, metric m, const knn_options& o = {},
                                   const progress_fn& progress = {}) {
  const unsigned threads = detail::resolve_threads(o.threads);
  detail::check_all_finite(x, threads, "nearest_neighbors input");
  const std::size_t n = x.rows();
  k = n > 0 ? std::min(k, n - 1) : 0;
  if (n > std::size_t(std::numeric_limits<std::uint32_t>::max()) - 1)
    throw input_error("nearest_neighbors input", "more than 2^32 - 2 rows");
  detail::search_space space(x, m);
  detail::neighbor_heap heap(n, k);
  using method = knn_options::method;
  method chosen = o.algorithm;
  if (chosen == method::automatic) chosen = n <= o.exact_below ? method::exact : method::nn_descent;
  if (k == 0 || chosen == method::exact) {
    detail::knn_exact(space, heap, threads, progress);
  } else if (chosen == method::hnsw) {
    detail::knn_hnsw(space, heap, o.hnsw_m, o.hnsw_ef_construction, o.hnsw_ef_search, o.seed, threads, progress);
  } else {
    detail::nn_descent(space, heap,
                       {.trees = o.trees, .leaf_size = o.leaf_size, .max_candidates = o.max_candidates,
                        .iterations = o.iterations, .delta = o.delta, .seed = o.seed, .threads = threads},
                       progress);
  }
  return detail::graph_from_heap(heap, space);
}

}  // namespace actatlas
