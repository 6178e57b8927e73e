// UMAP's internals against references worked here, not taken from the library:
// - the smooth-kNN calibration (σ, ρ) against umap-learn's equations, Σ_j exp(−max(0, d_ij − ρ_i)/σ_i)
//   = log2(n_neighbors) with ρ_i the nearest non-zero distance (local_connectivity 1), solved
//   by an independent bisection on log σ;
// - the fuzzy union A + Aᵀ − A∘Aᵀ and the intersection A∘Aᵀ on a dense matrix built here;
// - the spectral initialisation on graphs whose eigenvectors are known (a cycle: a circle
//   of equally spaced points) or computed densely (xtensor-blas's eigh of the normalised
//   adjacency), and on two disconnected components;
// - one epoch of the SGD on a three-vertex star against the steps worked out here with std::pow.
#include <catch2/catch.hpp>

#include <actatlas/reducer/detail/umap_fuzzy_set.hpp>
#include <actatlas/reducer/detail/umap_sgd.hpp>
#include <actatlas/reducer/detail/umap_spectral.hpp>

#include <xtensor-blas/xlinalg.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace {

using actatlas::matrix;
using actatlas::knn_graph;
using actatlas::detail::sparse_graph;

constexpr double pi = 3.14159265358979323846;

//! Exact k-NN graph of the rows of `x` (self excluded, ascending distance), by brute force.
knn_graph brute_force_knn(const matrix& x, std::size_t k) {
  const std::size_t n = x.shape(0), d = x.shape(1);
  knn_graph g;
  g.n = n;
  g.k = k;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, std::uint32_t>> all;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double s = 0;
      for (std::size_t c = 0; c < d; ++c) s += (double(x(i, c)) - x(j, c)) * (double(x(i, c)) - x(j, c));
      all.emplace_back(std::sqrt(s), static_cast<std::uint32_t>(j));
    }
    std::sort(all.begin(), all.end());
    for (std::size_t r = 0; r < k; ++r) {
      g.index.push_back(all[r].second);
      g.distance.push_back(static_cast<float>(all[r].first));
    }
  }
  return g;
}

//! umap-learn's equation for one row: Σ_j exp(−max(0, d_j − ρ)/σ).
double membership_sum(const float* d, std::size_t k, double rho, double sigma) {
  double s = 0;
  for (std::size_t r = 0; r < k; ++r) s += std::exp(-std::max(0.0, double(d[r]) - rho) / sigma);
  return s;
}

//! ρ and σ of one row, worked independently: ρ = the smallest non-zero distance; σ by
//! bisection on log σ over [1e-12, 1e12] (the sum rises monotonically with σ).
std::pair<double, double> reference_rho_sigma(const float* d, std::size_t k, double n_neighbors) {
  double rho = 0;
  for (std::size_t r = 0; r < k; ++r)
    if (d[r] > 0 && (rho == 0 || d[r] < rho)) rho = d[r];
  const double target = std::log2(n_neighbors);
  double lo = std::log(1e-12), hi = std::log(1e12);
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (membership_sum(d, k, rho, std::exp(mid)) > target ? hi : lo) = mid;
  }
  return {rho, std::exp(0.5 * (lo + hi))};
}

//! Points in 4-D with uneven density (two scales), so σ differs from row to row.
matrix uneven_points(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  matrix x = matrix::from_shape({n, 4});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < 4; ++c) x(i, c) = normal(rng) * (i % 3 == 0 ? 0.2f : 1.5f) + float(i % 2) * 3.f;
  return x;
}

//! Weight of edge (i, j) in a sparse graph (0 when absent).
double edge_weight(const sparse_graph& g, std::size_t i, std::size_t j) {
  for (std::size_t s = g.row_start[i]; s < g.row_start[i + 1]; ++s)
    if (g.col[s] == j) return g.weight[s];
  return 0;
}

//! A symmetric sparse graph from a dense weight matrix (zeros are no edge).
sparse_graph from_dense(const std::vector<double>& w, std::size_t n) {
  sparse_graph g;
  g.n = n;
  g.row_start.assign(1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j)
      if (w[i * n + j] != 0) {
        g.col.push_back(static_cast<std::uint32_t>(j));
        g.weight.push_back(static_cast<float>(w[i * n + j]));
      }
    g.row_start.push_back(g.col.size());
  }
  return g;
}

