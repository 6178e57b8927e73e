/// @file torch/render_atlas.hpp
/// From a run folder (activations, attributions, provenance, layout) to an atlas folder:
/// normalise the layout, bin it on one or more grid levels, average each cell, render
/// each cell's icon by feature inversion of its (whitened) mean activation, and write the
/// pictures, tiles, per-level cells JSON, dataset patches and the viewer's data
/// (docs/output-format.md lists the files).
///
/// Every stage starts from files, so `render` with a new grid size reuses collection and
/// layout; icons are cached by cell (icons/<G>/<ix>_<iy>.png plus a settings hash), so
/// a rerun with the same settings renders nothing again.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../binning/multires_grid.hpp"
#include "../cells.hpp"
#include "../error.hpp"
#include "../io/cells_json.hpp"
#include "../io/image_folder.hpp"
#include "../io/npy.hpp"
#include "../io/png.hpp"
#include "../layout/normalise.hpp"
#include "../progress.hpp"
#include "../render/canvas.hpp"
#include "../whitening.hpp"
#include "classifier.hpp"
#include "inversion/icon_cache.hpp"
#include "inversion/render_icons.hpp"

#if __has_include("../render/viewer_files.hpp")
#include "../render/viewer_files.hpp"
#define ACTATLAS_HAVE_VIEWER 1
#endif

namespace actatlas {

struct render_atlas_options {
  std::size_t grid = 20;       //!< cells per side at the coarsest level
  std::size_t levels = 1;      //!< grid levels: grid, 2·grid, 4·grid, …
  std::size_t min_count = 3;   //!< cells with fewer members get no icon
  normalise_options normalise{};
  inversion::render_options icons{};  //!< size, steps, attempts, seed… (whitening is set here from `whiten`)
  std::size_t icon_batch = 32;        //!< icons per optimisation
  bool whiten = true;                 //!< whiten directions by the activations' second moment (off for early layers)
  render::canvas_options canvas{};
  int tile_px = 256;
  int patch_px = 48;                  //!< side of each dataset patch in a cell's strip
  int patches_per_cell = 8;
  std::size_t full_attribution_max_classes = 100;  //!< atlas.js keeps all C attributions per cell up to this C
  std::string title;                  //!< shown by the viewer (default: model · layer)
  progress_fn progress{};
};

struct render_atlas_result {
  std::vector<std::size_t> grids;       //!< the levels written
  std::vector<std::size_t> cells;       //!< cells per level
  std::size_t icons_rendered = 0;       //!< icons optimised in this call
  std::size_t icons_reused = 0;         //!< icons found in the cache
  std::filesystem::path atlas_png;      //!< the coarsest level's picture
  std::vector<std::vector<cell_summary>> summaries;  //!< per level, per cell
  std::vector<grid_level> level_cells;               //!< per level, with member sample ids
};

//! One row of provenance.csv: the image a sample came from and its map position.
struct provenance_row {
  std::string image;
  std::int32_t x = 0, y = 0;
};

namespace detail {

//! Parses provenance.csv (header `image,x,y`; the image field may be quoted with "").
inline std::vector<provenance_row> read_provenance(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw input_error(path.string(), "cannot open (no such file, or not readable)");
  std::string line;
  std::getline(in, line);
  if (line.rfind("image,x,y", 0) != 0) throw input_error(path.string(), "not a provenance file (header must be image,x,y)");
  std::vector<provenance_row> rows;
  std::size_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    provenance_row r;
    std::size_t pos = 0;
    if (line[0] == '"') {
      for (pos = 1; pos < line.size(); ++pos) {
        if (line[pos] == '"') {
          if (pos + 1 < line.size() && line[pos + 1] == '"') {
            r.image += '"';
            ++pos;
          } else {
            ++pos;
            break;
          }
        } else {
          r.image += line[pos];
        }
      }
    } else {
      pos = line.find(',');
      r.image = line.substr(0, pos);
    }
    int x = 0, y = 0;
    if (pos >= line.size() || line[pos] != ',' || std::sscanf(line.c_str() + pos + 1, "%d,%d", &x, &y) != 2)
      throw input_error(path.string(), "line " + std::to_string(number) + " is not image,x,y");
    r.x = x;
    r.y = y;
    rows.push_back(std::move(r));
  }
  return rows;
}

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

}  // namespace detail

//! Renders the atlas of `run` (a collection folder with layout.npy) into `out`.
//! @tparam Objective the feature-inversion objective policy.
template <class Objective>
  requires objective_for<Objective, torch::Tensor>
