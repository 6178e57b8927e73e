/// @file neighbors/detail/nn_descent.hpp
/// Approximate k nearest neighbours by NN-descent (Dong, Moses, Li 2011) started from a
/// random-projection forest, the scheme of pynndescent: leaves of several random
/// hyperplane trees give every point a good first guess, then repeated "local joins"
/// compare the neighbours of each point's neighbours until few lists change.
///
/// Parallel and still deterministic: every random choice (tree splits, candidate
/// sampling) comes from a hash of (seed, purpose, index); heaps are updated under per-row
/// spinlocks, and a bounded heap keeps the k smallest (distance, index) whatever the
/// order of arrival. So the graph depends on the seed only, not on the thread count
/// or the scheduling. Convergence is counted from the heaps' final state (entries that
/// arrived this iteration), not from the racy number of successful pushes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "../../progress.hpp"
#include "distance.hpp"
#include "neighbor_heap.hpp"
#include "parallel.hpp"

namespace actatlas::detail {

struct nn_descent_params {
  std::size_t trees = 0, leaf_size = 0, max_candidates = 0, iterations = 0;
  double delta = 0.001;
  std::uint64_t seed = 42;
  unsigned threads = 1;
};

//! One random-projection tree: a permutation of the rows and the [begin, end) ranges of its leaves.
struct rp_tree {
  std::vector<std::uint32_t> order;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> leaves;
};

//! Splits rows by random hyperplanes until leaves hold at most `leaf_size` rows. A split
//! picks two rows p, q and sends each row to the side of the one it is closer to (the
//! hyperplane bisecting p and q; for unit vectors, the cosine tree's hyperplane through 0).
inline rp_tree build_rp_tree(const search_space& space, std::size_t leaf_size, std::uint64_t seed) {
  const std::size_t n = space.size();
  rp_tree t;
  t.order.resize(n);
  for (std::size_t i = 0; i < n; ++i) t.order[i] = static_cast<std::uint32_t>(i);
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::size_t, std::size_t>> stack{{0, n}};
  std::vector<std::uint8_t> side;
  while (!stack.empty()) {
    auto [b, e] = stack.back();
    stack.pop_back();
    const std::size_t size = e - b;
    if (size <= leaf_size) {
      t.leaves.emplace_back(static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e));
      continue;
    }
    const std::uint32_t p = t.order[b + rng() % size];
    std::uint32_t q = t.order[b + rng() % size];
    for (int tries = 0; tries < 8 && q == p; ++tries) q = t.order[b + rng() % size];
    side.resize(size);
    std::size_t left = 0;
    for (std::size_t s = 0; s < size; ++s) {
      const std::uint32_t i = t.order[b + s];
      const float dp = space(i, p), dq = space(i, q);
      side[s] = dp < dq ? 1 : dp > dq ? 0 : static_cast<std::uint8_t>(rng() & 1u);
      left += side[s];
    }
    if (left == 0 || left == size) {  // duplicates or a degenerate plane: split at random
      left = 0;
      for (std::size_t s = 0; s < size; ++s) left += side[s] = static_cast<std::uint8_t>(rng() & 1u);
      if (left == 0 || left == size) {
        for (std::size_t s = 0; s < size; ++s) side[s] = s < size / 2;
        left = size / 2;
      }
    }
    std::stable_partition(t.order.begin() + b, t.order.begin() + e,
                          [&, base = &t.order[b]](const std::uint32_t& v) { return side[&v - base]; });
    stack.emplace_back(b + left, e);
    stack.emplace_back(b, b + left);
  }
  return t;
}

//! Per-row bounded lists of candidates ordered by a random priority (smallest kept).
class candidate_lists {
 public:
  candidate_lists(std::size_t n, std::size_t c) : c_(c), prio_(n * c), index_(n * c), count_(n, 0) {}
  void clear() { std::fill(count_.begin(), count_.end(), 0u); }
  std::size_t count(std::size_t r) const noexcept { return count_[r]; }
  const std::uint32_t* index(std::size_t r) const noexcept { return index_.data() + r * c_; }
  bool contains(std::size_t r, std::uint32_t j) const noexcept {
    const std::uint32_t* ix = index(r);
    for (std::size_t s = 0; s < count_[r]; ++s)
      if (ix[s] == j) return true;
    return false;
  }

