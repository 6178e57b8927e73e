// compare_datasets on the trained demo model and procedural sets with a known shift: the
// shifted set (B) has no water scenes and twice the night scenes, so the cells made of
// water images must come out A-heavy and significant, the night cells B-heavy and
// significant, and the cells of unchanged classes not significant; the same with A ten
// times the size of B; a folder with no decodable image is one error naming it.
#include <catch2/catch.hpp>

#include <actatlas/demo/shifted_set.hpp>
#include <actatlas/torch/compare_datasets.hpp>
#include <actatlas/torch/pipeline.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../cpu/test_tools.hpp"
#include "demo_fixture.hpp"

namespace fs = std::filesystem;
using namespace actatlas;

namespace {

//! The pipeline of the tests: the demo's atlas, a coarse grid and quick icons.
pipeline<> small_pipeline() {
  pipeline<> p(binning::grid({.grid_size = 5, .min_count = 5}));
  p.collection().layer = "conv4";
  p.collection().batch = 64;
  p.icons().steps = 8;
  p.icons().attempts = 1;
  p.icons().size = 24;
  p.icons().batch = 32;
  p.pictures().canvas.cell_px = 24;
  return p;
}

//! What a cell of the level is made of: the share of its members from the removed (water)
//! classes, from the doubled class (night), and its side.
struct cell_make {
  double water = 0, night = 0;
  std::size_t count = 0;
  experiments::cell_comparison stats;
};

std::vector<cell_make> cell_makes(const fs::path& out, const dataset_comparison_result& r) {
  const auto level = io::read_cells_json(out / "atlas" / ("cells_" + std::to_string(r.grids.front()) + ".json"));
  const auto provenance = actatlas::detail::read_provenance(out / "run" / "provenance.csv");
  std::vector<cell_make> makes;
  for (std::size_t i = 0; i < level.cells.size(); ++i) {
    cell_make m;
    m.count = level.cells[i].members.size();
    m.stats = r.cells.front().at(i);
    for (auto id : level.cells[i].members) {
      const std::string cls = fs::path(provenance.at(id).image).parent_path().filename().string();
      for (auto w : demo::removed_in_shift())
        if (cls == w) m.water += 1;
      if (cls == demo::doubled_in_shift) m.night += 1;
    }
    m.water /= static_cast<double>(m.count);
    m.night /= static_cast<double>(m.count);
    makes.push_back(m);
  }
  return makes;
}

//! Counts cells by make and checks each against its side. Returns {water cells, night cells}.
std::pair<std::size_t, std::size_t> check_sides(const std::vector<cell_make>& makes, bool night_must_be_significant) {
  std::size_t water = 0, night = 0;
  for (const auto& m : makes) {
    INFO("cell of " << m.count << ": water " << m.water << ", night " << m.night << ", counts " << m.stats.n_a << "/"
                    << m.stats.n_b << ", log2 " << m.stats.log2_ratio << ", q " << m.stats.q_value);
    if (m.water >= 0.8) {
      ++water;
      CHECK(m.stats.side == 1);
      CHECK(m.stats.log2_ratio > 0);
    } else if (m.night >= 0.8) {
      ++night;
      CHECK(m.stats.log2_ratio < 0);
      if (night_must_be_significant) CHECK(m.stats.side == -1);
      else CHECK(m.stats.side != 1);
    } else if (m.water + m.night <= 0.05) {
      CHECK(m.stats.side == 0);  // unchanged classes
    }
  }
  return {water, night};
}

}  // namespace