render_atlas_result render_atlas(classifier& model, const std::filesystem::path& run, const std::filesystem::path& out,
                                 const Objective& objective, const render_atlas_options& o) {
  namespace fs = std::filesystem;
  const fs::path collection_path = run / "collection.json";
  nlohmann::json collection;
  {
    std::ifstream in(collection_path);
    if (!in) throw input_error(collection_path.string(), "cannot open: is " + run.string() + " a collection folder?");
    try {
      collection = nlohmann::json::parse(in);
    } catch (const std::exception&) {
      throw input_error(collection_path.string(), "not valid JSON");
    }
  }
  if (!collection.value("complete", false))
    throw input_error(collection_path.string(), "the collection is not finished; run `actatlas collect` again to resume it");
  const std::string layer = collection.at("layer").get<std::string>();
  const auto map_size = collection.at("map_size").get<std::vector<std::int64_t>>();
  const auto& info = model.info();

  io::mapped_npy activations(run / "activations.npy");
  std::optional<io::mapped_npy> attributions;
  if (fs::exists(run / "attributions.npy")) attributions.emplace(run / "attributions.npy");
  const auto layout = io::read_npy<float, 2>(run / "layout.npy");
  const std::size_t n = activations.view().rows();
  if (layout.shape(0) != n)
    throw input_error((run / "layout.npy").string(), "has " + std::to_string(layout.shape(0)) + " rows but activations.npy has " +
                                                         std::to_string(n) + "; run `actatlas layout` again");
  if (layout.shape(1) != 2) throw input_error((run / "layout.npy").string(), "must have 2 columns");
  if (attributions && attributions->view().rows() != n)
    throw input_error(attributions->path(), "row count differs from activations.npy");
  const auto provenance = detail::read_provenance(run / "provenance.csv");
  if (provenance.size() != n) throw input_error((run / "provenance.csv").string(), "row count differs from activations.npy");

  const matrix unit = normalise_layout(layout, o.normalise);
  const auto levels =
      binning::multires_grid({.base_grid = o.grid, .levels = std::max<std::size_t>(1, o.levels), .min_count = o.min_count}).bin(unit);
  const matrix_cref attr_view = attributions ? attributions->view() : matrix_cref{};

  inversion::render_options icon_opts = o.icons;
  if (o.whiten) {
    const matrix64 s = whitening_matrix(activations.view());
    icon_opts.whitening = torch::from_blob(const_cast<double*>(s.data()), {static_cast<std::int64_t>(s.shape(0)), static_cast<std::int64_t>(s.shape(1))},
                                           torch::kFloat64).clone();
  }
  // The cache key's model part: the collection's model name and the number of classes.
  const std::string model_id = collection.value("model", std::string("model")) + "/" + std::to_string(info.class_names.size());

  render_atlas_result result;
  nlohmann::json viewer_levels = nlohmann::json::array();
  fs::create_directories(out);
  const std::size_t classes = attributions ? attr_view.cols() : 0;

  for (const auto& level : levels) {
    const std::size_t g = level.grid;
    const std::string gs = std::to_string(g);
    auto cells = summarise(level, activations.view(), attr_view);
    const matrix dirs = directions(cells);
    const std::size_t d = dirs.shape(1);

    // Icons: the cache (icons/<G>/<ix>_<iy>.png + .json) keeps those whose settings and
    // direction are unchanged; the rest are optimised `icon_batch` at a time.
    std::vector<std::string> names(cells.size());
    for (std::size_t i = 0; i < cells.size(); ++i) names[i] = std::to_string(cells[i].ix) + "_" + std::to_string(cells[i].iy);
    auto level_opts = icon_opts;
    std::size_t batches_done = 0;
    const std::size_t batches = (cells.size() + o.icon_batch - 1) / std::max<std::size_t>(1, o.icon_batch);
    level_opts.progress = [&](std::string_view, std::size_t step, std::size_t steps) {
      report(o.progress, "icons " + gs, batches_done * steps + step, batches * steps);
      if (step >= steps) ++batches_done;
    };
    const auto dir_tensor = torch::from_blob(const_cast<float*>(dirs.data()), {static_cast<std::int64_t>(cells.size()), static_cast<std::int64_t>(d)},
                                             torch::kFloat32);
    auto rendered = inversion::render_icons_cached(model, layer, names, dir_tensor, objective, level_opts,
                                                   inversion::icon_cache(out / "icons" / gs), model_id,
                                                   static_cast<std::int64_t>(std::max<std::size_t>(1, o.icon_batch)));
    result.icons_rendered += rendered.rendered;
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

  const nlohmann::json data{{"title", o.title.empty() ? collection.value("model", std::string("model")) + " · " + layer : o.title},
                            {"classes", info.class_names},
                            {"icon_px", icon_opts.size},
                            {"patch_px", o.patch_px},
                            {"cell_px", o.canvas.cell_px},
                            {"samples", n},
                            {"levels", std::move(viewer_levels)}};
  io::atomic_write(out / "atlas.js", [&](std::ostream& os) { os << "window.ACTATLAS = " << data.dump() << ";\n"; });
#ifdef ACTATLAS_HAVE_VIEWER
  render::write_viewer(out);
#endif
  return result;
}

}  // namespace actatlas
