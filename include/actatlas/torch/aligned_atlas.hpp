/// @file torch/aligned_atlas.hpp
/// Two atlases of two layers (of one model) in which the same concept sits in the same
/// place, shown side by side with the hover linked: what layer b makes of what layer a
/// sees, cell by cell. The article names comparing layers as a limitation of atlases.
///
/// 1. `collect_paired`: for each image visit, one random position of the coarser map
///    (edges excluded) and the position of the finer map under the same receptive-field
///    centre, (x + ½)·W/w in input pixels; the activations and attributions of both layers
///    there. Row i of both sets is the same image spot.
/// 2. experiments::align_layouts: least-squares maps between the layers, one joint UMAP
///    of both layers' samples in the concatenated space, one unit-square frame.
/// 3. Each layer's samples and layout are written as a run folder (out/<layer>/run) and
///    rendered (out/<layer>/atlas.png, …) with a min–max normalisation, so that cell (i, j)
///    covers the same square of the shared frame in both atlases.
/// 4. out/index.html shows both atlases; hovering a cell of one outlines where its samples
///    landed in the other (out/link.js: per cell, the other atlas's cells and their shares).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "../error.hpp"
#include "../experiments/aligned_layout.hpp"
#include "../experiments/patch_attack_table.hpp"
#include "../experiments/run_folder.hpp"
#include "../io/atomic_file.hpp"
#include "../io/image_folder.hpp"
#include "../progress.hpp"
#include "../sampler/random_position.hpp"
#include "attribution.hpp"
#include "classifier.hpp"
#include "pipeline.hpp"

namespace actatlas {

//! Row-aligned samples of two layers.
struct paired_collection {
  experiments::run_data a, b;  //!< row i of both: the same image, the same receptive-field centre
  std::size_t images = 0;      //!< image files used
};

//! Position `p` of a map of size `from` → the position of a map of size `to` whose
//! receptive-field centre is nearest (both maps cover the whole input).
inline std::int32_t map_position(std::int32_t p, std::int64_t from, std::int64_t to) {
  const double centre = (p + 0.5) / static_cast<double>(from);  // as a fraction of the input side
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(static_cast<std::int64_t>(centre * static_cast<double>(to)), 0, to - 1));
}