TEST_CASE("compare_datasets: a known shift comes out where it was made", "[dataset_comparison][torch]") {
  auto& model = test::trained_demo_model();
  test::temp_dir tmp;
  demo::write_folder_counts(tmp.path() / "a", demo::uniform_counts(40), 11);
  demo::write_folder_counts(tmp.path() / "b", demo::shifted_counts(40), 12);
  auto p = small_pipeline();
  std::vector<std::string> stages;
  p.on_stage() = [&](const stage_report& s) { stages.push_back(s.stage + (s.reused ? " reused" : " done")); };
  const auto out = tmp.path() / "out";
  const auto r = compare_datasets(p, model, tmp.path() / "a", tmp.path() / "b", out);
  CHECK(r.samples_a == 640);
  CHECK(r.samples_b == 560);  // 12 classes × 40 + 80 night

  const auto [water, night] = check_sides(cell_makes(out, r), true);
  CHECK(water >= 1);
  CHECK(night >= 1);

  // The summary lists water cells first on A's side and night cells first on B's.
  REQUIRE_FALSE(r.top_a.empty());
  REQUIRE_FALSE(r.top_b.empty());
  CHECK(r.top_a.front().stats.side == 1);
  CHECK(r.top_b.front().stats.side == -1);
  const auto& names = model.info().class_names;
  auto is_water = [&](std::size_t cls) {
    for (auto w : demo::removed_in_shift())
      if (names.at(cls) == w) return true;
    return false;
  };
  REQUIRE_FALSE(r.top_a.front().top_classes.empty());
  CHECK(is_water(r.top_a.front().top_classes.front().first));
  CHECK(names.at(r.top_b.front().top_classes.front().first) == demo::doubled_in_shift);

  // The files: cells JSON with counts, ratio and q; summary; pictures; each side's patches.
  std::ifstream in(out / "atlas" / "cells_5.json");
  const auto cells = nlohmann::json::parse(in);
  REQUIRE(cells.at("cells").size() == r.cells.front().size());
  for (std::size_t i = 0; i < r.cells.front().size(); ++i) {
    const auto& c = cells["cells"][i];
    CHECK(c.at("counts")[0].get<std::size_t>() + c.at("counts")[1].get<std::size_t>() == c.at("count").get<std::size_t>());
    CHECK(c.at("log2_ratio").get<double>() == Approx(r.cells.front()[i].log2_ratio));
    CHECK(c.at("q").get<double>() == Approx(r.cells.front()[i].q_value));
  }
  for (const char* f : {"compare.png", "compare_5.png", "summary.json", "summary.md", "atlas.js", "index.html"})
    CHECK(fs::exists(out / "atlas" / f));
  const auto& e = r.top_a.front();
  const auto stem = out / "atlas" / "compare" / "patches" / "5" / (std::to_string(e.ix) + "_" + std::to_string(e.iy));
  CHECK(fs::exists(stem.string() + "_a.png"));
  CHECK(fs::exists(stem.string() + "_b.png"));

  // Run again: every stage reused, the same statistics.
  stages.clear();
  const auto again = compare_datasets(p, model, tmp.path() / "a", tmp.path() / "b", out);
  CHECK(stages == std::vector<std::string>{"collect reused", "collect reused", "join reused", "layout reused", "render reused"});
  REQUIRE(again.cells.front().size() == r.cells.front().size());
  for (std::size_t i = 0; i < r.cells.front().size(); ++i) CHECK(again.cells.front()[i].q_value == r.cells.front()[i].q_value);
}

TEST_CASE("compare_datasets: sets of sizes 10:1", "[dataset_comparison][torch]") {
  auto& model = test::trained_demo_model();
  test::temp_dir tmp;
  demo::write_folder_counts(tmp.path() / "big", demo::uniform_counts(100), 21);
  demo::write_folder_counts(tmp.path() / "small", demo::shifted_counts(10), 22);
  const auto out = tmp.path() / "out";
  const auto r = compare_datasets(small_pipeline(), model, tmp.path() / "big", tmp.path() / "small", out);
  CHECK(r.samples_a == 1600);
  CHECK(r.samples_b == 140);  // 12 × 10 + 20 night
  // Unchanged classes are not significant although A has ten times B's samples; water
  // still comes out on A's side; B's 20 night samples are too few to be sure of, but
  // they may never come out on A's side.
  const auto [water, night] = check_sides(cell_makes(out, r), false);
  CHECK(water >= 1);
}

TEST_CASE("compare_datasets: a folder with no decodable image", "[dataset_comparison][torch]") {
  auto& model = test::trained_demo_model();
  test::temp_dir tmp;
  demo::write_folder_counts(tmp.path() / "good", demo::uniform_counts(2), 1);
  fs::create_directories(tmp.path() / "bad");
  std::ofstream(tmp.path() / "bad" / "broken.png") << "not a png";
  auto p = small_pipeline();
  try {
    compare_datasets(p, model, tmp.path() / "good", tmp.path() / "bad", tmp.path() / "out");
    FAIL("no error");
  } catch (const input_error& e) {
    CHECK(e.where() == (tmp.path() / "bad").string());
    CHECK_THAT(e.what(), Catch::Contains("no image could be decoded") && Catch::Contains("broken.png"));
  }
  fs::create_directories(tmp.path() / "empty");
  CHECK_THROWS_WITH(compare_datasets(p, model, tmp.path() / "empty", tmp.path() / "good", tmp.path() / "out2"),
                    Catch::Contains("empty") && Catch::Contains("no JPEG, PNG or BMP files"));
  CHECK_FALSE(fs::exists(tmp.path() / "out2"));
}
