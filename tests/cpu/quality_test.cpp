// quality.hpp's measures, which other tests use as their judge, against sklearn's
// trustworthiness formula worked by hand on six points and against brute-force
// implementations written here.
#include <catch2/catch.hpp>

#include <actatlas/quality.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

using actatlas::matrix;
using actatlas::metric;

matrix column(const std::vector<float>& v) {
  matrix m = matrix::from_shape({v.size(), 1});
  for (std::size_t i = 0; i < v.size(); ++i) m(i, 0) = v[i];
  return m;
}

double distance(const matrix& a, std::size_t i, std::size_t j, metric m) {
  double dot = 0, ni = 0, nj = 0, sq = 0;
  for (std::size_t c = 0; c < a.shape(1); ++c) {
    const double x = a(i, c), y = a(j, c);
    dot += x * y;
    ni += x * x;
    nj += y * y;
    sq += (x - y) * (x - y);
  }
  return m == metric::cosine ? 1.0 - dot / std::sqrt(ni * nj) : std::sqrt(sq);
}

//! Row i's other rows, nearest first (ties by index).
std::vector<std::size_t> ranking(const matrix& a, std::size_t i, metric m) {
  std::vector<std::pair<double, std::size_t>> d;
  for (std::size_t j = 0; j < a.shape(0); ++j)
    if (j != i) d.emplace_back(distance(a, i, j, m), j);
  std::sort(d.begin(), d.end());
  std::vector<std::size_t> out;
  for (const auto& [dist, j] : d) out.push_back(j);
  return out;
}

//! sklearn.manifold.trustworthiness, written out: ranks r(i, j) ≥ 1 in the input; every
//! layout neighbour j of i with r(i, j) > k costs r(i, j) − k;
//! T = 1 − 2 / (q·k·(2N − 3k − 1)) · Σ cost, over the query rows.
double brute_trustworthiness(const matrix& x, const matrix& y, std::size_t k, metric m,
                             const std::vector<std::size_t>& queries) {
  const std::size_t n = x.shape(0);
  double cost = 0;
  for (std::size_t i : queries) {
    const auto input = ranking(x, i, m);
    std::vector<std::size_t> rank(n, 0);
    for (std::size_t r = 0; r < input.size(); ++r) rank[input[r]] = r + 1;
    const auto layout = ranking(y, i, metric::euclidean);
    for (std::size_t r = 0; r < k; ++r)
      if (rank[layout[r]] > k) cost += double(rank[layout[r]] - k);
  }
  const double q = double(queries.size()), kk = double(k), nn = double(n);
  return 1.0 - 2.0 / (q * kk * (2 * nn - 3 * kk - 1)) * cost;
}

double brute_preservation(const matrix& x, const matrix& y, std::size_t k, metric m,
                          const std::vector<std::size_t>& queries) {
  double kept = 0;
  for (std::size_t i : queries) {
    auto input = ranking(x, i, m), layout = ranking(y, i, metric::euclidean);
    input.resize(k);
    layout.resize(k);
    for (std::size_t j : layout) kept += std::count(input.begin(), input.end(), j);
  }
  return kept / (double(queries.size()) * double(k));
}

std::vector<std::size_t> all_rows(std::size_t n) {
  std::vector<std::size_t> q(n);
  for (std::size_t i = 0; i < n; ++i) q[i] = i;
  return q;
}

}  // namespace