//! Unit-weight cycle on vertices [first, first + m) of an n-vertex dense matrix.
void add_cycle(std::vector<double>& w, std::size_t n, std::size_t first, std::size_t m) {
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t a = first + i, b = first + (i + 1) % m;
    w[a * n + b] = w[b * n + a] = 1;
  }
}

//! Checks that rows [first, first + m) of `y` (2-D) lie on a circle around their mean,
//! consecutive points a constant angle 2π/m apart (in one direction).
void check_circle(const matrix& y, std::size_t first, std::size_t m) {
  double cx = 0, cy = 0;
  for (std::size_t i = first; i < first + m; ++i) cx += y(i, 0), cy += y(i, 1);
  cx /= double(m);
  cy /= double(m);
  std::vector<double> radius, angle;
  for (std::size_t i = first; i < first + m; ++i) {
    radius.push_back(std::hypot(y(i, 0) - cx, y(i, 1) - cy));
    angle.push_back(std::atan2(y(i, 1) - cy, y(i, 0) - cx));
  }
  const auto [rmin, rmax] = std::minmax_element(radius.begin(), radius.end());
  INFO("radii from " << *rmin << " to " << *rmax);
  CHECK(*rmin > 0);
  CHECK(*rmax - *rmin < 0.01 * *rmax);
  // Steps between consecutive vertices, wrapped to (−π, π]: all the same, ±2π/m.
  std::vector<double> step;
  for (std::size_t i = 0; i < m; ++i) {
    double s = angle[(i + 1) % m] - angle[i];
    while (s > pi) s -= 2 * pi;
    while (s <= -pi) s += 2 * pi;
    step.push_back(s);
  }
  const double expected = 2 * pi / double(m) * (step[0] > 0 ? 1 : -1);
  for (double s : step) CHECK(s == Approx(expected).margin(0.01));
}

}  // namespace

TEST_CASE("umap smooth-kNN: rho is the nearest distance and sigma solves umap-learn's equation", "[umap][umap-internals]") {
  const std::size_t n_neighbors = 10, k = n_neighbors - 1;  // the graph holds the others
  const matrix x = uneven_points(80, 3);
  knn_graph g = brute_force_knn(x, k);
  // Row 5 has a duplicate (distance 0) as its nearest: ρ is then the next, non-zero one.
  g.distance[5 * k] = 0.f;
  std::vector<float> sigma, rho;
  actatlas::detail::smooth_knn_calibration(g, double(n_neighbors), 1.0, 2, sigma, rho);
  REQUIRE(sigma.size() == 80);
  REQUIRE(rho.size() == 80);
  double sigma_min = 1e300, sigma_max = 0;
  for (std::size_t i = 0; i < 80; ++i) {
    const float* d = g.distance.data() + i * k;
    const auto [rho_ref, sigma_ref] = reference_rho_sigma(d, k, double(n_neighbors));
    INFO("row " << i << ": rho " << rho[i] << " (reference " << rho_ref << "), sigma " << sigma[i] << " (reference "
                << sigma_ref << ")");
    CHECK(rho[i] == Approx(rho_ref).epsilon(1e-6));
    CHECK(sigma[i] == Approx(sigma_ref).epsilon(1e-3));
    // The library's σ satisfies the equation itself, to its stated tolerance.
    CHECK(membership_sum(d, k, rho[i], sigma[i]) == Approx(std::log2(double(n_neighbors))).margin(1e-4));
    sigma_min = std::min<double>(sigma_min, sigma[i]);
    sigma_max = std::max<double>(sigma_max, sigma[i]);
  }
  CHECK(rho[5] == Approx(g.distance[5 * k + 1]));
  // The fixture is a real test: σ varies several-fold between dense and sparse rows.
  CHECK(sigma_max > 3 * sigma_min);
}

