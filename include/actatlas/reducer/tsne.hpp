/// @file reducer/tsne.hpp
/// t-SNE (van der Maaten & Hinton 2008) with Barnes-Hut (van der Maaten 2014) or FFT-
/// interpolated (Linderman et al. 2019) gradients:
/// the reducer for class activation atlases and for the 1-D axis of two-class comparisons.
///
/// @code
/// actatlas::reducer::tsne t;                                         // sklearn/openTSNE defaults
/// actatlas::matrix y = t.reduce(x, 2);                                // N×2
/// actatlas::reducer::tsne lucid(actatlas::reducer::tsne::lucid_class());
/// actatlas::matrix axis = lucid.reduce(x, 1);                         // N×1, lucid's class-atlas settings
/// @endcode
///
/// The stages:
/// 1. k = min(N − 1, ⌊3·perplexity⌋) nearest neighbours (actatlas::nearest_neighbors).
/// 2. Per point, a Gaussian over its neighbours whose bandwidth is bisected until the
///    perplexity is reached; then p_ij = (p_j|i + p_i|j)/2N, sparse, summing to 1.
/// 3. PCA initialisation scaled to a first-coordinate standard deviation of 1e-4.
/// 4. Gradient descent: `exaggeration_iterations` with P × early_exaggeration and momentum
///    `momentum`, then the rest with `final_momentum`; delta-bar-delta gains (+0.2 when the
///    gradient changes sign against the step, ×0.8 otherwise, at least `min_gain`); the
///    gains and the step are reset between the two phases (as sklearn does); the layout is
///    re-centred every step. Repulsion by Barnes-Hut with opening angle `theta`.
///
/// Gradient and learning-rate convention: the gradient is the true one, 4·(F_attr − F_rep/Z),
/// as in scikit-learn, so learning rates are sklearn's: `learning_rate = 0` means
/// max(N / early_exaggeration / 4, 50), i.e. N/48 for exaggeration 12. In the convention
/// of bhtsne, Rtsne and FIt-SNE (no factor 4) that is Belkina et al.'s N/12 rule, and
/// their default eta = 200 equals 50 here.
///
/// Determinism: same seed and same input give the same layout for any thread count, as
/// long as the neighbour search does (every method of nearest_neighbors does): each
/// point's forces are summed by one thread in a fixed order, and global sums run in
/// point order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../concepts/reducer.hpp"
#include "../concepts/roles.hpp"
#include "../error.hpp"
#include "../matrix.hpp"
#include "../metric.hpp"
#include "../neighbors/knn.hpp"
#include "../progress.hpp"
#include "detail/pca.hpp"
#include "detail/tsne_affinities.hpp"
#include "detail/tsne_gradient.hpp"
#include "detail/tsne_init.hpp"
#include "detail/tsne_parallel.hpp"

namespace actatlas::reducer {

//! The t-SNE reducer policy. Defaults are scikit-learn's ≥ 1.2 / openTSNE's.
class tsne {
 public:
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "tsne";

  struct options {
    //! Effective number of neighbours. Lowered to (N − 1)/3 (but not below 1) when N is too
    //! small for it, as openTSNE does, so that 3·perplexity neighbours exist.
    double perplexity = 30;
    //! Step size in sklearn's convention (see the file comment); 0 = max(N/early_exaggeration/4, 50).
    double learning_rate = 0;
    //! P is multiplied by this for the first `exaggeration_iterations` steps.
    double early_exaggeration = 12;
    std::size_t exaggeration_iterations = 250;
    //! Total gradient steps, the exaggeration phase included.
    std::size_t iterations = 1000;
    double momentum = 0.5;        //!< during early exaggeration
    double final_momentum = 0.8;  //!< afterwards
    double min_gain = 0.01;
    //! How the repulsive forces are computed: `exact` O(N²); `barnes_hut` (opening angle
    //! `theta`); `fft`, FIt-SNE's interpolation on a grid, O(N) plus an FFT whose size
    //! grows with the layout's extent; `automatic`: FFT in 1-D (a 1-D FFT is cheap), in
    //! 2-D Barnes-Hut below `fft_from` rows and FFT from there (measured, docs/tsne.md).
    enum class gradient_method { automatic, exact, barnes_hut, fft } gradient = gradient_method::automatic;
    //! Barnes-Hut opening angle (cell width / distance); 0 makes Barnes-Hut exact.
    double theta = 0.5;
    std::size_t fft_from = 100000;
    //! Distance between input rows; cosine distance is 1 − cos.
    actatlas::metric metric = actatlas::metric::euclidean;
    //! Neighbours per point for P; 0 = min(N − 1, ⌊3·perplexity⌋) (fewer is faster and
    //! approximates P more coarsely: the knob to turn for a million rows).
    std::size_t neighbors = 0;
    //! How the neighbours are searched (automatic: exact for small N, NN-descent above).
    knn_options::method knn = knn_options::method::automatic;
    std::uint64_t seed = 42;
    unsigned threads = 0;  //!< 0 = all cores
    //! Project the input on its first `pca_dims` principal components before everything
    //! else when it has more columns than that (Rtsne's `pca = TRUE, initial_dims = 50`;
    //! detail/pca.hpp); 0 = never. On real CNN activations this is both faster and more
    //! faithful (docs/tsne.md).
    std::size_t pca_dims = 50;
  };

