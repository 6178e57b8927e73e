/// @file render/dataset_picture.hpp
/// The picture of a dataset comparison (torch/compare_datasets.hpp): one level's atlas
/// picture with each cell's background in a diverging colour, orange where set A holds a
/// larger share than set B, purple where B does, strong only where the cell is significant
/// (grey-tinted otherwise); the cells listed in the summary are numbered A1…, B1…; a legend
/// band above names the two sets, their sample counts and what the colours mean.
///
/// Only the white background of a cell is tinted (the icons stay as they were drawn), and
/// significant cells get a frame in their side's colour, so the shift reads at a glance
/// and the icons still say what the cell is. The colours are ColorBrewer's PuOr ends,
/// which stay apart for the common colour-vision deficiencies.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../io/png.hpp"
#include "../io/text.hpp"

namespace actatlas::render {

//! What the picture shows of one cell.
struct compared_cell {
  std::uint32_t ix = 0, iy = 0;
  double log2_ratio = 0;
  int side = 0;        //!< +1 / −1 significant for A / B, 0 not significant
  std::string mark;    //!< "A1", "B3", … for the listed cells, else empty
};

//! The legend's words.
struct dataset_legend {
  std::string name_a, name_b;
  std::size_t samples_a = 0, samples_b = 0;
  double alpha = 0.05;
  double full_at = 2.0;  //!< |log2 ratio| at which the colour is full (4× the share)
};

namespace dataset_picture_detail {
struct rgb {
  double r, g, b;
};
inline constexpr rgb colour_a{230, 97, 1};    // PuOr orange
inline constexpr rgb colour_b{94, 60, 153};   // PuOr purple
inline constexpr rgb colour_ns{150, 150, 150};

inline rgb mix(rgb from, rgb to, double t) {
  return {from.r + (to.r - from.r) * t, from.g + (to.g - from.g) * t, from.b + (to.b - from.b) * t};
}

inline void put(io::image_u8& img, int x, int y, rgb c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  auto* p = &img.pixels[(static_cast<std::size_t>(y) * img.width + x) * 3];
  p[0] = static_cast<std::uint8_t>(std::lround(c.r));
  p[1] = static_cast<std::uint8_t>(std::lround(c.g));
  p[2] = static_cast<std::uint8_t>(std::lround(c.b));
}

inline void fill(io::image_u8& img, int x0, int y0, int w, int h, rgb c) {
  for (int y = y0; y < y0 + h; ++y)
    for (int x = x0; x < x0 + w; ++x) put(img, x, y, c);
}
}  // namespace dataset_picture_detail

//! The background colour of a cell: its side's colour at strength |log2 ratio| / full_at
//! (at least a third, so that a significant cell never looks unmarked), or a pale grey
//! whose strength follows the ratio when the cell is not significant.
inline std::array<std::uint8_t, 3> comparison_colour(double log2_ratio, int side, double full_at = 2.0) {
  namespace detail = dataset_picture_detail;
  const double t = std::clamp(std::abs(log2_ratio) / full_at, 0.0, 1.0);
  const detail::rgb white{255, 255, 255};
  detail::rgb c = side > 0   ? detail::mix(white, detail::colour_a, std::max(t, 1.0 / 3))
                  : side < 0 ? detail::mix(white, detail::colour_b, std::max(t, 1.0 / 3))
                             : detail::mix(white, detail::colour_ns, 0.35 * t);
  return {static_cast<std::uint8_t>(std::lround(c.r)), static_cast<std::uint8_t>(std::lround(c.g)),
          static_cast<std::uint8_t>(std::lround(c.b))};
}

//! `atlas` (one level's picture, `grid` cells a side) with the comparison drawn over it.
inline io::image_u8 dataset_comparison_picture(const io::image_u8& atlas, std::size_t grid, const std::vector<compared_cell>& cells,
                                               const dataset_legend& legend) {
  namespace detail = dataset_picture_detail;
  using detail::rgb;
  const int cell_px = std::max(1, atlas.width / static_cast<int>(std::max<std::size_t>(grid, 1)));
  const int scale = std::max(1, atlas.width / 500);
  const int line = io::text_line_height(scale);
  const int band = 5 * line + 10 * scale;
  const int width = std::max(atlas.width, 360 * scale);
  io::image_u8 out{width, atlas.height + band, 3,
                   std::vector<std::uint8_t>(static_cast<std::size_t>(width) * (atlas.height + band) * 3, 255)};
  for (int y = 0; y < atlas.height; ++y)
    for (int x = 0; x < atlas.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixels[(static_cast<std::size_t>(y + band) * width + x) * 3 + c] =
            atlas.pixels[(static_cast<std::size_t>(y) * atlas.width + x) * atlas.channels + std::min(c, atlas.channels - 1)];

  // Cells: tint the white background, frame the significant ones, number the listed ones.
  const int frame = std::max(2, cell_px / 20);
  for (const auto& c : cells) {
    const auto colour = comparison_colour(c.log2_ratio, c.side, legend.full_at);
    const rgb tint{double(colour[0]), double(colour[1]), double(colour[2])};
    const int x0 = static_cast<int>(c.ix) * cell_px, y0 = band + static_cast<int>(c.iy) * cell_px;
    for (int y = y0; y < y0 + cell_px; ++y)
      for (int x = x0; x < x0 + cell_px; ++x) {
        if (x >= width || y >= out.height) continue;
        auto* p = &out.pixels[(static_cast<std::size_t>(y) * width + x) * 3];
        if (p[0] >= 245 && p[1] >= 245 && p[2] >= 245) detail::put(out, x, y, tint);
      }
    if (c.side != 0) {
      const rgb edge = c.side > 0 ? detail::colour_a : detail::colour_b;
      detail::fill(out, x0, y0, cell_px, frame, edge);
      detail::fill(out, x0, y0 + cell_px - frame, cell_px, frame, edge);
      detail::fill(out, x0, y0, frame, cell_px, edge);
      detail::fill(out, x0 + cell_px - frame, y0, frame, cell_px, edge);
    }
    if (!c.mark.empty()) {
      const int ms = std::max(1, cell_px / 40);
      const int w = io::text_width(c.mark, ms) + 4 * ms, h = io::text_line_height(ms);
      detail::fill(out, x0 + frame, y0 + frame, w, h, {255, 255, 255});
      const rgb ink = c.side > 0 ? detail::colour_a : c.side < 0 ? detail::colour_b : rgb{60, 60, 60};
      io::draw_text(out.pixels.data(), width, out.height, 3, x0 + frame + 2 * ms, y0 + frame + ms, c.mark,
                    {static_cast<std::uint8_t>(ink.r), static_cast<std::uint8_t>(ink.g), static_cast<std::uint8_t>(ink.b), 255}, ms);
    }
  }

  // Legend: two swatches naming the sets, the colour bar, what saturation means.
  const int pad = 5 * scale, sw = line;
  auto text = [&](int x, int y, const std::string& s, rgb ink) {
    io::draw_text(out.pixels.data(), width, out.height, 3, x, y, s,
                  {static_cast<std::uint8_t>(ink.r), static_cast<std::uint8_t>(ink.g), static_cast<std::uint8_t>(ink.b), 255}, scale);
  };
  const std::string a = "A-heavy: " + legend.name_a + " (" + std::to_string(legend.samples_a) + " samples)";
  const std::string b = "B-heavy: " + legend.name_b + " (" + std::to_string(legend.samples_b) + " samples)";
  detail::fill(out, pad, pad, sw, sw - 2 * scale, detail::colour_a);
  text(pad + sw + pad, pad + scale, a, {20, 20, 20});
  detail::fill(out, pad, pad + line, sw, sw - 2 * scale, detail::colour_b);
  text(pad + sw + pad, pad + line + scale, b, {20, 20, 20});
  // The bar: B's full colour at the left, white in the middle, A's at the right.
  const int bar_w = std::min(width - 2 * pad, 200 * scale), bar_y = pad + 2 * line + 2 * scale;
  for (int x = 0; x < bar_w; ++x) {
    const double r = (2.0 * x / std::max(1, bar_w - 1) - 1.0) * legend.full_at;
    const auto c = comparison_colour(r, r > 0 ? 1 : r < 0 ? -1 : 0, legend.full_at);
    detail::fill(out, pad + x, bar_y, 1, line - 4 * scale, {double(c[0]), double(c[1]), double(c[2])});
  }
  char range[160];
  std::snprintf(range, sizeof range, "log2 share ratio -%.0f .. 0 .. +%.0f", legend.full_at, legend.full_at);
  text(pad + bar_w + pad, bar_y + scale, range, {20, 20, 20});
  char note[200];
  std::snprintf(note, sizeof note, "strong colour + frame: q < %.2g, grey: not significant", legend.alpha);
  text(pad, bar_y + line, note, {70, 70, 70});
  text(pad, bar_y + 2 * line, "(two-sided exact binomial test per cell, Benjamini-Hochberg)", {70, 70, 70});
  return out;
}

}  // namespace actatlas::render