TEST_CASE("umap fuzzy set: the union is A + Aᵀ − A∘Aᵀ of the directed memberships", "[umap][umap-internals]") {
  const std::size_t n = 60, n_neighbors = 6, k = n_neighbors - 1;
  const matrix x = uneven_points(n, 8);
  const knn_graph g = brute_force_knn(x, k);
  // Directed memberships A(i, j) = exp(−max(0, d_ij − ρ_i)/σ_i) from the reference ρ, σ.
  std::vector<double> a(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const float* d = g.distance.data() + i * k;
    const auto [rho, sigma] = reference_rho_sigma(d, k, double(n_neighbors));
    for (std::size_t r = 0; r < k; ++r) a[i * n + g.index[i * k + r]] = std::exp(-std::max(0.0, d[r] - rho) / sigma);
  }
  for (double mix : {1.0, 0.0, 0.4}) {
    const sparse_graph s = actatlas::detail::fuzzy_simplicial_set(g, double(n_neighbors), 1.0, mix, 2);
    REQUIRE(s.n == n);
    REQUIRE(s.row_start.size() == n + 1);
    std::size_t expected_edges = 0, asymmetric_pairs = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const double aij = a[i * n + j], aji = a[j * n + i];
        const double product = aij * aji;
        const double expected = mix * (aij + aji - product) + (1 - mix) * product;
        expected_edges += expected > 0;
        asymmetric_pairs += (aij > 0) != (aji > 0);
        INFO("mix " << mix << ", edge " << i << "–" << j);
        CHECK(edge_weight(s, i, j) == Approx(expected).margin(2e-5));
      }
    // No edge besides those: zero-weight pairs are dropped, every row is sorted.
    CHECK(s.row_start[n] == expected_edges);
    for (std::size_t i = 0; i < n; ++i)
      CHECK(std::is_sorted(s.col.begin() + std::ptrdiff_t(s.row_start[i]), s.col.begin() + std::ptrdiff_t(s.row_start[i + 1])));
    // The fixture exercises both kinds of pair: mutual neighbours and one-sided ones.
    CHECK(asymmetric_pairs > 10);
  }
  // Every point's nearest neighbour is at ρ: membership 1, so its union edge weighs 1.
  const sparse_graph u = actatlas::detail::fuzzy_simplicial_set(g, double(n_neighbors), 1.0, 1.0, 2);
  for (std::size_t i = 0; i < n; ++i) CHECK(edge_weight(u, i, g.index[i * k]) == Approx(1.0));
}

TEST_CASE("umap spectral initialisation lays a cycle out as a circle", "[umap][umap-internals]") {
  // The normalised adjacency of an m-cycle has eigenvectors cos(2πki/m), sin(2πki/m); the
  // top non-trivial pair (k = 1) places vertex i at angle 2πi/m on a circle.
  const std::size_t m = 24;
  std::vector<double> w(m * m, 0.0);
  add_cycle(w, m, 0, m);
  const sparse_graph g = from_dense(w, m);
  matrix x = matrix::from_shape({m, 1});
  x.fill(0.f);
  bool spectral = false;
  const matrix y = actatlas::detail::spectral_initialisation(g, x, 2, 7, 2, spectral);
  CHECK(spectral);
  check_circle(y, 0, m);
}

TEST_CASE("umap spectral initialisation gives the normalised Laplacian's eigenvectors", "[umap][umap-internals]") {
  // A weighted neighbour graph of a noisy 2-D sheet; the reference eigenvectors come from a
  // dense symmetric eigendecomposition of D^-1/2 W D^-1/2 (LAPACK through xtensor-blas).
  const std::size_t n = 90, n_neighbors = 8;
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  matrix x = matrix::from_shape({n, 3});
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = 3.f * u(rng);
    x(i, 1) = 1.f * u(rng);
    x(i, 2) = 0.05f * u(rng);
  }
  const sparse_graph g =
      actatlas::detail::fuzzy_simplicial_set(brute_force_knn(x, n_neighbors - 1), double(n_neighbors), 1.0, 1.0, 2);
  std::vector<std::uint32_t> label;
  REQUIRE(actatlas::detail::connected_components(g, label) == 1);

  xt::xtensor<double, 2> normalised = xt::zeros<double>({n, n});
  std::vector<double> degree(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) degree[i] += edge_weight(g, i, j);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) normalised(i, j) = edge_weight(g, i, j) / std::sqrt(degree[i] * degree[j]);
  const auto [values, vectors] = xt::linalg::eigh(normalised);  // ascending
  // Largest eigenvalue 1 (the trivial vector); the wanted ones are the next two, and the
  // fixture has gaps between them and the rest, so each is determined up to sign.
  REQUIRE(values(n - 1) == Approx(1.0).epsilon(1e-9));
  REQUIRE(values(n - 2) - values(n - 3) > 0.01);
  REQUIRE(values(n - 3) - values(n - 4) > 0.01);

  std::vector<std::uint32_t> vertices(n), local(n);
  for (std::size_t i = 0; i < n; ++i) vertices[i] = local[i] = static_cast<std::uint32_t>(i);
  std::vector<double> out;
  REQUIRE(actatlas::detail::spectral_component(g, vertices, local, 2, 5, 2, out));
  for (std::size_t d = 0; d < 2; ++d) {
    double dot = 0, norm = 0;
    for (std::size_t i = 0; i < n; ++i) {
      dot += out[i * 2 + d] * vectors(i, n - 2 - d);
      norm += out[i * 2 + d] * out[i * 2 + d];
    }
    INFO("coordinate " << d << ": |cos| with eigenvector " << (n - 2 - d) << " = " << std::abs(dot) / std::sqrt(norm));
    CHECK(std::abs(dot) / std::sqrt(norm) > 0.999);
  }
}