  //! lucid's class-activation-atlas settings: cosine, perplexity 50, learning rate 10
  //! (sklearn convention, which lucid used).
  static options lucid_class() {
    return options{.perplexity = 50, .learning_rate = 10, .metric = actatlas::metric::cosine};
  }

  // Two constructors rather than `options o = {}`: a default argument cannot use the
  // nested aggregate's member initialisers before the enclosing class is complete.
  tsne() : tsne(options{}) {}
  explicit tsne(options o) : opts_(o) {}
  const options& opts() const { return opts_; }

  //! The perplexity actually used for N rows (see options::perplexity).
  double effective_perplexity(std::size_t n) const {
    const double limit = n > 1 ? static_cast<double>(n - 1) / 3.0 : 1.0;
    return std::max(1.0, std::min(opts_.perplexity, limit));
  }
  //! The learning rate actually used for N rows.
  double effective_learning_rate(std::size_t n) const {
    if (opts_.learning_rate > 0) return opts_.learning_rate;
    return std::max(static_cast<double>(n) / opts_.early_exaggeration / 4.0, 50.0);
  }

  //! The joint probabilities P for `x` (what `reduce` optimises against), after the PCA
  //! preprocessing when `pca_dims` asks for it.
  actatlas::detail::tsne_sparse_p affinities(matrix_cref x, const progress_fn& progress = {}) const {
    check(x, 2);
    bool projected = false;
    const matrix reduced = preprocess(x, progress, projected);
    return affinities_of(projected ? matrix_cref(reduced) : x, progress);
  }

  //! The input as the neighbour search sees it: x projected on its first `pca_dims`
  //! principal components when it has more columns than that (`applied` says whether).
  matrix preprocess(matrix_cref x, const progress_fn& progress, bool& applied) const {
    applied = false;
    if (!(opts_.pca_dims > 0 && x.cols() > opts_.pca_dims && x.rows() > 1)) return matrix{};
    report(progress, "PCA", 0, 1);
    matrix reduced = actatlas::detail::pca_reduce(x, opts_.pca_dims, opts_.metric, opts_.seed,
                                                  actatlas::detail::tsne_thread_count(opts_.threads), applied);
    report(progress, "PCA", 1, 1);
    return reduced;
  }

 private:
  actatlas::detail::tsne_sparse_p affinities_of(matrix_cref x, const progress_fn& progress) const {
    const unsigned threads = actatlas::detail::tsne_thread_count(opts_.threads);
    const std::size_t n = x.rows();
    const double perplexity = effective_perplexity(n);
    std::size_t k = opts_.neighbors ? opts_.neighbors : static_cast<std::size_t>(std::floor(3.0 * perplexity));
    k = std::min(k, n > 0 ? n - 1 : 0);
    const knn_graph g =
        nearest_neighbors(x, k, opts_.metric, knn_options{.algorithm = opts_.knn, .seed = opts_.seed, .threads = threads},
                          progress);
    report(progress, "t-SNE affinities", 0, 1);
    const auto cond = actatlas::detail::tsne_conditional_p(g.distance, g.n, g.k, opts_.metric, perplexity, threads);
    auto p = actatlas::detail::tsne_symmetrize(g.index, cond, g.n, g.k, threads);
    report(progress, "t-SNE affinities", 1, 1);
    return p;
  }

 public:

