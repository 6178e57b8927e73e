/// @file torch/compare_datasets.hpp
/// A dataset comparison atlas: which of the model's concepts one image set has more of
/// than another (the article's closing "histogram of learned concepts", for two sets).
///
/// Any pipeline's own stages do the work, over two folders:
///
///   collect  A → out/run-a, B → out/run-b   the same sampler and collect options (N per folder)
///   join     out/run                        the two collections as one run: A's rows, then B's;
///                                           collection.json's "datasets" says which rows are which
///   lay_out  out/run/layout.npy             one layout of both sets
///   render   out/atlas                      one atlas: the grids, icons and labels of any atlas
///   compare  out/atlas                      per cell and level: counts [n_A, n_B], log2 ratio,
///                                           p and q (experiments/cell_statistics.hpp) added to
///                                           cells_<G>.json and atlas.js; compare_<G>.png
///                                           (render/dataset_picture.hpp), compare.png (the
///                                           coarsest level), summary.json, summary.md, and the
///                                           listed cells' patches from each set under compare/
///
/// Each stage keeps its record and reuse rule; the join is redone only when either
/// collection changed, so the layout and render after it are reused as for any atlas.
///
/// @code
/// actatlas::pipeline<> p;
/// p.collection().layer = "conv4";
/// auto r = actatlas::compare_datasets(p, model, "train-images", "deploy-images", "out");
/// r.summary_md;   // the top cells each way
/// @endcode
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../experiments/cell_statistics.hpp"
#include "../io/atomic_file.hpp"
#include "../io/cells_json.hpp"
#include "../io/fingerprint.hpp"
#include "../io/image_folder.hpp"
#include "../io/npy.hpp"
#include "../io/png.hpp"
#include "../render/dataset_picture.hpp"
#include "../stage_record.hpp"
#include "pipeline.hpp"
#include "render_atlas.hpp"

namespace actatlas {

//! One listed cell (summary.json's "top_a" / "top_b").
struct compared_cell_entry {
  std::size_t grid = 0;
  std::uint32_t ix = 0, iy = 0;
  experiments::cell_comparison stats;
  std::vector<std::pair<std::size_t, float>> top_classes;  //!< by mean attribution
};

//! What compare_datasets made.
struct dataset_comparison_result {
  collect_summary a, b;
  stage_report join;
  layout_result layout;
  render_result atlas;
  std::size_t samples_a = 0, samples_b = 0;  //!< of each set, among the samples laid out
  std::vector<std::size_t> grids;
  std::vector<std::vector<experiments::cell_comparison>> cells;  //!< per level, in cells_<G>.json's order
  std::vector<compared_cell_entry> top_a, top_b;                 //!< the coarsest level's listed cells
  std::filesystem::path picture, summary_json, summary_md;
};

namespace detail {

//! A folder that can be compared: it exists and holds images (decodability is known
//! only once collected).
inline void check_image_folder(const std::filesystem::path& folder) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) throw input_error(folder.string(), "no such folder");
  if (io::list_images(folder).empty()) throw input_error(folder.string(), "no JPEG, PNG or BMP files in this folder");
}

//! A collection whose every image failed to decode: one line naming the folder and why.
inline void check_collected(const collect_summary& s, const std::filesystem::path& folder) {
  if (s.samples > 0) return;
  std::string why = "no image could be decoded";
  if (!s.skipped.empty())
    why += " (" + std::to_string(s.skipped.size()) + " skipped; " + s.skipped.front().path.filename().string() + ": " +
           s.skipped.front().reason + ")";
  throw input_error(folder.string(), why);
}

