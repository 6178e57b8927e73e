// Samplers: positions in range, edges excluded, reproducible, and roughly uniform.
#include <catch2/catch.hpp>

#include <actatlas/sampler/all_positions.hpp>
#include <actatlas/sampler/center_position.hpp>
#include <actatlas/sampler/random_position.hpp>

#include <map>
#include <set>

using actatlas::position;
namespace sampler = actatlas::sampler;

TEST_CASE("random_position: one position per image, inside the margin", "[sampler]") {
  const sampler::random_position s;  // margin 1
  REQUIRE(s.opts().margin == 1);
  std::set<std::int32_t> ys, xs;
  for (std::uint64_t image = 0; image < 2000; ++image) {
    const auto p = s.positions(image, 14, 10);
    REQUIRE(p.size() == 1);
    REQUIRE(p[0].y >= 1);
    REQUIRE(p[0].y <= 12);
    REQUIRE(p[0].x >= 1);
    REQUIRE(p[0].x <= 8);
    ys.insert(p[0].y);
    xs.insert(p[0].x);
  }
  // Every allowed row and column is reached, none outside.
  REQUIRE(ys.size() == 12);
  REQUIRE(xs.size() == 8);
}

TEST_CASE("random_position: a pure function of (seed, image, h, w)", "[sampler]") {
  const sampler::random_position a({.seed = 42}), b({.seed = 42}), c({.seed = 43});
  int same_as_other_seed = 0;
  // Asked in a different order (as a resumed collection would), the answers are the same.
  for (std::uint64_t image = 500; image-- > 0;) REQUIRE(a.positions(image, 28, 28) == b.positions(image, 28, 28));
  for (std::uint64_t image = 0; image < 500; ++image)
    same_as_other_seed += a.positions(image, 28, 28) == c.positions(image, 28, 28);
  // 26×26 allowed positions: two seeds agree on about 500/676 images by chance.
  REQUIRE(same_as_other_seed < 10);
  // Different map sizes give independent draws.
  int same_as_other_size = 0;
  for (std::uint64_t image = 0; image < 500; ++image)
    same_as_other_size += a.positions(image, 28, 28) == a.positions(image, 28, 29);
  REQUIRE(same_as_other_size < 10);
}

TEST_CASE("random_position: uniform over the allowed cells", "[sampler]") {
  const sampler::random_position s({.seed = 3, .margin = 2});
  std::map<std::pair<int, int>, int> counts;
  const int n = 36000;  // 6×6 allowed cells on a 10×10 map: 1000 expected in each
  for (int image = 0; image < n; ++image) {
    const auto p = s.positions(static_cast<std::uint64_t>(image), 10, 10)[0];
    ++counts[{p.y, p.x}];
  }
  REQUIRE(counts.size() == 36);
  double chi2 = 0;
  for (const auto& [cell, count] : counts) {
    REQUIRE(cell.first >= 2);
    REQUIRE(cell.first <= 7);
    chi2 += (count - 1000.0) * (count - 1000.0) / 1000.0;
  }
  // 35 degrees of freedom: the 99.9th percentile is 66.6.
  REQUIRE(chi2 < 66.6);
}

TEST_CASE("random_position: tiny maps still yield a sample", "[sampler]") {
  const sampler::random_position s({.margin = 3});
  REQUIRE(s.positions(0, 1, 1) == std::vector<position>{{0, 0}});
  for (std::uint64_t i = 0; i < 50; ++i) {
    const auto p = s.positions(i, 3, 5)[0];  // margin shrinks to 1 (rows) and 2 (columns): the middle cell
    REQUIRE(p.y == 1);
    REQUIRE(p.x == 2);
  }
  REQUIRE(s.positions(0, 0, 5).empty());
}

TEST_CASE("center_position and all_positions", "[sampler]") {
  const sampler::center_position c;
  REQUIRE(c.positions(9, 7, 7) == std::vector<position>{{3, 3}});
  REQUIRE(c.positions(9, 14, 10) == std::vector<position>{{7, 5}});

  const sampler::all_positions all;
  const auto p = all.positions(0, 3, 4);
  REQUIRE(p.size() == 12);
  REQUIRE(p.front() == position{0, 0});
  REQUIRE(p[5] == position{1, 1});
  REQUIRE(p.back() == position{2, 3});

  const sampler::all_positions inner({.margin = 1});
  const auto q = inner.positions(0, 4, 5);
  REQUIRE(q.size() == 6);
  REQUIRE(q.front() == position{1, 1});
  REQUIRE(q.back() == position{2, 3});
}
