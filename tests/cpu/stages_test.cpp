// The CPU stages that need no model: layout normalisation, grid binning (checked
// against brute force), multi-resolution nesting, cell summaries, filters, the
// two-class comparison axis and the cells JSON.
#include <catch2/catch.hpp>

#include <actatlas/binning/grid.hpp>
#include <actatlas/binning/multires_grid.hpp>
#include <actatlas/cells.hpp>
#include <actatlas/compare_axis.hpp>
#include <actatlas/filter/magnitude.hpp>
#include <actatlas/filter/no_filter.hpp>
#include <actatlas/filter/rank.hpp>
#include <actatlas/io/cells_json.hpp>
#include <actatlas/layout/normalise.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "test_tools.hpp"

using namespace actatlas;

namespace {

// A layout with clusters, a few far outliers and points exactly on bin edges, 0 and 1.
matrix awkward_unit_layout(std::size_t n, unsigned seed) {
  matrix m = test::random_matrix(n, 2, seed);
  for (std::size_t i = 0; i < n; i += 7) m(i, 0) = static_cast<float>(i % 21) / 20.f;  // multiples of 1/20
  m(0, 0) = 0.f;
  m(0, 1) = 0.f;
  m(1, 0) = 1.f;
  m(1, 1) = 1.f;
  m(2, 0) = 1.f;
  m(2, 1) = 0.5f;
  return m;
}

// Brute force: test every cell's half-open box, the last row/column closed.
std::map<std::pair<int, int>, std::vector<std::uint32_t>> brute_force_bins(const matrix& u, int g) {
  std::map<std::pair<int, int>, std::vector<std::uint32_t>> cells;
  for (std::size_t i = 0; i < u.shape(0); ++i) {
    int hits = 0;
    for (int iy = 0; iy < g; ++iy)
      for (int ix = 0; ix < g; ++ix) {
        const double x0 = double(ix) / g, x1 = double(ix + 1) / g, y0 = double(iy) / g, y1 = double(iy + 1) / g;
        const bool in_x = u(i, 0) >= x0 && (u(i, 0) < x1 || (ix == g - 1 && u(i, 0) <= 1.0));
        const bool in_y = u(i, 1) >= y0 && (u(i, 1) < y1 || (iy == g - 1 && u(i, 1) <= 1.0));
        if (in_x && in_y) {
          cells[{ix, iy}].push_back(static_cast<std::uint32_t>(i));
          ++hits;
        }
      }
    REQUIRE(hits == 1);  // every point in exactly one cell
  }
  return cells;
}

}  // namespace

TEST_CASE("normalise_layout clips outliers and spans the unit square", "[stages][normalise]") {
  matrix layout = test::random_matrix(1000, 2, 1, -5.f, 5.f);
  layout(3, 0) = 1e6f;   // far outliers must not squash everyone else
  layout(4, 1) = -1e6f;
  const matrix u = normalise_layout(layout);
  CHECK(xt::amin(u)() == 0.f);
  CHECK(xt::amax(u)() == 1.f);
  // Brute force: x is clipped above at p99 + 10% of the p1..p99 range (the outlier),
  // not below (no low outlier on x), then min-max scaled.
  std::vector<double> xs;
  for (std::size_t i = 0; i < 1000; ++i) xs.push_back(layout(i, 0));
  std::sort(xs.begin(), xs.end());
  const double p1 = xs[9] + 0.99 * (xs[10] - xs[9]), p99 = xs[989] + 0.01 * (xs[990] - xs[989]);
  const double hi = p99 + 0.1 * (p99 - p1), lo = xs[0];
  CHECK(u(10, 0) == Approx((layout(10, 0) - lo) / (hi - lo)).margin(1e-5));
  CHECK(u(3, 0) == 1.f);
  CHECK(u(4, 1) == 0.f);

  matrix constant = xt::ones<float>({5, 2});
  CHECK((normalise_layout(constant) == xt::xtensor<float, 2>(xt::full_like(constant, 0.5f))));
}

TEST_CASE("grid binning matches a brute-force count, every point in one cell", "[stages][binning]") {
  const matrix u = awkward_unit_layout(5000, 2);
  for (int g : {1, 3, 20, 37}) {
    const auto level = binning::grid({.grid_size = static_cast<std::size_t>(g), .min_count = 1}).bin(u).at(0);
    const auto expected = brute_force_bins(u, g);
    REQUIRE(level.cells.size() == expected.size());
    std::size_t total = 0;
    for (const auto& c : level.cells) {
      INFO("grid " << g << " cell " << c.ix << "," << c.iy);
      CHECK(c.members == expected.at({int(c.ix), int(c.iy)}));
      total += c.members.size();
    }
    CHECK(total == u.shape(0));
    CHECK(level.samples == u.shape(0));
  }
}

