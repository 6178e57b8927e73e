// The article's experiments on the demo model, end to end at small sizes: a class
// activation atlas, a two-class comparison, a patch attack whose icon patch beats noise,
// and two layers' atlases aligned in one layout (much nearer than independent UMAPs).
#include <catch2/catch.hpp>

#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/experiments/layout_displacement.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/aligned_atlas.hpp>
#include <actatlas/presets.hpp>
#include <actatlas/render/compare_picture.hpp>
#include <actatlas/torch/collect.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/patch_attack.hpp>
#include <actatlas/torch/pipeline.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

#include "demo_fixture.hpp"

namespace fs = std::filesystem;

namespace {


//! Everything the tests share, made once per process: the model, an image folder, a
//! collection of conv4 with attributions.
struct demo_fixture {
  std::unique_ptr<actatlas::demo_model> model;
  fs::path dir, images, run;

  demo_fixture() {
    model = actatlas::load_or_train_demo_model(actatlas::test::small_demo_cache(), actatlas::test::small_demo_budget());
    dir = fs::temp_directory_path() / ("actatlas-experiments-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    images = dir / "images";
    actatlas::demo::write_folder(images, 24, 77);
    run = dir / "run";
    actatlas::collect_options o;
    o.layer = "conv4";
    o.samples = 2400;
    o.repeat_images = true;
    o.batch = 64;
    o.model_name = "demo-small";
    actatlas::collect(*model, images, run, actatlas::sampler::random_position({.seed = 1, .margin = 1}), o);
  }
  ~demo_fixture() {
    if (!std::getenv("ACTATLAS_KEEP_EXPERIMENTS")) fs::remove_all(dir);
  }
};

demo_fixture& fixture() {
  static demo_fixture f;
  return f;
}

//! Light icon settings for the suite, on any pipeline; `grid` cells a side, one level.
template <class Pipeline>
Pipeline light(Pipeline p, std::size_t grid) {
  p.icons().size = 48;
  p.icons().steps = 48;
  p.icons().attempts = 1;
  p.pictures().canvas.cell_px = 48;
  p.pictures().patches_per_cell = 2;
  p.binning() = actatlas::binning::multires_grid({.base_grid = grid, .levels = 1});
  return p;
}

//! A class atlas of `cls` from the fixture's run into `out`, with t-SNE at 500 iterations.
template <class Filter>
actatlas::render_result class_atlas(const Filter& filter, const fs::path& out, std::size_t grid, std::int64_t steps = 48) {
  auto& f = fixture();
  auto p = light(actatlas::presets::class_atlas(filter), grid);
  p.reducer() = actatlas::reducer::tsne([] { auto o = actatlas::reducer::tsne::lucid_class(); o.iterations = 500; return o; }());
  p.icons().steps = steps;
  p.lay_out(f.run / "activations.npy", out / "layout.npy");
  return p.render(*f.model, f.run, out / "layout.npy", out);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("class names resolve by name or index; unknown names list close ones", "[experiments]") {
  const std::vector<std::string> names = actatlas::demo::class_names();
  namespace ex = actatlas::experiments;
  CHECK(ex::resolve_class("ball", names, "--class") == 3);
  CHECK(ex::resolve_class("Ball", names, "--class") == 3);
  CHECK(ex::resolve_class("7", names, "--class") == 7);
  CHECK_THROWS_WITH(ex::resolve_class("bal", names, "--class"), Catch::Contains("--class") && Catch::Contains("ball"));
  CHECK_THROWS_WITH(ex::resolve_class("fsh", names, "--class"), Catch::Contains("fish"));
  CHECK_THROWS_WITH(ex::resolve_class("99", names, "--class"), Catch::Contains("out of range"));
  CHECK_THROWS_AS(ex::split_pair("a,b,c", "--classes"), actatlas::input_error);
  CHECK(ex::split_pair("boat,fish", "--classes") == std::pair<std::string, std::string>{"boat", "fish"});
}

TEST_CASE("least squares recovers a linear map; Procrustes undoes a rotation", "[experiments]") {
  namespace ex = actatlas::experiments;
  actatlas::matrix x = actatlas::matrix::from_shape({200, 3}), y = actatlas::matrix::from_shape({200, 2});
  for (std::size_t i = 0; i < 200; ++i) {
    for (std::size_t j = 0; j < 3; ++j) x(i, j) = static_cast<float>(std::sin(0.37 * i * (j + 1) + j));
    y(i, 0) = 2 * x(i, 0) - x(i, 2) + 1;
    y(i, 1) = 0.5f * x(i, 1) + 3;
  }
  const auto f = ex::fit_linear_map(x, y, {.ridge = 1e-9});
  CHECK(ex::explained_variance(f, x, y) > 0.9999);
  CHECK(f.weights(0, 0) == Approx(2).margin(1e-4));
  CHECK(f.weights(2, 0) == Approx(-1).margin(1e-4));
  actatlas::matrix a = actatlas::matrix::from_shape({50, 2}), b = actatlas::matrix::from_shape({50, 2});
  for (std::size_t i = 0; i < 50; ++i) {
    a(i, 0) = static_cast<float>(std::cos(i * 0.7)), a(i, 1) = static_cast<float>(std::sin(i * 1.3));
    b(i, 0) = 3 * -a(i, 1) + 5, b(i, 1) = 3 * a(i, 0) - 2;  // rotated by 90°, scaled, moved
  }
  CHECK(ex::mean_displacement(a, b) > 1);
  CHECK(ex::mean_displacement(ex::procrustes_align(b, a), a) < 1e-4);
}

TEST_CASE("class-atlas: a rank-filtered t-SNE atlas of one demo class", "[experiments]") {
  auto& f = fixture();
  const auto t0 = std::chrono::steady_clock::now();
  const auto names = f.model->info().class_names;
  const auto cls = actatlas::experiments::resolve_class("sun", names, "--class");
  const auto out = f.dir / "class-sun";
  const auto r = class_atlas(actatlas::filter::rank({.cls = cls}), out, 4);
  const auto laid_out = actatlas::detail::read_record(out / "layout.json");
  REQUIRE(laid_out);
  const auto samples = laid_out->at("samples").get<std::vector<std::uint32_t>>();
  std::fprintf(stderr, "[experiments] class atlas 'sun': %zu samples, %zu cells, %.1f s\n", samples.size(), r.cells.at(0),
               seconds_since(t0));
  REQUIRE(samples.size() >= 8);
  CHECK(fs::exists(out / "atlas.png"));
  CHECK(fs::exists(out / "atlas.js"));
  CHECK(fs::exists(out / "cells_4.json"));
  // Every kept sample's largest attribution is to the class (the rank filter), so every
  // cell's top class is the class too; every member is a kept sample.
  const auto attributions = actatlas::io::read_npy<float, 2>(f.run / "attributions.npy");
  for (auto i : samples) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < attributions.shape(1); ++c)
      if (attributions(i, c) > attributions(i, best)) best = c;
    REQUIRE(best == cls);
  }
  std::size_t own = 0, members = 0;
  for (const auto& c : r.summaries.at(0)) own += c.top_classes(1).at(0).first == cls;
  for (const auto& c : r.level_cells.at(0).cells)
    for (auto m : c.members) members += std::binary_search(samples.begin(), samples.end(), m);
  CHECK(own == r.summaries.at(0).size());
  std::size_t total = 0;
  for (const auto& c : r.level_cells.at(0).cells) total += c.members.size();
  CHECK(members == total);

