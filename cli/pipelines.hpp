// From the command line's runtime choices to pipeline types: the only place where the
// program meets the library's templates. Each `with_*` calls its function with the policy
// object a flag chose; `with_atlas_pipeline` composes them into one
// pipeline<Sampler, Reducer, binning::multires_grid, Objective> configured from the
// settings. The commands then call the pipeline's stages; they hold no stage logic.
//
// Instantiations (compile time): 3 samplers × 2 reducers × 3 objectives = 18 atlas
// pipelines in atlas_commands.cpp (the stage templates underneath depend on one policy
// each: collect on the sampler, drawing on the objective); the experiments' presets in
// experiment_commands.cpp.
#pragma once

#include <actatlas/binning/multires_grid.hpp>
#include <actatlas/objective/article_cossim.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/objective/dot.hpp>
#include <actatlas/progress.hpp>
#include <actatlas/reducer/tsne.hpp>
#include <actatlas/reducer/umap.hpp>
#include <actatlas/sampler/all_positions.hpp>
#include <actatlas/sampler/center_position.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/pipeline.hpp>
#include <actatlas/torch/process_group.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "options.hpp"

namespace cli {

//! The reducers' seeds are the one --seed.
inline actatlas::reducer::umap::options umap_options(const settings& s) {
  auto o = s.umap;
  o.seed = s.seed;
  return o;
}
inline actatlas::reducer::tsne::options tsne_options(const settings& s) {
  auto o = s.tsne;
  o.seed = s.seed;
  return o;
}

template <class F>
decltype(auto) with_sampler(const settings& s, F&& f) {
  switch (s.sampler) {
    case sampler_choice::center: return f(actatlas::sampler::center_position{});
    case sampler_choice::all:
      return f(actatlas::sampler::all_positions({.margin = s.margin >= 0 ? s.margin : actatlas::sampler::all_positions::options{}.margin}));
    case sampler_choice::random: break;
  }
  return f(actatlas::sampler::random_position(
      {.seed = s.seed, .margin = s.margin >= 0 ? s.margin : actatlas::sampler::random_position::options{}.margin}));
}

template <class F>
decltype(auto) with_reducer(const settings& s, F&& f) {
  if (s.reducer == reducer_choice::tsne) return f(actatlas::reducer::tsne(tsne_options(s)));
  return f(actatlas::reducer::umap(umap_options(s)));
}

template <class F>
decltype(auto) with_objective(const settings& s, F&& f) {
  switch (s.objective) {
    case objective_choice::dot: return f(actatlas::objective::dot{});
    case objective_choice::article: return f(actatlas::objective::article_cossim<4>{});
    case objective_choice::cossim: break;
  }
  return f(actatlas::objective::cossim_dot<>{});
}

//! The job this process is a rank of, for the commands that run as one (collect, layout,
//! render, atlas: run_as_job in atlas_commands.cpp); null when it runs alone.
inline std::shared_ptr<actatlas::process_group>& job() {
  static std::shared_ptr<actatlas::process_group> group;
  return group;
}

//! Whether this process reports (progress, stages, results): alone, or rank 0 of a job.
inline bool reports() { return !job() || job()->leader(); }

//! The device --device names; in a job, a CUDA rank takes the GPU of its LOCAL_RANK.
inline torch::Device device_for(const settings& s) {
  const auto device = actatlas::pick_device(s.device);
  return device.is_cuda() && job() ? job()->device() : device;
}

//! Prints each stage's report on stderr ("layout: reused (same options and inputs)").
inline void print_stage(const actatlas::stage_report& r) { std::fprintf(stderr, "%s\n", r.text().c_str()); }

//! The settings every pipeline takes from the command line: collection, icons, pictures,
//! progress and stage reports. The binning's options are checked here (its finest grid
//! against the limit), before any work.
template <class Pipeline>
void configure(Pipeline& p, const settings& s) {
  p.collection() = s.collect;
  // Only the random sampler has new positions to offer on a second visit of an image.
  p.collection().repeat_images = s.sampler == sampler_choice::random && s.collect.samples > 0;
  if (p.collection().model_name.empty()) p.collection().model_name = std::filesystem::path(s.model).filename().string();
  p.icons() = s.icons;
  p.icons().seed = s.seed;
  p.pictures() = s.pictures;
  p.processes() = job();
  if (reports()) {
    p.progress() = actatlas::progress_bar{};
    p.on_stage() = print_stage;
  }
  if constexpr (requires { p.binning().finest_grid(); }) (void)p.binning().finest_grid();
}

//! The atlas pipeline type: the one every folder command (collect, layout, render, atlas,
//! demo, aligned) uses, so that the commands share its instantiations.
template <class Sampler, class Reducer, class Objective>
using atlas_pipeline = actatlas::pipeline<Sampler, Reducer, actatlas::binning::multires_grid, Objective>;

//! An atlas pipeline from the given policies and the settings.
template <class Sampler, class Reducer, class Objective>
atlas_pipeline<Sampler, Reducer, Objective> make_atlas_pipeline(const settings& s, Sampler sampler, Reducer reducer,
                                                                Objective objective) {
  atlas_pipeline<Sampler, Reducer, Objective> p(std::move(sampler), std::move(reducer),
                                                actatlas::binning::multires_grid(s.binning), std::move(objective));
  configure(p, s);
  return p;
}

//! Calls `f(pipeline)` with the atlas pipeline all the flags choose (18 types: for `atlas`
//! and `demo`, which run every stage).
template <class F>
void with_atlas_pipeline(const settings& s, F&& f) {
  with_sampler(s, [&](auto sampler) {
    with_reducer(s, [&](auto reducer) {
      with_objective(s, [&](auto objective) { f(make_atlas_pipeline(s, sampler, reducer, objective)); });
    });
  });
}

//! The single stages need only the policy they use; the other roles keep the defaults, so
//! these are among the 18 types above and add no instantiation of the stages.
using default_sampler = actatlas::sampler::random_position;
using default_reducer = actatlas::reducer::umap;
using default_objective = actatlas::objective::cossim_dot<>;

}  // namespace cli