//! Collects `samples` paired samples (0 = one per image) of `layer_a` and `layer_b` from the
//! images under `images_dir` (see the file comment). Stage "collect pairs".
inline paired_collection collect_paired(classifier& model, const std::filesystem::path& images_dir, const std::string& layer_a,
                                        const std::string& layer_b, std::uint64_t samples, std::uint64_t seed,
                                        std::size_t batch = 32, const std::string& model_name = "model",
                                        const progress_fn& progress = {}) {
  if (layer_a == layer_b) throw input_error("aligned_atlas.layer_b", "the two layers are the same ('" + layer_a + "')");
  const auto files = io::list_images(images_dir);
  if (files.empty()) throw input_error(images_dir.string(), "holds no images");
  const auto [ha, wa] = layer_map_size(model, layer_a);
  const auto [hb, wb] = layer_map_size(model, layer_b);
  const bool a_coarser = ha * wa <= hb * wb;
  const std::int64_t hc = a_coarser ? ha : hb, wc = a_coarser ? wa : wb;
  const sampler::random_position sampler({.seed = seed, .margin = 1});
  const auto& info = model.info();
  const std::uint64_t total = samples > 0 ? samples : files.size();
  std::vector<float> acts_a, acts_b, attr_a, attr_b;
  paired_collection out;
  std::int64_t da = 0, db = 0, classes = 0;
  const std::size_t step = std::max<std::size_t>(1, batch);
  for (std::uint64_t first = 0; first < total; first += step) {
    std::vector<float> pixels;
    std::vector<sample_site> sites_a, sites_b;
    std::vector<std::string> names;
    for (std::uint64_t v = first; v < std::min<std::uint64_t>(total, first + step); ++v) {
      const auto& file = files[v % files.size()];
      auto decoded = io::load_image(file, static_cast<int>(info.input_height), static_cast<int>(info.input_width));
      if (!std::holds_alternative<io::image_planes>(decoded)) continue;
      const auto& planes = std::get<io::image_planes>(decoded).pixels;
      pixels.insert(pixels.end(), planes.begin(), planes.end());
      const auto coarse = sampler.positions(v, static_cast<std::size_t>(hc), static_cast<std::size_t>(wc)).at(0);
      const position fine{map_position(coarse.y, hc, a_coarser ? hb : ha), map_position(coarse.x, wc, a_coarser ? wb : wa)};
      const auto image = static_cast<std::int64_t>(names.size());
      sites_a.push_back({image, a_coarser ? coarse : fine});
      sites_b.push_back({image, a_coarser ? fine : coarse});
      names.push_back(file.string());
    }
    report(progress, "collect pairs", std::min<std::uint64_t>(total, first + step), total);
    if (names.empty()) continue;
    const auto x = torch::from_blob(pixels.data(), {static_cast<std::int64_t>(names.size()), 3, info.input_height, info.input_width},
                                    torch::kFloat32)
                       .clone()
                       .to(model.device());
    const auto sa = sample_layer(model, x, layer_a, sites_a, true);
    const auto sb = sample_layer(model, x, layer_b, sites_b, true);
    auto append = [](std::vector<float>& to, const torch::Tensor& t) {
      const auto c = t.to(torch::kCPU).to(torch::kFloat32).contiguous();
      to.insert(to.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    append(acts_a, sa.activations);
    append(acts_b, sb.activations);
    append(attr_a, sa.attributions);
    append(attr_b, sb.attributions);
    da = sa.activations.size(1);
    db = sb.activations.size(1);
    classes = sa.attributions.size(1);
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto q = experiments::detail::csv_quote(names[k]);
      out.a.provenance.push_back(q + "," + std::to_string(sites_a[k].where.x) + "," + std::to_string(sites_a[k].where.y));
      out.b.provenance.push_back(q + "," + std::to_string(sites_b[k].where.x) + "," + std::to_string(sites_b[k].where.y));
    }
  }
  const std::size_t n = out.a.provenance.size();
  if (n == 0) throw input_error(images_dir.string(), "no image could be decoded");
  auto to_matrix = [n](const std::vector<float>& v, std::int64_t cols) {
    matrix m = matrix::from_shape({n, static_cast<std::size_t>(cols)});
    std::copy(v.begin(), v.end(), m.data());
    return m;
  };
  out.a.activations = to_matrix(acts_a, da);
  out.b.activations = to_matrix(acts_b, db);
  out.a.attributions = to_matrix(attr_a, classes);
  out.b.attributions = to_matrix(attr_b, classes);
  out.a.collection = {{"complete", true}, {"layer", layer_a}, {"map_size", {ha, wa}}, {"model", model_name},
                      {"images", images_dir.string()}, {"paired_with", layer_b}};
  out.b.collection = {{"complete", true}, {"layer", layer_b}, {"map_size", {hb, wb}}, {"model", model_name},
                      {"images", images_dir.string()}, {"paired_with", layer_a}};
  out.images = files.size();
  return out;
}

//! The paired collection and the joint layout; the rendering is the pipeline's.
struct aligned_atlas_options {
  std::uint64_t samples = 0;  //!< paired samples (0 = one per image)
  std::uint64_t seed = 0;     //!< positions
  std::size_t batch = 32;
  std::string model_name = "model";
  experiments::aligned_layout_options layout{};
};

struct aligned_atlas_result {
  experiments::aligned_layouts layouts;
  double mean_displacement = 0;          //!< between a sample's two positions, unit-square units
  render_result atlas_a, atlas_b;
  std::filesystem::path page;            //!< out/index.html
};

namespace detail {

//! Per cell of `from` (coarsest level), the cells of `to` holding its members, with shares.
inline nlohmann::json cell_links(const grid_level& from, const grid_level& to) {
  std::unordered_map<std::uint32_t, std::size_t> cell_of;  // sample → cell index in `to`
  for (std::size_t c = 0; c < to.cells.size(); ++c)
    for (auto m : to.cells[c].members) cell_of[m] = c;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& c : from.cells) {
    std::map<std::size_t, std::size_t> counts;
    for (auto m : c.members)
      if (auto it = cell_of.find(m); it != cell_of.end()) ++counts[it->second];
    nlohmann::json links = nlohmann::json::array();
    for (auto [cell, k] : counts)
      links.push_back({to.cells[cell].ix, to.cells[cell].iy, static_cast<double>(k) / static_cast<double>(c.members.size())});
    out[std::to_string(c.ix) + "_" + std::to_string(c.iy)] = std::move(links);
  }
  return out;
}

inline constexpr const char* aligned_page = R"HTML(<!doctype html>
<meta charset="utf-8">
<title>actatlas · aligned atlases</title>
<style>
 body { font: 14px system-ui, sans-serif; margin: 16px; color: #222 }
 .pair { display: flex; gap: 24px; flex-wrap: wrap }
 .side { position: relative }
 .side img, .side canvas { width: min(44vw, 640px); height: auto; display: block }
 .side canvas { position: absolute; left: 0; top: 28px; pointer-events: none }
 .side h2 { font-size: 15px; margin: 0 0 8px 0; height: 20px }
 #info { margin-top: 12px; min-height: 90px }
 #info img { width: 80px; image-rendering: pixelated; vertical-align: middle; margin-right: 8px }
</style>
<p>Two atlases in one layout: a sample of one layer and the same image spot in the other land near the same
place. Hover a cell: its samples' cells in the other atlas are outlined (darker = more of them).</p>
<div class="pair">
 <div class="side"><h2 id="ta"></h2><img id="ia"><canvas id="ca"></canvas></div>
 <div class="side"><h2 id="tb"></h2><img id="ib"><canvas id="cb"></canvas></div>
</div>
<div id="info"></div>
<script src="link.js"></script>
<script>
function load(src) { return new Promise((ok, fail) => { const s = document.createElement('script');
  s.src = src; s.onload = ok; s.onerror = () => fail(src); document.head.appendChild(s); }); }
(async () => {
  const L = window.ACTATLAS_LINK, sides = {};
  for (const [key, dir] of [['a', L.a], ['b', L.b]]) {
    await load(dir + '/atlas.js');
    const data = window.ACTATLAS, level = data.levels[0];
    const cells = {}; for (const c of level.cells) cells[c.ix + '_' + c.iy] = c;
    sides[key] = { dir, data, level, cells, img: document.getElementById('i' + key), canvas: document.getElementById('c' + key) };
    document.getElementById('t' + key).textContent = data.title;
    sides[key].img.src = dir + '/' + level.image;
  }
  const other = { a: 'b', b: 'a' };
  function draw(key, ix, iy) {
    for (const k of ['a', 'b']) { const s = sides[k], c = s.canvas; c.width = s.img.clientWidth; c.height = s.img.clientHeight;
      c.getContext('2d').clearRect(0, 0, c.width, c.height); }
    if (key === null) { document.getElementById('info').textContent = ''; return; }
    const s = sides[key], o = sides[other[key]], g = s.level.grid, id = ix + '_' + iy;
    const px = s.canvas.width / g, ctx = s.canvas.getContext('2d');
    ctx.strokeStyle = '#d00'; ctx.lineWidth = 3; ctx.strokeRect(ix * px, iy * px, px, px);
    const octx = o.canvas.getContext('2d'), links = (L.links[key] || {})[id] || [];
    let best = null;
    for (const [jx, jy, share] of links) {
      octx.strokeStyle = 'rgba(200,0,0,' + Math.min(1, 0.15 + 2 * share) + ')'; octx.lineWidth = 3;
      octx.strokeRect(jx * px, jy * px, px, px);
      if (!best || share > best[2]) best = [jx, jy, share];
    }
    const name = (d, c) => c && c.top && c.top.length ? d.classes[c.top[0][0]] : '—';
    const cell = s.cells[id];
    let html = '<b>' + s.data.title + '</b> cell ' + id + ' (' + (cell ? cell.count : 0) + ' samples, top class ' + name(s.data, cell) + ') ';
    if (cell) html += '<img src="' + s.dir + '/' + s.level.icons + '/' + id + '.png">';
    if (best) { const bid = best[0] + '_' + best[1], bc = o.cells[bid];
      html += ' → most of them in <b>' + o.data.title + '</b> cell ' + bid + ' (' + Math.round(100 * best[2]) + '%, top class ' + name(o.data, bc) + ') ';
      if (bc) html += '<img src="' + o.dir + '/' + o.level.icons + '/' + bid + '.png">'; }
    document.getElementById('info').innerHTML = html;
  }
  for (const key of ['a', 'b']) {
    const s = sides[key];
    s.img.addEventListener('mousemove', e => { const r = s.img.getBoundingClientRect(), g = s.level.grid;
      const ix = Math.floor((e.clientX - r.left) / r.width * g), iy = Math.floor((e.clientY - r.top) / r.height * g);
      draw(key, Math.min(g - 1, Math.max(0, ix)), Math.min(g - 1, Math.max(0, iy))); });
    s.img.addEventListener('mouseleave', () => draw(null));
  }
})().catch(e => { document.getElementById('info').textContent = 'could not load ' + e; });
</script>
)HTML";

}  // namespace detail

