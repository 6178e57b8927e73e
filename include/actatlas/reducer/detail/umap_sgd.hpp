/// @file reducer/detail/umap_sgd.hpp
/// UMAP's layout optimisation (umap-learn's optimize_layout_euclidean): each edge is
/// sampled in proportion to its weight (every epochs_per_sample = w_max / w epochs),
/// pulls its endpoints together with the gradient of log(1/(1 + a·d^(2b))), and is
/// followed by negative_sample_rate random points that push the head away; gradients
/// are clipped to ±4 and the learning rate falls linearly to 0.
///
/// Parallel and deterministic: within an epoch, every vertex moves only itself, along its
/// own edges in a fixed order, against the positions of the others as they were at the
/// start of the epoch (a snapshot), with negative samples drawn from a random stream
/// derived from (seed, epoch, vertex). So the layout depends on the seed only, not on
/// the thread count. umap-learn moves both ends of a sampled edge; here the reverse edge
/// moves the other end, and the head's attraction counts twice, which keeps umap-learn's
/// balance of two attractive moves to negative_sample_rate repulsive ones per vertex.
/// umap-learn's rule in a reproducible form (the head's step at once, the tail's opposite
/// step in a second pass at the epoch's end) was built and measured on 2026-12-02 and not
/// kept: +0.011 trustworthiness at the coarse scale on one real set, but lower label
/// accuracy and neighbour preservation on both large real sets, lower trustworthiness on
/// the 100k mixture, and 10% slower (docs/reducers.md, "The UMAP gap").
/// The negative samples that follow one edge are computed from the same position of the
/// head and applied together (repel_batch), where umap-learn applies them one by one.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../../matrix.hpp"
#include "../../neighbors/detail/parallel.hpp"
#include "../../progress.hpp"
#include "umap_fuzzy_set.hpp"

namespace actatlas::detail {

//! x^y for x > 0 through log2/exp2 polynomials (relative error about 1e-5), several
//! times faster than std::pow in the inner loop; the SGD does not need more.
inline float fast_pow(float x, float y) noexcept {
  // log2(x) = exponent + log2(mantissa), mantissa in [1, 2), via atanh series in t = (m − 1)/(m + 1)
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const int exponent = static_cast<int>((bits >> 23) & 0xff) - 127;
  const float m = std::bit_cast<float>((bits & 0x7fffffu) | 0x3f800000u);
  const float t = (m - 1.f) / (m + 1.f), t2 = t * t;
  const float log2m = t * (2.8853900817779268f + t2 * (0.9617966939259756f + t2 * (0.5770780163555854f + t2 * 0.4121985831111f)));
  float z = y * (static_cast<float>(exponent) + log2m);
  if (z < -126.f) return 0.f;
  if (z > 126.f) z = 126.f;
  const float fl = std::floor(z);
  const float f = z - fl;  // 2^f on [0, 1): Taylor series of e^(f ln 2) to degree 6
  const float p = 1.f + f * (0.6931471806f + f * (0.2402265070f + f * (0.0555041087f + f * (0.0096181291f + f * (0.0013333558f + f * 0.0001540353f)))));
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(p) + (static_cast<std::uint32_t>(static_cast<int>(fl)) << 23));
}

struct umap_sgd_params {
  double a = 1.577, b = 0.895;
  std::size_t epochs = 200;
  float learning_rate = 1.f;
  float repulsion_strength = 1.f;
  float negative_sample_rate = 5.f;
  std::uint64_t seed = 42;
  unsigned threads = 1;
};

//! Per-edge sampling schedule (umap-learn's epochs_per_sample and friends).
struct umap_schedule {
  std::vector<float> per_sample, next_sample, per_negative, next_negative;
};

//! Negative samples are taken in batches of at most this many; see repel_batch.
inline constexpr std::size_t negative_batch = 8;

//! Pushes `cur` (vertex v) away from `count` random vertices of the snapshot `old`.
//! All of a batch's forces are computed from where `cur` stood when the batch began and
//! then applied together: the repulsions are independent of one another, so the CPU
//! overlaps their long pow/divide chains instead of waiting on each in turn (applying
//! them one after another, as umap-learn does, made the SGD latency-bound: 19 s instead
//! of 10 s for 200 epochs at 100k rows on 2 cores, with the same trustworthiness).
//! `start` is scratch space of `dims` floats.
template <std::size_t Dims>
inline void repel_batch(float* cur, const float* old, std::size_t v, std::size_t n, std::size_t dims_runtime,
                        std::uint64_t& rng, std::size_t count, float alpha, float a, float b, float gamma2b,
                        float* start) {
  const std::size_t dims = Dims ? Dims : dims_runtime;
  const float* far[negative_batch];
  float coeff[negative_batch];
  for (std::size_t s = 0; s < count; ++s) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    // multiply-shift maps 32 random bits onto [0, n) without a division
    const std::size_t k = static_cast<std::size_t>(((rng * 0x2545f4914f6cdd1dull) >> 32) * n >> 32);
    far[s] = k == v ? nullptr : old + k * dims;  // a vertex does not repel itself
  }
  for (std::size_t d = 0; d < dims; ++d) start[d] = cur[d];
  for (std::size_t s = 0; s < count; ++s) {
    if (!far[s]) {
      coeff[s] = 0.f;
      continue;
    }
    float d2 = 0;
    for (std::size_t d = 0; d < dims; ++d) d2 += (start[d] - far[s][d]) * (start[d] - far[s][d]);
    // a sample exactly on top exerts no defined force (the jitter makes this rare)
    coeff[s] = d2 > 0 ? gamma2b / ((0.001f + d2) * (a * fast_pow(d2, b) + 1.f)) : 0.f;
  }
  for (std::size_t s = 0; s < count; ++s) {
    if (!far[s]) continue;
    for (std::size_t d = 0; d < dims; ++d) cur[d] += alpha * std::clamp(coeff[s] * (start[d] - far[s][d]), -4.f, 4.f);
  }
}

