/// @file reducer/detail/tsne_init.hpp
/// PCA initialisation for t-SNE, as openTSNE and scikit-learn (≥ 1.2) do it: project on
/// the leading principal axes and scale so that the first coordinate has standard
/// deviation 1e-4. A small, nearly deterministic start keeps the global structure of the
/// data (Kobak & Linderman 2021) and is what the early-exaggeration phase expects.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "../../matrix.hpp"
#include "../../metric.hpp"
#include "tsne_parallel.hpp"

namespace actatlas::detail {

//! At most this many rows (an even stride through the data) estimate the covariance:
//! principal axes from 5000 samples are as good as from all of them, and it keeps a
//! million-row input at seconds instead of minutes.
inline constexpr std::size_t tsne_pca_sample_rows = 5000;

//! Row i of x, L2-normalised when the metric is cosine (so PCA sees what the metric sees).
inline void tsne_pca_row(matrix_cref x, std::size_t i, metric m, std::vector<double>& out) {
  const std::size_t d = x.cols();
  out.resize(d);
  double norm2 = 0;
  for (std::size_t c = 0; c < d; ++c) {
    out[c] = x(i, c);
    norm2 += out[c] * out[c];
  }
  if (m == metric::cosine && norm2 > 0) {
    const double s = 1.0 / std::sqrt(norm2);
    for (double& v : out) v *= s;
  }
}

//! n×dims initial layout (row-major). Coordinates that PCA cannot give (fewer than dims
//! non-zero principal axes, e.g. D = 1 or all rows identical) are filled with seeded
//! Gaussian noise of the same 1e-4 scale.
inline std::vector<double> tsne_pca_init(matrix_cref x, std::size_t dims, metric m, std::uint64_t seed,
                                         unsigned threads) {
  const std::size_t n = x.rows(), d = x.cols();
  const std::size_t stride = std::max<std::size_t>(1, (n + tsne_pca_sample_rows - 1) / tsne_pca_sample_rows);
  std::vector<std::size_t> sample;
  for (std::size_t i = 0; i < n; i += stride) sample.push_back(i);

  // Mean and covariance of the sample, in double, accumulated per row (threads split
  // the covariance's rows, so the sums are in the same order for any thread count).
  std::vector<double> mean(d, 0.0), row;
  for (std::size_t i : sample) {
    tsne_pca_row(x, i, m, row);
    for (std::size_t c = 0; c < d; ++c) mean[c] += row[c];
  }
  for (double& v : mean) v /= static_cast<double>(sample.size());
  std::vector<float> centred(sample.size() * d);
  for (std::size_t s = 0; s < sample.size(); ++s) {
    tsne_pca_row(x, sample[s], m, row);
    for (std::size_t c = 0; c < d; ++c) centred[s * d + c] = static_cast<float>(row[c] - mean[c]);
  }
  std::vector<double> cov(d * d, 0.0);
  tsne_parallel_for(d, threads, [&](std::size_t begin, std::size_t end) {
    std::vector<double> acc(d);
    for (std::size_t a = begin; a < end; ++a) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::size_t s = 0; s < sample.size(); ++s) {
        const float* r = &centred[s * d];
        const double ra = r[a];
        if (ra == 0) continue;
        for (std::size_t b = a; b < d; ++b) acc[b] += ra * r[b];
      }
      for (std::size_t b = a; b < d; ++b) cov[a * d + b] = acc[b];
    }
  });
  for (std::size_t a = 0; a < d; ++a)  // mirror the upper triangle
    for (std::size_t b = 0; b < a; ++b) cov[a * d + b] = cov[b * d + a];

  // Leading eigenvectors by power iteration with deflation (d is at most a few thousand,
  // and only one or two axes are needed).
  std::vector<std::vector<double>> axes;
  std::vector<double> v(d), w(d);
  double first_eigen = 0;
  for (std::size_t a = 0; a < std::min(dims, d); ++a) {
    for (std::size_t c = 0; c < d; ++c) v[c] = 1.0 + 0.01 * static_cast<double>((c * 7919 + a * 104729) % 101);
    double eigen = 0;
    for (int it = 0; it < 500; ++it) {
      for (const auto& u : axes) {  // stay orthogonal to the axes already found
        double dot = 0;
        for (std::size_t c = 0; c < d; ++c) dot += u[c] * v[c];
        for (std::size_t c = 0; c < d; ++c) v[c] -= dot * u[c];
      }
      double norm = 0;
      for (double t : v) norm += t * t;
      norm = std::sqrt(norm);
      if (norm == 0) break;
      for (double& t : v) t /= norm;
      for (std::size_t r = 0; r < d; ++r) {
        double acc = 0;
        for (std::size_t c = 0; c < d; ++c) acc += cov[r * d + c] * v[c];
        w[r] = acc;
      }
      double next = 0, change = 0;
      for (std::size_t c = 0; c < d; ++c) next += v[c] * w[c];
      for (std::size_t c = 0; c < d; ++c) change += std::abs(w[c] - next * v[c]);
      eigen = next;
      std::swap(v, w);
      if (change <= 1e-10 * std::abs(next) && it > 5) break;
    }
    for (const auto& u : axes) {
      double dot = 0;
      for (std::size_t c = 0; c < d; ++c) dot += u[c] * v[c];
      for (std::size_t c = 0; c < d; ++c) v[c] -= dot * u[c];
    }
    double norm = 0;
    for (double t : v) norm += t * t;
    norm = std::sqrt(norm);
    if (a == 0) first_eigen = eigen;
    // An axis with (relatively) no variance is not a principal axis: leave it to noise.
    if (!(norm > 0) || !(eigen > 1e-12 * std::max(first_eigen, 1e-300)) || !(eigen > 0)) break;
    for (double& t : v) t /= norm;
    // Fix the sign (eigenvectors are defined up to it): largest component positive.
    const auto big = std::max_element(v.begin(), v.end(), [](double p, double q) { return std::abs(p) < std::abs(q); });
    if (*big < 0)
      for (double& t : v) t = -t;
    axes.push_back(v);
  }

  std::vector<double> y(n * dims, 0.0);
  tsne_parallel_for(n, threads, [&](std::size_t begin, std::size_t end) {
    std::vector<double> r;
    for (std::size_t i = begin; i < end; ++i) {
      tsne_pca_row(x, i, m, r);
      for (std::size_t a = 0; a < axes.size(); ++a) {
        double acc = 0;
        for (std::size_t c = 0; c < d; ++c) acc += (r[c] - mean[c]) * axes[a][c];
        y[i * dims + a] = acc;
      }
    }
  });
  double scale = 0;
  if (!axes.empty() && n > 1) {
    double s = 0, s2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      s += y[i * dims];
      s2 += y[i * dims] * y[i * dims];
    }
    const double var = s2 / static_cast<double>(n) - (s / static_cast<double>(n)) * (s / static_cast<double>(n));
    if (var > 0) scale = 1e-4 / std::sqrt(var);
  }
  std::size_t from = axes.size();
  if (scale == 0) from = 0;  // nothing usable: all noise
  for (double& t : y) t *= scale;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1e-4);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = from; a < dims; ++a) y[i * dims + a] = noise(rng);
  return y;
}

}  // namespace actatlas::detail
