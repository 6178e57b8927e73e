/// @file torch/render_atlas.hpp
/// The render stage's drawing: from a run folder's samples already binned on grid levels
/// (pipeline::render normalises and bins with the pipeline's binning) to an atlas folder:
/// each cell's icon by feature inversion of its (whitened) mean activation, the pictures,
/// tiles, per-level cells JSON, dataset patches and the viewer's data
/// (docs/output-format.md lists the files).
///
/// Icons are cached by cell (icons/<G>/<ix>_<iy>.png plus a settings hash), so a rerun
/// with the same settings renders nothing again, and a new grid renders only new cells.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../cells.hpp"
#include "../error.hpp"
#include "../io/cells_json.hpp"
#include "../io/folder_lock.hpp"
#include "../io/image_folder.hpp"
#include "../io/interrupt.hpp"
#include "../io/npy.hpp"
#include "../io/png.hpp"
#include "../io/provenance_csv.hpp"
#include "../layout/normalise.hpp"
#include "../progress.hpp"
#include "../stage_options.hpp"
#include "../stage_record.hpp"
#include "../render/canvas.hpp"
#include "../whitening.hpp"
#include "classifier.hpp"
#include "inversion/icon_cache.hpp"
#include "inversion/render_icons.hpp"
#include "process_group.hpp"

#if __has_include("../render/viewer_files.hpp")
#include "../render/viewer_files.hpp"
#define ACTATLAS_HAVE_VIEWER 1
#endif