TEST_CASE("grid binning drops cells below the minimum count", "[stages][binning]") {
  const matrix u = awkward_unit_layout(800, 3);
  const auto all = binning::grid({.grid_size = 20, .min_count = 1}).bin(u).at(0);
  const auto kept = binning::grid({.grid_size = 20, .min_count = 4}).bin(u).at(0);
  std::size_t expected = 0;
  for (const auto& c : all.cells) expected += c.members.size() >= 4;
  REQUIRE(expected > 0);
  REQUIRE(expected < all.cells.size());  // the threshold bites on this data
  CHECK(kept.cells.size() == expected);
  for (const auto& c : kept.cells) CHECK(c.members.size() >= 4);
}

TEST_CASE("multi-resolution levels nest exactly at every level", "[stages][binning]") {
  const matrix u = awkward_unit_layout(20000, 4);
  const auto levels = binning::multires_grid({.base_grid = 20, .levels = 4, .min_count = 1}).bin(u);
  REQUIRE(levels.size() == 4);
  CHECK(levels[3].grid == 160);
  for (std::size_t k = 0; k + 1 < levels.size(); ++k) {
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::set<std::uint32_t>> children_union;
    for (const auto& c : levels[k + 1].cells)
      children_union[{c.ix / 2, c.iy / 2}].insert(c.members.begin(), c.members.end());
    REQUIRE(children_union.size() == levels[k].cells.size());
    for (const auto& c : levels[k].cells) {
      const std::set<std::uint32_t> parent(c.members.begin(), c.members.end());
      CHECK(parent == children_union.at({c.ix, c.iy}));
    }
  }
}

TEST_CASE("cell summaries are the means of their members", "[stages][cells]") {
  const matrix u = awkward_unit_layout(600, 5);
  const matrix acts = test::random_matrix(600, 7, 6);
  const matrix attr = test::random_matrix(600, 4, 7, -1.f, 1.f);
  const auto level = binning::grid({.grid_size = 5, .min_count = 1}).bin(u).at(0);
  const auto cells = summarise(level, acts, attr);
  REQUIRE(cells.size() == level.cells.size());
  for (std::size_t c = 0; c < cells.size(); ++c) {
    const auto& members = level.cells[c].members;
    for (std::size_t j = 0; j < 7; ++j) {
      double sum = 0;
      for (auto m : members) sum += acts(m, j);
      CHECK(cells[c].mean_activation[j] == Approx(sum / members.size()).epsilon(1e-5));
    }
    for (std::size_t j = 0; j < 4; ++j) {
      double sum = 0;
      for (auto m : members) sum += attr(m, j);
      CHECK(cells[c].mean_attribution[j] == Approx(sum / members.size()).margin(1e-6));
    }
    CHECK(cells[c].count == members.size());
    CHECK(cells[c].density == Approx(double(members.size()) * 25.0 / 600.0));
  }
  const auto top = cells[0].top_classes(2);
  REQUIRE(top.size() == 2);
  CHECK(top[0].second >= top[1].second);
  CHECK(top[0].second == *std::max_element(cells[0].mean_attribution.begin(), cells[0].mean_attribution.end()));
  const matrix dirs = directions(cells);
  CHECK(dirs.shape(0) == cells.size());
  CHECK(dirs(1, 3) == cells[1].mean_activation[3]);
}

