// The atlas picture: icon placement and density sizing, labels, tiles.
#include <catch2/catch.hpp>

#include <actatlas/render/canvas.hpp>

#include "test_tools.hpp"

using namespace actatlas;

namespace {
io::image_u8 solid_icon(int side, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  io::image_u8 icon{side, side, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(side) * side * 3)};
  for (std::size_t p = 0; p < icon.pixels.size(); p += 3) {
    icon.pixels[p] = r;
    icon.pixels[p + 1] = g;
    icon.pixels[p + 2] = b;
  }
  return icon;
}
const std::uint8_t* pixel(const io::image_u8& im, int x, int y) {
  return im.pixels.data() + (static_cast<std::size_t>(y) * im.width + x) * im.channels;
}
}  // namespace

TEST_CASE("icon sizes follow the article's density rule", "[canvas]") {
  CHECK(render::icon_fraction(1.0, render::icon_sizing::density) == 1.0);
  CHECK(render::icon_fraction(4.0, render::icon_sizing::density) == 1.0);
  CHECK(render::icon_fraction(0.25, render::icon_sizing::density) == Approx(0.5));
  CHECK(render::icon_fraction(0.25, render::icon_sizing::log_density) == Approx(std::log2(1.25)));
  CHECK(render::icon_fraction(0.01, render::icon_sizing::full) == 1.0);
}

TEST_CASE("compose_atlas places each icon in its cell, sized and labelled", "[canvas]") {
  grid_level level;
  level.grid = 2;
  level.samples = 8;
  level.cells = {{0, 0, {0, 1, 2, 3, 4, 5}}, {1, 1, {6, 7}}};
  // Densities: 6·4/8 = 3 (full size) and 2·4/8 = 1 (full size); make the second sparser.
  std::vector<cell_summary> cells(2);
  cells[0] = {0, 0, 6, 3.0, {}, {0.1f, 0.9f}};
  cells[1] = {1, 1, 2, 0.25, {}, {0.8f, 0.2f}};
  const std::vector<io::image_u8> icons = {solid_icon(16, 200, 0, 0), solid_icon(16, 0, 0, 200)};
  const auto atlas = render::compose_atlas(level, cells, icons, {"alpha", "beta"}, {.cell_px = 40});
  REQUIRE(atlas.width == 80);
  REQUIRE(atlas.channels == 3);
  // Cell (0,0): full-size red icon; its label band at the bottom carries dark text.
  CHECK(pixel(atlas, 20, 5)[0] == 200);
  CHECK(pixel(atlas, 20, 5)[2] == 0);
  // Cell (1,1): half-size blue icon (density 0.25 → side 20), centred: 10 px of white around it.
  CHECK(pixel(atlas, 40 + 20, 40 + 12)[2] == 200);
  CHECK(pixel(atlas, 40 + 5, 40 + 20)[0] == 255);
  CHECK(pixel(atlas, 40 + 5, 40 + 20)[2] == 255);
  // Empty cells stay white.
  CHECK(pixel(atlas, 60, 20)[1] == 255);
  // The first cell's label ("beta", its top class) drew black pixels inside its icon band.
  int dark = 0;
  for (int y = 28; y < 40; ++y)
    for (int x = 0; x < 40; ++x) dark += pixel(atlas, x, y)[0] == 0 && pixel(atlas, x, y)[1] == 0;
  CHECK(dark > 10);
  // The sparse icon is too small (0.5 of a cell ≥ 0.35) — it is labelled too: "alpha".
  int dark2 = 0;
  for (int y = 40; y < 80; ++y)
    for (int x = 40; x < 80; ++x) dark2 += pixel(atlas, x, y)[0] == 0 && pixel(atlas, x, y)[2] == 0;
  CHECK(dark2 > 10);
}

TEST_CASE("labels are shortened to fit", "[canvas]") {
  CHECK(render::fit_label("tench, Tinca tinca", 200, 1) == "tench");
  const auto cut = render::fit_label("a very long class name indeed", 40, 1);
  CHECK(io::text_width(cut, 1) <= 40);
  CHECK(cut.back() == '.');
}

TEST_CASE("tiles cover the picture exactly", "[canvas]") {
  io::image_u8 im{100, 70, 3, std::vector<std::uint8_t>(100 * 70 * 3)};
  for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<std::uint8_t>(i * 7);
  const auto tiles = render::cut_tiles(im, 32);
  CHECK(tiles.size() == 4 * 3);
  std::size_t area = 0;
  for (const auto& t : tiles) {
    area += static_cast<std::size_t>(t.image.width) * t.image.height;
    CHECK(pixel(t.image, 0, 0)[1] == pixel(im, t.col * 32, t.row * 32)[1]);
  }
  CHECK(area == 100u * 70u);
}