namespace actatlas {

//! What the render stage made (or found).
struct render_result {
  std::vector<std::size_t> grids;       //!< the levels written
  std::vector<std::size_t> cells;       //!< cells per level
  std::size_t icons_rendered = 0;       //!< icons optimised in this call
  std::size_t icons_reused = 0;         //!< icons found in the cache
  std::filesystem::path atlas_png;      //!< the coarsest level's picture
  std::vector<std::vector<cell_summary>> summaries;  //!< per level, per cell (empty when the stage was reused)
  std::vector<grid_level> level_cells;               //!< per level, with member sample ids (idem)
  stage_report report;
};

//! One row of provenance.csv: the image a sample came from and its map position.
using provenance_row = io::provenance_row;

namespace detail {

//! Parses provenance.csv (io/provenance_csv.hpp: RFC 4180 quoting, names with line breaks).
using io::read_provenance;

//! A strip of up to `count` square patches (side `px`) around the sampled positions of a
//! cell's first members. The crop spans two of the layer's cells in each direction of the
//! input (at least a quarter of the input side), so the patch shows the sample's context.
inline io::image_u8 patch_strip(const std::vector<std::uint32_t>& members, const std::vector<provenance_row>& provenance,
                                std::int64_t in_h, std::int64_t in_w, std::int64_t map_h, std::int64_t map_w, int px,
                                int count, std::size_t& shown) {
  const int n = std::min<int>(count, static_cast<int>(members.size()));
  io::image_u8 strip{px * std::max(n, 1), px, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(px) * px * std::max(n, 1) * 3, 255)};
  shown = 0;
  for (int k = 0; k < n; ++k) {
    const auto& row = provenance.at(members[static_cast<std::size_t>(k)]);
    auto loaded = io::load_image(row.image, static_cast<int>(in_h), static_cast<int>(in_w));
    if (!std::holds_alternative<io::image_planes>(loaded)) continue;  // the image moved or broke since collection
    const auto& img = std::get<io::image_planes>(loaded);
    const double cy = (row.y + 0.5) * static_cast<double>(in_h) / static_cast<double>(map_h);
    const double cx = (row.x + 0.5) * static_cast<double>(in_w) / static_cast<double>(map_w);
    const double side = std::max({4.0 * static_cast<double>(in_h) / static_cast<double>(map_h), in_h / 4.0, 8.0});
    const std::size_t plane = static_cast<std::size_t>(in_h) * in_w;
    for (int y = 0; y < px; ++y)
      for (int x = 0; x < px; ++x) {
        // Nearest-neighbour sampling of the crop; outside the image stays white.
        const auto sy = static_cast<std::int64_t>(std::floor(cy - side / 2 + (y + 0.5) * side / px));
        const auto sx = static_cast<std::int64_t>(std::floor(cx - side / 2 + (x + 0.5) * side / px));
        if (sy < 0 || sx < 0 || sy >= in_h || sx >= in_w) continue;
        for (int c = 0; c < 3; ++c)
          strip.pixels[(static_cast<std::size_t>(y) * strip.width + k * px + x) * 3 + c] = static_cast<std::uint8_t>(
              std::lround(img.pixels[c * plane + static_cast<std::size_t>(sy) * in_w + sx] * 255.0f));
      }
    ++shown;
  }
  return strip;
}


//! A finished collection's collection.json.
inline nlohmann::json read_collection(const std::filesystem::path& run) {
  const auto path = run / "collection.json";
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open: is " + run.string() + " a collection folder?");
  auto collection = nlohmann::json::parse(in, nullptr, false);
  if (collection.is_discarded() || !collection.is_object()) throw input_error(path.string(), "not valid JSON");
  if (!collection.value("complete", false))
    throw input_error(path.string(), "the collection is not finished; run `actatlas collect` again to resume it");
  return collection;
}

//! Draws the atlas of `levels` (cells whose members are sample ids of `run`) into `out`:
//! icons (cached), pictures, tiles, cells JSON, patches, atlas.js and the viewer.
//! `samples` are the ids laid out: the whitening is their activations' second moment.
template <class Objective>
  requires objective_for<Objective, torch::Tensor>
render_result draw_atlas(classifier& model, const std::filesystem::path& run, const nlohmann::json& collection,
                         const std::vector<grid_level>& levels, const std::vector<std::uint32_t>& samples,
                         const Objective& objective, const icon_options& icons_o, const picture_options& o,
                         const std::string& model_id, const std::filesystem::path& out, const progress_fn& progress,
                         process_group* group = nullptr) {
  namespace fs = std::filesystem;
  const std::string layer = collection.at("layer").get<std::string>();
  const auto map_size = collection.at("map_size").get<std::vector<std::int64_t>>();
  const auto& info = model.info();

  io::mapped_npy activations(run / "activations.npy");
  std::optional<io::mapped_npy> attributions;
  if (fs::exists(run / "attributions.npy")) attributions.emplace(run / "attributions.npy");
  const std::size_t n = activations.view().rows();
  if (attributions && attributions->view().rows() != n)
    throw input_error(attributions->path(), "row count differs from activations.npy");
  const auto provenance = read_provenance(run / "provenance.csv");
  if (provenance.size() != n) throw input_error((run / "provenance.csv").string(), "row count differs from activations.npy");
  const matrix_cref attr_view = attributions ? attributions->view() : matrix_cref{};

  inversion::render_options icon_opts;
  icon_opts.size = icons_o.size;
  icon_opts.steps = icons_o.steps;
  icon_opts.attempts = icons_o.attempts;
  icon_opts.prune_after = icons_o.prune_after;
  icon_opts.learning_rate = icons_o.learning_rate;
  icon_opts.seed = icons_o.seed;
  if (icons_o.whiten) {
    // The second moment of the samples laid out: all of them, or those a filter kept.
    const matrix64 s = samples.size() == n ? whitening_matrix(activations.view())
                                           : whitening_matrix(gather_rows(activations.view(), samples));
    icon_opts.whitening = torch::from_blob(const_cast<double*>(s.data()), {static_cast<std::int64_t>(s.shape(0)), static_cast<std::int64_t>(s.shape(1))},
                                           torch::kFloat64).clone();
  }
  const std::size_t icon_batch = std::max<std::size_t>(1, icons_o.batch);

  // Each level's cells, their directions and names (icons/<G>/<ix>_<iy>).
  struct level_work {
    std::vector<cell_summary> cells;
    matrix dirs;
    std::vector<std::string> names;
    torch::Tensor dir_tensor() const {
      return torch::from_blob(const_cast<float*>(dirs.data()),
                              {static_cast<std::int64_t>(cells.size()), static_cast<std::int64_t>(dirs.shape(1))}, torch::kFloat32);
    }
  };
  std::vector<level_work> work;
  for (const auto& level : levels) {
    level_work w;
    w.cells = summarise(level, activations.view(), attr_view);
    w.dirs = directions(w.cells);
    for (const auto& c : w.cells) w.names.push_back(std::to_string(c.ix) + "_" + std::to_string(c.iy));
    work.push_back(std::move(w));
  }

  const std::size_t classes = attributions ? attr_view.cols() : 0;
  render_result result;
  std::size_t job_rendered = 0;  // by the ranks of a job, before rank 0 draws
  std::optional<io::folder_lock> lock;
  if (is_leader(group)) lock.emplace(out);  // one writer per atlas folder (io/folder_lock.hpp); creates it
  if (ranks_in(group) > 1) {
    // A job of several ranks: the batches the drawing below would render, of every level,
    // are split across the ranks, which store them in the icon cache; rank 0 then draws
    // with every icon cached. Planned by all before any rank stores an icon.
    std::vector<inversion::icon_plan> plans;
    std::vector<std::pair<std::size_t, std::size_t>> batches;  // (level, batch)
    for (std::size_t l = 0; l < levels.size(); ++l) {
      plans.push_back(inversion::plan_icons(layer, work[l].names, work[l].dir_tensor(), objective, icon_opts,
                                            inversion::icon_cache(out / "icons" / std::to_string(levels[l].grid)), model_id,
                                            static_cast<std::int64_t>(icon_batch)));
      for (std::size_t b = 0; b < plans.back().batches.size(); ++b) batches.emplace_back(l, b);
    }
    group->barrier();
    std::size_t mine = 0;
    for (std::size_t j = static_cast<std::size_t>(group->rank()); j < batches.size(); j += static_cast<std::size_t>(group->size())) {
      const auto [l, b] = batches[j];
      auto batch_opts = icon_opts;
      std::size_t last_step = 0;
      batch_opts.progress = [&](std::string_view, std::size_t step, std::size_t steps) {
        const std::size_t total_steps = batches.size() * steps;
        io::throw_if_interrupted();
        const auto done = static_cast<std::size_t>(group->add("icon steps", static_cast<std::int64_t>(step - std::min(step, last_step))));
        last_step = step;
        if (group->leader()) report(progress, "icons", std::min(done, total_steps), total_steps);
      };
      mine += inversion::render_icon_batch(model, layer, work[l].names, work[l].dir_tensor(), objective, batch_opts,
                                           inversion::icon_cache(out / "icons" / std::to_string(levels[l].grid)), plans[l], b)
                  .size();
    }
    group->barrier();
    for (const auto n : group->all_gather(static_cast<std::int64_t>(mine))) job_rendered += static_cast<std::size_t>(n);
    if (!group->leader()) return result;  // rank 0 draws
  }

  nlohmann::json viewer_levels = nlohmann::json::array();
  for (std::size_t l = 0; l < levels.size(); ++l) {
    const auto& level = levels[l];
    const std::size_t g = level.grid;
    const std::string gs = std::to_string(g);
    auto& cells = work[l].cells;

    // Icons: the cache (icons/<G>/<ix>_<iy>.png + .json) keeps those whose settings and
    // direction are unchanged; the rest are optimised `icon_batch` at a time.
    auto level_opts = icon_opts;
    std::size_t batches_done = 0;
    const std::size_t batches = (cells.size() + icon_batch - 1) / icon_batch;
    level_opts.progress = [&](std::string_view, std::size_t step, std::size_t steps) {
      io::throw_if_interrupted();  // between optimisation steps: cached icons stay, this batch's are redone
      report(progress, "icons " + gs, batches_done * steps + step, batches * steps);
      if (step >= steps) ++batches_done;
    };
    auto rendered = inversion::render_icons_cached(model, layer, work[l].names, work[l].dir_tensor(), objective, level_opts,
                                                   inversion::icon_cache(out / "icons" / gs), model_id,
                                                   static_cast<std::int64_t>(icon_batch));
    result.icons_rendered += rendered.rendered;  // none in a job: its ranks rendered them above
    result.icons_reused += rendered.reused;
    const auto& icons = rendered.images;

    // Dataset patches per cell.
    nlohmann::json viewer_cells = nlohmann::json::array();
    for (std::size_t i = 0; i < cells.size(); ++i) {
      std::size_t shown = 0;
      const auto strip = detail::patch_strip(level.cells[i].members, provenance, info.input_height, info.input_width,
                                             map_size.at(0), map_size.at(1), o.patch_px, o.patches_per_cell, shown);
      io::write_png(out / "patches" / gs / (std::to_string(cells[i].ix) + "_" + std::to_string(cells[i].iy) + ".png"), strip);
      nlohmann::json vc{{"ix", cells[i].ix}, {"iy", cells[i].iy}, {"count", cells[i].count}, {"density", cells[i].density},
                        {"patches", shown}};
      auto& top = vc["top"] = nlohmann::json::array();
      for (auto [cls, value] : cells[i].top_classes(10)) top.push_back({cls, value});
      if (classes > 0 && classes <= o.full_attribution_max_classes) vc["attr"] = cells[i].mean_attribution;
      else vc["attr"] = nullptr;
      viewer_cells.push_back(std::move(vc));
    }

    io::write_cells_json(out / ("cells_" + gs + ".json"), level, cells, info.class_names);
    const auto picture = render::compose_atlas(level, cells, icons, info.class_names, o.canvas);
    io::write_png(out / ("atlas_" + gs + ".png"), picture);
    for (const auto& t : render::cut_tiles(picture, o.tile_px))
      io::write_png(out / "tiles" / gs / (std::to_string(t.col) + "_" + std::to_string(t.row) + ".png"), t.image);
    if (result.grids.empty()) {
      io::write_png(out / "atlas.png", picture);
      result.atlas_png = out / "atlas.png";
    }
    viewer_levels.push_back({{"grid", g}, {"icons", "icons/" + gs}, {"patches", "patches/" + gs},
                             {"image", "atlas_" + gs + ".png"}, {"cells", std::move(viewer_cells)}});
    result.grids.push_back(g);
    result.cells.push_back(cells.size());
    result.summaries.push_back(std::move(cells));
    result.level_cells.push_back(level);
  }

  result.icons_rendered += job_rendered;
  result.icons_reused -= job_rendered;

  const nlohmann::json data{{"title", o.title.empty() ? collection.value("model", std::string("model")) + " · " + layer : o.title},
                            {"classes", info.class_names},
                            {"icon_px", icons_o.size},
                            {"patch_px", o.patch_px},
                            {"cell_px", o.canvas.cell_px},
                            {"samples", samples.size()},
                            {"levels", std::move(viewer_levels)}};
  io::atomic_write(out / "atlas.js", [&](std::ostream& os) { os << "window.ACTATLAS = " << data.dump() << ";\n"; });
#ifdef ACTATLAS_HAVE_VIEWER
  render::write_viewer(out);
#endif
  return result;
}

}  // namespace detail

}  // namespace actatlas
