/// @file neighbors/detail/parallel.hpp
/// A minimal std::thread parallel loop. Work is handed out in fixed-size chunks from an
/// atomic counter, so which thread runs a chunk varies from run to run: callers must make
/// their result independent of that (each chunk writes only its own outputs, or merges
/// in an order-independent way). The reducers rely on this to be deterministic.
#pragma once

#include "../../detail/position_hash.hpp"
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <string_view>
#include <vector>

#include "../../progress.hpp"

namespace actatlas::detail {

//! Progress reported from worker threads: serialised, and thinned to every `step` units so
//! the callback (which may draw) is not called from a hot loop.
class shared_progress {
 public:
  shared_progress(const progress_fn& fn, std::string_view stage, std::size_t total, std::size_t step)
      : fn_(fn), stage_(stage), total_(total), step_(std::max<std::size_t>(step, 1)) {
    report(fn_, stage_, 0, total_);
  }
  void add(std::size_t units) {
    if (!fn_) return;
    const std::size_t before = done_.fetch_add(units);
    const std::size_t after = before + units;
    if (after / step_ != before / step_ || after >= total_) {
      std::lock_guard lock(mutex_);
      report(fn_, stage_, std::min(after, total_), total_);
    }
  }
  void finish() { report(fn_, stage_, total_, total_); }

 private:
  const progress_fn& fn_;
  std::string_view stage_;
  std::size_t total_, step_;
  std::atomic<std::size_t> done_{0};
  std::mutex mutex_;
};

//! 0 means every core the machine reports.
inline unsigned resolve_threads(unsigned requested) {
  if (requested) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1u;
}

//! Calls `body(begin, end)` over [0, n) in chunks of `chunk`, on `threads` threads
//! (the calling thread is one of them). The first exception thrown is rethrown here.
template <class Body>
void parallel_for(std::size_t n, unsigned threads, std::size_t chunk, Body&& body) {
  if (n == 0) return;
  chunk = std::max<std::size_t>(chunk, 1);
  const std::size_t chunks = (n + chunk - 1) / chunk;
  const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(std::max(threads, 1u), chunks));
  if (workers <= 1) {
    for (std::size_t b = 0; b < n; b += chunk) body(b, std::min(n, b + chunk));
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (;;) {
        const std::size_t c = next.fetch_add(1, std::memory_order_relaxed);
        if (c >= chunks) break;
        const std::size_t b = c * chunk;
        body(b, std::min(n, b + chunk));
      }
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(chunks);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (unsigned t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

//! Runs `body(t)` once for each t in [0, threads), each on its own thread. For loops whose
//! partition must be fixed by the thread count (documented where used).
template <class Body>
void parallel_each_thread(unsigned threads, Body&& body) {
  threads = std::max(threads, 1u);
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](unsigned t) {
    try {
      body(t);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

// splitmix64 (detail/position_hash.hpp) derives independent, reproducible random streams
// from (seed, purpose, index), so that random choices do not depend on which thread makes them.
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  return splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b);
}

}  // namespace actatlas::detail
