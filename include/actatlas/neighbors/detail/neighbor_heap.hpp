/// @file neighbors/detail/neighbor_heap.hpp
/// Per-row bounded max-heaps of (distance, index), the working state of every neighbour
/// search. Ties are broken by index, so the k kept from any set of candidates are the
/// same whatever order they arrive in: parallel searches stay deterministic.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

namespace actatlas::detail {

class neighbor_heap {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  neighbor_heap(std::size_t n, std::size_t k)
      : n_(n), k_(k), dist_(n * k, std::numeric_limits<float>::infinity()), index_(n * k, none), flag_(n * k, 0) {}

  std::size_t rows() const noexcept { return n_; }
  std::size_t k() const noexcept { return k_; }
  float worst(std::size_t row) const noexcept { return k_ ? dist_[row * k_] : -1.f; }
  float* dist(std::size_t row) noexcept { return dist_.data() + row * k_; }
  std::uint32_t* index(std::size_t row) noexcept { return index_.data() + row * k_; }
  std::uint8_t* flag(std::size_t row) noexcept { return flag_.data() + row * k_; }
  const float* dist(std::size_t row) const noexcept { return dist_.data() + row * k_; }
  const std::uint32_t* index(std::size_t row) const noexcept { return index_.data() + row * k_; }

  //! Offers candidate j at distance d to `row`; true when it entered the heap.
  bool push(std::size_t row, float d, std::uint32_t j, std::uint8_t is_new = 1) noexcept {
    if (k_ == 0) return false;
    float* ds = dist(row);
    std::uint32_t* is = index(row);
    if (!less(d, j, ds[0], is[0])) return false;
    for (std::size_t s = 0; s < k_; ++s)
      if (is[s] == j) return false;
    std::uint8_t* fs = flag(row);
    // replace the root and sift down
    std::size_t pos = 0;
    for (;;) {
      std::size_t child = 2 * pos + 1;
      if (child >= k_) break;
      if (child + 1 < k_ && less(ds[child], is[child], ds[child + 1], is[child + 1])) ++child;
      if (!less(d, j, ds[child], is[child])) break;
      ds[pos] = ds[child];
      is[pos] = is[child];
      fs[pos] = fs[child];
      pos = child;
    }
    ds[pos] = d;
    is[pos] = j;
    fs[pos] = is_new;
    return true;
  }

  //! Sorts every row ascending by (distance, index); the heap property is lost.
  void sort_rows() {
    std::vector<std::size_t> order(k_);
    std::vector<float> d(k_);
    std::vector<std::uint32_t> ix(k_);
    for (std::size_t r = 0; r < n_; ++r) {
      std::iota(order.begin(), order.end(), std::size_t{0});
      float* ds = dist(r);
      std::uint32_t* is = index(r);
      std::sort(order.begin(), order.end(),
                [&](std::size_t a, std::size_t b) { return less(ds[a], is[a], ds[b], is[b]); });
      for (std::size_t s = 0; s < k_; ++s) {
        d[s] = ds[order[s]];
        ix[s] = is[order[s]];
      }
      std::copy(d.begin(), d.end(), ds);
      std::copy(ix.begin(), ix.end(), is);
    }
  }

  static bool less(float da, std::uint32_t ia, float db, std::uint32_t ib) noexcept {
    return da < db || (da == db && ia < ib);
  }

 private:
  std::size_t n_, k_;
  std::vector<float> dist_;
  std::vector<std::uint32_t> index_;
  std::vector<std::uint8_t> flag_;
};

}  // namespace actatlas::detail
