// Whitening: S = (AᵀA/N + λI)⁻¹ in float64, streamed over row blocks. The reference second
// moment is computed here with plain loops from the documented definition (uncentred,
// divided by N), never with the library's own accumulator: a centred moment or one divided
// by N − 1 must fail these tests.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include <actatlas/whitening.hpp>

namespace {

// N×D activations with correlated, unequal-variance columns (like a ReLU layer's).
actatlas::matrix correlated_activations(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  actatlas::matrix mix = actatlas::matrix::from_shape({d, d});
  for (auto& x : mix) x = normal(rng) * 0.15f;
  for (std::size_t i = 0; i < d; ++i) mix(i, i) += 1.f + static_cast<float>(i) * 0.3f;
  actatlas::matrix a = actatlas::matrix::from_shape({n, d});
  std::vector<float> z(d);
  for (std::size_t r = 0; r < n; ++r) {
    for (auto& x : z) x = normal(rng);
    for (std::size_t j = 0; j < d; ++j) {
      float s = 0.3f;  // a mean offset: the second moment is uncentred
      for (std::size_t k = 0; k < d; ++k) s += z[k] * mix(k, j);
      a(r, j) = s;
    }
  }
  return a;
}

//! M = AᵀA / N by plain loops in long double: uncentred (no mean removed), divided by N.
actatlas::matrix64 reference_moment(const actatlas::matrix& a) {
  const std::size_t n = a.shape(0), d = a.shape(1);
  actatlas::matrix64 m = actatlas::matrix64::from_shape({d, d});
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      long double s = 0;
      for (std::size_t r = 0; r < n; ++r) s += static_cast<long double>(a(r, i)) * static_cast<long double>(a(r, j));
      m(i, j) = static_cast<double>(s / static_cast<long double>(n));
    }
  return m;
}

//! Largest |entry − reference| relative to the reference's largest entry.
double max_relative_difference(const actatlas::matrix64& x, const actatlas::matrix64& ref) {
  double worst = 0.0, scale = 0.0;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    worst = std::max(worst, std::abs(x.data()[k] - ref.data()[k]));
    scale = std::max(scale, std::abs(ref.data()[k]));
  }
  return worst / scale;
}

double max_abs_deviation_from_identity(const actatlas::matrix64& p) {
  double worst = 0.0;
  for (std::size_t i = 0; i < p.shape(0); ++i)
    for (std::size_t j = 0; j < p.shape(1); ++j) worst = std::max(worst, std::abs(p(i, j) - (i == j ? 1.0 : 0.0)));
  return worst;
}

}  // namespace

TEST_CASE("whitening: S times the second moment is the identity for full-rank data", "[whitening]") {
  const auto a = correlated_activations(2000, 12, 7);
  actatlas::whitening_options opts;
  opts.block_rows = 300;  // several blocks, the last one partial
  const auto s = actatlas::whitening_matrix(actatlas::matrix_cref(a), opts);

  const actatlas::matrix64 m = reference_moment(a);
  const actatlas::matrix64 product = xt::linalg::dot(s, m);
  // S·M = I − λ(M + λI)⁻¹: its entries are off by at most λ / (μ_min + λ).
  const auto eigenvalues = std::get<0>(xt::linalg::eigh(m));
  double trace = 0.0;
  for (std::size_t i = 0; i < 12; ++i) trace += m(i, i);
  const double lambda = 1e-4 * trace / 12.0;
  const double bound = lambda / (xt::amin(eigenvalues)() + lambda);
  CHECK(bound < 5e-3);
  CHECK(max_abs_deviation_from_identity(product) <= bound * 1.0001);
  // With a negligible ridge, float64 makes it exact to rounding.
  const auto s_exact = actatlas::whitening_matrix(actatlas::matrix_cref(a), {.ridge = 1e-12, .block_rows = 300});
  const actatlas::matrix64 exact = xt::linalg::dot(s_exact, m);
  CHECK(max_abs_deviation_from_identity(exact) < 1e-8);
  // Symmetric, as the inverse of a symmetric matrix.
  for (std::size_t i = 0; i < 12; ++i)
    for (std::size_t j = 0; j < 12; ++j) CHECK(s(i, j) == Approx(s(j, i)).margin(1e-9));
}

