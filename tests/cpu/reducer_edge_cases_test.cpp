// Edge inputs of both reducers (UMAP and t-SNE), checked for what the layout must show,
// not only for finite numbers: a reducer that returned zeros (or any constant) would
// pass a finiteness check and fails every case here.
// - points on a line keep their order (or its reverse) in a 1-D layout (t-SNE; UMAP's case
//   is a known weakness, tagged [!mayfail]);
// - distinct rows stay distinct, also when N is below the neighbour count;
// - exact duplicates stay close: nearer than distinct neighbours are, and each among its
//   twin's 3 nearest for most rows;
// - constant columns and a 1-D input still give a layout that keeps neighbourhoods.
#include <catch2/catch.hpp>

#include <actatlas/quality.hpp>
#include <actatlas/reducer/tsne.hpp>
#include <actatlas/reducer/umap.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using actatlas::matrix;
using actatlas::reducer::tsne;
using actatlas::reducer::umap;

struct named_reducer {
  std::string name;
  std::function<matrix(const matrix&, std::size_t)> reduce;
};

//! Both reducers with the suite's small budgets (fixed seeds: the same layout every run).
std::vector<named_reducer> reducers() {
  return {
      {"umap", [](const matrix& x, std::size_t dims) { return umap(umap::options{.epochs = 200, .threads = 2}).reduce(x, dims); }},
      {"tsne", [](const matrix& x, std::size_t dims) { return tsne({.iterations = 500, .threads = 2}).reduce(x, dims); }},
  };
}

//! N points on a line in 5-D (irregular gaps), rows in shuffled order; `position` holds
//! each row's coordinate along the line.
matrix points_on_a_line(std::size_t n, std::uint64_t seed, std::vector<double>& position) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> gap(0.5, 1.5);
  std::vector<double> t(n);
  double s = 0;
  for (auto& v : t) v = s += gap(rng);
  std::shuffle(t.begin(), t.end(), rng);
  const double direction[5] = {0.5, -0.3, 0.7, 0.1, 0.4};
  matrix x = matrix::from_shape({n, 5});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < 5; ++c) x(i, c) = static_cast<float>(1.0 + t[i] * direction[c]);
  position = t;
  return x;
}

//! Rank of each value (0 = smallest; no ties expected).
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t k = 0; k < order.size(); ++k) r[order[k]] = double(k);
  return r;
}

//! Spearman's rank correlation (1: same order, −1: reversed; 0 for a constant layout,
//! whose ties are broken by index and so are unrelated to the line's shuffled order).
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = ranks(a), rb = ranks(b);
  const double n = double(a.size()), mean = (n - 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> first_column(const matrix& y) {
  std::vector<double> v(y.shape(0));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = y(i, 0);
  return v;
}

double distance(const matrix& y, std::size_t i, std::size_t j) {
  double s = 0;
  for (std::size_t c = 0; c < y.shape(1); ++c) s += (double(y(i, c)) - y(j, c)) * (double(y(i, c)) - y(j, c));
  return std::sqrt(s);
}

//! Smallest and largest distance between two rows of the layout.
std::pair<double, double> distance_range(const matrix& y) {
  double lo = INFINITY, hi = 0;
  for (std::size_t i = 0; i < y.shape(0); ++i)
    for (std::size_t j = i + 1; j < y.shape(0); ++j) {
      lo = std::min(lo, distance(y, i, j));
      hi = std::max(hi, distance(y, i, j));
    }
  return {lo, hi};
}

//! Mean distance from each row to its nearest other row.
double mean_nearest_distance(const matrix& y, const std::vector<std::size_t>& rows) {
  double sum = 0;
  for (std::size_t i : rows) {
    double best = INFINITY;
    for (std::size_t j : rows)
      if (j != i) best = std::min(best, distance(y, i, j));
    sum += best;
  }
  return sum / double(rows.size());
}

}  // namespace

TEST_CASE("t-SNE keeps the order of points on a line in a 1-D layout", "[tsne][edge-cases]") {
  std::vector<double> t;
  const matrix x = points_on_a_line(300, 5, t);
  const matrix y = reducers()[1].reduce(x, 1);
  REQUIRE(y.shape(0) == 300);
  const double rho = spearman(t, first_column(y));
  INFO("Spearman correlation of line position and layout " << rho);
  CHECK(std::abs(rho) > 0.98);
}

