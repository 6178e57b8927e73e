// The reducers' PCA preprocessing (reducer/detail/pca.hpp) against a reference
// decomposition: LAPACK's symmetric eigensolver (xtensor-blas's eigh) on the covariance
// computed here in the plain textbook way.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <actatlas/reducer/detail/pca.hpp>
#include <actatlas/reducer/tsne.hpp>
#include <actatlas/reducer/umap.hpp>
#include <xtensor-blas/xlinalg.hpp>

namespace {

//! n×d data with a planted, well-separated spectrum: random rotation of columns scaled by
//! 3·0.8^c, plus an offset (so centring matters).
actatlas::matrix planted(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  xt::xtensor<double, 2> q = xt::zeros<double>({d, d});
  for (auto& v : q) v = normal(rng);
  q = std::get<0>(xt::linalg::qr(q));
  actatlas::matrix x = actatlas::matrix::from_shape({n, d});
  std::vector<double> z(d);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < d; ++c) z[c] = normal(rng) * 3.0 * std::pow(0.8, double(c));
    for (std::size_t r = 0; r < d; ++r) {
      double acc = 5.0 + 0.1 * double(r);  // offset
      for (std::size_t c = 0; c < d; ++c) acc += q(r, c) * z[c];
      x(i, r) = static_cast<float>(acc);
    }
  }
  return x;
}

//! Reference: eigenvalues (descending) and eigenvectors (columns) of the covariance
//! (centred) or of the second moment of the L2-normalised rows (cosine), by LAPACK.
void reference(const actatlas::matrix& x, bool cosine, std::vector<double>& values, xt::xtensor<double, 2>& vectors) {
  const std::size_t n = x.shape(0), d = x.shape(1);
  xt::xtensor<double, 2> a = xt::cast<double>(x);
  if (cosine) {
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::size_t c = 0; c < d; ++c) s += a(i, c) * a(i, c);
      for (std::size_t c = 0; c < d; ++c) a(i, c) /= std::sqrt(s);
    }
  } else {
    for (std::size_t c = 0; c < d; ++c) {
      double m = 0;
      for (std::size_t i = 0; i < n; ++i) m += a(i, c);
      m /= double(n);
      for (std::size_t i = 0; i < n; ++i) a(i, c) -= m;
    }
  }
  xt::xtensor<double, 2> cov = xt::linalg::dot(xt::transpose(a), a) / double(n);
  auto [w, v] = xt::linalg::eigh(cov);  // ascending
  values.clear();
  vectors = xt::zeros<double>({d, d});
  for (std::size_t j = 0; j < d; ++j) {
    values.push_back(w(d - 1 - j));
    for (std::size_t r = 0; r < d; ++r) vectors(r, j) = v(r, d - 1 - j);
  }
}

void check_against_reference(const actatlas::matrix& x, std::size_t k, actatlas::metric m) {
  const auto pa = actatlas::detail::compute_principal_axes(x, k, m, 7, 2);
  std::vector<double> values;
  xt::xtensor<double, 2> vectors;
  reference(x, m == actatlas::metric::cosine, values, vectors);
  REQUIRE(pa.k == k);
  REQUIRE(pa.d == x.shape(1));
  double trace = 0;
  for (double v : values) trace += v;
  CHECK(pa.total_variance == Approx(trace).epsilon(1e-9));
  for (std::size_t a = 0; a < k; ++a) {
    INFO("axis " << a);
    CHECK(pa.variance[a] == Approx(values[a]).epsilon(1e-8));
    double dot = 0, norm = 0;
    for (std::size_t r = 0; r < pa.d; ++r) {
      dot += pa.axes[a * pa.d + r] * vectors(r, a);
      norm += pa.axes[a * pa.d + r] * pa.axes[a * pa.d + r];
    }
    CHECK(norm == Approx(1.0).epsilon(1e-10));
    CHECK(std::abs(dot) == Approx(1.0).epsilon(1e-7));  // same axis up to its sign
  }
}

}  // namespace