TEST_CASE("umap spectral initialisation lays out disconnected components apart", "[umap][umap-internals]") {
  // Two cycles (16 and 20 vertices) with no edge between them: each keeps its own circle,
  // centred apart from the other, with discs that do not overlap.
  const std::size_t a = 16, b = 20, n = a + b;
  std::vector<double> w(n * n, 0.0);
  add_cycle(w, n, 0, a);
  add_cycle(w, n, a, b);
  const sparse_graph g = from_dense(w, n);
  std::vector<std::uint32_t> label;
  REQUIRE(actatlas::detail::connected_components(g, label) == 2);
  CHECK(label[0] == 0);
  CHECK(label[n - 1] == 1);
  // Inputs: the components' mean vectors differ (that places the components).
  matrix x = matrix::from_shape({n, 2});
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = i < a ? 0.f : 5.f;
    x(i, 1) = float(i % 3);
  }
  bool spectral = false;
  const matrix y = actatlas::detail::spectral_initialisation(g, x, 2, 11, 2, spectral);
  CHECK(spectral);
  check_circle(y, 0, a);
  check_circle(y, a, b);
  auto centre = [&](std::size_t first, std::size_t m) {
    double cx = 0, cy = 0;
    for (std::size_t i = first; i < first + m; ++i) cx += y(i, 0), cy += y(i, 1);
    return std::pair{cx / double(m), cy / double(m)};
  };
  auto radius = [&](std::size_t first, std::size_t m, std::pair<double, double> c) {
    double r = 0;
    for (std::size_t i = first; i < first + m; ++i) r = std::max(r, std::hypot(y(i, 0) - c.first, y(i, 1) - c.second));
    return r;
  };
  const auto ca = centre(0, a), cb = centre(a, b);
  const double gap = std::hypot(ca.first - cb.first, ca.second - cb.second);
  INFO("centres " << gap << " apart, radii " << radius(0, a, ca) << " and " << radius(a, b, cb));
  CHECK(gap > radius(0, a, ca) + radius(a, b, cb));
}

// [!mayfail]: a known weakness, found with reducer_edge_cases_test's line (measured
// below). On a long chain (300 points on a line, 14 neighbours) the smooth eigenvectors'
// eigenvalues crowd near 1 and the subspace iteration stops (its budget, or the Ritz trace
// settling) long before they separate: the start it returns mixes the Fiedler vector with
// higher harmonics, and a 1-D layout starts folded. umap-learn's eigsh (ARPACK) converges
// here. Remove the tag with the fix.
TEST_CASE("umap spectral initialisation finds the Fiedler vector of a long chain", "[umap][umap-internals][!mayfail]") {
  const std::size_t n = 300, n_neighbors = 15;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> gap(0.5, 1.5);
  matrix x = matrix::from_shape({n, 2});
  double t = 0;
  for (std::size_t i = 0; i < n; ++i) {
    t += gap(rng);
    x(i, 0) = static_cast<float>(0.6 * t);
    x(i, 1) = static_cast<float>(0.8 * t);
  }
  const sparse_graph g =
      actatlas::detail::fuzzy_simplicial_set(brute_force_knn(x, n_neighbors - 1), double(n_neighbors), 1.0, 1.0, 2);
  xt::xtensor<double, 2> normalised = xt::zeros<double>({n, n});
  std::vector<double> degree(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t s = g.row_start[i]; s < g.row_start[i + 1]; ++s) degree[i] += g.weight[s];
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t s = g.row_start[i]; s < g.row_start[i + 1]; ++s)
      normalised(i, g.col[s]) = g.weight[s] / std::sqrt(degree[i] * degree[g.col[s]]);
  const auto [values, vectors] = xt::linalg::eigh(normalised);
  REQUIRE(values(n - 1) == Approx(1.0).epsilon(1e-9));
  std::vector<std::uint32_t> vertices(n), local(n);
  for (std::size_t i = 0; i < n; ++i) vertices[i] = local[i] = static_cast<std::uint32_t>(i);
  std::vector<double> out;
  REQUIRE(actatlas::detail::spectral_component(g, vertices, local, 1, 5, 2, out));
  double dot = 0, norm = 0;
  for (std::size_t i = 0; i < n; ++i) {
    dot += out[i] * vectors(i, n - 2);
    norm += out[i] * out[i];
  }
  INFO("eigenvalues " << values(n - 2) << ", " << values(n - 3) << "; |cos| with the Fiedler vector "
                      << std::abs(dot) / std::sqrt(norm));
  CHECK(std::abs(dot) / std::sqrt(norm) > 0.99);
}

