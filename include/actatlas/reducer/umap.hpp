/// @file reducer/umap.hpp
/// UMAP (McInnes, Healy, Melville 2018), the atlas's default reducer, written to
/// reproduce umap-learn's algorithm and defaults:
///
/// 1. k nearest neighbours (k = n_neighbors, counting the point itself; `nearest_neighbors`);
/// 2. the fuzzy simplicial set: smooth-kNN calibration of σ, ρ per point, then the fuzzy
///    union w + wᵀ − w∘wᵀ (detail/umap_fuzzy_set.hpp);
/// 3. spectral initialisation, per connected component when the graph is disconnected
///    (detail/umap_spectral.hpp);
/// 4. a, b fitted to min_dist and spread (detail/umap_curve.hpp);
/// 5. SGD with negative sampling and a linearly decaying learning rate (detail/umap_sgd.hpp).
///
/// @code
/// actatlas::reducer::umap u(actatlas::reducer::umap::options::article());
/// actatlas::matrix layout = u.reduce(activations, 2, actatlas::progress_bar{});
/// @endcode
///
/// Determinism: the same seed gives the same layout, whatever `threads` is: the neighbour
/// search and the SGD derive every random choice from (seed, index) and never let a
/// result depend on which thread ran what (see the detail headers). The thread count
/// changes only the speed. (umap-learn's multithreaded SGD is not reproducible; this one is.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "../concepts/reducer.hpp"
#include "../concepts/roles.hpp"
#include "../error.hpp"
#include "../matrix.hpp"
#include "../metric.hpp"
#include "../neighbors/knn.hpp"
#include "../progress.hpp"
#include "detail/pca.hpp"
#include "detail/umap_curve.hpp"
#include "detail/umap_fuzzy_set.hpp"
#include "detail/umap_sgd.hpp"
#include "detail/umap_spectral.hpp"

namespace actatlas::reducer {

class umap {
 public:
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "umap";

  enum class initialisation { spectral, random };

  //! umap-learn 0.5's defaults.
  struct options {
    std::size_t n_neighbors = 15;  //!< counts the point itself, as umap-learn
    float min_dist = 0.1f;
    float spread = 1.f;
    actatlas::metric metric = actatlas::metric::euclidean;
    std::size_t epochs = 0;  //!< 0 = 500 when N ≤ 10,000, else 200
    float learning_rate = 1.f;
    float repulsion_strength = 1.f;  //!< γ
    float negative_sample_rate = 5.f;
    float local_connectivity = 1.f;
    float set_op_mix_ratio = 1.f;  //!< 1 = fuzzy union, 0 = fuzzy intersection
    initialisation init = initialisation::spectral;
    double a = 0, b = 0;  //!< 0 = fitted from min_dist and spread
    std::uint64_t seed = 42;
    unsigned threads = 0;  //!< 0 = all cores
    //! Neighbour search tuning; its seed and threads are taken from the fields above.
    knn_options knn = {};
    //! Project the input on its first `pca_dims` principal components before the neighbour
    //! search when it has more columns than that (detail/pca.hpp); 0 = never (umap-learn's
    //! behaviour). The default is chosen from the benchmark in docs/reducers.md.
    std::size_t pca_dims = 0;

    //! The article's setting for most layers: 50 neighbours, min_dist 0.05, cosine.
    static options article() { return {.n_neighbors = 50, .min_dist = 0.05f, .metric = actatlas::metric::cosine}; }
    //! The article's setting for the early layers: 200 neighbours, min_dist 0.05, euclidean.
    static options article_early_layers() {
      return {.n_neighbors = 200, .min_dist = 0.05f, .metric = actatlas::metric::euclidean};
    }
  };

  // Two constructors rather than `options o = {}`: GCC cannot use a nested aggregate's
  // default member initialisers in a default argument of the enclosing class.
  umap() = default;
  explicit umap(options o) : opts_(std::move(o)) {}
  const options& opts() const noexcept { return opts_; }

  //! a and b of the low-dimensional similarity 1/(1 + a·d^(2b)) for these options.
  std::pair<double, double> curve() const {
    if (opts_.a > 0 && opts_.b > 0) return {opts_.a, opts_.b};
    return detail::fit_umap_ab(opts_.min_dist, opts_.spread);
  }

