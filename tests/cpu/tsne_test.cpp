// t-SNE reducer: affinities against a brute-force calibration, gradients against the
// exact sum, layouts on separated clusters (2-D and 1-D), trustworthiness, determinism
// and edge inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <actatlas/error.hpp>
#include <actatlas/reducer/tsne.hpp>

namespace {

using actatlas::matrix;
using actatlas::reducer::tsne;
using method = tsne::options::gradient_method;

//! `clusters` isotropic Gaussian blobs (unit spread) around centres drawn with spread
//! `separation` in `d` dimensions; labels are i % clusters.
matrix blobs(std::size_t n, std::size_t d, std::size_t clusters, double separation, std::vector<int>& label,
             unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  matrix centres = matrix::from_shape({clusters, d});
  for (auto& v : centres) v = g(rng) * static_cast<float>(separation);
  matrix x = matrix::from_shape({n, d});
  label.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    label[i] = static_cast<int>(i % clusters);
    for (std::size_t c = 0; c < d; ++c) x(i, c) = centres(label[i], c) + g(rng);
  }
  return x;
}

double squared_distance(const matrix& a, std::size_t i, std::size_t j) {
  double s = 0;
  for (std::size_t c = 0; c < a.shape(1); ++c) s += (a(i, c) - a(j, c)) * (a(i, c) - a(j, c));
  return s;
}

//! Indices of the k nearest rows of `a` to row i (brute force, self excluded).
std::vector<std::size_t> nearest(const matrix& a, std::size_t i, std::size_t k) {
  std::vector<std::pair<double, std::size_t>> d;
  for (std::size_t j = 0; j < a.shape(0); ++j)
    if (j != i) d.emplace_back(squared_distance(a, i, j), j);
  std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k), d.end());
  std::vector<std::size_t> out;
  for (std::size_t r = 0; r < k; ++r) out.push_back(d[r].second);
  return out;
}

//! Fraction of each point's 10 layout neighbours that share its label.
double knn_label_accuracy(const matrix& y, const std::vector<int>& label, std::size_t k = 10) {
  std::size_t hit = 0;
  for (std::size_t i = 0; i < y.shape(0); ++i)
    for (std::size_t j : nearest(y, i, k)) hit += label[j] == label[i];
  return static_cast<double>(hit) / static_cast<double>(y.shape(0) * k);
}

//! Trustworthiness (Venna & Kaski 2001) at k, computed by brute force.
double trustworthiness(const matrix& x, const matrix& y, std::size_t k) {
  const std::size_t n = x.shape(0);
  double penalty = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, std::size_t>> d;
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) d.emplace_back(squared_distance(x, i, j), j);
    std::sort(d.begin(), d.end());
    std::vector<std::size_t> rank(n, 0);
    for (std::size_t r = 0; r < d.size(); ++r) rank[d[r].second] = r + 1;
    for (std::size_t j : nearest(y, i, k))
      if (rank[j] > k) penalty += static_cast<double>(rank[j] - k);
  }
  const double nn = static_cast<double>(n), kk = static_cast<double>(k);
  return 1.0 - 2.0 / (nn * kk * (2 * nn - 3 * kk - 1)) * penalty;
}

//! Independent brute-force calibration: β by bisection on log β over the k nearest
//! neighbours, entropy from the normalised probabilities directly.
std::vector<double> brute_force_conditional(const matrix& x, std::size_t i, const std::vector<std::size_t>& nb,
                                            double perplexity) {
  std::vector<double> d2;
  for (std::size_t j : nb) d2.push_back(squared_distance(x, i, j));
  double lo = -50, hi = 50;
  std::vector<double> p(nb.size());
  for (int step = 0; step < 200; ++step) {
    const double beta = std::exp((lo + hi) / 2);
    double sum = 0;
    for (std::size_t r = 0; r < nb.size(); ++r) sum += p[r] = std::exp(-beta * (d2[r] - d2[0]));
    double h = 0;
    for (double& v : p) {
      v /= sum;
      if (v > 0) h -= v * std::log(v);
    }
    (h > std::log(perplexity) ? lo : hi) = (lo + hi) / 2;
  }
  return p;
}

}  // namespace

