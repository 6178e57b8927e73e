// The article's experiments (class-atlas, compare: the library's presets, which are
// pipelines; patch-attack), the dataset comparison (compare-datasets and its demo,
// demo-compare-datasets) and the demo's model and images (train-demo, make-images).
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/demo/shifted_set.hpp>
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/experiments/patch_attack_table.hpp>
#include <actatlas/io/atomic_file.hpp>
#include <actatlas/io/png.hpp>
#include <actatlas/io/remove_tree.hpp>
#include <actatlas/presets.hpp>
#include <actatlas/render/compare_picture.hpp>
#include <actatlas/torch/compare_datasets.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>
#include <actatlas/torch/patch_attack.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <tuple>

#include "options.hpp"
#include "pipelines.hpp"

namespace cli {

namespace {

namespace fs = std::filesystem;

//! Lays out and renders a class or comparison pipeline into `out` (its layout in out/layout.npy).
template <class Pipeline>
std::pair<actatlas::layout_result, actatlas::render_result> lay_out_and_render(const Pipeline& p, actatlas::classifier& model,
                                                                               const fs::path& run, const fs::path& out) {
  auto layout = p.lay_out(run / "activations.npy", out / "layout.npy");
  auto atlas = p.render(model, run, out / "layout.npy", out);
  return {std::move(layout), std::move(atlas)};
}

//! The comparison's files and its top cells each way, as the summary lists them.
void print_comparison(const actatlas::dataset_comparison_result& r, const std::vector<std::string>& names) {
  std::fprintf(stderr, "compare-datasets: %zu samples of A, %zu of B; %zu cells on the %zux%zu grid\n", r.samples_a, r.samples_b,
               r.cells.front().size(), r.grids.front(), r.grids.front());
  for (int side = 0; side < 2; ++side) {
    const auto& list = side == 0 ? r.top_a : r.top_b;
    std::printf("more of %s:\n", side == 0 ? "A" : "B");
    if (list.empty()) std::printf("  (no cell leans this way)\n");
    for (std::size_t k = 0; k < list.size(); ++k) {
      const auto& e = list[k];
      std::string top;
      for (auto [cls, v] : e.top_classes) {
        if (!top.empty()) top += ", ";
        top += actatlas::detail::short_class_name(names, cls);
      }
      std::printf("  %c%zu (%u, %u)  n %zu/%zu  log2 %+.2f  q %.2g%s  %s\n", side == 0 ? 'A' : 'B', k + 1, e.ix, e.iy, e.stats.n_a,
                  e.stats.n_b, e.stats.log2_ratio, e.stats.q_value, e.stats.side != 0 ? "" : " (n.s.)", top.c_str());
    }
  }
  std::printf("picture: %s\nsummary: %s\nviewer:  %s\n", fs::absolute(r.picture).string().c_str(),
              fs::absolute(r.summary_md).string().c_str(), fs::absolute(r.picture.parent_path() / "index.html").string().c_str());
}

//! Writes a procedural folder with `counts` per class unless its marker says it holds them.
void write_demo_folder(const fs::path& dir, const std::vector<std::size_t>& counts, std::uint64_t seed) {
  const auto marker = dir / ".complete";
  std::string wanted = "seed " + std::to_string(seed) + ", counts";
  for (auto n : counts) {
    wanted += ' ';  // appended apart: GCC 12's -Wrestrict false positive (docs/decisions.md)
    wanted += std::to_string(n);
  }
  std::string have;
  if (std::ifstream in{marker}) std::getline(in, have);
  if (have == wanted) {
    std::fprintf(stderr, "demo-compare-datasets: reusing the images in %s\n", dir.string().c_str());
    return;
  }
  actatlas::io::remove_tree(dir);
  actatlas::demo::write_folder_counts(dir, counts, seed, actatlas::demo::default_image_size, actatlas::progress_bar{});
  actatlas::io::atomic_write(marker, [&](std::ostream& o) { o << wanted << '\n'; });
}

}  // namespace

demo_model_defaults demo_model_default_options() {
  const actatlas::demo_model_options d;
  return {d.seed, d.steps, d.threads};
}

int run_class_atlas(const settings& s) {
  const fs::path run = s.run;
  const fs::path out = s.out.empty() ? fs::path("class-atlas-" + s.cls) : fs::path(s.out);
  auto model = actatlas::open_model(s.model, actatlas::pick_device(s.device));
  const auto cls = actatlas::experiments::resolve_class(s.cls, model->info().class_names, "--class");
  auto draw = [&](auto filter) {
    with_objective(s, [&](auto objective) {
      using objective_t = decltype(objective);
      auto finish = [&](auto& p) {
        p.binning() = actatlas::binning::multires_grid(s.binning);
        configure(p, s);
        const auto [layout, atlas] = lay_out_and_render(p, *model, run, out);
        std::fprintf(stderr, "class-atlas: %zu samples kept by the %s filter, %zu cells, %zu icons rendered\n",
                     layout.samples.size(), std::string(decltype(filter)::name).c_str(), atlas.cells.at(0), atlas.icons_rendered);
        std::printf("atlas:  %s\nviewer: %s\n", atlas.atlas_png.string().c_str(), (out / "index.html").string().c_str());
      };
      if (s.reducer == reducer_choice::tsne) {
        auto p = actatlas::presets::class_atlas<objective_t>(filter);
        p.reducer() = actatlas::reducer::tsne(tsne_options(s));
        finish(p);
      } else {
        // The preset with UMAP in t-SNE's place, to compare the two (the article chose t-SNE).
        actatlas::pipeline<decltype(filter), actatlas::reducer::umap, actatlas::binning::multires_grid, objective_t> p(
            filter, actatlas::reducer::umap(umap_options(s)));
        finish(p);
      }
    });
  };
  switch (s.filter) {
    case filter_choice::rank: draw(actatlas::filter::rank({.cls = cls})); break;
    case filter_choice::both: draw(actatlas::filter::rank({.cls = cls, .top_n = s.top_n})); break;
    case filter_choice::magnitude: draw(actatlas::filter::magnitude({.cls = cls, .top_n = s.top_n})); break;
  }
  return 0;
}

int run_compare(const settings& s) {
  const fs::path run = s.run;
  const auto [name_a, name_b] = actatlas::experiments::split_pair(s.classes, "--classes");
  const fs::path out = s.out.empty() ? fs::path("compare-" + name_a + "-" + name_b) : fs::path(s.out);
  auto model = actatlas::open_model(s.model, actatlas::pick_device(s.device));
  const auto& names = model->info().class_names;
  const auto a = actatlas::experiments::resolve_class(name_a, names, "--classes");
  const auto b = actatlas::experiments::resolve_class(name_b, names, "--classes");
  with_objective(s, [&](auto objective) {
    auto p = actatlas::presets::comparison<decltype(objective)>(a, b, s.top_n);
    p.binning() = actatlas::binning::multires_grid(s.binning);
    auto reducer = p.reducer().opts();
    reducer.vertical.seed = s.seed;
    p.reducer() = actatlas::reducer::comparison(reducer);
    configure(p, s);
    const auto [layout, atlas] = lay_out_and_render(p, *model, run, out);
    const auto picture = out / "compare.png";
    actatlas::io::write_png(picture, actatlas::render::compare_picture(actatlas::io::read_image(out / "atlas.png", 3),
                                                                       names.at(a), names.at(b)));
    std::fprintf(stderr, "compare: %zu samples of %s and %s; %zu cells\n", layout.samples.size(), names.at(a).c_str(),
                 names.at(b).c_str(), atlas.cells.at(0));
    std::printf("picture: %s\nviewer:  %s\n", picture.string().c_str(), (out / "index.html").string().c_str());
  });
  return 0;
}

int run_compare_datasets(const settings& s) {
  // --a and --b live in settings::images and settings::in (see declare_compare_datasets).
  const fs::path a = s.images, b = s.in, out = s.out;
  actatlas::dataset_comparison_options o;
  if (!s.classes.empty()) std::tie(o.name_a, o.name_b) = actatlas::experiments::split_pair(s.classes, "--names");
  o.top = s.top_n;
  // Both folders are checked before the model loads: a bad folder costs nothing.
  actatlas::detail::check_image_folder(a);
  actatlas::detail::check_image_folder(b);
  auto model = actatlas::open_model(s.model, actatlas::pick_device(s.device));
  with_atlas_pipeline(s, [&](auto p) { print_comparison(actatlas::compare_datasets(p, *model, a, b, out, o), model->info().class_names); });
  return 0;
}

int run_demo_compare_datasets(const settings& s) {
  const fs::path out = s.out;
  const fs::path cache = s.cache.empty() ? actatlas::default_demo_cache_dir() : fs::path(s.cache);
  std::fprintf(stderr, "demo-compare-datasets: the demo model (cached in %s)\n", cache.string().c_str());
  auto model = actatlas::load_or_train_demo_model(cache, {}, actatlas::progress_bar{});
  model->to(actatlas::pick_device(s.device));
  // A: the demo set; B: another draw of it without the water scenes and with twice the night.
  const auto a = out / "images-a", b = out / "images-b";
  write_demo_folder(a, actatlas::demo::uniform_counts(s.per_class), s.seed + 1000);
  write_demo_folder(b, actatlas::demo::shifted_counts(s.per_class), s.seed + 2000);
  actatlas::dataset_comparison_options o;
  o.name_a = "demo set";
  o.name_b = "shifted: no water, night x2";
  o.top = s.top_n;
  with_atlas_pipeline(s, [&](auto p) {
    p.collection().model_name = "demo_cnn";
    if (p.pictures().title.empty()) p.pictures().title = "demo CNN · " + s.collect.layer + " · demo set vs shifted set";
    print_comparison(actatlas::compare_datasets(p, *model, a, b, out, o), model->info().class_names);
  });
  return 0;
}

int run_patch_attack(const settings& s) {
  actatlas::patch_attack_options o;
  o.noise_seed = s.noise_seed;
  o.batch = s.collect.batch;
  o.fixed_corner = actatlas::parse_patch_corner(s.fixed_corner);
  const fs::path patch_path = s.patch;
  const auto patch = actatlas::io::read_image(patch_path, 3);
  auto model = actatlas::open_model(s.model, actatlas::pick_device(s.device));
  const auto& info = model->info();
  const double side = static_cast<double>(std::min(info.input_height, info.input_width));
  auto parse_size = [&](const std::string& text) {
    const bool px = text.size() > 2 && text.substr(text.size() - 2) == "px";
    double v = 0;
    try {
      std::size_t used = 0;
      v = std::stod(px ? text.substr(0, text.size() - 2) : text, &used);
      if (used != (px ? text.size() - 2 : text.size())) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw usage_error("--sizes expects fractions like 0.3 or pixel sizes like 20px, got '" + text + "'");
    }
    const double fraction = px ? v / side : v;
    actatlas::patch_side_pixels(fraction, static_cast<std::int64_t>(side));  // too large or not positive: one line
    return fraction;
  };
  o.sizes.clear();
  std::stringstream list(s.sizes);
  for (std::string item; std::getline(list, item, ',');)
    if (!item.empty()) o.sizes.push_back(parse_size(item));
  if (o.sizes.empty()) throw usage_error("--sizes needs at least one size");
  o.fixed_size = o.sizes.size() / 2;
  if (!s.fixed_size.empty()) {
    const double f = parse_size(s.fixed_size);
    o.sizes.push_back(f);
    std::sort(o.sizes.begin(), o.sizes.end());
    o.sizes.erase(std::unique(o.sizes.begin(), o.sizes.end()), o.sizes.end());
    o.fixed_size = static_cast<std::size_t>(std::find(o.sizes.begin(), o.sizes.end(), f) - o.sizes.begin());
  }
  const auto source = actatlas::experiments::resolve_class(s.source, info.class_names, "--source");
  const auto target = actatlas::experiments::resolve_class(s.target, info.class_names, "--target");
  const auto files = actatlas::class_images(s.images, info.class_names.at(source), info.class_names);
  o.progress = actatlas::progress_bar{};
  const auto row = actatlas::patch_attack(*model, patch, patch_path.filename().string(), files, static_cast<std::int64_t>(source),
                                          static_cast<std::int64_t>(target), o);
  if (row.correct_before == 0)
    std::fprintf(stderr, "patch-attack: the model classified none of the %zu images as %s; nothing to flip\n", row.images,
                 row.source.c_str());
  const fs::path out = s.out;
  const auto table = actatlas::experiments::attack_markdown({row});
  actatlas::io::atomic_write(out / "patch_attack.csv", [&](std::ostream& os) { os << actatlas::experiments::attack_csv({row}); });
  actatlas::io::atomic_write(out / "patch_attack.md", [&](std::ostream& os) { os << table; });
  std::printf("%s", table.c_str());
  return 0;
}

int run_train_demo(const settings& s) {
  const fs::path dir = s.out.empty() ? actatlas::default_demo_cache_dir() : fs::path(s.out);
  actatlas::demo_model_options options;
  options.seed = s.train_seed;
  options.steps = s.train_steps;
  options.threads = s.train_threads;
  const auto path = dir / actatlas::demo_model_file_name(options);
  actatlas::progress_bar bar;
  bool trained = false;
  auto model = actatlas::load_or_train_demo_model(dir, options, std::ref(bar), s.force, &trained);
  const auto& meta = model->metadata();
  const auto sheet = dir / "demo_contact_sheet.png";
  actatlas::demo::write_contact_sheet(sheet, 8, options.seed);

  std::printf("%s %s\n", trained ? "trained" : "reused", path.string().c_str());
  std::printf("held-out accuracy %.2f%% on %d images, trained in %.1f s wall, %.1f s CPU (%d threads)\n",
              100.0 * meta.value("heldout_accuracy", 0.0), meta.value("heldout_images", 0), meta.value("train_seconds", 0.0),
              meta.value("train_cpu_seconds", 0.0), meta.at("options").value("threads", 0));
  const auto names = meta.at("class_names");
  const auto per_class = meta.at("per_class_accuracy");
  for (std::size_t c = 0; c < names.size(); ++c)
    std::printf("  %-10s %6.2f%%\n", names[c].get<std::string>().c_str(), 100.0 * per_class[c].get<double>());
  std::printf("contact sheet %s\n", sheet.string().c_str());
  return 0;
}

int run_make_images(const settings& s) {
  actatlas::progress_bar bar;
  actatlas::demo::write_folder(s.out, s.per_class, s.train_seed, s.image_size, std::ref(bar));
  std::printf("wrote %zu images of %zu classes under %s\n", s.per_class * actatlas::demo::class_count(),
              actatlas::demo::class_count(), s.out.c_str());
  return 0;
}

}  // namespace cli