//! One epoch for every vertex. `Dims` > 0 fixes the dimension at compile time (1 and 2,
//! the atlas's cases, get unrolled loops); 0 reads it from `dims`.
template <std::size_t Dims>
void umap_epoch(float* pos, const float* old, std::size_t n, std::size_t dims_runtime, const sparse_graph& g,
                umap_schedule& sch, std::size_t epoch, float alpha, float a, float b, float two_ab, float gamma2b,
                std::uint64_t seed, unsigned threads) {
  const std::size_t dims = Dims ? Dims : dims_runtime;
  const float now = static_cast<float>(epoch);
  parallel_for(n, threads, 1024, [&](std::size_t begin, std::size_t end) {
    std::vector<float> start(dims);  // repel_batch's scratch
    for (std::size_t v = begin; v < end; ++v) {
      float* cur = pos + v * dims;
      std::uint64_t rng = mix_seed(seed, 0x56d + epoch, v) | 1u;  // xorshift64* stream of this (epoch, vertex)
      for (std::size_t e = g.row_start[v]; e < g.row_start[v + 1]; ++e) {
        if (sch.per_sample[e] <= 0 || sch.next_sample[e] > now) continue;
        const float* other = old + std::size_t(g.col[e]) * dims;
        float dist2 = 0;
        for (std::size_t d = 0; d < dims; ++d) dist2 += (cur[d] - other[d]) * (cur[d] - other[d]);
        if (dist2 > 0) {
          const float powb = fast_pow(dist2, b);
          const float coeff = -two_ab * powb / (dist2 * (a * powb + 1.f));
          for (std::size_t d = 0; d < dims; ++d)
            cur[d] += 2.f * alpha * std::clamp(coeff * (cur[d] - other[d]), -4.f, 4.f);
        }
        sch.next_sample[e] += sch.per_sample[e];
        // (now − next) / per is negative while no negative sample is due (and −1 when the rate
        // is 0): converting a negative float to size_t is undefined, so test first
        const float due = (now - sch.next_negative[e]) / sch.per_negative[e];
        const std::size_t negatives = due >= 1.f ? static_cast<std::size_t>(due) : 0;
        for (std::size_t first = 0; first < negatives; first += negative_batch) {
          const std::size_t count = std::min(negative_batch, negatives - first);
          repel_batch<Dims>(cur, old, v, n, dims, rng, count, alpha, a, b, gamma2b, start.data());
        }
        sch.next_negative[e] += static_cast<float>(negatives) * sch.per_negative[e];
      }
    }
  });
}

inline void optimize_layout(matrix& y, const sparse_graph& g, const umap_sgd_params& p, const progress_fn& progress) {
  const std::size_t n = y.shape(0), dims = y.shape(1), edges = g.col.size();
  if (n < 2 || edges == 0 || p.epochs == 0) return;
  const float a = static_cast<float>(p.a), b = static_cast<float>(p.b);
  const float max_weight = *std::max_element(g.weight.begin(), g.weight.end());
  // edges lighter than w_max / epochs would never be sampled: drop them (as umap-learn)
  umap_schedule sch;
  sch.per_sample.resize(edges);
  sch.next_sample.resize(edges);
  sch.per_negative.resize(edges);
  sch.next_negative.resize(edges);
  for (std::size_t e = 0; e < edges; ++e) {
    const float w = g.weight[e];
    sch.per_sample[e] = w >= max_weight / static_cast<float>(p.epochs) ? max_weight / w : -1.f;
    sch.next_sample[e] = sch.per_sample[e];
    sch.per_negative[e] = p.negative_sample_rate > 0 ? sch.per_sample[e] / p.negative_sample_rate : 1e30f;
    sch.next_negative[e] = sch.per_negative[e];
  }
  const float gamma2b = 2.f * p.repulsion_strength * b;
  const float two_ab = 2.f * a * b;
  matrix snapshot = y;
  report(progress, "umap sgd", 0, p.epochs);
  for (std::size_t epoch = 0; epoch < p.epochs; ++epoch) {
    const float alpha = p.learning_rate * (1.f - static_cast<float>(epoch) / static_cast<float>(p.epochs));
    std::copy(y.data(), y.data() + n * dims, snapshot.data());
    if (dims == 2)
      umap_epoch<2>(y.data(), snapshot.data(), n, dims, g, sch, epoch, alpha, a, b, two_ab, gamma2b, p.seed, p.threads);
    else if (dims == 1)
      umap_epoch<1>(y.data(), snapshot.data(), n, dims, g, sch, epoch, alpha, a, b, two_ab, gamma2b, p.seed, p.threads);
    else
      umap_epoch<0>(y.data(), snapshot.data(), n, dims, g, sch, epoch, alpha, a, b, two_ab, gamma2b, p.seed, p.threads);
    report(progress, "umap sgd", epoch + 1, p.epochs);
  }
}

}  // namespace actatlas::detail