// [!mayfail]: a known weakness, found by this test (measured 0.40). The layout comes out in
// segments of 20 to 50 points, each in order, the segments shuffled: the spectral
// initialisation is not yet the Fiedler vector on a long chain (its subspace iteration
// stops before the near-degenerate smooth modes separate, see the "[!mayfail]" case in
// umap_internals_test.cpp), so the 1-D start is folded and the optimisation cannot unfold
// it. umap-learn's start (eigsh, ARPACK) is monotone here. Remove the tag with the fix.
TEST_CASE("UMAP keeps the order of points on a line in a 1-D layout", "[umap][edge-cases][!mayfail]") {
  std::vector<double> t;
  const matrix x = points_on_a_line(300, 5, t);
  const matrix y = reducers()[0].reduce(x, 1);
  REQUIRE(y.shape(0) == 300);
  const double rho = spearman(t, first_column(y));
  INFO("Spearman correlation of line position and layout " << rho);
  CHECK(std::abs(rho) > 0.98);
}

TEST_CASE("reducers keep distinct rows distinct when N is tiny", "[umap][tsne][edge-cases]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (const auto& r : reducers())
    for (std::size_t n : {std::size_t{2}, std::size_t{3}, std::size_t{6}}) {
      matrix x = matrix::from_shape({n, 4});
      for (auto& v : x) v = normal(rng);
      for (std::size_t dims : {std::size_t{1}, std::size_t{2}}) {
        const matrix y = r.reduce(x, dims);
        REQUIRE(y.shape(0) == n);
        REQUIRE(y.shape(1) == dims);
        const auto [closest, farthest] = distance_range(y);
        INFO(r.name << ", N " << n << ", " << dims << "-D: closest pair " << closest << ", farthest " << farthest);
        CHECK(std::isfinite(farthest));
        CHECK(farthest > 0);
        CHECK(closest > 1e-3 * farthest);
      }
    }
}

TEST_CASE("reducers put exact duplicates together", "[umap][tsne][edge-cases]") {
  // 200 distinct rows (4 blobs in 6-D), each repeated once: rows i and i + 200 are equal.
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  const std::size_t n = 200;
  matrix x = matrix::from_shape({2 * n, 6});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < 6; ++c) x(i, c) = x(i + n, c) = normal(rng) + 6.f * float((i % 4) == c);
  std::vector<std::size_t> originals(n);
  std::iota(originals.begin(), originals.end(), std::size_t{0});
  for (const auto& r : reducers()) {
    const matrix y = r.reduce(x, 2);
    double pair = 0;
    std::size_t found = 0;
    for (std::size_t i = 0; i < 2 * n; ++i) {
      const std::size_t twin = i < n ? i + n : i - n;
      if (i < n) pair += distance(y, i, twin);
      // Is the twin among row i's 3 nearest layout neighbours (ties by index, as a
      // constant layout would have them)?
      std::vector<std::pair<double, std::size_t>> d;
      for (std::size_t j = 0; j < 2 * n; ++j)
        if (j != i) d.emplace_back(distance(y, i, j), j);
      std::partial_sort(d.begin(), d.begin() + 3, d.end());
      for (std::size_t r3 = 0; r3 < 3; ++r3) found += d[r3].second == twin;
    }
    pair /= double(n);
    // The distinct rows' nearest-neighbour spacing (the duplicates left out).
    const double spacing = mean_nearest_distance(y, originals);
    const double twins_near = double(found) / double(2 * n);
    INFO(r.name << ": mean duplicate distance " << pair << ", distinct rows' nearest spacing " << spacing
                << ", twin among the 3 nearest for " << twins_near << " of the rows");
    CHECK(spacing > 0);
    CHECK(pair < spacing);
    CHECK(twins_near >= 0.75);  // measured 0.86 (UMAP), a constant layout about 0.01
  }
}

TEST_CASE("reducers lay out a 1-D input and ignore constant columns", "[umap][tsne][edge-cases]") {
  std::vector<double> t;
  const matrix line = points_on_a_line(250, 13, t);
  matrix one_column = matrix::from_shape({250, 1});
  for (std::size_t i = 0; i < 250; ++i) one_column(i, 0) = static_cast<float>(t[i]);
  // The same line with three constant columns around it.
  matrix padded = matrix::from_shape({250, 4});
  for (std::size_t i = 0; i < 250; ++i) {
    padded(i, 0) = 7.f;
    padded(i, 1) = static_cast<float>(t[i]);
    padded(i, 2) = -2.f;
    padded(i, 3) = 0.f;
  }
  for (const auto& r : reducers()) {
    for (const matrix* x : {&one_column, &padded}) {
      const matrix y = r.reduce(*x, 2);
      // Trustworthiness against the line itself: a constant layout scores about 0.5.
      const double trust = actatlas::trustworthiness(one_column, y, 5);
      INFO(r.name << ", D = " << x->shape(1) << ": trustworthiness@5 " << trust);
      CHECK(trust > 0.95);
    }
  }
}