  // Rank and then the top N (the command line's --filter both).
  CHECK(actatlas::filter::rank({.cls = cls, .top_n = 20}).select(attributions).size() == 20);

  // A class no sample supports after filtering: one clear error naming the filter.
  CHECK_THROWS_WITH(class_atlas(actatlas::filter::rank({.cls = cls, .top_n = 3}), f.dir / "too-few", 4),
                    Catch::Contains("filter::rank") && Catch::Contains("kept 3 sample"));
}

TEST_CASE("compare: two classes, x = attribution difference, y = 1-D t-SNE", "[experiments]") {
  auto& f = fixture();
  const auto t0 = std::chrono::steady_clock::now();
  const auto names = f.model->info().class_names;
  const auto a = actatlas::experiments::resolve_class("boat", names, "--classes");
  const auto b = actatlas::experiments::resolve_class("fish", names, "--classes");
  auto p = light(actatlas::presets::comparison(a, b, 300), 5);
  p.reducer() = actatlas::reducer::comparison(
      {.class_a = a, .class_b = b, .vertical = [] { auto o = actatlas::reducer::tsne::lucid_class(); o.iterations = 500; return o; }()});
  const auto out = f.dir / "compare";
  const auto laid = p.lay_out(f.run / "activations.npy", out / "layout.npy");
  const auto r = p.render(*f.model, f.run, out / "layout.npy", out);
  actatlas::io::write_png(out / "compare.png", actatlas::render::compare_picture(actatlas::io::read_image(out / "atlas.png", 3), "boat", "fish"));
  std::fprintf(stderr, "[experiments] compare boat/fish: %zu samples, %.1f s\n", laid.samples.size(), seconds_since(t0));
  CHECK(fs::exists(out / "compare.png"));
  // Cells on the left pull toward A (boat), cells on the right toward B (fish): the mean
  // attribution difference of the leftmost occupied column exceeds the rightmost's.
  const auto& cells = r.summaries.at(0);
  double left = 0, right = 0;
  std::uint32_t min_x = 99, max_x = 0;
  for (const auto& c : cells) min_x = std::min(min_x, c.ix), max_x = std::max(max_x, c.ix);
  std::size_t nl = 0, nr = 0;
  for (const auto& c : cells) {
    const double d = c.mean_attribution[a] - c.mean_attribution[b];
    if (c.ix == min_x) left += d, ++nl;
    if (c.ix == max_x) right += d, ++nr;
  }
  REQUIRE(max_x > min_x);
  CHECK(left / nl > 0);
  CHECK(right / nr < 0);
  auto same = actatlas::presets::comparison(a, a, 300);
  CHECK_THROWS_WITH(same.lay_out(f.run / "activations.npy", out / "same.npy"), Catch::Contains("same class"));
}

TEST_CASE("patch-attack: an icon from the target's class atlas flips more images than noise", "[experiments]") {
  auto& f = fixture();
  const auto t0 = std::chrono::steady_clock::now();
  const auto names = f.model->info().class_names;
  // A ball pasted onto a zebra picture (both on grass): the demo's baseball-on-a-whale.
  const std::string source_name = "zebra", target_name = "ball";
  const auto source = static_cast<std::int64_t>(actatlas::experiments::resolve_class(source_name, names, "--source"));
  const auto target = static_cast<std::int64_t>(actatlas::experiments::resolve_class(target_name, names, "--target"));
  // The patch: the icon of the target's class atlas cell with the largest mean attribution
  // (128 steps: a patch must be a clear picture of the concept).
  const auto out = f.dir / "class-target";
  const auto atlas = class_atlas(actatlas::filter::rank({.cls = static_cast<std::size_t>(target)}), out, 3, 128);
  const auto& cells = atlas.summaries.at(0);
  std::size_t best = 0;
  for (std::size_t i = 1; i < cells.size(); ++i)
    if (cells[i].mean_attribution[target] > cells[best].mean_attribution[target]) best = i;
  const auto icon = out / "icons" / "3" / (std::to_string(cells[best].ix) + "_" + std::to_string(cells[best].iy) + ".png");
  REQUIRE(fs::exists(icon));

  // Held-out images of the source class (another seed than the collection's).
  const auto attack_images = f.dir / "attack-images";
  for (std::size_t i = 0; i < 48; ++i) {
    char file[64];
    std::snprintf(file, sizeof file, "%s_%04zu.png", source_name.c_str(), i);
    actatlas::io::write_png(attack_images / source_name / file,
                            actatlas::demo::generate(static_cast<std::size_t>(source), 4321, i));
  }
  const auto files = actatlas::class_images(attack_images, source_name, names);
  REQUIRE(files.size() == 48);
  actatlas::patch_attack_options po;
  po.sizes = {0.3, 0.4, 0.5};
  const auto row = actatlas::patch_attack(*f.model, actatlas::io::read_image(icon), "ball icon", files, source, target, po);
  std::fprintf(stderr,
               "[experiments] patch attack %s -> %s: %zu/%zu correct before; icon %.1f%% fixed, %.1f%% best; noise %.1f%% fixed, "
               "%.1f%% best; p(target) %.3f -> %.3f (noise %.3f); %.1f s\n",
               source_name.c_str(), target_name.c_str(), row.correct_before, row.images, 100 * row.flipped_fixed,
               100 * row.flipped_best, 100 * row.noise_fixed, 100 * row.noise_best, row.target_probability_before,
               row.target_probability_after, row.noise_probability_after, seconds_since(t0));
  REQUIRE(row.correct_before >= 24);
  // The demo evidence: the icon flips more images to the target than noise of the same
  // size at the same places, and raises the target's probability more.
  CHECK(row.flipped_best > row.noise_best);
  CHECK(row.flipped_fixed >= row.noise_fixed);
  CHECK(row.target_probability_after > row.noise_probability_after);
  const auto table = actatlas::experiments::attack_markdown({row});
  CHECK(table.find("zebra → ball") != std::string::npos);

  // Bad arguments: one clear line each.
  po.sizes = {1.5};
  po.fixed_size = 0;
  CHECK_THROWS_WITH(actatlas::patch_attack(*f.model, actatlas::io::read_image(icon), "icon", files, source, target, po),
                    Catch::Contains("larger than the 64×64 image"));
  CHECK_THROWS_WITH(actatlas::class_images(attack_images, "sun", names), Catch::Contains("no folder of class 'sun'"));
  CHECK_THROWS_WITH(actatlas::patch_attack(*f.model, actatlas::io::read_image(icon), "icon", files, source, source, {}),
                    Catch::Contains("same class"));
}

TEST_CASE("aligned: two layers' atlases in one layout, nearer than independent UMAPs", "[experiments]") {
  auto& f = fixture();
  const auto t0 = std::chrono::steady_clock::now();
  const auto pairs = actatlas::collect_paired(*f.model, f.images, "conv3", "conv4", 800, 5, 64);
  REQUIRE(pairs.a.activations.shape(0) == 800);
  REQUIRE(pairs.b.activations.shape(1) == 32);
  // Same image, receptive-field centres: conv3 is 16×16 and conv4 8×8, so x3 = 2·x4 + 1.
  for (std::size_t i = 0; i < 20; ++i) {
    int xa = 0, ya = 0, xb = 0, yb = 0;
    const auto& la = pairs.a.provenance[i];
    const auto& lb = pairs.b.provenance[i];
    REQUIRE(la.substr(0, la.find(',')) == lb.substr(0, lb.find(',')));
    std::sscanf(la.c_str() + la.find(',') + 1, "%d,%d", &xa, &ya);
    std::sscanf(lb.c_str() + lb.find(',') + 1, "%d,%d", &xb, &yb);
    CHECK(xa == 2 * xb + 1);
    CHECK(ya == 2 * yb + 1);
  }
  namespace ex = actatlas::experiments;
  const auto aligned = ex::align_layouts(pairs.a.activations, pairs.b.activations);
  const double d_aligned = ex::mean_displacement(aligned.a, aligned.b);
  const auto [ia, ib] = ex::independent_layouts(pairs.a.activations, pairs.b.activations);
  const double d_independent = ex::mean_displacement(ia, ib);
  const double d_procrustes = ex::mean_displacement(ex::procrustes_align(ib, ia), ia);
  std::fprintf(stderr,
               "[experiments] aligned conv3/conv4 (%zu pairs): explained variance %.2f / %.2f; mean displacement aligned %.3f, "
               "independent %.3f (%.3f after the best similarity transform); %.1f s\n",
               pairs.a.activations.shape(0), aligned.explained_ab, aligned.explained_ba, d_aligned, d_independent, d_procrustes,
               seconds_since(t0));
  CHECK(d_aligned < 0.5 * d_independent);
  CHECK(d_aligned < 0.5 * d_procrustes);
}

TEST_CASE("aligned: the atlases, the linked page and the link data", "[experiments]") {
  auto& f = fixture();
  const auto t0 = std::chrono::steady_clock::now();
  actatlas::aligned_atlas_options o;
  o.samples = 600;
  auto p = light(actatlas::pipeline<actatlas::binning::multires_grid>{}, 4);
  p.icons().steps = 24;
  const auto out = f.dir / "aligned";
  const auto r = actatlas::aligned_atlas(*f.model, f.images, "conv3", "conv4", out, p, o);
  std::fprintf(stderr, "[experiments] aligned atlases: %zu + %zu cells, displacement %.3f, %.1f s\n", r.atlas_a.cells.at(0),
               r.atlas_b.cells.at(0), r.mean_displacement, seconds_since(t0));
  CHECK(fs::exists(out / "conv3" / "atlas.png"));
  CHECK(fs::exists(out / "conv4" / "atlas.js"));
  CHECK(fs::exists(out / "index.html"));
  std::ifstream link(out / "link.js");
  std::string text((std::istreambuf_iterator<char>(link)), std::istreambuf_iterator<char>());
  CHECK(text.rfind("window.ACTATLAS_LINK = ", 0) == 0);
  // Both layouts span the unit square in one frame (what keeps cells aligned).
  for (const auto* y : {&r.layouts.a, &r.layouts.b})
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(xt::amin(xt::view(*y, xt::all(), j))() == Approx(0).margin(1e-6));
      CHECK(xt::amax(xt::view(*y, xt::all(), j))() == Approx(1).margin(1e-6));
    }
  CHECK_THROWS_WITH(actatlas::collect_paired(*f.model, f.images, "conv4", "conv4", 10, 0),
                    Catch::Contains("same"));
}

