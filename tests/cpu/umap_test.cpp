// UMAP: the curve parameters, separation and trustworthiness of layouts, determinism,
// and the edge inputs of issue 5.
#include <catch2/catch.hpp>

#include <actatlas/quality.hpp>
#include <actatlas/reducer/umap.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using actatlas::matrix;
using actatlas::metric;
using actatlas::reducer::umap;

//! Well-separated Gaussian blobs (centres ~ N(0, spread²), unit noise); label = i % clusters.
matrix separated_blobs(std::size_t n, std::size_t dims, std::size_t clusters, std::uint64_t seed,
                       std::vector<int>& labels) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> centres(clusters * dims);
  for (float& c : centres) c = 6.f * normal(rng);
  matrix x = matrix::from_shape({n, dims});
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int>(i % clusters);
    for (std::size_t j = 0; j < dims; ++j) x(i, j) = centres[labels[i] * dims + j] + normal(rng);
  }
  return x;
}

//! A curved 2-D sheet (a swiss roll) linearly embedded in 20 dimensions with a little noise.
matrix swiss_roll(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::normal_distribution<float> normal;
  std::vector<float> mix(3 * 20);
  for (float& m : mix) m = normal(rng);
  matrix x = matrix::from_shape({n, 20});
  for (std::size_t i = 0; i < n; ++i) {
    const float t = 1.5f * 3.14159f * (1 + 2 * u(rng)), h = 20 * u(rng);
    const float p[3] = {t * std::cos(t), h, t * std::sin(t)};
    for (std::size_t j = 0; j < 20; ++j)
      x(i, j) = p[0] * mix[j] + p[1] * mix[20 + j] + p[2] * mix[40 + j] + 0.05f * normal(rng);
  }
  return x;
}

bool all_finite(const matrix& y) {
  return std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); });
}

umap::options fast(umap::options o = {}) {
  o.epochs = 200;
  o.threads = 2;
  return o;
}

}  // namespace

TEST_CASE("umap policy: role, name, defaults and the article's presets", "[umap]") {
  STATIC_REQUIRE(actatlas::reducer_policy<umap>);
  STATIC_REQUIRE(umap::name == "umap");
  const umap::options d;
  CHECK(d.n_neighbors == 15);
  CHECK(d.min_dist == 0.1f);
  CHECK(d.metric == metric::euclidean);
  const auto article = umap::options::article();
  CHECK(article.n_neighbors == 50);
  CHECK(article.min_dist == 0.05f);
  CHECK(article.metric == metric::cosine);
  const auto early = umap::options::article_early_layers();
  CHECK(early.n_neighbors == 200);
  CHECK(early.min_dist == 0.05f);
  CHECK(early.metric == metric::euclidean);
}

TEST_CASE("umap a and b match umap-learn's fitted values", "[umap]") {
  const auto [a, b] = umap().curve();  // min_dist 0.1, spread 1
  CHECK(a == Approx(1.577).margin(0.002));
  CHECK(b == Approx(0.895).margin(0.002));
  const auto [a2, b2] = umap(umap::options{.min_dist = 0.001f}).curve();  // uwot's documented pair
  CHECK(a2 == Approx(1.929).margin(0.003));
  CHECK(b2 == Approx(0.7915).margin(0.002));
  const auto [a3, b3] = umap(umap::options{.a = 2.0, .b = 0.5}).curve();
  CHECK(a3 == 2.0);
  CHECK(b3 == 0.5);
}

TEST_CASE("umap keeps well-separated clusters apart", "[umap]") {
  std::vector<int> labels;
  const matrix x = separated_blobs(1200, 20, 6, 7, labels);
  for (std::size_t dims : {std::size_t{2}, std::size_t{1}}) {
    const matrix y = umap(fast()).reduce(x, dims);
    REQUIRE(y.shape(0) == 1200);
    REQUIRE(y.shape(1) == dims);
    REQUIRE(all_finite(y));
    const double accuracy = actatlas::knn_label_accuracy<int>(y, labels, 10);
    INFO("dims " << dims << ", 10-NN label accuracy " << accuracy);
    CHECK(accuracy >= 0.99);
  }
}

TEST_CASE("umap layout of a swiss roll is trustworthy", "[umap]") {
  const matrix x = swiss_roll(1500, 11);
  const matrix y = umap(fast()).reduce(x, 2);
  const double trust = actatlas::trustworthiness(x, y, 10);
  const double kept = actatlas::knn_preservation(x, y, 10);
  // a random layout scores about 0.5 in trustworthiness and 0.007 in preservation
  INFO("trustworthiness " << trust << ", 10-NN preservation " << kept);
  CHECK(trust >= 0.97);
  CHECK(kept >= 0.5);
}

