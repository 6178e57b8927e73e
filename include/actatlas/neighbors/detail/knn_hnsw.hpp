/// @file neighbors/detail/knn_hnsw.hpp
/// k nearest neighbours through hnswlib's HNSW graph. The index is built by inserting
/// rows one after another in row order, because parallel insertion makes the graph depend
/// on thread timing; the queries (read-only) run in parallel. Cosine searches the unit
/// vectors with L2, which ranks identically.
#pragma once

#include <algorithm>
#include <assert.h>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <x86intrin.h>
#endif

#include "../../progress.hpp"
#include "distance.hpp"
#include "neighbor_heap.hpp"
#include "parallel.hpp"

// Debian's hnswlib 0.6 defines non-inline functions and globals in its headers, so two
// translation units that include it fail to link. Its standard headers are included
// above (their guards keep them out below); hnswlib itself is wrapped in an unnamed
// namespace, which gives each translation unit a private copy.
// hnswlib 0.6's searchBaseLayer computes the address to prefetch from the neighbour after
// the current one, `*(datal + j + 1)`, also for the last one: a read one element past a
// full upper-level link list, which is a block of its own (ASan: heap-buffer-overflow, 4
// bytes past a 69-byte allocation made in addPoint, with M = 16). The read is only there
// to feed _mm_prefetch, a cache hint that changes no result, so within hnswlib the hint and
// its argument are compiled out: the argument is never evaluated, the read never happens.
// (Measured: no slower; docs/reliability.md.) push/pop keep the intrinsic for everyone else.
#pragma push_macro("_mm_prefetch")
#undef _mm_prefetch
#define _mm_prefetch(address, hint) ((void)0)
namespace actatlas::detail {
namespace {
#include <hnswlib/hnswlib.h>
}  // namespace
}  // namespace actatlas::detail
#undef _mm_prefetch
#pragma pop_macro("_mm_prefetch")

namespace actatlas::detail {
namespace {

[[maybe_unused]] void knn_hnsw(const search_space& space, neighbor_heap& heap, std::size_t m, std::size_t ef_construction,
                     std::size_t ef_search, std::uint64_t seed, unsigned threads, const progress_fn& progress) {
  const std::size_t n = space.size(), k = heap.k();
  hnswlib::L2Space l2(space.dims());
  hnswlib::HierarchicalNSW<float> index(&l2, n, m, ef_construction, static_cast<std::size_t>(seed));
  shared_progress build(progress, "knn hnsw build", n, 4096);
  for (std::size_t i = 0; i < n; ++i) {
    index.addPoint(space.row(i), static_cast<hnswlib::labeltype>(i));
    build.add(1);
  }
  build.finish();
  index.setEf(ef_search ? ef_search : std::max<std::size_t>(2 * k, 64));
  shared_progress query(progress, "knn hnsw query", n, 4096);
  parallel_for(n, threads, 256, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      auto found = index.searchKnn(space.row(i), k + 1);
      while (!found.empty()) {
        const auto j = static_cast<std::uint32_t>(found.top().second);
        found.pop();
        if (j != i) heap.push(i, space(i, j), j);
      }
    }
    query.add(e - b);
  });
  query.finish();
}

}  // namespace
}  // namespace actatlas::detail