TEST_CASE("patch-attack: every source and target of the demo (exploration, ACTATLAS_EXPLORE_PATCHES=1)", "[.explore]") {
  auto& f = fixture();
  const auto names = f.model->info().class_names;
  const std::size_t classes = names.size();
  std::vector<actatlas::experiments::patch_attack_summary> rows;
  for (std::size_t t = 0; t < classes; ++t) {
    const auto out = f.dir / ("explore-" + names[t]);
    actatlas::render_result atlas;
    try {
      atlas = class_atlas(actatlas::filter::rank({.cls = t}), out, 3);
    } catch (const actatlas::input_error& e) {
      std::fprintf(stderr, "skip %s: %s\n", names[t].c_str(), e.what());
      continue;
    }
    const auto& cells = atlas.summaries.at(0);
    std::size_t best = 0;
    for (std::size_t i = 1; i < cells.size(); ++i)
      if (cells[i].mean_attribution[t] > cells[best].mean_attribution[t]) best = i;
    const auto icon = out / "icons" / "3" / (std::to_string(cells[best].ix) + "_" + std::to_string(cells[best].iy) + ".png");
    for (std::size_t s = 0; s < classes; ++s) {
      if (s == t) continue;
      const auto files = actatlas::class_images(f.images, names[s], names);
      auto row = actatlas::patch_attack(*f.model, actatlas::io::read_image(icon), names[t] + " icon", files,
                                        static_cast<std::int64_t>(s), static_cast<std::int64_t>(t), {});
      rows.push_back(row);
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.flipped_best - a.noise_best > b.flipped_best - b.noise_best;
  });
  rows.resize(std::min<std::size_t>(rows.size(), 25));
  std::fprintf(stderr, "%s", actatlas::experiments::attack_markdown(rows).c_str());
}
