// The stages `atlas` and `demo` chain, each starting from the previous stage's files
// and skipping work whose result is already on disk.
#pragma once

#include <actatlas/io/npy.hpp>
#include <actatlas/reducer/umap.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/collect.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

namespace steps {

//! Collects `samples` random-position samples of `layer` (resuming or reusing `run`).
inline actatlas::collect_summary collect(actatlas::classifier& model, const std::string& model_name,
                                         const std::filesystem::path& images, const std::filesystem::path& run,
                                         const std::string& layer, std::uint64_t samples, std::uint64_t seed,
                                         std::size_t batch) {
  actatlas::collect_options o;
  o.layer = layer;
  o.samples = samples;
  o.repeat_images = samples > 0;
  o.batch = batch;
  o.model_name = model_name;
  o.progress = actatlas::progress_bar{};
  auto summary = actatlas::collect(model, images, run, actatlas::sampler::random_position({.seed = seed, .margin = 1}), o);
  if (summary.already_complete) std::fprintf(stderr, "collect: reusing the finished collection in %s\n", run.string().c_str());
  if (!summary.skipped.empty()) {
    std::fprintf(stderr, "collect: skipped %zu file(s) that could not be decoded:\n", summary.skipped.size());
    for (const auto& s : summary.skipped) std::fprintf(stderr, "  %s: %s\n", s.path.string().c_str(), s.reason.c_str());
  }
  return summary;
}

//! UMAP of run/activations.npy into run/layout.npy, unless a layout with the right row
//! count is already there (delete it, or run `actatlas layout`, to redo it).
inline void layout(const std::filesystem::path& run, const actatlas::reducer::umap::options& o, bool force = false) {
  const auto out = run / "layout.npy";
  actatlas::io::mapped_npy activations(run / "activations.npy");
  if (!force && std::filesystem::exists(out)) {
    try {
      if (actatlas::io::read_npy<float, 2>(out).shape(0) == activations.view().rows()) {
        std::fprintf(stderr, "layout: reusing %s\n", out.string().c_str());
        return;
      }
    } catch (const actatlas::input_error&) {
      // A damaged layout is recomputed.
    }
  }
  const auto y = actatlas::reducer::umap(o).reduce(activations.view(), 2, actatlas::progress_bar{});
  actatlas::io::write_npy(out, y);
}

}  // namespace steps