//! Collects paired samples of `layer_a` and `layer_b`, aligns their layouts and renders both
//! atlases with the render stage of `pipeline` (its binning, objective, icon and picture
//! settings; its normalisation is replaced by the full range: the layouts already share
//! one frame) and the linked page into `out` (see the file comment).
template <class Pipeline>
aligned_atlas_result aligned_atlas(classifier& model, const std::filesystem::path& images_dir, const std::string& layer_a,
                                   const std::string& layer_b, const std::filesystem::path& out, const Pipeline& pipeline,
                                   const aligned_atlas_options& o) {
  const auto pairs = collect_paired(model, images_dir, layer_a, layer_b, o.samples, o.seed, o.batch, o.model_name, pipeline.progress());
  aligned_atlas_result result;
  result.layouts = experiments::align_layouts(pairs.a.activations, pairs.b.activations, o.layout, pipeline.progress());
  result.mean_displacement = experiments::mean_displacement(result.layouts.a, result.layouts.b);
  const nlohmann::json about{{"kind", "aligned atlas"}, {"layers", {layer_a, layer_b}},
                             {"explained_variance", {result.layouts.explained_ab, result.layouts.explained_ba}},
                             {"mean_displacement", result.mean_displacement}};
  experiments::write_run(out / layer_a / "run", pairs.a, result.layouts.a, about);
  experiments::write_run(out / layer_b / "run", pairs.b, result.layouts.b, about);
  Pipeline side = pipeline;
  side.normalisation() = normalise_options::full_range();
  const bool titled = !pipeline.pictures().title.empty();
  if (!titled) side.pictures().title = layer_a + " (aligned with " + layer_b + ")";
  result.atlas_a = side.render(model, out / layer_a / "run", out / layer_a / "run" / "layout.npy", out / layer_a);
  if (!titled) side.pictures().title = layer_b + " (aligned with " + layer_a + ")";
  result.atlas_b = side.render(model, out / layer_b / "run", out / layer_b / "run" / "layout.npy", out / layer_b);
  // The links between the coarsest levels, binned as the render stage binned them.
  std::vector<std::uint32_t> all(pairs.a.provenance.size());
  std::iota(all.begin(), all.end(), 0u);
  const auto cells_a = side.bin(result.layouts.a, all).at(0), cells_b = side.bin(result.layouts.b, all).at(0);
  const nlohmann::json link{{"a", layer_a},
                            {"b", layer_b},
                            {"mean_displacement", result.mean_displacement},
                            {"links", {{"a", detail::cell_links(cells_a, cells_b)}, {"b", detail::cell_links(cells_b, cells_a)}}}};
  io::atomic_write(out / "link.js", [&](std::ostream& os) { os << "window.ACTATLAS_LINK = " << link.dump() << ";\n"; });
  result.page = out / "index.html";
  io::atomic_write(result.page, [&](std::ostream& os) { os << detail::aligned_page; });
  return result;
}

}  // namespace actatlas