TEST_CASE("filters select by rank and by magnitude", "[stages][filter]") {
  matrix attr = {{0.9f, 0.1f, 0.0f},   // top-1: class 0
                 {0.2f, 0.5f, 0.1f},   // top-1: class 1, positive to 0
                 {-0.3f, 0.1f, 0.0f},  // negative to class 0, top-1: class 1
                 {0.4f, 0.4f, 0.0f},   // tie: numpy's argmax picks class 0
                 {0.6f, 0.7f, 0.0f}};  // top-1: class 1, strongly positive to 0
  CHECK(filter::rank({.cls = 0}).select(attr) == std::vector<std::uint32_t>{0, 3});
  CHECK(filter::rank({.cls = 1}).select(attr) == std::vector<std::uint32_t>{1, 2, 4});
  CHECK(filter::no_filter{}.select(attr) == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
  // Top 3 by attribution to class 0: 0.9, 0.6, 0.4 (positive only, in sample order).
  CHECK(filter::magnitude({.cls = 0, .top_n = 3}).select(attr) == std::vector<std::uint32_t>{0, 3, 4});
  // More room than positive samples: every positive one, never the negative one.
  CHECK(filter::magnitude({.cls = 0, .top_n = 100}).select(attr) == std::vector<std::uint32_t>{0, 1, 3, 4});
  CHECK(filter::magnitude({.cls = 0, .threshold = 0.5f}).select(attr) == std::vector<std::uint32_t>{0, 4});
  CHECK_THROWS_WITH(filter::rank({.cls = 3}).select(attr), Catch::Contains("filter::rank.cls") && Catch::Contains("out of range"));

  // Against brute force on random data.
  const matrix big = test::random_matrix(3000, 10, 8, -1.f, 1.f);
  const auto top = filter::magnitude({.cls = 2, .top_n = 200}).select(big);
  REQUIRE(top.size() == 200);
  std::vector<float> col;
  for (std::size_t i = 0; i < 3000; ++i) col.push_back(big(i, 2));
  std::sort(col.rbegin(), col.rend());
  for (auto id : top) CHECK(big(id, 2) >= col[199]);
}

TEST_CASE("the comparison axis is the scaled, clipped attribution difference", "[stages][compare]") {
  matrix attr = xt::zeros<float>({101, 3});
  for (std::size_t i = 0; i < 101; ++i) {
    attr(i, 0) = static_cast<float>(i) / 100.f;  // differences 0, 0.01, … 1.0
    attr(i, 1) = 0.f;
  }
  attr(100, 0) = 50.f;  // one extreme sample
  const auto x = compare_axis(attr, 0, 1);
  // 99th percentile of |diff| (numpy linear): between the 99th and 100th order statistics.
  const double p99 = 0.99 + 0.0 * (50.0 - 0.99);  // rank 99 exactly → 0.99
  CHECK(x[50] == Approx(0.5 / p99));
  CHECK(x[100] == 1.f);  // clipped
  const auto reversed = compare_axis(attr, 1, 0);
  CHECK(reversed[50] == Approx(-0.5 / p99));
  CHECK(reversed[100] == -1.f);
  CHECK_THROWS_WITH(compare_axis(attr, 0, 7), Catch::Contains("out of range"));
}

TEST_CASE("cells JSON round-trips positions, counts and members", "[stages][json]") {
  test::temp_dir dir;
  const matrix u = awkward_unit_layout(300, 9);
  const matrix acts = test::random_matrix(300, 4, 10);
  const matrix attr = test::random_matrix(300, 3, 11);
  const auto level = binning::grid({.grid_size = 4, .min_count = 1}).bin(u).at(0);
  const auto cells = summarise(level, acts, attr);
  io::write_cells_json(dir / "cells.json", level, cells, {"cat", "dog", "fish"}, {.top_k = 2});
  const auto back = io::read_cells_json(dir / "cells.json");
  CHECK(back.grid == 4);
  CHECK(back.samples == 300);
  REQUIRE(back.cells.size() == level.cells.size());
  for (std::size_t i = 0; i < back.cells.size(); ++i) {
    CHECK(back.cells[i].ix == level.cells[i].ix);
    CHECK(back.cells[i].members == level.cells[i].members);
  }
  const auto j = io::cells_to_json(level, cells, {"cat", "dog", "fish"}, {.top_k = 2});
  const auto& first = j["cells"][0];
  CHECK(first["top"].size() == 2);
  CHECK(first["top"][0]["name"] == std::vector<std::string>{"cat", "dog", "fish"}[first["top"][0]["class"].get<std::size_t>()]);

  std::ofstream(dir / "bad.json") << "{\"grid\": 4, \"samples\": 3, \"cells\": [{\"ix\": 9, \"iy\": 0}]}";
  CHECK_THROWS_WITH(io::read_cells_json(dir / "bad.json"), Catch::Contains("bad.json") && Catch::Contains("outside"));
  std::ofstream(dir / "broken.json") << "{\"grid\": ";
  CHECK_THROWS_WITH(io::read_cells_json(dir / "broken.json"), Catch::Contains("broken.json") && Catch::Contains("not a cells file"));
}
