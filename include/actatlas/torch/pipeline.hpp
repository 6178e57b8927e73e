/// @file torch/pipeline.hpp
/// The model side of `actatlas::pipeline` (pipeline.hpp): its collect, render and atlas
/// stages, which need LibTorch. Each member delegates to a stage template that depends only
/// on the policy it uses (collect on the sampler, the drawing on the objective), so that
/// pipelines differing in other roles share one compiled stage.
#pragma once

#include <filesystem>
#include <string>

#include "../pipeline.hpp"
#include "classifier.hpp"
#include "collect.hpp"
#include "model_fingerprint.hpp"
#include "process_group.hpp"
#include "render_atlas.hpp"

namespace actatlas {

//! What `pipeline::atlas` made: each stage's result.
struct atlas_result {
  collect_summary collection;
  layout_result layout;
  render_result atlas;
};

template <class... Policies>
collect_summary pipeline<Policies...>::collect(classifier& model, const std::filesystem::path& images,
                                               const std::filesystem::path& run) const {
  return actatlas::collect(model, images, run, sampler_, collect_, progress_, on_stage_, processes_.get());
}

template <class... Policies>
render_result pipeline<Policies...>::render(classifier& model, const std::filesystem::path& run,
                                            const std::filesystem::path& layout, const std::filesystem::path& out) const {
  namespace fs = std::filesystem;
  static_assert(objective_for<objective_type, torch::Tensor>,
                "actatlas::pipeline: the objective policy lacks `template <class Tensor> Tensor operator()(const Tensor& h, "
                "const Tensor& v) const` (see docs/policies.md)");
  const nlohmann::json collection = detail::read_collection(run);
  const auto layout_record = detail::read_record(detail::record_path(layout));
  const matrix y = io::read_npy<float, 2>(layout);
  if (y.shape(1) != 2) throw input_error(layout.string(), "must have 2 columns to be binned, has " + std::to_string(y.shape(1)));
  const auto samples = detail::record_samples(layout_record, y.shape(0));

  // The icon cache key's model part: the weights' content, so that a model retrained and
  // saved under the same name never reuses stale icons; a model that cannot list its
  // weights falls back to the collection's model name and class count.
  std::string model_id = model_fingerprint(model);
  if (model_id.empty())
    model_id = collection.value("model", std::string("model")) + "/" + std::to_string(model.info().class_names.size());
  const std::size_t collected = collection.value("result", nlohmann::json::object()).value("samples", std::size_t{0});
  if (!layout_record && y.shape(0) != collected)
    throw input_error(layout.string(), "has " + std::to_string(y.shape(0)) + " rows but the collection in " + run.string() +
                                           " has " + std::to_string(collected) + "; lay it out again");
  nlohmann::json wanted{{"stage", "render"}, {"format", 1},
                        {"binning", describe_policy(binning_)}, {"objective", describe_policy(objective_)},
                        {"normalisation", normalise_},
                        {"icons", {{"size", icons_.size}, {"steps", icons_.steps}, {"attempts", icons_.attempts},
                                   {"learning_rate", icons_.learning_rate}, {"seed", icons_.seed}, {"whiten", icons_.whiten}}},
                        {"pictures", {{"cell_px", pictures_.canvas.cell_px}, {"sizing", static_cast<int>(pictures_.canvas.sizing)},
                                      {"transparent", pictures_.canvas.transparent}, {"labels", pictures_.canvas.labels},
                                      {"label_scale", pictures_.canvas.label_scale}, {"label_min_side", pictures_.canvas.label_min_side},
                                      {"tile_px", pictures_.tile_px}, {"patch_px", pictures_.patch_px},
                                      {"patches_per_cell", pictures_.patches_per_cell},
                                      {"full_attribution_max_classes", pictures_.full_attribution_max_classes},
                                      {"title", pictures_.title}}},
                        {"model", model_id},
                        {"inputs", {{"layout", io::file_fingerprint(layout)},
                                    {"activations", io::file_fingerprint(run / "activations.npy")}}}};
  // Recorded only when on, so that folders rendered before the option existed stay reusable.
  if (icons_.prune_after > 0) wanted["icons"]["prune_after"] = icons_.prune_after;
  const fs::path record_path = out / "render.json";
  const auto on_disk = detail::read_record(record_path);
  render_result result;
  result.report = detail::decide("render", on_disk, wanted, fs::exists(out / "atlas.js") && fs::exists(out / "atlas.png"),
                                 {"result"});
  process_group* const group = processes_.get();
  if (is_leader(group)) tell(result.report);
  // In a job, every rank decides from the same files before any rank writes.
  barrier(group);
  if (result.report.reused) {
    const auto& r = on_disk->at("result");
    result.grids = r.at("grids").get<std::vector<std::size_t>>();
    result.cells = r.at("cells").get<std::vector<std::size_t>>();
    result.icons_reused = r.value("icons", std::size_t{0});
    result.atlas_png = out / "atlas.png";
    return result;
  }

  const auto levels = bin(y, samples);
  std::size_t occupied = 0;
  for (const auto& level : levels) occupied += level.cells.size();
  if (occupied == 0) {
    // Nothing to draw: say why, in the binning's own terms, and what would help.
    const std::string g = std::to_string(levels.empty() ? 0 : levels.front().grid);
    throw input_error(std::string("binning::") + std::string(binning_type::name) + ".min_count",
                      "no cell of the " + g + "×" + g + " grid holds enough of the " + std::to_string(samples.size()) +
                          " samples laid out to get an icon; lower min_count, use a smaller grid, collect more samples, "
                          "or keep more with the filter (filter::magnitude keeps the top N of a class)");
  }
  auto drawn = detail::draw_atlas(model, run, collection, levels, samples, objective_, icons_, pictures_, model_id, out,
                                 is_leader(group) ? progress_ : progress_fn{}, group);
  drawn.report = result.report;
  if (is_leader(group)) {
    nlohmann::json record = wanted;
    std::size_t icons = 0;
    for (auto c : drawn.cells) icons += c;
    record["result"] = {{"grids", drawn.grids}, {"cells", drawn.cells}, {"icons", icons}};
    detail::write_record(record_path, record);
  }
  barrier(group);
  if (!is_leader(group)) {
    // Rank 0 drew the atlas: its record says what is there.
    const auto r = detail::read_record(record_path).value().at("result");
    drawn.grids = r.at("grids").get<std::vector<std::size_t>>();
    drawn.cells = r.at("cells").get<std::vector<std::size_t>>();
    drawn.atlas_png = out / "atlas.png";
  }
  return drawn;
}

template <class... Policies>
atlas_result pipeline<Policies...>::atlas(classifier& model, const std::filesystem::path& images,
                                          const std::filesystem::path& out) const {
  atlas_result r;
  const auto run = out / "run";
  r.collection = collect(model, images, run);
  if (r.collection.samples == 0)
    throw input_error(images.string(), "no sample was collected (no image could be decoded)");
  // In a job, rank 0 lays out while the others wait (their `layout` stays empty: the
  // render reads rank 0's from the run folder).
  process_group* const group = processes_.get();
  if (is_leader(group)) r.layout = lay_out(run / "activations.npy", run / "layout.npy");
  barrier(group);
  r.atlas = render(model, run, run / "layout.npy", out / "atlas");
  return r;
}

}  // namespace actatlas
