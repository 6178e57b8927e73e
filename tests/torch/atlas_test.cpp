// Does the demo atlas carry information? On the trained demo model: collect conv4 samples
// from procedural images, lay them out with UMAP, bin them, and check that (1) cells whose
// members mostly come from one class are labelled with that class (their top mean
// attribution) far more often than chance, and (2) backgrounds shared by several classes
// show cells whose top attributions include two classes of the same background.
#include <catch2/catch.hpp>

#include <actatlas/binning/grid.hpp>
#include <actatlas/cells.hpp>
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/io/npy.hpp>
#include <actatlas/layout/normalise.hpp>
#include <actatlas/reducer/umap.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/collect.hpp>
#include <actatlas/torch/render_atlas.hpp>

#include <cstdio>
#include <map>
#include <set>

#include "demo_fixture.hpp"

namespace fs = std::filesystem;
using namespace actatlas;

TEST_CASE("the demo atlas labels single-class regions with their class and shows shared backgrounds", "[atlas][demo]") {
  auto& model = test::trained_demo_model();
  const fs::path dir = fs::temp_directory_path() / "actatlas-atlas-test";
  fs::remove_all(dir);
  demo::write_folder(dir / "images", 120, 4242);  // 1,920 images the model never saw

  collect_options o;
  o.layer = "conv4";
  o.batch = 64;
  const auto summary = collect(model, dir / "images", dir / "run", sampler::random_position({.seed = 3}), o);
  REQUIRE(summary.samples == 1920);
  io::mapped_npy acts(dir / "run" / "activations.npy");
  io::mapped_npy attr(dir / "run" / "attributions.npy");
  const auto provenance = actatlas::detail::read_provenance(dir / "run" / "provenance.csv");

  const matrix layout = normalise_layout(reducer::umap({.seed = 1}).reduce(acts.view(), 2));
  const auto level = binning::grid({.grid_size = 12, .min_count = 5}).bin(layout).at(0);
  const auto cells = summarise(level, acts.view(), attr.view());
  const auto names = demo::class_names();
  auto class_of = [&](std::uint32_t sample) {  // the image's folder is its class
    return demo::class_index(fs::path(provenance[sample].image).parent_path().filename().string());
  };

  // (1) Majority-class cells: is the label (top mean attribution) that class?
  std::size_t majority_cells = 0, labelled_right = 0;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    std::map<std::size_t, std::size_t> counts;
    for (auto m : level.cells[c].members) ++counts[class_of(m)];
    auto best = std::max_element(counts.begin(), counts.end(), [](auto& a, auto& b) { return a.second < b.second; });
    if (best->second * 10 < level.cells[c].members.size() * 7) continue;  // below 70%: not a single-class cell
    ++majority_cells;
    labelled_right += cells[c].top_classes(1).at(0).first == best->first;
  }
  const double rate = double(labelled_right) / double(majority_cells);
  std::printf("atlas test: %zu cells, %zu with a 70%% majority class, labelled with it: %.1f%% (chance 6.25%%)\n",
              cells.size(), majority_cells, 100.0 * rate);
  REQUIRE(majority_cells >= 10);
  CHECK(rate >= 0.6);  // ten times chance

  // (2) Shared backgrounds: cells whose top two classes share a background.
  std::size_t shared = 0;
  std::set<std::string> backgrounds;
  for (const auto& s : cells) {
    const auto top = s.top_classes(2);
    const auto& a = demo::image_classes[top[0].first];
    const auto& b = demo::image_classes[top[1].first];
    const bool same_background = a.background.find(b.background) != std::string_view::npos ||
                                 b.background.find(a.background) != std::string_view::npos;
    if (same_background && a.background != "texture" && top[1].second > 0) {
      ++shared;
      backgrounds.insert(std::string(b.background));
    }
  }
  std::printf("atlas test: %zu cells whose top two classes share a background (%zu backgrounds)\n", shared, backgrounds.size());
  CHECK(shared >= 3);
  CHECK(backgrounds.size() >= 2);
  fs::remove_all(dir);
}
