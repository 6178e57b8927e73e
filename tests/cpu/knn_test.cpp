// The shared neighbour search: exact against a naive reference, approximate methods
// against exact (recall), determinism across thread counts, and edge inputs.
#include <catch2/catch.hpp>

#include <actatlas/neighbors/knn.hpp>
#include <actatlas/neighbors/detail/nn_descent.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using actatlas::knn_graph;
using actatlas::knn_options;
using actatlas::matrix;
using actatlas::metric;

//! `clusters` Gaussian blobs in `dims` dimensions, non-negative like ReLU activations.
matrix blobs(std::size_t n, std::size_t dims, std::size_t clusters, std::uint64_t seed, float spread = 4.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> centres(clusters * dims);
  for (float& c : centres) c = spread * normal(rng);
  matrix x = matrix::from_shape({n, dims});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dims; ++j) x(i, j) = std::max(0.f, centres[(i % clusters) * dims + j] + normal(rng));
  return x;
}

double recall(const knn_graph& truth, const knn_graph& found) {
  std::size_t hits = 0;
  for (std::size_t i = 0; i < truth.n; ++i)
    for (std::size_t r = 0; r < truth.k; ++r) {
      const auto* row = found.index.data() + i * found.k;
      hits += std::count(row, row + found.k, truth.neighbor(i, r)) > 0;
    }
  return double(hits) / double(truth.n * truth.k);
}

knn_options with(knn_options::method m, unsigned threads = 2, std::uint64_t seed = 42) {
  knn_options o;
  o.algorithm = m;
  o.threads = threads;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_CASE("exact kNN equals a naive search, self excluded, ascending", "[knn]") {
  const matrix x = blobs(300, 7, 3, 1);
  for (metric m : {metric::euclidean, metric::cosine}) {
    const knn_graph g = actatlas::nearest_neighbors(x, 10, m, with(knn_options::method::exact));
    REQUIRE(g.n == 300);
    REQUIRE(g.k == 10);
    for (std::size_t i = 0; i < g.n; ++i) {
      std::vector<std::pair<double, std::uint32_t>> all;
      for (std::size_t j = 0; j < g.n; ++j) {
        if (j == i) continue;
        double dot = 0, nx = 0, ny = 0, sq = 0;
        for (std::size_t c = 0; c < 7; ++c) {
          dot += double(x(i, c)) * x(j, c);
          nx += double(x(i, c)) * x(i, c);
          ny += double(x(j, c)) * x(j, c);
          sq += (double(x(i, c)) - x(j, c)) * (double(x(i, c)) - x(j, c));
        }
        all.emplace_back(m == metric::cosine ? 1 - dot / std::sqrt(nx * ny) : std::sqrt(sq), static_cast<std::uint32_t>(j));
      }
      std::sort(all.begin(), all.end());
      for (std::size_t r = 0; r < g.k; ++r) {
        CHECK(g.dist(i, r) == Approx(all[r].first).margin(1e-4));
        if (r > 0) CHECK(g.dist(i, r) >= g.dist(i, r - 1));
        CHECK(g.neighbor(i, r) != i);
      }
    }
  }
}

TEST_CASE("NN-descent and HNSW agree with exact search (recall >= 0.95)", "[knn]") {
  const matrix x = blobs(4000, 48, 12, 2, 1.5f);
  for (metric m : {metric::euclidean, metric::cosine}) {
    const knn_graph truth = actatlas::nearest_neighbors(x, 15, m, with(knn_options::method::exact));
    const knn_graph nnd = actatlas::nearest_neighbors(x, 15, m, with(knn_options::method::nn_descent));
    const knn_graph hnsw = actatlas::nearest_neighbors(x, 15, m, with(knn_options::method::hnsw));
    INFO("metric " << actatlas::to_string(m));
    CHECK(recall(truth, nnd) >= 0.95);
    CHECK(recall(truth, hnsw) >= 0.95);
    // the distances reported are the true distances of the neighbours found
    for (std::size_t r = 0; r < nnd.k; ++r) CHECK(nnd.dist(7, r) >= truth.dist(7, r) - 1e-5f);
  }
}

TEST_CASE("NN-descent is the same for a seed whatever the thread count", "[knn]") {
  const matrix x = blobs(3000, 16, 5, 3);
  const knn_graph one = actatlas::nearest_neighbors(x, 10, metric::euclidean, with(knn_options::method::nn_descent, 1));
  const knn_graph three = actatlas::nearest_neighbors(x, 10, metric::euclidean, with(knn_options::method::nn_descent, 3));
  const knn_graph again = actatlas::nearest_neighbors(x, 10, metric::euclidean, with(knn_options::method::nn_descent, 3));
  CHECK(one.index == three.index);
  CHECK(one.distance == three.distance);
  CHECK(three.index == again.index);
}

// NN-descent's sampled candidate lists receive the same neighbour twice (once from each
// end of an edge) in an order set by thread timing; what they keep must not depend on it.
// (A lowered priority in a list not yet full once broke the heap, and 100k-row layouts
// differed between runs.)
TEST_CASE("NN-descent candidate lists keep the same entries in any arrival order", "[knn]") {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t capacity = 2 + trial % 6;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> offers;  // (priority, index), with repeated indices
    for (int i = 0; i < 40; ++i)
      offers.emplace_back(rng() % 1000, static_cast<std::uint32_t>(rng() % 15));
    // expected: per index its smallest priority, then the `capacity` smallest of those
    std::vector<std::pair<std::uint64_t, std::uint32_t>> best;
    for (const auto& [p, j] : offers) {
      auto it = std::find_if(best.begin(), best.end(), [&](const auto& b) { return b.second == j; });
      if (it == best.end()) best.emplace_back(p, j);
      else it->first = std::min(it->first, p);
    }
    std::sort(best.begin(), best.end());
    std::vector<std::uint32_t> expected;
    for (std::size_t i = 0; i < std::min(capacity, best.size()); ++i) expected.push_back(best[i].second);
    std::sort(expected.begin(), expected.end());
    for (int order = 0; order < 10; ++order) {
      std::shuffle(offers.begin(), offers.end(), rng);
      actatlas::detail::candidate_lists lists(1, capacity);
      for (const auto& [p, j] : offers) lists.offer(0, p, j);
      std::vector<std::uint32_t> kept(lists.index(0), lists.index(0) + lists.count(0));
      std::sort(kept.begin(), kept.end());
      REQUIRE(kept == expected);
    }
  }
}

