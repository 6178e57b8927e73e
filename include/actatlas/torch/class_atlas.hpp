/// @file torch/class_atlas.hpp
/// The article's class activation atlas: only the samples that support one class (by the
/// rank filter, the magnitude filter, or both; experiments/class_samples.hpp), laid out on
/// their own (t-SNE by default: the article found it better than UMAP for such sparse,
/// class-specific data, with lucid's class-atlas settings, perplexity 50, cosine), binned
/// on a small grid (8×8) and rendered with icons like any atlas.
///
/// The kept samples and their layout are written to `out/run` as a run folder, and the
/// atlas itself to `out` (docs/output-format.md), so `actatlas render --run out/run` can
/// re-render it. Icons are whitened with the kept samples' second moment.
///
/// @code
/// actatlas::class_atlas_options o;
/// o.cls = 3;                                    // e.g. resolve_class("ball", names, "--class")
/// o.filter = actatlas::experiments::class_filter::magnitude;
/// auto r = actatlas::class_atlas(model, "run", "atlas-ball", actatlas::objective::cossim_dot<4>{}, o);
/// @endcode
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "../experiments/class_samples.hpp"
#include "../experiments/run_folder.hpp"
#include "../reducer/tsne.hpp"
#include "../reducer/umap.hpp"
#include "render_atlas.hpp"

namespace actatlas {

enum class class_atlas_reducer { tsne, umap };

struct class_atlas_options {
  std::size_t cls = 0;                                                 //!< the class (logit index)
  experiments::class_filter filter = experiments::class_filter::rank;  //!< the article's first class atlas
  std::size_t top_n = 2000;                                            //!< N for magnitude and both
  class_atlas_reducer reducer = class_atlas_reducer::tsne;
  reducer::tsne::options tsne = reducer::tsne::lucid_class();
  reducer::umap::options umap = {};
  std::size_t min_samples = 8;  //!< fewer kept samples than this is an input error (nothing to lay out)
  render_atlas_options render = default_render();

  //! The atlas defaults with the class atlas's 8×8 grid.
  static render_atlas_options default_render() {
    render_atlas_options r;
    r.grid = 8;
    return r;
  }
};

struct class_atlas_result {
  std::vector<std::uint32_t> samples;  //!< ids (rows of the source run) kept by the filter
  std::filesystem::path run;           //!< out/run: the kept samples and their layout
  render_atlas_result atlas;
};

namespace detail {
inline std::string class_label(const model_info& info, std::size_t cls) {
  return cls < info.class_names.size() ? info.class_names[cls] : "class " + std::to_string(cls);
}
}  // namespace detail

//! Builds the class activation atlas of `o.cls` from the collection folder `run` into `out`.
template <class Objective>
  requires objective_for<Objective, torch::Tensor>
class_atlas_result class_atlas(classifier& model, const std::filesystem::path& run, const std::filesystem::path& out,
                               const Objective& objective, const class_atlas_options& o) {
  const auto data = experiments::read_run(run);
  const std::string label = detail::class_label(model.info(), o.cls);
  if (o.cls >= data.attributions.shape(1))
    throw input_error("--class", "class index " + std::to_string(o.cls) + " is out of range (the run has " +
                                     std::to_string(data.attributions.shape(1)) + " classes)");
  class_atlas_result result;
  result.samples = experiments::select_class_samples(data.attributions, o.cls, o.filter, o.top_n);
  if (result.samples.size() < std::max<std::size_t>(1, o.min_samples))
    throw input_error("--class", "class '" + label + "' has " + std::to_string(result.samples.size()) + " sample(s) after the " +
                                     std::string(experiments::filter_name(o.filter)) + " filter (need at least " +
                                     std::to_string(o.min_samples) + "; collect more samples or try --filter magnitude)");
  const auto kept = experiments::subset(data, result.samples);
  report(o.render.progress, "class layout", 0, 1);
  const matrix layout = o.reducer == class_atlas_reducer::tsne
                            ? reducer::tsne(o.tsne).reduce(kept.activations, 2, o.render.progress)
                            : reducer::umap(o.umap).reduce(kept.activations, 2, o.render.progress);
  result.run = out / "run";
  experiments::write_run(result.run, kept, layout,
                         {{"kind", "class atlas"}, {"class", label}, {"class_index", o.cls},
                          {"filter", experiments::filter_name(o.filter)}, {"top_n", o.top_n},
                          {"reducer", o.reducer == class_atlas_reducer::tsne ? "tsne" : "umap"}, {"source_run", run.string()}});
  auto render = o.render;
  if (render.title.empty()) render.title = "class atlas · " + label + " · " + data.collection.value("layer", std::string());
  result.atlas = render_atlas(model, result.run, out, objective, render);
  return result;
}

}  // namespace actatlas