TEST_CASE("tsne P is symmetric, sums to 1 and matches a brute-force calibration", "[tsne]") {
  std::vector<int> label;
  const matrix x = blobs(240, 8, 4, 3.0, label);
  const double perplexity = 10;
  const tsne t({.perplexity = perplexity, .threads = 2});
  const auto p = t.affinities(x);
  const std::size_t n = x.shape(0), k = 30;
  CHECK(p.sum() == Approx(1.0).epsilon(1e-6));

  // Dense copy to check symmetry and compare.
  std::vector<double> dense(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) dense[i * n + p.column[e]] = p.value[e];
  double asym = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) asym = std::max(asym, std::abs(dense[i * n + j] - dense[j * n + i]));
  CHECK(asym == 0.0);

  std::vector<double> cond(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto nb = nearest(x, i, k);
    const auto row = brute_force_conditional(x, i, nb, perplexity);
    double h = 0;
    for (std::size_t r = 0; r < k; ++r) {
      cond[i * n + nb[r]] = row[r];
      if (row[r] > 0) h -= row[r] * std::log(row[r]);
    }
    REQUIRE(std::exp(h) == Approx(perplexity).epsilon(1e-4));  // the brute force itself reached it
  }
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double expected = (cond[i * n + j] + cond[j * n + i]) / (2.0 * static_cast<double>(n));
      worst = std::max(worst, std::abs(dense[i * n + j] - expected));
      largest = std::max(largest, expected);
    }
  CHECK(worst < 1e-4 * largest);

  // The library's own calibration reaches the perplexity on every row.
  const actatlas::knn_graph g = actatlas::nearest_neighbors(x, k, actatlas::metric::euclidean);
  std::vector<double> reached;
  actatlas::detail::tsne_conditional_p(g.distance, n, k, actatlas::metric::euclidean, perplexity, 2, &reached);
  for (double r : reached) REQUIRE(r == Approx(perplexity).epsilon(1e-4));
}

TEST_CASE("tsne Barnes-Hut and FFT repulsion match the exact sum", "[tsne]") {
  std::mt19937 rng(3);
  std::normal_distribution<double> g;
  const std::size_t n = 600;
  const auto relative_error = [&](const std::vector<double>& a, double za, const std::vector<double>& b, double zb) {
    double num = 0, den = 0;
    for (std::size_t e = 0; e < a.size(); ++e) {
      num += (a[e] / za - b[e] / zb) * (a[e] / za - b[e] / zb);
      den += (b[e] / zb) * (b[e] / zb);
    }
    return std::sqrt(num / den);
  };
  for (double spread : {0.5, 5.0}) {
    std::vector<double> y2(n * 2), y1(n);
    for (auto& v : y2) v = g(rng) * spread;
    for (auto& v : y1) v = g(rng) * spread;
    std::vector<double> exact, approx;
    const double z2 = actatlas::detail::tsne_repulsive_exact<2>(y2, n, exact, 2);
    // θ → 0 opens every cell: Barnes-Hut becomes the exact sum.
    double z = actatlas::detail::tsne_repulsive_bh<2>(y2, n, 1e-6, approx, 2);
    CHECK(z == Approx(z2).epsilon(1e-10));
    CHECK(relative_error(approx, z, exact, z2) < 1e-10);
    z = actatlas::detail::tsne_repulsive_bh<2>(y2, n, 0.5, approx, 2);
    CHECK(z == Approx(z2).epsilon(0.02));
    CHECK(relative_error(approx, z, exact, z2) < 0.03);
    z = actatlas::detail::tsne_repulsive_fft<2>(y2, n, approx, 2);
    CHECK(z == Approx(z2).epsilon(0.01));
    CHECK(relative_error(approx, z, exact, z2) < 0.03);

    const double z1 = actatlas::detail::tsne_repulsive_exact<1>(y1, n, exact, 2);
    z = actatlas::detail::tsne_repulsive_bh<1>(y1, n, 1e-6, approx, 2);
    CHECK(relative_error(approx, z, exact, z1) < 1e-10);
    z = actatlas::detail::tsne_repulsive_fft<1>(y1, n, approx, 2);
    CHECK(z == Approx(z1).epsilon(0.01));
    CHECK(relative_error(approx, z, exact, z1) < 0.03);
  }
}

TEST_CASE("tsne keeps separated clusters apart in 2-D and 1-D", "[tsne]") {
  std::vector<int> label;
  const matrix x = blobs(500, 20, 5, 4.0, label);
  const matrix y2 = tsne({.threads = 2}).reduce(x, 2);
  REQUIRE(y2.shape(0) == 500);
  REQUIRE(y2.shape(1) == 2);
  CHECK(knn_label_accuracy(y2, label) > 0.98);
  const matrix y1 = tsne({.threads = 2}).reduce(x, 1);
  REQUIRE(y1.shape(1) == 1);
  CHECK(knn_label_accuracy(y1, label) > 0.95);
  // Barnes-Hut and FFT both work in both dimensions (2-D FFT on a smaller set: its grid,
  // not N, sets its cost, and that is the slow case at this size).
  std::vector<int> small_label;
  const matrix small = blobs(150, 20, 5, 4.0, small_label);
  CHECK(knn_label_accuracy(tsne({.iterations = 500, .gradient = method::fft, .threads = 2}).reduce(small, 2),
                           small_label) > 0.98);
  CHECK(knn_label_accuracy(tsne({.gradient = method::barnes_hut, .threads = 2}).reduce(x, 1), label) > 0.95);
  // lucid's class-atlas preset (cosine, perplexity 50, learning rate 10).
  CHECK(knn_label_accuracy(tsne(tsne::lucid_class()).reduce(x, 1), label) > 0.95);
}