TEST_CASE("kNN edge inputs", "[knn]") {
  SECTION("k is clipped to N - 1") {
    const matrix x = blobs(5, 3, 2, 4);
    const knn_graph g = actatlas::nearest_neighbors(x, 15, metric::euclidean);
    CHECK(g.k == 4);
    for (std::size_t i = 0; i < 5; ++i) {
      std::vector<std::uint32_t> row(g.index.begin() + i * 4, g.index.begin() + i * 4 + 4);
      std::sort(row.begin(), row.end());
      CHECK(std::adjacent_find(row.begin(), row.end()) == row.end());
      CHECK(std::find(row.begin(), row.end(), i) == row.end());
    }
  }
  SECTION("one row has no neighbours") {
    const matrix x = blobs(1, 3, 1, 4);
    const knn_graph g = actatlas::nearest_neighbors(x, 15, metric::euclidean);
    CHECK(g.k == 0);
    CHECK(g.index.empty());
  }
  SECTION("duplicates are at distance 0, and all-identical rows work for every method") {
    matrix x = matrix::from_shape({600, 4});
    x.fill(1.f);
    for (auto m : {knn_options::method::exact, knn_options::method::nn_descent, knn_options::method::hnsw}) {
      const knn_graph g = actatlas::nearest_neighbors(x, 5, metric::cosine, with(m));
      CHECK(g.k == 5);
      CHECK(*std::max_element(g.distance.begin(), g.distance.end()) == Approx(0).margin(1e-6));
      for (std::size_t i = 0; i < g.n; ++i)
        for (std::size_t r = 0; r < g.k; ++r) CHECK(g.neighbor(i, r) != i);
    }
  }
  SECTION("D = 1") {
    matrix x = matrix::from_shape({50, 1});
    for (std::size_t i = 0; i < 50; ++i) x(i, 0) = static_cast<float>(i * i);
    const knn_graph g = actatlas::nearest_neighbors(x, 2, metric::euclidean);
    CHECK(g.neighbor(10, 0) == 9);  // 81 is nearer to 100 than 121
    CHECK(g.dist(10, 0) == Approx(19));
  }
  SECTION("zero rows under cosine: 0 from each other, 1 from the rest") {
    matrix x = matrix::from_shape({4, 2});
    x.fill(0.f);
    x(2, 0) = 1.f;
    x(3, 1) = 1.f;
    const knn_graph g = actatlas::nearest_neighbors(x, 3, metric::cosine);
    CHECK(g.neighbor(0, 0) == 1);
    CHECK(g.dist(0, 0) == Approx(0));
    CHECK(g.dist(0, 1) == Approx(1));
  }
  SECTION("NaN and infinity are input errors") {
    matrix x = blobs(20, 3, 2, 5);
    x(13, 1) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(actatlas::nearest_neighbors(x, 5, metric::euclidean), actatlas::input_error);
    x(13, 1) = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(actatlas::nearest_neighbors(x, 5, metric::euclidean), Catch::Contains("row 13"));
  }
}