  //! N×dims layout (dims 1 or 2). NaN/Inf in x, or another dims: input_error.
  matrix reduce(matrix_cref x, std::size_t dims, const progress_fn& progress = {}) const {
    check(x, dims);
    const std::size_t n = x.rows();
    matrix out = matrix::from_shape({n, dims});
    std::fill(out.begin(), out.end(), 0.0f);
    if (n <= 1) return out;
    bool projected = false;
    const matrix reduced = preprocess(x, progress, projected);
    const matrix_cref input = projected ? matrix_cref(reduced) : x;
    const auto p = affinities_of(input, progress);
    const unsigned threads = actatlas::detail::tsne_thread_count(opts_.threads);
    // The projection keeps the leading axes, so the initialisation is the same from it.
    std::vector<double> y = actatlas::detail::tsne_pca_init(input, dims, opts_.metric, opts_.seed, threads);
    if (dims == 1)
      optimise<1>(p, y, progress);
    else
      optimise<2>(p, y, progress);
    std::transform(y.begin(), y.end(), out.begin(), [](double v) { return static_cast<float>(v); });
    return out;
  }

  //! Runs the gradient descent from `y` (row-major n×Dim) against `p`, in place.
  template <std::size_t Dim>
  void optimise(const actatlas::detail::tsne_sparse_p& p, std::vector<double>& y, const progress_fn& progress = {}) const {
    const std::size_t n = p.n, total = opts_.iterations;
    const unsigned threads = actatlas::detail::tsne_thread_count(opts_.threads);
    const double rate = effective_learning_rate(n);
    using method = options::gradient_method;
    using actatlas::detail::tsne_repulsion;
    const tsne_repulsion repulsion =
        opts_.gradient == method::exact        ? tsne_repulsion::exact
        : opts_.gradient == method::barnes_hut ? tsne_repulsion::barnes_hut
        : opts_.gradient == method::fft        ? tsne_repulsion::fft
        : (Dim == 1 || n >= opts_.fft_from)    ? tsne_repulsion::fft
                                               : tsne_repulsion::barnes_hut;
    std::vector<double> grad(n * Dim), scratch(n * Dim), update(n * Dim, 0.0), gains(n * Dim, 1.0);
    for (std::size_t it = 0; it < total; ++it) {
      const bool exaggerating = it < opts_.exaggeration_iterations;
      if (it == opts_.exaggeration_iterations) {  // a new phase starts from rest
        std::fill(update.begin(), update.end(), 0.0);
        std::fill(gains.begin(), gains.end(), 1.0);
      }
      const double momentum = exaggerating ? opts_.momentum : opts_.final_momentum;
      actatlas::detail::tsne_gradient<Dim>(p, y, exaggerating ? opts_.early_exaggeration : 1.0, repulsion, opts_.theta,
                                           threads, grad,
                                 scratch);
      for (std::size_t e = 0; e < n * Dim; ++e) {
        // delta-bar-delta: grow the gain where the gradient keeps pointing the way we move.
        gains[e] = (grad[e] > 0) != (update[e] > 0) ? gains[e] + 0.2 : gains[e] * 0.8;
        gains[e] = std::max(gains[e], opts_.min_gain);
        update[e] = momentum * update[e] - rate * gains[e] * grad[e];
        y[e] += update[e];
      }
      // Re-centre (the objective does not see translations; this keeps the numbers small).
      for (std::size_t c = 0; c < Dim; ++c) {
        double mean = 0;
        for (std::size_t i = 0; i < n; ++i) mean += y[i * Dim + c];
        mean /= static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i) y[i * Dim + c] -= mean;
      }
      report(progress, "t-SNE", it + 1, total);
    }
  }

 private:
  void check(matrix_cref x, std::size_t dims) const {
    if (dims != 1 && dims != 2)
      throw input_error("tsne", "dims must be 1 or 2, got " + std::to_string(dims));
    if (x.rows() > 0 && x.cols() == 0) throw input_error("tsne input", "has no columns");
    if (!(opts_.perplexity > 0)) throw input_error("tsne", "perplexity must be positive");
    if (!(opts_.theta >= 0)) throw input_error("tsne", "theta must be 0 (exact) or positive");
    if (opts_.exaggeration_iterations > opts_.iterations)
      throw input_error("tsne", "exaggeration_iterations must not exceed iterations");
    if (!(opts_.learning_rate >= 0)) throw input_error("tsne", "learning_rate must be 0 (automatic) or positive");
    if (!(opts_.early_exaggeration > 0)) throw input_error("tsne", "early_exaggeration must be positive");
    actatlas::detail::check_all_finite(x, actatlas::detail::tsne_thread_count(opts_.threads), "tsne input");
  }

  options opts_;
};

static_assert(reducer_policy<tsne>);

}  // namespace actatlas::reducer