TEST_CASE("umap is deterministic for a seed, whatever the thread count", "[umap]") {
  std::vector<int> labels;
  const matrix x = separated_blobs(800, 10, 4, 3, labels);
  auto o = fast();
  o.threads = 1;
  const matrix one = umap(o).reduce(x, 2);
  o.threads = 3;
  const matrix three = umap(o).reduce(x, 2);
  CHECK(std::equal(one.begin(), one.end(), three.begin()));
  o.seed = 43;
  const matrix other = umap(o).reduce(x, 2);
  CHECK_FALSE(std::equal(one.begin(), one.end(), other.begin()));
}

TEST_CASE("umap on a disconnected neighbour graph lays out each component", "[umap]") {
  // two clusters far apart: with 5 neighbours no edge joins them
  std::vector<int> labels;
  const matrix x = separated_blobs(400, 8, 2, 5, labels);
  auto o = fast();
  o.n_neighbors = 5;
  const matrix y = umap(o).reduce(x, 2);
  REQUIRE(all_finite(y));
  CHECK(actatlas::knn_label_accuracy<int>(y, labels, 10) >= 0.99);
}

TEST_CASE("umap edge inputs", "[umap]") {
  std::vector<int> labels;
  SECTION("fewer rows than n_neighbors + 1") {
    const matrix x = separated_blobs(6, 3, 2, 1, labels);
    const matrix y = umap(fast()).reduce(x, 2);
    CHECK(y.shape(0) == 6);
    CHECK(all_finite(y));
  }
  SECTION("zero, one and two rows") {
    CHECK(umap().reduce(matrix::from_shape({0, 3}), 2).shape(0) == 0);
    CHECK(umap().reduce(matrix::from_shape({1, 3}), 2).shape(0) == 1);
    matrix two = matrix::from_shape({2, 3});
    two.fill(1.f);
    two(1, 2) = 5.f;
    CHECK(all_finite(umap(fast()).reduce(two, 2)));
  }
  SECTION("duplicate points land together") {
    matrix x = separated_blobs(300, 5, 3, 2, labels);
    for (std::size_t i = 150; i < 300; ++i)
      for (std::size_t j = 0; j < 5; ++j) x(i, j) = x(i - 150, j);
    const matrix y = umap(fast()).reduce(x, 2);
    REQUIRE(all_finite(y));
    double spread = 0, pair = 0;
    for (std::size_t i = 0; i < 150; ++i) {
      pair += std::hypot(y(i, 0) - y(i + 150, 0), y(i, 1) - y(i + 150, 1));
      spread += std::hypot(y(i, 0) - y((i + 1) % 150, 0), y(i, 1) - y((i + 1) % 150, 1));
    }
    CHECK(pair < 0.25 * spread);
  }
  SECTION("constant columns and D = 1") {
    matrix x = separated_blobs(300, 4, 3, 9, labels);
    for (std::size_t i = 0; i < 300; ++i) x(i, 1) = x(i, 3) = 7.f;
    CHECK(actatlas::knn_label_accuracy<int>(umap(fast()).reduce(x, 2), labels, 10) > 0.95);
    matrix line = matrix::from_shape({300, 1});
    for (std::size_t i = 0; i < 300; ++i) line(i, 0) = x(i, 0);
    CHECK(all_finite(umap(fast()).reduce(line, 2)));
  }
  SECTION("all rows identical, under both metrics") {
    matrix x = matrix::from_shape({200, 6});
    x.fill(0.5f);
    CHECK(all_finite(umap(fast()).reduce(x, 2)));
    CHECK(all_finite(umap(fast(umap::options::article())).reduce(x, 2)));
  }
  SECTION("NaN, infinity and bad options are input errors") {
    matrix x = separated_blobs(50, 3, 2, 1, labels);
    CHECK_THROWS_AS(umap().reduce(x, 0), actatlas::input_error);
    CHECK_THROWS_AS(umap(umap::options{.n_neighbors = 1}).reduce(x, 2), actatlas::input_error);
    CHECK_THROWS_AS(umap(umap::options{.min_dist = 2.f}).reduce(x, 2), actatlas::input_error);
    x(3, 2) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(umap().reduce(x, 2), actatlas::input_error);
    x(3, 2) = -std::numeric_limits<float>::infinity();
    CHECK_THROWS_AS(umap().reduce(x, 2), actatlas::input_error);
  }
}