TEST_CASE("tsne trustworthiness on a small held-out set", "[tsne]") {
  // 10 overlapping clusters in 30-D: neighbourhoods matter, not just cluster identity.
  std::vector<int> label;
  const matrix x = blobs(400, 30, 10, 1.2, label, 11);
  const matrix y = tsne({.threads = 2}).reduce(x, 2);
  const double t = trustworthiness(x, y, 10);
  INFO("trustworthiness@10 = " << t);
  CHECK(t > 0.90);
}

TEST_CASE("tsne is deterministic for a seed, whatever the thread count", "[tsne]") {
  std::vector<int> label;
  const matrix x = blobs(200, 10, 3, 3.0, label);
  for (auto gradient : {method::barnes_hut, method::fft}) {
    const matrix a = tsne({.iterations = 260, .gradient = gradient, .threads = 1}).reduce(x, 2);
    const matrix b = tsne({.iterations = 260, .gradient = gradient, .threads = 2}).reduce(x, 2);
    const matrix c = tsne({.iterations = 260, .gradient = gradient, .threads = 2}).reduce(x, 2);
    CHECK(std::equal(a.begin(), a.end(), b.begin()));
    CHECK(std::equal(b.begin(), b.end(), c.begin()));
  }
}

TEST_CASE("tsne edge inputs", "[tsne]") {
  const auto all_finite = [](const matrix& y) {
    return std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); });
  };
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  const tsne t({.iterations = 300, .threads = 2});

  SECTION("N below 3·perplexity + 1 lowers the perplexity to (N − 1)/3") {
    CHECK(t.effective_perplexity(10) == Approx(3.0));
    CHECK(t.effective_perplexity(1000) == Approx(30.0));
    matrix x = matrix::from_shape({10, 4});
    for (auto& v : x) v = g(rng);
    const matrix y = t.reduce(x, 2);
    CHECK(all_finite(y));
    CHECK(t.affinities(x).sum() == Approx(1.0));
  }
  SECTION("0, 1 and 2 rows") {
    CHECK(t.reduce(matrix::from_shape({0, 3}), 2).shape(0) == 0);
    matrix one = matrix::from_shape({1, 3});
    one.fill(1.0f);
    const matrix y1 = t.reduce(one, 2);
    CHECK((y1.shape(0) == 1 && y1(0, 0) == 0.0f && y1(0, 1) == 0.0f));
    matrix two = matrix::from_shape({2, 3});
    for (auto& v : two) v = g(rng);
    CHECK(all_finite(t.reduce(two, 2)));
  }
  SECTION("duplicates, constant columns, D = 1") {
    std::vector<int> label;
    matrix x = blobs(200, 6, 2, 5.0, label);
    for (std::size_t i = 0; i < 100; i += 4)  // exact duplicate pairs (i and i + 2 share a label)
      for (std::size_t c = 0; c < 6; ++c) x(i + 2, c) = x(i, c);
    for (std::size_t i = 0; i < 200; ++i) x(i, 3) = 2.5f;          // a constant column
    const matrix y = tsne({.threads = 2}).reduce(x, 2);
    CHECK(all_finite(y));
    CHECK(knn_label_accuracy(y, label) > 0.95);
    matrix line = matrix::from_shape({200, 1});
    for (std::size_t i = 0; i < 200; ++i) line(i, 0) = x(i, 0);
    CHECK(all_finite(t.reduce(line, 2)));
    CHECK(all_finite(t.reduce(line, 1)));
  }
  SECTION("all rows identical") {
    matrix x = matrix::from_shape({100, 5});
    x.fill(0.25f);
    const matrix y = t.reduce(x, 2);
    CHECK(all_finite(y));
    CHECK(all_finite(tsne({.iterations = 300, .metric = actatlas::metric::cosine}).reduce(x, 1)));
  }
  SECTION("NaN, infinity and a wrong dims are input errors") {
    matrix x = matrix::from_shape({50, 3});
    for (auto& v : x) v = g(rng);
    x(7, 1) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(t.reduce(x, 2), actatlas::input_error);
    x(7, 1) = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(t.reduce(x, 2), Catch::Contains("tsne input") && Catch::Contains("row 7"));
    x(7, 1) = 0;
    CHECK_THROWS_AS(t.reduce(x, 3), actatlas::input_error);
    CHECK_THROWS_AS(tsne({.perplexity = -1}).reduce(x, 2), actatlas::input_error);
  }
}
