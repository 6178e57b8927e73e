/// @file io/text.hpp
/// Text labels drawn into an 8-bit RGB or RGBA buffer: class names on a contact sheet,
/// captions on an atlas. The glyphs are stb_easy_font's (a tiny vector font made of
/// axis-aligned quads), which we rasterise ourselves at an integer scale so that every
/// stroke lands on whole pixels and stays crisp: no font file, no anti-aliasing blur.
///
/// At scale 1 a capital is 7 pixels tall and a line is `text_line_height(1)` = 12 pixels.
///
/// @code
/// std::vector<std::uint8_t> rgb(200 * 40 * 3, 255);
/// actatlas::io::draw_text(rgb.data(), 200, 40, 3, 4, 4, "boat", {0, 0, 0}, 2);
/// @endcode
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#ifndef ACTATLAS_STB_EASY_FONT_INCLUDED
#define ACTATLAS_STB_EASY_FONT_INCLUDED
#include <stb/stb_easy_font.h>
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace actatlas::io {

//! An 8-bit colour; alpha is used only for RGBA buffers.
struct text_color {
  std::uint8_t r = 0, g = 0, b = 0, a = 255;
};

namespace detail {
//! stb_easy_font's vertex: x, y, z as floats, then 4 colour bytes (16 bytes).
struct easy_font_vertex {
  float x, y, z;
  std::uint8_t color[4];
};
static_assert(sizeof(easy_font_vertex) == 16, "stb_easy_font writes 16-byte vertices");

//! The quads of `text` at the origin, unscaled (each quad = 4 vertices).
inline std::vector<easy_font_vertex> easy_font_quads(std::string_view text) {
  std::string copy(text);  // stb_easy_font takes a non-const char*
  // ~270 bytes of vertices per character is the documented worst case; be generous.
  std::vector<easy_font_vertex> buffer(copy.size() * 80 + 64);
  unsigned char white[4] = {255, 255, 255, 255};
  const int quads = stb_easy_font_print(0.0f, 0.0f, copy.data(), white, buffer.data(),
                                        static_cast<int>(buffer.size() * sizeof(easy_font_vertex)));
  buffer.resize(static_cast<std::size_t>(quads) * 4);
  return buffer;
}
}  // namespace detail

//! Width in pixels of `text` (its longest line) drawn at `scale`.
inline int text_width(std::string_view text, int scale = 1) {
  std::string copy(text);
  return stb_easy_font_width(copy.data()) * scale;
}

//! Height in pixels of one line of text at `scale` (stb_easy_font's line pitch).
inline int text_line_height(int scale = 1) { return 12 * scale; }

//! Draws `text` (newlines start new lines) with its top-left corner at (`x`, `y`) into a
//! `width`×`height` buffer of `channels` (3 or 4) bytes per pixel, each font unit becoming
//! a `scale`×`scale` block. Pixels outside the buffer are clipped. Returns the number of
//! pixels written (0 when the text falls entirely outside).
inline std::size_t draw_text(std::uint8_t* pixels, int width, int height, int channels, int x, int y,
                             std::string_view text, text_color color = {}, int scale = 1) {
  if (scale < 1) scale = 1;
  std::size_t written = 0;
  const auto vertices = detail::easy_font_quads(text);
  for (std::size_t q = 0; q + 3 < vertices.size(); q += 4) {
    float x0 = vertices[q].x, x1 = x0, y0 = vertices[q].y, y1 = y0;
    for (std::size_t k = 1; k < 4; ++k) {
      x0 = std::min(x0, vertices[q + k].x);
      x1 = std::max(x1, vertices[q + k].x);
      y0 = std::min(y0, vertices[q + k].y);
      y1 = std::max(y1, vertices[q + k].y);
    }
    // Quads lie on whole font units; scaling by an integer keeps them on whole pixels.
    const int px0 = std::max(0, x + static_cast<int>(std::lround(x0)) * scale);
    const int px1 = std::min(width, x + static_cast<int>(std::lround(x1)) * scale);
    const int py0 = std::max(0, y + static_cast<int>(std::lround(y0)) * scale);
    const int py1 = std::min(height, y + static_cast<int>(std::lround(y1)) * scale);
    for (int py = py0; py < py1; ++py)
      for (int px = px0; px < px1; ++px) {
        std::uint8_t* p = pixels + (static_cast<std::size_t>(py) * width + px) * channels;
        p[0] = color.r;
        p[1] = color.g;
        p[2] = color.b;
        if (channels == 4) p[3] = color.a;
        ++written;
      }
  }
  return written;
}

}  // namespace actatlas::io