TEST_CASE("pca: leading axes and variances match LAPACK's eigendecomposition of the covariance", "[pca]") {
  SECTION("subspace iteration (D = 40 above the block of 2k = 10)") {
    check_against_reference(planted(400, 40, 1), 5, actatlas::metric::euclidean);
  }
  SECTION("complete decomposition (D = 12 within the block)") {
    check_against_reference(planted(200, 12, 2), 10, actatlas::metric::euclidean);
  }
  SECTION("cosine: uncentred second moment of the normalised rows") {
    check_against_reference(planted(300, 30, 3), 6, actatlas::metric::cosine);
  }
}

TEST_CASE("pca: projection is the centred rows times the axes, sign fixed", "[pca]") {
  const actatlas::matrix x = planted(250, 20, 4);
  const auto pa = actatlas::detail::compute_principal_axes(x, 4, actatlas::metric::euclidean, 1, 1);
  const actatlas::matrix y = actatlas::detail::pca_project(x, pa, 3);
  REQUIRE(y.shape(0) == 250);
  REQUIRE(y.shape(1) == 4);
  for (std::size_t a = 0; a < 4; ++a) {
    // largest component of every axis positive
    double big = 0;
    for (std::size_t r = 0; r < 20; ++r)
      if (std::abs(pa.axes[a * 20 + r]) > std::abs(big)) big = pa.axes[a * 20 + r];
    CHECK(big > 0);
    // the projection has the axis's variance and zero mean
    double s = 0, s2 = 0;
    for (std::size_t i = 0; i < 250; ++i) {
      s += y(i, a);
      s2 += double(y(i, a)) * y(i, a);
    }
    CHECK(std::abs(s / 250) < 1e-4);
    CHECK(s2 / 250 == Approx(pa.variance[a]).epsilon(1e-5));
  }
  for (std::size_t i = 0; i < 250; i += 37) {
    double acc = 0;
    for (std::size_t r = 0; r < 20; ++r) acc += (double(x(i, r)) - pa.mean[r]) * pa.axes[1 * 20 + r];
    CHECK(y(i, 1) == Approx(acc).margin(1e-4));
  }
}

TEST_CASE("pca: same bytes for any thread count", "[pca]") {
  const actatlas::matrix x = planted(3000, 70, 5);
  bool applied1 = false, applied3 = false;
  const actatlas::matrix a = actatlas::detail::pca_reduce(x, 50, actatlas::metric::euclidean, 9, 1, applied1);
  const actatlas::matrix b = actatlas::detail::pca_reduce(x, 50, actatlas::metric::euclidean, 9, 3, applied3);
  REQUIRE(applied1);
  REQUIRE(applied3);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("pca: the reducers apply it only above pca_dims columns", "[pca]") {
  const actatlas::matrix x = planted(300, 60, 6);
  actatlas::reducer::tsne::options o;
  o.threads = 1;
  o.iterations = 50;
  o.exaggeration_iterations = 25;
  bool applied = false;
  CHECK(actatlas::reducer::tsne(o).preprocess(x, {}, applied).shape(1) == 50);  // default 50: on
  CHECK(applied);
  o.pca_dims = 60;
  CHECK(actatlas::reducer::tsne(o).preprocess(x, {}, applied).size() == 0);
  CHECK_FALSE(applied);
  // t-SNE on the projection equals t-SNE told to project
  o.pca_dims = 10;
  const actatlas::matrix projected = actatlas::reducer::tsne(o).preprocess(x, {}, applied);
  REQUIRE(applied);
  const actatlas::matrix direct = actatlas::reducer::tsne(o).reduce(x, 2);
  o.pca_dims = 0;
  const actatlas::matrix via = actatlas::reducer::tsne(o).reduce(projected, 2);
  CHECK(std::memcmp(direct.data(), via.data(), direct.size() * sizeof(float)) == 0);
  // UMAP likewise
  actatlas::reducer::umap::options u;
  u.threads = 1;
  u.epochs = 20;
  u.pca_dims = 10;
  const actatlas::matrix ud = actatlas::reducer::umap(u).reduce(x, 2);
  u.pca_dims = 0;
  const actatlas::matrix uv = actatlas::reducer::umap(u).reduce(projected, 2);
  CHECK(std::memcmp(ud.data(), uv.data(), ud.size() * sizeof(float)) == 0);
}