  //! N×D → N×dims. NaN or infinity, dims = 0, or invalid options: input_error.
  matrix reduce(matrix_cref x, std::size_t dims, const progress_fn& progress = {}) const {
    validate(x, dims);
    knn_options ko = opts_.knn;
    ko.seed = opts_.seed;
    ko.threads = opts_.threads;
    const std::size_t k = x.rows() > 0 ? std::min(opts_.n_neighbors - 1, x.rows() - 1) : 0;
    bool projected = false;
    matrix reduced;
    if (opts_.pca_dims > 0 && x.cols() > opts_.pca_dims && x.rows() > 1) {
      actatlas::detail::check_all_finite(x, actatlas::detail::resolve_threads(opts_.threads), "umap input");
      report(progress, "PCA", 0, 1);
      reduced = actatlas::detail::pca_reduce(x, opts_.pca_dims, opts_.metric, opts_.seed,
                                             actatlas::detail::resolve_threads(opts_.threads), projected);
      report(progress, "PCA", 1, 1);
    }
    const matrix_cref input = projected ? matrix_cref(reduced) : x;
    const knn_graph g = nearest_neighbors(input, k, opts_.metric, ko, progress);
    return reduce(input, g, dims, progress);
  }

  //! The same from a neighbour graph already computed on `x` (row i's neighbours, self excluded).
  matrix reduce(matrix_cref x, const knn_graph& g, std::size_t dims, const progress_fn& progress = {}) const {
    validate(x, dims);
    if (g.n != x.rows()) throw input_error("umap", "neighbour graph has " + std::to_string(g.n) + " rows, data " + std::to_string(x.rows()));
    const std::size_t n = x.rows();
    const unsigned threads = actatlas::detail::resolve_threads(opts_.threads);
    matrix y = matrix::from_shape({n, dims});
    y.fill(0.f);
    if (n < 2) return y;
    const auto graph = actatlas::detail::fuzzy_simplicial_set(g, static_cast<double>(std::min(opts_.n_neighbors, n)),
                                                              opts_.local_connectivity, opts_.set_op_mix_ratio, threads);
    bool spectral = false;
    if (opts_.init == initialisation::spectral) {
      report(progress, "umap init", 0, 1);
      y = actatlas::detail::spectral_initialisation(graph, x, dims, opts_.seed, threads, spectral);
      report(progress, "umap init", 1, 1);
    }
    if (!spectral && opts_.init == initialisation::random) {
      std::mt19937_64 rng(actatlas::detail::mix_seed(opts_.seed, 0x7a4d0));
      std::uniform_real_distribution<float> uniform(-10.f, 10.f);
      for (float& v : y) v = uniform(rng);
    }
    actatlas::detail::rescale_and_jitter(y, opts_.seed);
    const auto [a, b] = curve();
    actatlas::detail::umap_sgd_params p;
    p.a = a;
    p.b = b;
    p.epochs = opts_.epochs ? opts_.epochs : (n <= 10000 ? 500 : 200);
    p.learning_rate = opts_.learning_rate;
    p.repulsion_strength = opts_.repulsion_strength;
    p.negative_sample_rate = opts_.negative_sample_rate;
    p.seed = opts_.seed;
    p.threads = threads;
    actatlas::detail::optimize_layout(y, graph, p, progress);
    return y;
  }

 private:
  void validate(matrix_cref x, std::size_t dims) const {
    if (dims == 0) throw input_error("umap", "dims must be at least 1");
    if (opts_.n_neighbors < 2) throw input_error("umap", "n_neighbors must be at least 2");
    if (!(opts_.min_dist >= 0) || !(opts_.spread > 0) || opts_.min_dist > opts_.spread)
      throw input_error("umap", "min_dist must lie in [0, spread] and spread be positive");
    if (!(opts_.learning_rate > 0) || !(opts_.negative_sample_rate >= 0) || !(opts_.local_connectivity >= 0))
      throw input_error("umap", "learning_rate must be positive, negative_sample_rate and local_connectivity non-negative");
    if (x.rows() > 0 && x.cols() == 0) throw input_error("umap", "input has no columns");
  }

  options opts_;
};

static_assert(reducer_policy<umap>);

}  // namespace actatlas::reducer
