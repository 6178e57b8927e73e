/// @file torch/compare.hpp
/// The article's two-class comparison ("snorkel" vs "scuba diver"): the samples that
/// support either class strongly (the magnitude filter of each, merged), placed
/// horizontally by how much more they support A than B and vertically by a 1-D t-SNE, so
/// that concepts that pull toward A sit on the left, those that pull toward B on the
/// right, and similar concepts share a row band.
///
/// x = −compare_axis(A, B): the attribution difference A − B scaled by its 99th percentile
/// of |A − B| and clipped to [−1, 1] (compare_axis.hpp), negated so that A is on the left
/// as in the article; y = 1-D t-SNE (lucid's class settings) normalised to [0, 1] with the
/// usual 1st/99th percentile clip. The atlas is rendered on a 10×10 grid; the layout is
/// passed to the renderer with a plain min–max normalisation so x keeps its meaning.
/// Besides the atlas files, `out/compare.png` is the atlas under a header naming the sides.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "../compare_axis.hpp"
#include "../experiments/class_samples.hpp"
#include "../experiments/run_folder.hpp"
#include "../io/text.hpp"
#include "../reducer/tsne.hpp"
#include "class_atlas.hpp"
#include "render_atlas.hpp"

namespace actatlas {

struct compare_options {
  std::size_t class_a = 0, class_b = 1;  //!< A on the left, B on the right
  std::size_t top_n = 2000;              //!< magnitude filter: the top N samples of each class
  reducer::tsne::options tsne = reducer::tsne::lucid_class();
  std::size_t min_samples = 8;           //!< per class, after filtering
  render_atlas_options render = default_render();

  static render_atlas_options default_render() {
    render_atlas_options r;
    r.grid = 10;
    r.normalise = normalise_options::full_range();
    return r;
  }
};

struct compare_result {
  std::vector<std::uint32_t> samples;  //!< ids in the source run: the union of both classes' top N
  std::vector<float> axis;             //!< per kept sample, compare_axis (positive: toward A)
  std::size_t samples_a = 0, samples_b = 0;
  std::filesystem::path run;           //!< out/run
  std::filesystem::path picture;       //!< out/compare.png
  render_atlas_result atlas;
};

namespace detail {
//! `atlas` under a white header band holding "← A" at the left and "B →" at the right.
inline io::image_u8 compare_picture(const io::image_u8& atlas, const std::string& a, const std::string& b) {
  const int scale = std::max(1, atlas.width / 400), band = io::text_line_height(scale) + 8 * scale;
  io::image_u8 out{atlas.width, atlas.height + band, 3,
                   std::vector<std::uint8_t>(static_cast<std::size_t>(atlas.width) * (atlas.height + band) * 3, 255)};
  for (int y = 0; y < atlas.height; ++y)
    for (int x = 0; x < atlas.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixels[(static_cast<std::size_t>(y + band) * out.width + x) * 3 + c] =
            atlas.pixels[(static_cast<std::size_t>(y) * atlas.width + x) * atlas.channels + std::min(c, atlas.channels - 1)];
  const std::string left = "<- " + a, right = b + " ->", middle = "|";
  io::draw_text(out.pixels.data(), out.width, out.height, 3, 4 * scale, 4 * scale, left, {180, 40, 40, 255}, scale);
  io::draw_text(out.pixels.data(), out.width, out.height, 3, out.width - io::text_width(right, scale) - 4 * scale, 4 * scale,
                right, {40, 60, 180, 255}, scale);
  io::draw_text(out.pixels.data(), out.width, out.height, 3, out.width / 2, 4 * scale, middle, {120, 120, 120, 255}, scale);
  return out;
}
}  // namespace detail

//! Builds the comparison atlas of classes A and B from the collection folder `run` into `out`.
template <class Objective>
  requires objective_for<Objective, torch::Tensor>
compare_result compare_classes(classifier& model, const std::filesystem::path& run, const std::filesystem::path& out,
                               const Objective& objective, const compare_options& o) {
  const auto data = experiments::read_run(run);
  const auto& info = model.info();
  const std::string a = detail::class_label(info, o.class_a), b = detail::class_label(info, o.class_b);
  if (o.class_a == o.class_b) throw input_error("--classes", "the two classes are the same ('" + a + "')");
  for (auto c : {o.class_a, o.class_b})
    if (c >= data.attributions.shape(1))
      throw input_error("--classes", "class index " + std::to_string(c) + " is out of range (the run has " +
                                         std::to_string(data.attributions.shape(1)) + " classes)");
  compare_result result;
  const auto kept_a = experiments::select_class_samples(data.attributions, o.class_a, experiments::class_filter::magnitude, o.top_n);
  const auto kept_b = experiments::select_class_samples(data.attributions, o.class_b, experiments::class_filter::magnitude, o.top_n);
  result.samples_a = kept_a.size();
  result.samples_b = kept_b.size();
  for (const auto& [kept, name] : {std::pair{&kept_a, a}, std::pair{&kept_b, b}})
    if (kept->size() < std::max<std::size_t>(1, o.min_samples))
      throw input_error("--classes", "class '" + name + "' has " + std::to_string(kept->size()) +
                                         " sample(s) with a positive attribution after the magnitude filter (need at least " +
                                         std::to_string(o.min_samples) + "; collect more samples)");
  result.samples = experiments::merge_samples(kept_a, kept_b);
  result.axis = compare_axis(data.attributions, o.class_a, o.class_b, result.samples);
  const auto kept = experiments::subset(data, result.samples);
  const matrix y = normalise_layout(reducer::tsne(o.tsne).reduce(kept.activations, 1, o.render.progress));
  matrix layout = matrix::from_shape({result.samples.size(), 2});
  for (std::size_t i = 0; i < result.samples.size(); ++i) {
    layout(i, 0) = 0.5f * (1.0f - result.axis[i]);  // A (axis +1) at x = 0, B at x = 1
    layout(i, 1) = y(i, 0);
  }
  result.run = out / "run";
  experiments::write_run(result.run, kept, layout,
                         {{"kind", "comparison"}, {"class_a", a}, {"class_b", b}, {"top_n", o.top_n},
                          {"x", "(1 - compare_axis(A, B)) / 2: A left, B right"}, {"y", "1-D t-SNE"},
                          {"source_run", run.string()}});
  auto render = o.render;
  if (render.title.empty()) render.title = a + " vs " + b + " · " + data.collection.value("layer", std::string());
  result.atlas = render_atlas(model, result.run, out, objective, render);
  result.picture = out / "compare.png";
  io::write_png(result.picture, detail::compare_picture(io::read_image(result.atlas.atlas_png, 3), a, b));
  return result;
}

}  // namespace actatlas