TEST_CASE("whitening: the second moment is AᵀA / N, uncentred, as documented", "[whitening]") {
  // Worked by hand: A = [[1, 0], [1, 2], [−2, 2]]; AᵀA = [[6, −2], [−2, 8]]; N = 3.
  // (Centred, the column means 0 and 4/3 would give [[6, −2], [−2, 8/3]] / 3; dividing by
  // N − 1 would give [[3, −1], [−1, 4]].)
  const actatlas::matrix a = {{1.f, 0.f}, {1.f, 2.f}, {-2.f, 2.f}};
  actatlas::second_moment acc(2);
  acc.add(a);
  const actatlas::matrix64 m = acc.moment();
  CHECK(acc.rows() == 3);
  CHECK(m(0, 0) == Approx(2.0).epsilon(1e-12));
  CHECK(m(0, 1) == Approx(-2.0 / 3.0).epsilon(1e-12));
  CHECK(m(1, 0) == Approx(-2.0 / 3.0).epsilon(1e-12));
  CHECK(m(1, 1) == Approx(8.0 / 3.0).epsilon(1e-12));
  // S = (M + λI)⁻¹ with λ = ridge · trace(M) / D = 1e-4 · (14/3) / 2, inverted by hand:
  // (M + λI)⁻¹ = [[m11 + λ, −m01], [−m01, m00 + λ]] / det.
  const double lambda = 1e-4 * (14.0 / 3.0) / 2.0;
  const double det = (2.0 + lambda) * (8.0 / 3.0 + lambda) - (2.0 / 3.0) * (2.0 / 3.0);
  const auto s = actatlas::whitening_matrix(acc);
  CHECK(s(0, 0) == Approx((8.0 / 3.0 + lambda) / det).epsilon(1e-10));
  CHECK(s(0, 1) == Approx((2.0 / 3.0) / det).epsilon(1e-10));
  CHECK(s(1, 0) == Approx((2.0 / 3.0) / det).epsilon(1e-10));
  CHECK(s(1, 1) == Approx((2.0 + lambda) / det).epsilon(1e-10));

  // On a larger, mean-offset matrix streamed in uneven blocks: the plain-loop moment.
  const auto big = correlated_activations(1500, 9, 13);
  actatlas::second_moment streamed(9);
  for (std::size_t start = 0; start < 1500; start += 400) {
    const std::size_t rows = std::min<std::size_t>(400, 1500 - start);
    streamed.add(actatlas::matrix_cref(big.data() + start * 9, rows, 9));
  }
  CHECK(max_relative_difference(streamed.moment(), reference_moment(big)) < 1e-12);
  // (M + λI)·S = I for the plain-loop M and the documented λ.
  const auto s_big = actatlas::whitening_matrix(actatlas::matrix_cref(big));
  const actatlas::matrix64 m_big = reference_moment(big);
  double trace = 0.0;
  for (std::size_t i = 0; i < 9; ++i) trace += m_big(i, i);
  actatlas::matrix64 ridged = m_big;
  for (std::size_t i = 0; i < 9; ++i) ridged(i, i) += 1e-4 * trace / 9.0;
  CHECK(max_abs_deviation_from_identity(xt::linalg::dot(ridged, s_big)) < 1e-9);
}

TEST_CASE("whitening: streaming in blocks equals one pass", "[whitening]") {
  const auto a = correlated_activations(500, 6, 3);
  actatlas::whitening_options one{.ridge = 1e-4, .block_rows = 1000000};
  actatlas::whitening_options many{.ridge = 1e-4, .block_rows = 37};
  const auto s1 = actatlas::whitening_matrix(actatlas::matrix_cref(a), one);
  const auto s2 = actatlas::whitening_matrix(actatlas::matrix_cref(a), many);
  for (std::size_t k = 0; k < s1.size(); ++k) CHECK(s1.data()[k] == Approx(s2.data()[k]).epsilon(1e-9));
}

TEST_CASE("whitening: a rank-deficient A gives a finite S", "[whitening]") {
  // Columns 3 and 4 are copies of column 0 and a dead channel: AᵀA is singular.
  auto a = correlated_activations(50, 6, 11);
  for (std::size_t r = 0; r < a.shape(0); ++r) {
    a(r, 3) = a(r, 0);
    a(r, 4) = 0.f;
  }
  const auto s = actatlas::whitening_matrix(actatlas::matrix_cref(a));
  for (double x : s) REQUIRE(std::isfinite(x));
  // Fewer rows than columns, and all zeros.
  const auto few = correlated_activations(3, 8, 5);
  for (double x : actatlas::whitening_matrix(actatlas::matrix_cref(few))) REQUIRE(std::isfinite(x));
  actatlas::matrix zeros = actatlas::matrix::from_shape({10, 4});
  zeros.fill(0.f);
  for (double x : actatlas::whitening_matrix(actatlas::matrix_cref(zeros))) REQUIRE(std::isfinite(x));
  // On the directions the data does span, S still inverts M.
  const actatlas::matrix64 m = reference_moment(a);
  const actatlas::matrix64 sm = xt::linalg::dot(s, m);
  CHECK(sm(1, 1) == Approx(1.0).margin(1e-2));
}

TEST_CASE("whitening: directions are multiplied by S; bad shapes are input errors", "[whitening]") {
  actatlas::matrix64 s = {{2.0, 0.5}, {0.5, 1.0}};
  actatlas::matrix v = {{1.f, 0.f}, {1.f, 2.f}};
  const auto w = actatlas::whiten_directions(s, v);
  CHECK(w(0, 0) == Approx(2.0));
  CHECK(w(0, 1) == Approx(0.5));
  CHECK(w(1, 0) == Approx(3.0));
  CHECK(w(1, 1) == Approx(2.5));
  actatlas::matrix wrong = actatlas::matrix::from_shape({1, 3});
  wrong.fill(1.f);
  CHECK_THROWS_AS(actatlas::whiten_directions(s, wrong), actatlas::input_error);
  actatlas::second_moment acc(2);
  CHECK_THROWS_AS(acc.add(wrong), actatlas::input_error);
  CHECK_THROWS_AS(acc.moment(), actatlas::input_error);
}
