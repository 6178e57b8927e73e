/// @file neighbors/detail/distance.hpp
/// Squared euclidean distance between float rows, the inner loop of every neighbour
/// search. The library is header-only and built without -march flags, so the AVX2/FMA
/// kernel is compiled with a function target attribute and chosen at run time; the
/// portable loop serves other CPUs. Both give the same answer up to summation order, and
/// one process always uses one of them, so results stay reproducible on one machine.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ACTATLAS_HAVE_X86_DISPATCH 1
#endif

#include "../../matrix.hpp"
#include "../../metric.hpp"

namespace actatlas::detail {

inline float squared_distance_portable(const float* a, const float* b, std::size_t n) noexcept {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t l = 0; l < 8; ++l) {
      const float d = a[i + l] - b[i + l];
      s[l] += d * d;
    }
  float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    t += d * d;
  }
  return t;
}

#ifdef ACTATLAS_HAVE_X86_DISPATCH
__attribute__((target("avx2,fma"))) inline float squared_distance_avx2(const float* a, const float* b,
                                                                       std::size_t n) noexcept {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
    const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
    s2 = _mm256_fmadd_ps(d2, d2, s2);
    s3 = _mm256_fmadd_ps(d3, d3, s3);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  float t = _mm_cvtss_f32(h);
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    t += d * d;
  }
  return t;
}
#endif

using squared_distance_fn = float (*)(const float*, const float*, std::size_t) noexcept;

inline squared_distance_fn best_squared_distance() noexcept {
#ifdef ACTATLAS_HAVE_X86_DISPATCH
  static const squared_distance_fn chosen = [] {
    __builtin_cpu_init();
    return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? &squared_distance_avx2
                                                                            : &squared_distance_portable;
  }();
  return chosen;
#else
  return &squared_distance_portable;
#endif
}

//! The rows a neighbour search works on, and the monotone "search distance" it ranks by:
//! squared euclidean distance, or for cosine half the squared distance between unit
//! vectors (= 1 − cos, computed without the cancellation of 1 − dot for near-duplicates).
//! Cosine needs a normalised copy; euclidean reads the caller's rows in place (which may
//! be a memory-mapped file).
class search_space {
 public:
  search_space(matrix_cref x, metric m) : metric_(m), dist_(best_squared_distance()) {
    if (m == metric::cosine) {
      const std::size_t n = x.rows(), d = x.cols();
      normalised_.resize(n * d);
      zero_.assign(n, 0);
      for (std::size_t i = 0; i < n; ++i) {
        const float* r = x.data() + i * d;
        double s = 0;
        for (std::size_t j = 0; j < d; ++j) s += double(r[j]) * r[j];
        float* o = normalised_.data() + i * d;
        if (s > 0) {
          const float inv = static_cast<float>(1.0 / std::sqrt(s));
          for (std::size_t j = 0; j < d; ++j) o[j] = r[j] * inv;
        } else {
          zero_[i] = 1;
          for (std::size_t j = 0; j < d; ++j) o[j] = 0;
        }
      }
      rows_ = matrix_cref(normalised_.data(), n, d);
    } else {
      rows_ = x;
    }
  }

  std::size_t size() const noexcept { return rows_.rows(); }
  std::size_t dims() const noexcept { return rows_.cols(); }
  const float* row(std::size_t i) const noexcept { return rows_.data() + i * rows_.cols(); }
  metric kind() const noexcept { return metric_; }

  //! The ranking distance between rows i and j.
  float operator()(std::size_t i, std::size_t j) const noexcept {
    if (metric_ == metric::cosine) {
      // cosine distance with an all-zero vector: 0 to another zero vector, 1 otherwise
      // (the convention of scipy and pynndescent).
      if (zero_[i] | zero_[j]) return (zero_[i] & zero_[j]) ? 0.f : 1.f;
      return 0.5f * dist_(row(i), row(j), dims());
    }
    return dist_(row(i), row(j), dims());
  }
  //! Ranking distance between an arbitrary (already transformed) vector and row j.
  float to_row(const float* v, std::size_t j) const noexcept {
    const float s = dist_(v, row(j), dims());
    return metric_ == metric::cosine ? 0.5f * s : s;
  }

  //! The reported distance: euclidean distance, or cosine distance 1 − cos.
  float reported(float search_distance) const noexcept {
    return metric_ == metric::cosine ? std::max(0.f, search_distance) : std::sqrt(std::max(0.f, search_distance));
  }

 private:
  metric metric_;
  squared_distance_fn dist_;
  std::vector<float> normalised_;
  std::vector<std::uint8_t> zero_;
  matrix_cref rows_;
};

}  // namespace actatlas::detail
