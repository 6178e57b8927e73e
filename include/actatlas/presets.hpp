/// @file presets.hpp
/// The article's experiments as pipelines: the same engine, other policies and settings.
///
/// - `class_atlas`: one class's samples (filter::rank, or filter::magnitude), laid out on
///   their own by t-SNE with lucid's class-atlas settings (cosine, perplexity 50, learning
///   rate 10; the article found t-SNE better than UMAP for such sparse, class-specific
///   data), binned on an 8×8 grid ("Further Isolating Classes").
/// - `comparison`: two classes' strongest samples (filter::class_pair), placed by
///   reducer::comparison (x: which class they support, y: 1-D t-SNE) on a 10×10 grid, with
///   the full-range normalisation that keeps x's meaning ("Comparing Classes").
///
/// Both return an ordinary pipeline: stages, options and records are those of any atlas.
///
/// @code
/// auto p = actatlas::presets::class_atlas(actatlas::filter::rank({.cls = 3}));
/// p.lay_out("run/activations.npy", "class-3/layout.npy");
/// p.render(model, "run", "class-3/layout.npy", "class-3");
/// @endcode
#pragma once

#include <cstddef>

#include "binning/multires_grid.hpp"
#include "filter/class_pair.hpp"
#include "filter/magnitude.hpp"
#include "filter/rank.hpp"
#include "objective/cossim_dot.hpp"
#include "pipeline.hpp"
#include "reducer/comparison.hpp"
#include "reducer/tsne.hpp"

namespace actatlas::presets {

//! The class activation atlas of the class that `filter` keeps.
template <class Objective = objective::cossim_dot<>, class Filter>
pipeline<Filter, reducer::tsne, binning::multires_grid, Objective> class_atlas(Filter filter) {
  return pipeline<Filter, reducer::tsne, binning::multires_grid, Objective>(
      std::move(filter), reducer::tsne(reducer::tsne::lucid_class()),
      binning::multires_grid({.base_grid = 8, .levels = 1}));
}

//! The comparison of class A (left) and class B (right) from the top N samples of each.
template <class Objective = objective::cossim_dot<>>
pipeline<filter::class_pair, reducer::comparison, binning::multires_grid, Objective> comparison(std::size_t class_a,
                                                                                                std::size_t class_b,
                                                                                                std::size_t top_n = 2000) {
  pipeline<filter::class_pair, reducer::comparison, binning::multires_grid, Objective> p(
      filter::class_pair({.class_a = class_a, .class_b = class_b, .top_n = top_n}),
      reducer::comparison({.class_a = class_a, .class_b = class_b}), binning::multires_grid({.base_grid = 10, .levels = 1}));
  p.normalisation() = normalise_options::full_range();
  return p;
}

}  // namespace actatlas::presets
