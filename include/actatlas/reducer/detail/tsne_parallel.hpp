/// @file reducer/detail/tsne_parallel.hpp
/// A parallel-for over an index range with std::thread. Chunks are handed out from an
/// atomic counter (Barnes-Hut work per point is uneven), so which thread runs an index
/// varies; every caller makes each index write only its own outputs, which therefore
/// come out bit-identical for any thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace actatlas::detail {

//! The number of threads to use: `requested`, or all cores when it is 0.
inline unsigned tsne_thread_count(unsigned requested) {
  if (requested) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

//! Calls `body(begin, end)` on chunks of [0, n) on `threads` threads (the caller is
//! one). The first exception thrown by any chunk is rethrown on the calling thread.
template <class Body>
void tsne_parallel_for(std::size_t n, unsigned threads, Body&& body) {
  if (n == 0) return;
  threads = std::max(1u, threads);
  if (threads == 1 || n < 64) {
    body(std::size_t{0}, n);
    return;
  }
  // About 16 chunks per thread: small enough to balance, large enough to be cheap.
  const std::size_t chunk = std::max<std::size_t>(16, n / (std::size_t{threads} * 16));
  const std::size_t chunks = (n + chunk - 1) / chunk;
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto work = [&] {
    try {
      for (std::size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
        body(c * chunk, std::min(n, (c + 1) * chunk));
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(chunks);
    }
  };
  std::vector<std::thread> pool;
  const std::size_t extra = std::min<std::size_t>(threads, chunks) - 1;
  pool.reserve(extra);
  for (std::size_t t = 0; t < extra; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace actatlas::detail