  //! Offers j with priority p; keeps, per distinct j, its smallest priority, and of those the c smallest.
  void offer(std::size_t r, std::uint64_t p, std::uint32_t j) noexcept {
    std::uint64_t* ps = prio_.data() + r * c_;
    std::uint32_t* is = index_.data() + r * c_;
    std::uint32_t& cnt = count_[r];
    for (std::size_t s = 0; s < cnt; ++s)
      if (is[s] == j) {
        if (p < ps[s]) {  // a lowered priority moves down the max-heap, full or not
          ps[s] = p;
          sift_down(ps, is, s, cnt);
        }
        return;
      }
    if (cnt < c_) {  // not full: append and sift up (a max-heap by priority once full)
      std::size_t pos = cnt++;
      while (pos > 0) {
        std::size_t parent = (pos - 1) / 2;
        if (!greater(p, j, ps[parent], is[parent])) break;
        ps[pos] = ps[parent];
        is[pos] = is[parent];
        pos = parent;
      }
      ps[pos] = p;
      is[pos] = j;
      return;
    }
    if (!greater(ps[0], is[0], p, j)) return;
    ps[0] = p;
    is[0] = j;
    sift_down(ps, is, 0, cnt);
  }

 private:
  static bool greater(std::uint64_t pa, std::uint32_t ia, std::uint64_t pb, std::uint32_t ib) noexcept {
    return pa > pb || (pa == pb && ia > ib);
  }
  static void sift_down(std::uint64_t* ps, std::uint32_t* is, std::size_t pos, std::size_t cnt) noexcept {
    for (;;) {
      std::size_t child = 2 * pos + 1;
      if (child >= cnt) return;
      if (child + 1 < cnt && greater(ps[child + 1], is[child + 1], ps[child], is[child])) ++child;
      if (!greater(ps[child], is[child], ps[pos], is[pos])) return;
      std::swap(ps[child], ps[pos]);
      std::swap(is[child], is[pos]);
      pos = child;
    }
  }
  std::size_t c_;
  std::vector<std::uint64_t> prio_;
  std::vector<std::uint32_t> index_;
  std::vector<std::uint32_t> count_;
};

