/// @file neighbors/detail/knn_exact.hpp
/// Brute-force k nearest neighbours: every pair, in cache-sized tiles (a block of query
/// rows against a block of data rows, both staying in L2), rows of queries split across
/// threads. O(N²D): the reference for small N and for the recall tests.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>

#include "../../progress.hpp"
#include "distance.hpp"
#include "neighbor_heap.hpp"
#include "parallel.hpp"

namespace actatlas::detail {

inline void knn_exact(const search_space& space, neighbor_heap& heap, unsigned threads, const progress_fn& progress) {
  const std::size_t n = space.size();
  constexpr std::size_t query_block = 16;
  const std::size_t data_block = std::max<std::size_t>(64, (256 * 1024) / (std::max<std::size_t>(space.dims(), 1) * 4));
  shared_progress bar(progress, "knn exact", n, 4096);
  parallel_for(n, threads, query_block, [&](std::size_t q0, std::size_t q1) {
    for (std::size_t d0 = 0; d0 < n; d0 += data_block) {
      const std::size_t d1 = std::min(n, d0 + data_block);
      for (std::size_t q = q0; q < q1; ++q)
        for (std::size_t j = d0; j < d1; ++j)
          if (j != q) heap.push(q, space(q, j), static_cast<std::uint32_t>(j));
    }
    bar.add(q1 - q0);
  });
  bar.finish();
}

}  // namespace actatlas::detail