TEST_CASE("trustworthiness and neighbour preservation of six points, worked by hand", "[quality]") {
  // Input on a line: 0, 1, 3, 7, 12, 20 (no two equal distances from any point). Input
  // ranks, nearest first: p0: p1 p2 p3 p4 p5; p1: p0 p2 p3 p4 p5; p2: p1 p0 p3 p4 p5;
  // p3: p2 p4 p1 p0 p5; p4: p3 p5 p2 p1 p0; p5: p4 p3 p2 p1 p0.
  const matrix x = column({0, 1, 3, 7, 12, 20});
  // Layout on a line: p0 0, p1 4, p2 1, p3 9, p4 2.4, p5 6. Layout 2-NN: p0 {p2, p4},
  // p1 {p4, p5}, p2 {p0, p4}, p3 {p5, p1}, p4 {p2, p1}, p5 {p1, p3}.
  const matrix y = column({0, 4, 1, 9, 2.4f, 6});
  // k = 2, cost = Σ (input rank − 2) over layout neighbours outside the input 2-NN:
  // p0: p4 (4) → 2; p1: p4 (4), p5 (5) → 5; p2: p4 (4) → 2; p3: p5 (5), p1 (3) → 4;
  // p4: p2 (3), p1 (4) → 3; p5: p1 (4) → 2; in all 18.
  // T = 1 − 2/(6·2·(12 − 6 − 1)) · 18 = 1 − 36/60 = 0.4.
  CHECK(actatlas::trustworthiness(x, y, 2) == Approx(0.4).epsilon(1e-12));
  // k = 1: costs p0 p2→1, p1 p4→3, p2 p0→1, p3 p5→4, p4 p2→2, p5 p1→3: 14;
  // T = 1 − 2/(6·1·8) · 14 = 1 − 28/48.
  CHECK(actatlas::trustworthiness(x, y, 1) == Approx(1.0 - 28.0 / 48.0).epsilon(1e-12));
  // k = 3 (the largest k allowed for N = 6): costs p0 p1 kept, p4 1, p2 0 → 1; p1 p4 1,
  // p5 2 → 3; p2 p4 1 → 1; p3 p5 2 → 2; p4 p1 1, p0 2 → 3; p5 p1 1 → 1: 11;
  // T = 1 − 2/(6·3·2) · 11 = 1 − 22/36.
  CHECK(actatlas::trustworthiness(x, y, 3) == Approx(1.0 - 22.0 / 36.0).epsilon(1e-12));
  // Only rows 1 and 3 asked (k = 2): T = 1 − 2/(2·2·5) · (5 + 4) = 0.1.
  const std::vector<std::size_t> rows = {1, 3};
  CHECK(actatlas::trustworthiness(x, y, 2, metric::euclidean, rows) == Approx(0.1).epsilon(1e-12));
  // 2-NN kept: p0 1 (p2), p1 0, p2 1 (p0), p3 0, p4 0, p5 1 (p3): 3 of 12.
  CHECK(actatlas::knn_preservation(x, y, 2) == Approx(0.25).epsilon(1e-12));
  CHECK(actatlas::knn_preservation(x, y, 2, metric::euclidean, rows) == Approx(0.0).margin(1e-12));
  // The input as its own layout is perfect; so is a scaled, mirrored copy.
  CHECK(actatlas::trustworthiness(x, x, 2) == Approx(1.0).epsilon(1e-12));
  CHECK(actatlas::knn_preservation(x, x, 2) == Approx(1.0).epsilon(1e-12));
  const matrix mirrored = column({0, -3, -9, -21, -36, -60});
  CHECK(actatlas::trustworthiness(x, mirrored, 3) == Approx(1.0).epsilon(1e-12));
  // Labels on the layout: 2-NN label agreement, worked by hand for labels a a b b a b:
  // p0 {p2 b, p4 a} ½; p1 {p4 a, p5 b} ½; p2 {p0 a, p4 a} 0; p3 {p5 b, p1 a} ½;
  // p4 {p2 b, p1 a} ½; p5 {p1 a, p3 b} ½: 2.5 of 6.
  const std::vector<int> labels = {0, 0, 1, 1, 0, 1};
  CHECK(actatlas::knn_label_accuracy<int>(y, labels, 2) == Approx(2.5 / 6.0).epsilon(1e-12));
}

TEST_CASE("trustworthiness and neighbour preservation equal brute force on random layouts", "[quality]") {
  std::mt19937 rng(23);
  std::normal_distribution<float> normal;
  const std::size_t n = 70;
  matrix x = matrix::from_shape({n, 6});
  for (auto& v : x) v = normal(rng);
  // A layout that keeps some structure (two input coordinates plus noise) and one that
  // keeps none: both far from 1 and from each other.
  matrix partial = matrix::from_shape({n, 2}), random = matrix::from_shape({n, 2});
  for (std::size_t i = 0; i < n; ++i) {
    partial(i, 0) = x(i, 0) + 0.5f * normal(rng);
    partial(i, 1) = x(i, 1) + 0.5f * normal(rng);
    random(i, 0) = normal(rng);
    random(i, 1) = normal(rng);
  }
  const std::vector<std::size_t> some = {0, 3, 4, 17, 40, 69};
  for (metric m : {metric::euclidean, metric::cosine})
    for (const matrix* y : {&partial, &random})
      for (std::size_t k : {std::size_t{1}, std::size_t{5}, std::size_t{12}}) {
        INFO("metric " << (m == metric::cosine ? "cosine" : "euclidean") << ", k " << k);
        const double t = actatlas::trustworthiness(x, *y, k, m);
        CHECK(t == Approx(brute_trustworthiness(x, *y, k, m, all_rows(n))).epsilon(1e-9));
        CHECK(t < 0.99);
        CHECK(actatlas::trustworthiness(x, *y, k, m, some, 1) ==
              Approx(brute_trustworthiness(x, *y, k, m, some)).epsilon(1e-9));
        CHECK(actatlas::knn_preservation(x, *y, k, m) == Approx(brute_preservation(x, *y, k, m, all_rows(n))).epsilon(1e-9));
        CHECK(actatlas::knn_preservation(x, *y, k, m, some) ==
              Approx(brute_preservation(x, *y, k, m, some)).epsilon(1e-9));
      }
  // The structured layout scores above the random one (the measure measures something).
  CHECK(actatlas::trustworthiness(x, partial, 5) > actatlas::trustworthiness(x, random, 5) + 0.1);
}

TEST_CASE("quality measures refuse k out of range and mismatched rows", "[quality]") {
  const matrix x = column({0, 1, 3, 7, 12, 20});
  CHECK_THROWS_AS(actatlas::trustworthiness(x, x, 0), actatlas::input_error);
  CHECK_THROWS_AS(actatlas::trustworthiness(x, x, 4), actatlas::input_error);  // 2N < 3k + 2
  CHECK_THROWS_AS(actatlas::knn_preservation(x, x, 6), actatlas::input_error);
  CHECK_THROWS_AS(actatlas::knn_preservation(x, column({1, 2}), 1), actatlas::input_error);
}