class row_locks {
 public:
  explicit row_locks(std::size_t n) : flags_(new std::atomic_flag[n]) {
    for (std::size_t i = 0; i < n; ++i) flags_[i].clear();
  }
  void lock(std::size_t i) noexcept {
    while (flags_[i].test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock(std::size_t i) noexcept { flags_[i].clear(std::memory_order_release); }

 private:
  std::unique_ptr<std::atomic_flag[]> flags_;
};

inline void nn_descent(const search_space& space, neighbor_heap& heap, const nn_descent_params& p,
                       const progress_fn& progress) {
  const std::size_t n = space.size(), k = heap.k();
  if (n == 0 || k == 0) return;
  const std::size_t trees =
      p.trees ? p.trees : std::min<std::size_t>(32, 5 + static_cast<std::size_t>(std::lround(std::pow(double(n), 0.25))));
  const std::size_t leaf = p.leaf_size ? p.leaf_size : std::max<std::size_t>(10, std::min<std::size_t>(k + 1, 64));
  const std::size_t cands = p.max_candidates ? p.max_candidates : std::min<std::size_t>(60, k);
  const std::size_t iters =
      p.iterations ? p.iterations : std::max<std::size_t>(5, static_cast<std::size_t>(std::lround(std::log2(double(n)))));
  const std::size_t total_steps = trees + iters;
  report(progress, "knn nn-descent", 0, total_steps);

  // 1. Random-projection forest; every leaf's rows become each other's first candidates.
  std::vector<rp_tree> forest(trees);
  parallel_for(trees, p.threads, 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t t = b; t < e; ++t) forest[t] = build_rp_tree(space, leaf, mix_seed(p.seed, 1, t));
  });
  for (std::size_t t = 0; t < trees; ++t) {
    const rp_tree& tree = forest[t];
    // a row lies in exactly one leaf of a tree, so leaves are processed in parallel without locks
    parallel_for(tree.leaves.size(), p.threads, 64, [&](std::size_t b, std::size_t e) {
      for (std::size_t l = b; l < e; ++l) {
        const auto [lb, le] = tree.leaves[l];
        for (std::uint32_t a = lb; a < le; ++a)
          for (std::uint32_t c = a + 1; c < le; ++c) {
            const std::uint32_t i = tree.order[a], j = tree.order[c];
            const float d = space(i, j);
            heap.push(i, d, j);
            heap.push(j, d, i);
          }
      }
    });
    report(progress, "knn nn-descent", t + 1, total_steps);
  }
  forest.clear();
  forest.shrink_to_fit();
  // Rows whose leaves were too small to fill their lists get random neighbours.
  parallel_for(n, p.threads, 1024, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      for (std::uint64_t attempt = 0; heap.index(i)[0] == neighbor_heap::none && attempt < 4 * k + 16; ++attempt) {
        const std::uint32_t j = static_cast<std::uint32_t>(mix_seed(p.seed, 2 + (i << 20), attempt) % n);
        if (j != i) heap.push(i, space(i, j), j);
      }
  });

  // 2. NN-descent local joins.
  candidate_lists fresh(n, cands), old(n, cands);
  row_locks locks(n);
  for (std::size_t it = 0; it < iters; ++it) {
    fresh.clear();
    old.clear();
    parallel_for(n, p.threads, 512, [&](std::size_t b, std::size_t e) {
      for (std::size_t v = b; v < e; ++v) {
        const std::uint32_t* ix = heap.index(v);
        const std::uint8_t* fl = heap.flag(v);
        for (std::size_t s = 0; s < k; ++s) {
          const std::uint32_t u = ix[s];
          if (u == neighbor_heap::none) continue;
          const std::uint64_t prio = mix_seed(p.seed, 3 + (std::uint64_t(it) << 32), (std::uint64_t(v) << 32) | u);
          candidate_lists& list = fl[s] ? fresh : old;
          locks.lock(v);
          list.offer(v, prio, u);
          locks.unlock(v);
          locks.lock(u);
          list.offer(u, prio, static_cast<std::uint32_t>(v));
          locks.unlock(u);
        }
      }
    });
    // sampled entries are "old" from now on: they will have been joined
    parallel_for(n, p.threads, 1024, [&](std::size_t b, std::size_t e) {
      for (std::size_t v = b; v < e; ++v) {
        std::uint8_t* fl = heap.flag(v);
        const std::uint32_t* ix = heap.index(v);
        for (std::size_t s = 0; s < k; ++s)
          if (fl[s] && fresh.contains(v, ix[s])) fl[s] = 0;
      }
    });
    auto offer_pair = [&](std::uint32_t a, std::uint32_t c) {
      if (a == c) return;
      const float d = space(a, c);
      // racy pre-check of the current worst (it only decreases, so a candidate it rejects
      // could never be kept); the push itself is under the row's lock
      if (d <= heap.worst(a)) {
        locks.lock(a);
        heap.push(a, d, c, 2);
        locks.unlock(a);
      }
      if (d <= heap.worst(c)) {
        locks.lock(c);
        heap.push(c, d, a, 2);
        locks.unlock(c);
      }
    };
    parallel_for(n, p.threads, 256, [&](std::size_t b, std::size_t e) {
      for (std::size_t v = b; v < e; ++v) {
        const std::uint32_t* nw = fresh.index(v);
        const std::uint32_t* od = old.index(v);
        const std::size_t nn = fresh.count(v), no = old.count(v);
        for (std::size_t x = 0; x < nn; ++x) {
          for (std::size_t y = x + 1; y < nn; ++y) offer_pair(nw[x], nw[y]);
          for (std::size_t y = 0; y < no; ++y) offer_pair(nw[x], od[y]);
        }
      }
    });
    // count (and turn into ordinary "new" entries) what arrived during this iteration
    std::atomic<std::size_t> changed{0};
    parallel_for(n, p.threads, 4096, [&](std::size_t b, std::size_t e) {
      std::size_t local = 0;
      for (std::size_t v = b; v < e; ++v) {
        std::uint8_t* fl = heap.flag(v);
        for (std::size_t s = 0; s < k; ++s)
          if (fl[s] == 2) {
            fl[s] = 1;
            ++local;
          }
      }
      changed += local;
    });
    report(progress, "knn nn-descent", trees + it + 1, total_steps);
    if (static_cast<double>(changed.load()) <= p.delta * double(n) * double(k)) break;
  }
  report(progress, "knn nn-descent", total_steps, total_steps);
}

}  // namespace actatlas::detail