//! Joins two finished collections into one run folder (rows of A, then rows of B). Redone
//! only when either side's files changed; returns the report and the row count of A.
inline stage_report join_runs(const std::filesystem::path& run_a, const std::filesystem::path& run_b,
                              const std::filesystem::path& run, const std::string& name_a, const std::string& name_b) {
  namespace fs = std::filesystem;
  const auto ca = read_collection(run_a), cb = read_collection(run_b);
  for (const char* key : {"layer", "channels", "classes", "map_size", "attribution", "sampler_fingerprint"})
    if (ca.value(key, nlohmann::json()) != cb.value(key, nlohmann::json()))
      throw input_error((run_b / "collection.json").string(), std::string("differs from ") + (run_a / "collection.json").string() +
                                                                  " in " + key + "; the two sets must be collected alike");
  const bool attribution = ca.value("attribution", true);
  nlohmann::json inputs;
  for (const auto& [side, dir] : {std::pair{"a", run_a}, std::pair{"b", run_b}}) {
    inputs[side]["activations"] = io::file_fingerprint(dir / "activations.npy");
    inputs[side]["provenance"] = io::file_fingerprint(dir / "provenance.csv");
    if (attribution) inputs[side]["attributions"] = io::file_fingerprint(dir / "attributions.npy");
  }
  const auto rows_a = ca.at("result").at("samples").get<std::size_t>(), rows_b = cb.at("result").at("samples").get<std::size_t>();
  nlohmann::json datasets = nlohmann::json::array(
      {{{"name", name_a}, {"images", ca.value("images", std::string())}, {"first_row", 0}, {"samples", rows_a}},
       {{"name", name_b}, {"images", cb.value("images", std::string())}, {"first_row", rows_a}, {"samples", rows_b}}});

  const auto on_disk = read_record(run / "collection.json");
  const bool present = fs::exists(run / "activations.npy") && fs::exists(run / "provenance.csv") &&
                       (!attribution || fs::exists(run / "attributions.npy"));
  if (on_disk && present && on_disk->value("joined_from", nlohmann::json()) == inputs &&
      on_disk->value("datasets", nlohmann::json()) == datasets)
    return {"join", true, "same collections"};
  const stage_report report{"join", false, on_disk ? "a collection changed" : "no earlier output"};

  fs::create_directories(run);
  std::error_code ignored;
  fs::remove(run / "collection.json", ignored);  // incomplete until rewritten below
  auto concatenate = [&](const char* name, std::size_t cols) {
    io::npy_writer<float> w(run / name, cols);
    for (const auto& dir : {run_a, run_b}) {
      io::mapped_npy m(dir / name, false);
      w.append(m.view().data(), m.view().rows());
    }
    w.close();
  };
  concatenate("activations.npy", ca.at("channels").get<std::size_t>());
  if (attribution) concatenate("attributions.npy", ca.at("classes").get<std::size_t>());
  io::atomic_write(run / "provenance.csv", [&](std::ostream& out) {
    out << "image,x,y\n";
    for (const auto& dir : {run_a, run_b}) {
      std::ifstream in(dir / "provenance.csv", std::ios::binary);
      std::string line;
      std::getline(in, line);
      while (std::getline(in, line))
        if (!line.empty()) out << line << '\n';
    }
  });
  nlohmann::json joined = ca;  // the model, layer, sampler and sizes the render stage reads
  joined["images"] = nlohmann::json::array({ca.value("images", std::string()), cb.value("images", std::string())});
  joined["image_count"] = ca.value("image_count", 0) + cb.value("image_count", 0);
  joined["datasets"] = datasets;
  joined["joined_from"] = inputs;
  joined["result"] = {{"samples", rows_a + rows_b},
                      {"visits", ca["result"].value("visits", 0) + cb["result"].value("visits", 0)},
                      {"skipped", nlohmann::json::array()}};
  for (const auto& c : {ca, cb})
    for (const auto& s : c["result"].value("skipped", nlohmann::json::array())) joined["result"]["skipped"].push_back(s);
  joined["complete"] = true;
  write_record(run / "collection.json", joined);
  return report;
}