// The SGD's update rule (docs/reducers.md, "Differences from umap-learn"): in an epoch
// every vertex takes, along its own edges in order, twice the clipped attractive step
// towards the other end as it stood when the epoch began (a snapshot); the other end
// moves only through its own reverse edge. On a star 0–1, 0–2 (weights 1, no negative
// samples) the first epoch samples nothing (as umap-learn: an edge of period 1 is first
// due at epoch 1), the second (learning rate 1 · (1 − 1/2)) samples every edge once. The
// centre's second step starts from where its first left it; the leaves read the centre
// where the epoch began.
TEST_CASE("umap SGD: each vertex takes twice the step along its own edges, against the epoch's snapshot", "[umap][umap-internals]") {
  sparse_graph g;
  g.n = 3;
  g.row_start = {0, 2, 3, 4};
  g.col = {1, 2, 0, 0};
  g.weight = {1.f, 1.f, 1.f, 1.f};
  const double y0[3][2] = {{0.0, 0.0}, {1.0, 0.5}, {-0.3, 2.0}};
  matrix y = matrix::from_shape({3, 2});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t d = 0; d < 2; ++d) y(i, d) = static_cast<float>(y0[i][d]);
  actatlas::detail::umap_sgd_params p;
  p.a = 1.577;
  p.b = 0.895;
  p.epochs = 2;
  p.negative_sample_rate = 0;
  p.threads = 2;
  actatlas::detail::optimize_layout(y, g, p, {});

  using point = std::array<double, 2>;
  const double a = p.a, b = p.b, alpha = 0.5;
  auto step = [&](point from, point to) {  // umap-learn: clip(−2ab·d^(2(b−1)) / (1 + a·d^(2b)) · (from − to)) · α
    const double d2 = (from[0] - to[0]) * (from[0] - to[0]) + (from[1] - to[1]) * (from[1] - to[1]);
    const double coeff = -2 * a * b * std::pow(d2, b - 1) / (a * std::pow(d2, b) + 1);
    return point{alpha * std::clamp(coeff * (from[0] - to[0]), -4.0, 4.0),
                 alpha * std::clamp(coeff * (from[1] - to[1]), -4.0, 4.0)};
  };
  const point c{y0[0][0], y0[0][1]}, l1{y0[1][0], y0[1][1]}, l2{y0[2][0], y0[2][1]};
  const point s01 = step(c, l1);
  const point c1{c[0] + 2 * s01[0], c[1] + 2 * s01[1]};
  const point s02 = step(c1, l2);  // the centre has moved; the leaf is read where the epoch began
  const point s10 = step(l1, c), s20 = step(l2, c);
  const point expected[3] = {
      {c1[0] + 2 * s02[0], c1[1] + 2 * s02[1]},
      {l1[0] + 2 * s10[0], l1[1] + 2 * s10[1]},
      {l2[0] + 2 * s20[0], l2[1] + 2 * s20[1]},
  };
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t d = 0; d < 2; ++d) {
      INFO("vertex " << i << ", coordinate " << d);
      CHECK(y(i, d) == Approx(expected[i][d]).margin(1e-4));
    }
}
