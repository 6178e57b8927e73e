/// @file render/canvas.hpp
/// The picture a person looks at: one grid level's icons placed on the grid, each
/// sized by its cell's density as in the article's viewer, with the cell's top class
/// written under it.
///
/// Icon side = cell · min(1, √(n·G²/N)) (`icon_sizing::density`, the article's), or
/// cell · min(1, log2(1 + n·G²/N)) (`icon_sizing::log_density`, which lets sparse cells
/// stay visible), or the full cell (`icon_sizing::full`). n·G²/N is the cell's density:
/// 1 when the cell holds its share of a uniform spread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../cells.hpp"
#include "../concepts/binning.hpp"
#include "../error.hpp"
#include "../io/image_folder.hpp"
#include "../io/png.hpp"
#include "../io/text.hpp"

namespace actatlas::render {

enum class icon_sizing { density, log_density, full };

struct canvas_options {
  int cell_px = 80;                             //!< pixels per cell side in the picture
  icon_sizing sizing = icon_sizing::density;
  bool transparent = false;                     //!< RGBA with a transparent background instead of white RGB
  bool labels = true;                           //!< write each cell's top class under its icon
  int label_scale = 1;                          //!< stb_easy_font units per pixel block
  double label_min_side = 0.35;                 //!< no label on icons smaller than this fraction of a cell
};

//! The fraction of a cell an icon's side covers.
inline double icon_fraction(double density, icon_sizing sizing) {
  switch (sizing) {
    case icon_sizing::density: return std::min(1.0, std::sqrt(std::max(0.0, density)));
    case icon_sizing::log_density: return std::min(1.0, std::log2(1.0 + std::max(0.0, density)));
    case icon_sizing::full: return 1.0;
  }
  return 1.0;
}

//! `icon` (RGB or RGBA, square) scaled to side × side RGB, area-averaged when shrinking.
inline io::image_u8 scale_icon(const io::image_u8& icon, int side) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(icon.width) * icon.height * 3);
  for (std::size_t p = 0; p < static_cast<std::size_t>(icon.width) * icon.height; ++p)
    for (int c = 0; c < 3; ++c) rgb[p * 3 + c] = icon.pixels[p * icon.channels + std::min(c, icon.channels - 1)];
  const auto planes = io::resize_and_crop(rgb.data(), icon.height, icon.width, side, side);
  io::image_u8 out{side, side, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(side) * side * 3)};
  const std::size_t plane = static_cast<std::size_t>(side) * side;
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c)
      out.pixels[p * 3 + c] = static_cast<std::uint8_t>(std::lround(planes.pixels[c * plane + p] * 255.0f));
  return out;
}

//! A label that fits `max_px`: the name cut at its first comma (ImageNet names list
//! synonyms), then shortened with a trailing '.' until it fits.
inline std::string fit_label(std::string name, int max_px, int scale) {
  if (auto comma = name.find(','); comma != std::string::npos) name.resize(comma);
  if (io::text_width(name, scale) <= max_px) return name;
  while (name.size() > 1 && io::text_width(name + ".", scale) > max_px) name.pop_back();
  return name + ".";
}

//! Composes one level. `icons[i]` belongs to `cells[i]`; `class_names` label the cells'
//! top classes (by mean attribution; no labels when cells carry no attributions).
inline io::image_u8 compose_atlas(const grid_level& level, const std::vector<cell_summary>& cells,
                                  const std::vector<io::image_u8>& icons, const std::vector<std::string>& class_names,
                                  const canvas_options& o = {}) {
  if (icons.size() != cells.size())
    throw input_error("icons", std::to_string(icons.size()) + " icons for " + std::to_string(cells.size()) + " cells");
  const int g = static_cast<int>(level.grid), cell = o.cell_px, side_px = g * cell;
  const int channels = o.transparent ? 4 : 3;
  io::image_u8 canvas{side_px, side_px, channels,
                      std::vector<std::uint8_t>(static_cast<std::size_t>(side_px) * side_px * channels,
                                                o.transparent ? 0 : 255)};
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    const int side = std::max(1, static_cast<int>(std::lround(cell * icon_fraction(c.density, o.sizing))));
    const auto scaled = scale_icon(icons[i], side);
    const int x0 = static_cast<int>(c.ix) * cell + (cell - side) / 2;
    const int y0 = static_cast<int>(c.iy) * cell + (cell - side) / 2;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        std::uint8_t* dst = canvas.pixels.data() + (static_cast<std::size_t>(y0 + y) * side_px + x0 + x) * channels;
        const std::uint8_t* src = scaled.pixels.data() + (static_cast<std::size_t>(y) * side + x) * 3;
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
        if (channels == 4) dst[3] = 255;
      }
    if (!o.labels || c.mean_attribution.empty() || side < o.label_min_side * cell) continue;
    const auto top = c.top_classes(1);
    if (top.empty() || top[0].first >= class_names.size()) continue;
    // The label sits on a white band at the bottom of the icon so that it reads on any icon.
    const std::string text = fit_label(class_names[top[0].first], side - 2, o.label_scale);
    const int band = io::text_line_height(o.label_scale) - 2 * o.label_scale;
    const int by = y0 + side - band;
    for (int y = std::max(by, 0); y < y0 + side; ++y)
      for (int x = x0; x < x0 + side; ++x) {
        std::uint8_t* dst = canvas.pixels.data() + (static_cast<std::size_t>(y) * side_px + x) * channels;
        for (int k = 0; k < 3; ++k) dst[k] = static_cast<std::uint8_t>(255 - (255 - dst[k]) / 4);  // whiten, keep a hint of the icon
      }
    io::draw_text(canvas.pixels.data(), side_px, side_px, channels, x0 + 1, by + o.label_scale, text, {0, 0, 0, 255},
                  o.label_scale);
  }
  return canvas;
}

//! Cuts `image` into tile × tile pieces (the last row and column may be smaller), as
//! (column, row, piece), for viewers that load only what is on screen.
struct tile {
  int col = 0, row = 0;
  io::image_u8 image;
};
inline std::vector<tile> cut_tiles(const io::image_u8& image, int tile_px) {
  std::vector<tile> out;
  for (int ty = 0; ty * tile_px < image.height; ++ty)
    for (int tx = 0; tx * tile_px < image.width; ++tx) {
      const int w = std::min(tile_px, image.width - tx * tile_px), h = std::min(tile_px, image.height - ty * tile_px);
      tile t{tx, ty, {w, h, image.channels, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * image.channels)}};
      for (int y = 0; y < h; ++y)
        std::copy_n(image.pixels.data() + ((static_cast<std::size_t>(ty) * tile_px + y) * image.width + tx * tile_px) * image.channels,
                    static_cast<std::size_t>(w) * image.channels,
                    t.image.pixels.data() + static_cast<std::size_t>(y) * w * image.channels);
      out.push_back(std::move(t));
    }
  return out;
}

}  // namespace actatlas::render