inline nlohmann::json cell_entry_json(const compared_cell_entry& e, const std::vector<std::string>& class_names) {
  nlohmann::json j{{"grid", e.grid}, {"ix", e.ix}, {"iy", e.iy}, {"counts", {e.stats.n_a, e.stats.n_b}},
                   {"log2_ratio", e.stats.log2_ratio}, {"p", e.stats.p_value}, {"q", e.stats.q_value},
                   {"significant", e.stats.side != 0}};
  auto& top = j["top"] = nlohmann::json::array();
  for (auto [cls, value] : e.top_classes)
    top.push_back({{"class", cls}, {"name", cls < class_names.size() ? class_names[cls] : std::to_string(cls)}, {"attribution", value}});
  const std::string stem = "compare/patches/" + std::to_string(e.grid) + "/" + std::to_string(e.ix) + "_" + std::to_string(e.iy);
  j["patches_a"] = stem + "_a.png";
  j["patches_b"] = stem + "_b.png";
  return j;
}

//! The listed cells of one side (+1: A, −1: B): the significant cells, largest |log2 ratio|
//! first; then, when fewer than `top` are significant, the others leaning that way by p.
inline std::vector<std::size_t> listed_cells(const std::vector<experiments::cell_comparison>& stats, int side, std::size_t total_a,
                                             std::size_t total_b, std::size_t top) {
  std::vector<std::size_t> sig, rest;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const auto& c = stats[i];
    const auto lhs = c.n_a * total_b, rhs = c.n_b * total_a;
    const int leaning = lhs > rhs ? 1 : lhs < rhs ? -1 : 0;
    if (c.side == side) sig.push_back(i);
    else if (c.side == 0 && leaning == side) rest.push_back(i);
  }
  std::stable_sort(sig.begin(), sig.end(), [&](std::size_t x, std::size_t y) {
    const double ax = std::abs(stats[x].log2_ratio), ay = std::abs(stats[y].log2_ratio);
    return ax > ay || (ax == ay && stats[x].q_value < stats[y].q_value);
  });
  std::stable_sort(rest.begin(), rest.end(), [&](std::size_t x, std::size_t y) { return stats[x].p_value < stats[y].p_value; });
  sig.insert(sig.end(), rest.begin(), rest.end());
  if (sig.size() > top) sig.resize(top);
  return sig;
}

