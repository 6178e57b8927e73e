/// @file render/compare_picture.hpp
/// The picture of a two-class comparison: the atlas under a header band that names the
/// sides, "<- A" on the left and "B ->" on the right, as the article shows it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../io/png.hpp"
#include "../io/text.hpp"

namespace actatlas::render {

//! `atlas` under a white header band holding "← A" at the left and "B →" at the right.
inline io::image_u8 compare_picture(const io::image_u8& atlas, const std::string& a, const std::string& b) {
  const int scale = std::max(1, atlas.width / 400), band = io::text_line_height(scale) + 8 * scale;
  io::image_u8 out{atlas.width, atlas.height + band, 3,
                   std::vector<std::uint8_t>(static_cast<std::size_t>(atlas.width) * (atlas.height + band) * 3, 255)};
  for (int y = 0; y < atlas.height; ++y)
    for (int x = 0; x < atlas.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixels[(static_cast<std::size_t>(y + band) * out.width + x) * 3 + c] =
            atlas.pixels[(static_cast<std::size_t>(y) * atlas.width + x) * atlas.channels + std::min(c, atlas.channels - 1)];
  const std::string left = "<- " + a, right = b + " ->", middle = "|";
  io::draw_text(out.pixels.data(), out.width, out.height, 3, 4 * scale, 4 * scale, left, {180, 40, 40, 255}, scale);
  io::draw_text(out.pixels.data(), out.width, out.height, 3, out.width - io::text_width(right, scale) - 4 * scale, 4 * scale,
                right, {40, 60, 180, 255}, scale);
  io::draw_text(out.pixels.data(), out.width, out.height, 3, out.width / 2, 4 * scale, middle, {120, 120, 120, 255}, scale);
  return out;
}
}  // namespace actatlas::render