//! A class's name up to its first comma (ImageNet's "tench, Tinca tinca" → "tench"), for lists.
inline std::string short_class_name(const std::vector<std::string>& names, std::size_t cls) {
  if (cls >= names.size()) return std::to_string(cls);
  return names[cls].substr(0, names[cls].find(','));
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

//! The comparison's own outputs, once the pipeline's stages ran (`r` holds their results
//! and the sample counts): statistics into cells_<G>.json and atlas.js, pictures, summary.
inline void write_comparison(classifier& model, const picture_options& picture_o, const std::filesystem::path& a,
                             const std::filesystem::path& b, const std::filesystem::path& out, const std::string& name_a,
                             const std::string& name_b, const dataset_comparison_options& o, dataset_comparison_result& r) {
  namespace fs = std::filesystem;
  const fs::path run = out / "run", atlas = out / "atlas";
  const std::size_t rows_a = r.a.samples;

  const auto& names = model.info().class_names;
  const auto collection = detail::read_collection(run);
  const auto map_size = collection.at("map_size").get<std::vector<std::int64_t>>();
  const auto provenance = detail::read_provenance(run / "provenance.csv");
  std::optional<io::mapped_npy> attributions;
  if (fs::exists(run / "attributions.npy")) attributions.emplace(run / "attributions.npy");

  nlohmann::json viewer_stats = nlohmann::json::object();
  for (std::size_t g : r.atlas.grids) {
    const std::string gs = std::to_string(g);
    const fs::path cells_path = atlas / ("cells_" + gs + ".json");
    const auto level = io::read_cells_json(cells_path);
    std::vector<std::array<std::size_t, 2>> counts;
    for (const auto& c : level.cells) {
      std::array<std::size_t, 2> n{0, 0};
      for (auto id : c.members) ++n[id < rows_a ? 0 : 1];
      counts.push_back(n);
    }
    auto stats = experiments::compare_counts(counts, r.samples_a, r.samples_b, o.statistics);

    // The listed cells (every level gets its marks; the summary and panel use the coarsest).
    const auto list_a = detail::listed_cells(stats, 1, r.samples_a, r.samples_b, o.top);
    const auto list_b = detail::listed_cells(stats, -1, r.samples_a, r.samples_b, o.top);
    std::vector<std::string> marks(stats.size());
    // Formatted, not concatenated: "A" + to_string(k), even appended apart, trips GCC 12's
    // -Wrestrict false positive once inlined into the command line.
    auto mark = [](char side, std::size_t k) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%c%zu", side, k + 1);
      return std::string(buf);
    };
    for (std::size_t k = 0; k < list_a.size(); ++k) marks[list_a[k]] = mark('A', k);
    for (std::size_t k = 0; k < list_b.size(); ++k) marks[list_b[k]] = mark('B', k);

    // cells_<G>.json: the statistics beside each cell's count.
    nlohmann::json cj;
    {
      std::ifstream in(cells_path);
      cj = nlohmann::json::parse(in);
    }
    cj["comparison"] = {{"a", name_a}, {"b", name_b}, {"samples", {r.samples_a, r.samples_b}},
                        {"pseudo_count", o.statistics.pseudo_count}, {"alpha", o.statistics.alpha},
                        {"test", "two-sided exact binomial of n_A in n_A+n_B against N_A/(N_A+N_B); q: Benjamini-Hochberg over this level's cells"}};
    auto cell_stats_json = nlohmann::json::array();
    for (std::size_t i = 0; i < stats.size(); ++i) {
      const auto& s = stats[i];
      auto& c = cj["cells"][i];
      c["counts"] = {s.n_a, s.n_b};
      c["log2_ratio"] = s.log2_ratio;
      c["p"] = s.p_value;
      c["q"] = s.q_value;
      c["side"] = s.side;
      cell_stats_json.push_back({{"ix", level.cells[i].ix}, {"iy", level.cells[i].iy}, {"counts", {s.n_a, s.n_b}},
                                 {"log2_ratio", s.log2_ratio}, {"q", s.q_value}, {"side", s.side}, {"mark", marks[i]}});
    }
    io::atomic_write(cells_path, [&](std::ostream& os) { os << cj.dump() << '\n'; });
    viewer_stats[gs] = std::move(cell_stats_json);

    // The picture of this level.
    std::vector<render::compared_cell> drawn;
    for (std::size_t i = 0; i < stats.size(); ++i)
      drawn.push_back({level.cells[i].ix, level.cells[i].iy, stats[i].log2_ratio, stats[i].side, marks[i]});
    const auto picture = render::dataset_comparison_picture(
        io::read_image(atlas / ("atlas_" + gs + ".png"), 3), g, drawn,
        {name_a, name_b, r.samples_a, r.samples_b, o.statistics.alpha, 2.0});
    io::write_png(atlas / ("compare_" + gs + ".png"), picture);

    if (r.grids.empty()) {
      io::write_png(atlas / "compare.png", picture);
      r.picture = atlas / "compare.png";
      // The listed cells: their top classes and patches from each set.
      auto entries = [&](const std::vector<std::size_t>& list) {
        std::vector<compared_cell_entry> es;
        for (auto i : list) {
          compared_cell_entry e{g, level.cells[i].ix, level.cells[i].iy, stats[i], {}};
          if (attributions) {
            cell_summary s;
            s.mean_attribution.assign(attributions->view().cols(), 0.0f);
            std::vector<double> acc(attributions->view().cols(), 0.0);
            for (auto id : level.cells[i].members) {
              auto row = attributions->view().row(id);
              for (std::size_t j = 0; j < row.size(); ++j) acc[j] += row[j];
            }
            for (std::size_t j = 0; j < acc.size(); ++j)
              s.mean_attribution[j] = static_cast<float>(acc[j] / std::max<std::size_t>(1, level.cells[i].members.size()));
            e.top_classes = s.top_classes(3);
          }
          for (int side = 0; side < 2; ++side) {
            std::vector<std::uint32_t> members;
            for (auto id : level.cells[i].members)
              if ((id < rows_a) == (side == 0)) members.push_back(id);
            std::size_t shown = 0;
            const auto strip = detail::patch_strip(members, provenance, model.info().input_height, model.info().input_width,
                                                   map_size.at(0), map_size.at(1), picture_o.patch_px, o.patches_per_side, shown);
            io::write_png(atlas / "compare" / "patches" / gs /
                              (std::to_string(e.ix) + "_" + std::to_string(e.iy) + (side == 0 ? "_a.png" : "_b.png")),
                          strip);
          }
          es.push_back(std::move(e));
        }
        return es;
      };
      r.top_a = entries(list_a);
      r.top_b = entries(list_b);
    }
    r.grids.push_back(g);
    r.cells.push_back(std::move(stats));
  }

  // summary.json and summary.md: the top cells each way.
  nlohmann::json summary{{"a", {{"name", name_a}, {"folder", fs::absolute(a).lexically_normal().string()}, {"samples", r.samples_a}}},
                         {"b", {{"name", name_b}, {"folder", fs::absolute(b).lexically_normal().string()}, {"samples", r.samples_b}}},
                         {"grid", r.grids.front()}, {"cells", r.cells.front().size()},
                         {"pseudo_count", o.statistics.pseudo_count}, {"alpha", o.statistics.alpha},
                         {"ratio", "log2((n_A + k*N_A/(N_A+N_B))/N_A / ((n_B + k*N_B/(N_A+N_B))/N_B)), k = pseudo_count"},
                         {"test", "two-sided exact binomial of n_A in n_A+n_B against N_A/(N_A+N_B); q: Benjamini-Hochberg over the level's cells"},
                         {"picture", "compare.png"}};
  std::size_t sig_a = 0, sig_b = 0;
  for (const auto& c : r.cells.front()) {
    if (c.side > 0) ++sig_a;
    if (c.side < 0) ++sig_b;
  }
  summary["significant"] = {sig_a, sig_b};
  auto& ta = summary["top_a"] = nlohmann::json::array();
  auto& tb = summary["top_b"] = nlohmann::json::array();
  for (const auto& e : r.top_a) ta.push_back(detail::cell_entry_json(e, names));
  for (const auto& e : r.top_b) tb.push_back(detail::cell_entry_json(e, names));
  r.summary_json = atlas / "summary.json";
  io::atomic_write(r.summary_json, [&](std::ostream& os) { os << summary.dump(2) << '\n'; });

  std::ostringstream md;
  md << "# Dataset comparison: " << name_a << " (A) against " << name_b << " (B)\n\n"
     << "A: `" << summary["a"]["folder"].get<std::string>() << "`, " << r.samples_a << " samples; B: `"
     << summary["b"]["folder"].get<std::string>() << "`, " << r.samples_b << " samples; grid " << r.grids.front() << "x"
     << r.grids.front() << ", " << r.cells.front().size() << " cells, " << sig_a << " significantly A-heavy and " << sig_b
     << " B-heavy at q < " << o.statistics.alpha << ".\n\n"
     << "log2 ratio: the cell's share of A over its share of B, with " << o.statistics.pseudo_count
     << " pseudo-sample per cell split by set size; p: two-sided exact binomial test of n_A in n_A+n_B against "
     << "N_A/(N_A+N_B); q: Benjamini-Hochberg over the cells.\n\n![comparison](compare.png)\n";
  for (int side = 0; side < 2; ++side) {
    const auto& list = side == 0 ? r.top_a : r.top_b;
    md << "\n## " << (side == 0 ? "More of A (" + name_a + ")" : "More of B (" + name_b + ")") << "\n\n";
    if (list.empty()) {
      md << "No cell leans this way.\n";
      continue;
    }
    md << "| | cell | n_A | n_B | log2 ratio | q | top classes |\n|---|---|---|---|---|---|---|\n";
    for (std::size_t k = 0; k < list.size(); ++k) {
      const auto& e = list[k];
      std::string top;
      for (auto [cls, v] : e.top_classes) {
        if (!top.empty()) top += ", ";
        top += short_class_name(names, cls);
      }
      md << "| " << (side == 0 ? "A" : "B") << k + 1 << (e.stats.side != 0 ? "" : " (n.s.)") << " | (" << e.ix << ", " << e.iy
         << ") | " << e.stats.n_a << " | " << e.stats.n_b << " | " << detail::fmt("%+.2f", e.stats.log2_ratio) << " | "
         << detail::fmt("%.2g", e.stats.q_value) << " | " << top << " |\n";
    }
  }
  r.summary_md = atlas / "summary.md";
  io::atomic_write(r.summary_md, [&](std::ostream& os) { os << md.str(); });

  // atlas.js: the same statistics for the viewer's comparison panel.
  const fs::path js = atlas / "atlas.js";
  std::string text;
  {
    std::ifstream in(js, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string prefix = "window.ACTATLAS = ";
  const auto end = text.rfind(';');
  if (text.rfind(prefix, 0) != 0 || end == std::string::npos) throw input_error(js.string(), "not an atlas.js written by render");
  auto data = nlohmann::json::parse(text.substr(prefix.size(), end - prefix.size()));
  data["comparison"] = {{"a", summary["a"]}, {"b", summary["b"]}, {"alpha", o.statistics.alpha},
                        {"pseudo_count", o.statistics.pseudo_count}, {"cells", std::move(viewer_stats)},
                        {"top_a", summary["top_a"]}, {"top_b", summary["top_b"]}};
  io::atomic_write(js, [&](std::ostream& os) { os << prefix << data.dump() << ";\n"; });
}

}  // namespace detail

//! Compares the images under `a` and `b` through `pipeline`'s stages into `out` (the file
//! comment lists what goes where). Throws input_error naming the folder when one holds no
//! image, or none that decodes.
template <class Pipeline>
dataset_comparison_result compare_datasets(const Pipeline& pipeline, classifier& model, const std::filesystem::path& a,
                                           const std::filesystem::path& b, const std::filesystem::path& out,
                                           const dataset_comparison_options& o = {}) {
  namespace fs = std::filesystem;
  detail::check_image_folder(a);
  detail::check_image_folder(b);
  auto folder_name = [](const fs::path& p) {
    const auto n = fs::absolute(p).lexically_normal();
    return (n.has_filename() ? n.filename() : n.parent_path().filename()).string();
  };
  const std::string name_a = o.name_a.empty() ? folder_name(a) : o.name_a;
  const std::string name_b = o.name_b.empty() ? folder_name(b) : o.name_b;

  dataset_comparison_result r;
  r.a = pipeline.collect(model, a, out / "run-a");
  detail::check_collected(r.a, a);
  r.b = pipeline.collect(model, b, out / "run-b");
  detail::check_collected(r.b, b);
  const fs::path run = out / "run", atlas = out / "atlas";
  r.join = detail::join_runs(out / "run-a", out / "run-b", run, name_a, name_b);
  if (pipeline.on_stage()) pipeline.on_stage()(r.join);
  r.layout = pipeline.lay_out(run / "activations.npy", run / "layout.npy");
  r.atlas = pipeline.render(model, run, run / "layout.npy", atlas);

  // Which set each laid-out sample came from: rows below A's count are A's.
  for (auto id : r.layout.samples) (id < r.a.samples ? r.samples_a : r.samples_b) += 1;
  if (r.samples_a == 0 || r.samples_b == 0)
    throw input_error(r.samples_a == 0 ? a.string() : b.string(), "none of its samples was laid out (the filter kept none)");
  detail::write_comparison(model, pipeline.pictures(), a, b, out, name_a, name_b, o, r);
  return r;
}

}  // namespace actatlas
