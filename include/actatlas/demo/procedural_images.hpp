/// @file demo/procedural_images.hpp
/// The demo image set: 16 classes drawn procedurally, so that the demo model and every
/// end-to-end test run with no download. The classes are built the way natural images
/// are, so that an atlas of a model trained on them tells the article's story:
///
/// - **shared backgrounds**: boat, fish and lifebuoy share water; ball, flower and zebra
///   share grass; sun, kite, flag and sign share sky (a model must look past the
///   background to tell them apart, and an atlas shows background regions shared by classes);
/// - **shared shapes in different contexts**: a disc is a ball on grass, a sun in the sky,
///   a lifebuoy (as a ring) on water, a moon at night; a star is a starfish on sand and a
///   star at night; rows of glyphs are a page on a desk and a sign in the sky; the cross
///   is a flag's and a kite's spars; rings are a car's wheels and a lifebuoy;
/// - **textures**: stripes (zebra), checks, speckle (sand, grass), waves (water), brick,
///   rows of glyphs (page, sign).
///
/// Every image varies in colours, sizes, positions, rotations and noise, and is fixed by
/// (seed, class, index): `generate(c, seed, i)` returns the same pixels on every run.
///
/// @code
/// auto img = actatlas::demo::generate(actatlas::demo::class_index("boat"), 7, 0);  // 64×64 RGB
/// actatlas::demo::write_folder("demo-images", 50, 7);   // demo-images/boat/boat_0000.png, ...
/// actatlas::demo::write_contact_sheet("sheet.png", 8, 7);
/// @endcode
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"
#include "../io/png.hpp"
#include "../io/text.hpp"
#include "../progress.hpp"
#include "detail/raster.hpp"
#include "detail/scenes.hpp"

namespace actatlas::demo {

//! One class of the image set.
struct image_class {
  std::string_view name;
  std::string_view description;  //!< one line: what is drawn
  std::string_view background;   //!< the background it shares with other classes
};

//! The classes, in logit order. Changing them changes every demo model: bump
//! `generator_version` when a class or a painter changes.
inline constexpr std::array<image_class, 16> image_classes{{
    {"boat", "a hull with a mast and sails on the water line, sky above", "water + sky"},
    {"fish", "an oval fish with tail, fin and eye, any direction, in water", "water"},
    {"lifebuoy", "a red-and-white ring floating on water", "water"},
    {"ball", "a football, beach ball or tennis-like ball with a shadow, on grass", "grass"},
    {"flower", "one to three flowers, petals around a centre on a stem, on grass", "grass"},
    {"zebra", "a striped four-legged animal on grass", "grass"},
    {"sun", "a yellow disc with a crown of rays in the sky", "sky"},
    {"kite", "a two-coloured four-sided kite with spars and a tail in the sky", "sky"},
    {"flag", "a flag with a Nordic cross on a pole, in the sky", "sky"},
    {"sign", "a panel with rows of glyphs on a post, in the sky", "sky"},
    {"starfish", "a dotted five-armed star on sand", "sand"},
    {"night", "small stars and sometimes a crescent moon in a dark sky", "night"},
    {"car", "a car with a cabin, windows and two wheels on a road", "road"},
    {"brick", "a brick wall: rows of offset bricks and mortar", "texture"},
    {"checks", "a checkerboard in two colours, any angle and cell size", "texture"},
    {"page", "a sheet of paper with rows of glyphs, on a wooden desk", "desk"},
}};

//! Bumped whenever the pictures change, so cached demo models trained on older pictures
//! are retrained rather than reused.
inline constexpr int generator_version = 1;

//! The default image side in pixels (the demo model's input size).
inline constexpr int default_image_size = 64;

inline constexpr std::size_t class_count() { return image_classes.size(); }

//! The class names, in logit order.
inline std::vector<std::string> class_names() {
  std::vector<std::string> names;
  for (const auto& c : image_classes) names.emplace_back(c.name);
  return names;
}

//! The index of class `name`; input_error listing the classes when there is none.
inline std::size_t class_index(std::string_view name) {
  for (std::size_t i = 0; i < image_classes.size(); ++i)
    if (image_classes[i].name == name) return i;
  std::string known;
  for (const auto& c : image_classes) known += (known.empty() ? "" : ", ") + std::string(c.name);
  throw input_error(std::string(name), "no such demo class (classes: " + known + ")");
}

namespace detail {
using namespace ::actatlas::detail;

inline void paint_class(std::size_t cls, scene& s) {
  const double u = s.u, S = s.size();
  demo_rng& r = s.rng;
  switch (cls) {
    case 0: {  // boat
      const double horizon = r.uniform(26, 40) * u;
      paint_sky(s, horizon + 1, 2);
      paint_water(s, horizon);
      const double half = r.uniform(10, 18);
      paint_boat(s, placement{{r.uniform(half * 0.8, 64 - half * 0.8) * u, horizon + r.uniform(2, 8) * u},
                              r.uniform(-0.15, 0.15), half * u});
      break;
    }
    case 1: {  // fish
      paint_water(s, 0);
      const int n = r.chance(0.3) ? 2 : 1;
      for (int k = 0; k < n; ++k) {
        const double half = r.uniform(9, 18) / (n == 2 ? 1.3 : 1.0);
        const double angle = r.uniform(-0.5, 0.5) + (r.chance(0.5) ? demo_pi : 0);
        paint_fish(s, placement{s.position(half * 0.9), angle, half * u});
      }
      break;
    }
    case 2: {  // lifebuoy
      paint_water(s, 0);
      const double radius = r.uniform(9, 17);
      const placement at{s.position(radius * 0.9), r.uniform(0, demo_pi), radius * u};
      const int segments = r.chance(0.5) ? 4 : 6;
      const rgbf red = hsv(r.uniform(-0.03, 0.04), r.uniform(0.75, 0.95), r.uniform(0.75, 0.95));
      s.c.paint_shape(at, 1.4, [](vec2 p) { return sd_ring(p, 0.75, 0.3); }, [&](vec2 p) {
        const vec2 q = at.to_local(p);
        const double a = std::atan2(q.y, q.x) + demo_pi;
        return static_cast<int>(a / (2 * demo_pi) * segments) % 2 ? rgbf{0.96f, 0.96f, 0.96f} : red;
      });
      break;
    }
    case 3: {  // ball
      paint_grass(s);
      const double radius = r.uniform(8, 16);
      paint_ball(s, placement{s.position(radius), 0, radius * u});
      break;
    }
    case 4: {  // flower
      paint_grass(s);
      const int n = r.integer(1, 3);
      for (int k = 0; k < n; ++k) {
        const double radius = r.uniform(7, 13) / (n > 1 ? 1.3 : 1.0);
        paint_flower(s, placement{s.position(radius), r.uniform(-0.3, 0.3), radius * u});
      }
      break;
    }
    case 5: {  // zebra
      paint_grass(s);
      const double half = r.uniform(13, 19);
      paint_zebra(s, placement{{r.uniform(half, 64 - half) * u, r.uniform(half * 0.8, 64 - half * 0.9) * u},
                               r.uniform(-0.2, 0.2), half * u},
                  r.chance(0.5));
      break;
    }
    case 6: {  // sun
      paint_sky(s, S, 2);
      const double radius = r.uniform(6, 11);
      paint_sun(s, placement{s.position(radius * 1.2), 0, radius * u});
      break;
    }
    case 7: {  // kite
      paint_sky(s, S, 2);
      const double half = r.uniform(9, 15);
      paint_kite(s, placement{{r.uniform(half, 64 - half) * u, r.uniform(half, 64 - 2.2 * half) * u},
                              r.uniform(-0.5, 0.5), half * u});
      break;
    }
    case 8: {  // flag
      paint_sky(s, S, 2);
      const double side = r.uniform(11, 18);
      const placement at{{r.uniform(4, 64 - side * 1.8) * u, r.uniform(5, 64 - side * 1.4) * u}, r.uniform(-0.08, 0.08),
                         side * u};
      paint_flag(s, at);
      break;
    }
    case 9: {  // sign
      paint_sky(s, S, 2);
      const double half = r.uniform(12, 20);
      const placement at{{r.uniform(half, 64 - half) * u, r.uniform(half * 0.6 + 3, 40) * u}, r.uniform(-0.12, 0.12),
                         half * u};
      const int style = r.integer(0, 2);
      const rgbf panel = style == 0 ? hsv(0.37, 0.8, 0.45) : style == 1 ? hsv(0.6, 0.8, 0.55) : rgbf{0.95f, 0.95f, 0.92f};
      const rgbf ink = style == 2 ? rgbf{0.08f, 0.08f, 0.08f} : rgbf{0.96f, 0.96f, 0.96f};
      const double tall = r.uniform(0.45, 0.65);
      s.c.paint_shape(at, 4.0, [](vec2 p) { return sd_segment(p, {0, 0}, {0, 4.0}, 0.06); }, rgbf{0.5f, 0.5f, 0.52f});
      const double line = r.uniform(0.28, 0.36);
      const std::uint64_t salt = r.next();
      const placement text{at.to_world({-0.9, -tall + 0.08}), at.angle, at.scale};
      s.c.paint_shape(at, 1.3, [&](vec2 p) { return sd_box(p, 1.0, tall) - 0.05; }, [&](vec2 p) {
        const vec2 q = at.to_local(p);
        const bool inside = std::abs(q.x) < 0.88 && std::abs(q.y) < tall - 0.06;
        return inside ? mix(panel, ink, glyph_cover(text, p, line, salt)) : panel;
      });
      break;
    }
    case 10: {  // starfish
      paint_sand(s);
      const double radius = r.uniform(10, 17);
      paint_starfish(s, placement{s.position(radius * 0.8), r.uniform(0, 2 * demo_pi), radius * u});
      break;
    }
    case 11: {  // night
      paint_night(s);
      if (r.chance(0.6)) {
        const double radius = r.uniform(5, 9);
        const placement at{s.position(radius), 0, radius * u};
        const double off = r.uniform(0.35, 0.6), dir = r.uniform(0, 2 * demo_pi);
        const vec2 bite{off * std::cos(dir), off * std::sin(dir)};
        s.c.paint_shape(at, 1.05, [&](vec2 p) { return std::max(sd_circle(p, 1.0), -sd_circle(p - bite, 0.9)); },
                        hsv(0.14, 0.25, 0.95));
      }
      const int stars = r.integer(4, 10);
      for (int k = 0; k < stars; ++k) {
        const double radius = r.uniform(1.8, 4.0);
        s.c.paint_shape(placement{s.position(radius), r.uniform(0, 2 * demo_pi), radius * u}, 1.05,
                        [](vec2 p) { return sd_star(p, 5, 0.45); }, hsv(r.uniform(0.1, 0.17), r.uniform(0.1, 0.6), 1.0));
      }
      break;
    }
    case 12: {  // car
      const double lane = r.uniform(20, 44) * u;
      paint_road(s, lane);
      const double half = r.uniform(13, 20);
      const double angle = r.uniform(-0.1, 0.1);
      const placement at{{r.uniform(half, 64 - half) * u, r.uniform(half * 0.8, 64 - half * 0.6) * u}, angle, half * u};
      paint_car(s, at);
      break;
    }
    case 13: {  // brick
      const rgbf brick = hsv(r.uniform(-0.02, 0.07), r.uniform(0.5, 0.8), r.uniform(0.45, 0.75));
      const rgbf mortar = hsv(0.1, r.uniform(0.0, 0.15), r.uniform(0.6, 0.85));
      const double w = r.uniform(11, 20) * u, h = w / r.uniform(2.2, 3.0), m = r.uniform(0.8, 1.4) * u;
      const placement at{{r.uniform(0, 64) * u, r.uniform(0, 64) * u}, r.uniform(-0.15, 0.15), 1.0};
      const std::uint64_t salt = r.next();
      s.c.fill([&](double x, double y) {
        const vec2 q = at.to_local({x, y});
        const double row = std::floor(q.y / h);
        const double shifted = q.x + (static_cast<std::int64_t>(row) % 2 ? w / 2 : 0);
        const double col = std::floor(shifted / w);
        const double fx = shifted - col * w, fy = q.y - row * h;
        if (fx < m || fy < m) return scale(mortar, 1.0f + 0.2f * grain(s, x, y));
        const float tone = 0.8f + 0.4f * hash01(static_cast<std::int64_t>(row), static_cast<std::int64_t>(col), salt);
        return scale(brick, tone + 0.2f * grain(s, x, y));
      });
      break;
    }
    case 14: {  // checks
      const bool mono = r.chance(0.4);
      const rgbf a = mono ? rgbf{0.05f, 0.05f, 0.05f} : vivid(r, false);
      const rgbf b = mono ? rgbf{0.95f, 0.95f, 0.95f} : hsv(r.uniform(), r.uniform(0.0, 0.4), r.uniform(0.85, 1.0));
      const double cell = r.uniform(5, 12) * u;
      const placement at{{r.uniform(0, 64) * u, r.uniform(0, 64) * u}, r.uniform(0, demo_pi / 2), cell};
      s.c.fill([&](double x, double y) {
        float cover = 0;
        for (const vec2 d : {vec2{-0.25, -0.25}, vec2{0.25, -0.25}, vec2{-0.25, 0.25}, vec2{0.25, 0.25}}) {
          const vec2 q = at.to_local(vec2{x, y} + d);
          cover += (static_cast<std::int64_t>(std::floor(q.x)) + static_cast<std::int64_t>(std::floor(q.y))) % 2 ? 0.25f : 0.0f;
        }
        return mix(b, a, cover);
      });
      break;
    }
    case 15: {  // page
      const rgbf wood = hsv(r.uniform(0.05, 0.09), r.uniform(0.5, 0.7), r.uniform(0.3, 0.5));
      const double grain_freq = r.uniform(0.8, 1.5) / u;
      s.c.fill([&](double x, double y) {
        return scale(wood, static_cast<float>(0.85 + 0.15 * std::sin(y * grain_freq + 2 * std::sin(x * 0.05 / u))));
      });
      const double hx = r.uniform(20, 27), hy = r.uniform(24, 30);
      const placement at{{r.uniform(26, 38) * u, r.uniform(26, 38) * u}, r.uniform(-0.35, 0.35), u};
      const rgbf paper = hsv(r.uniform(0.1, 0.15), r.uniform(0.03, 0.15), r.uniform(0.88, 0.98));
      const rgbf ink = r.chance(0.5) ? rgbf{0.1f, 0.1f, 0.12f} : rgbf{0.1f, 0.15f, 0.45f};
      const double line = r.uniform(6.5, 9.0), margin = r.uniform(3, 6);
      const std::uint64_t salt = r.next();
      const placement text{at.to_world({-hx + margin, -hy + margin}), at.angle, u};
      s.c.paint_shape(at, std::max(hx, hy) * 1.5, [&](vec2 p) { return sd_box(p, hx, hy); }, [&](vec2 p) {
        const vec2 q = at.to_local(p);
        const bool inside = std::abs(q.x) < hx - margin && std::abs(q.y) < hy - margin;
        return inside ? mix(paper, ink, glyph_cover(text, p, line * u, salt)) : paper;
      });
      break;
    }
    default:
      throw input_error("class " + std::to_string(cls), "no such demo class (there are " +
                                                             std::to_string(image_classes.size()) + ")");
  }
}
}  // namespace detail

//! Draws image `index` of class `cls` for `seed` into `rgb` (size × size × 3 bytes, rows
//! top to bottom). The same (cls, seed, index, size) always gives the same bytes.
inline void generate_into(std::uint8_t* rgb, std::size_t cls, std::uint64_t seed, std::uint64_t index,
                          int size = default_image_size) {
  using namespace ::actatlas::detail;
  if (cls >= image_classes.size())
    throw input_error("class " + std::to_string(cls),
                      "no such demo class (there are " + std::to_string(image_classes.size()) + ")");
  if (size < 16) throw input_error("size " + std::to_string(size), "demo images need at least 16 pixels a side");
  demo_rng rng(demo_hash(seed, cls + 1, index, static_cast<std::uint64_t>(generator_version)));
  canvas c(size, size);
  scene s{c, rng, size / 64.0, rng.next()};
  detail::paint_class(cls, s);
  // Photographic variation: exposure, contrast and sensor noise.
  const float gain = static_cast<float>(rng.uniform(0.85, 1.12));
  const float contrast = static_cast<float>(rng.uniform(0.85, 1.1));
  const float noise = static_cast<float>(rng.uniform(0.0, 0.05));
  std::size_t k = 0;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const rgbf p = c.at(x, y);
      for (float v : {p.r, p.g, p.b}) {
        const float n = noise * static_cast<float>(hash01(x, y * 3 + static_cast<std::int64_t>(k % 3), s.salt + 7) - 0.5f) * 3.4f;
        const float out = ((v * gain - 0.5f) * contrast + 0.5f) + n;
        rgb[k++] = static_cast<std::uint8_t>(std::lround(std::clamp(out, 0.0f, 1.0f) * 255.0f));
      }
    }
}

//! Image `index` of class `cls` for `seed`, as an RGB image.
inline io::image_u8 generate(std::size_t cls, std::uint64_t seed, std::uint64_t index, int size = default_image_size) {
  io::image_u8 image{size, size, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(size) * size * 3)};
  generate_into(image.pixels.data(), cls, seed, index, size);
  return image;
}

//! Writes `per_class` images of every class under `dir`/<class>/<class>_<index>.png
//! (each PNG written atomically), the layout an image-folder reader takes class names
//! from. Reports progress as stage "images".
inline void write_folder(const std::filesystem::path& dir, std::size_t per_class, std::uint64_t seed,
                         int size = default_image_size, const progress_fn& progress = {}) {
  const std::size_t total = per_class * image_classes.size();
  std::size_t done = 0;
  report(progress, "images", 0, total);
  for (std::size_t c = 0; c < image_classes.size(); ++c) {
    const std::string name(image_classes[c].name);
    for (std::size_t i = 0; i < per_class; ++i) {
      char file[64];
      std::snprintf(file, sizeof file, "%s_%04zu.png", name.c_str(), i);
      io::write_png(dir / name / file, generate(c, seed, i, size));
      report(progress, "images", ++done, total);
    }
  }
}

//! A grid with one row per class: the class name, then `per_class` examples, each drawn
//! `zoom` times larger (nearest neighbour, so pixels stay visible).
inline io::image_u8 contact_sheet(std::size_t per_class, std::uint64_t seed, int size = default_image_size,
                                  int zoom = 2) {
  const int text_scale = 2, gap = 4;
  int label_w = 0;
  for (const auto& c : image_classes) label_w = std::max(label_w, io::text_width(c.name, text_scale));
  label_w += 3 * gap;
  const int cell = size * zoom;
  const int width = label_w + static_cast<int>(per_class) * (cell + gap) + gap;
  const int height = static_cast<int>(image_classes.size()) * (cell + gap) + gap;
  io::image_u8 sheet{width, height, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(width) * height * 3, 255)};
  for (std::size_t c = 0; c < image_classes.size(); ++c) {
    const int top = gap + static_cast<int>(c) * (cell + gap);
    io::draw_text(sheet.pixels.data(), width, height, 3, gap, top + cell / 2 - io::text_line_height(text_scale) / 3,
                  image_classes[c].name, {20, 20, 20}, text_scale);
    for (std::size_t i = 0; i < per_class; ++i) {
      const auto img = generate(c, seed, i, size);
      const int left = label_w + static_cast<int>(i) * (cell + gap);
      for (int y = 0; y < cell; ++y)
        for (int x = 0; x < cell; ++x)
          for (int ch = 0; ch < 3; ++ch)
            sheet.pixels[(static_cast<std::size_t>(top + y) * width + left + x) * 3 + ch] =
                img.pixels[(static_cast<std::size_t>(y / zoom) * size + x / zoom) * 3 + ch];
    }
  }
  return sheet;
}

//! Writes contact_sheet(...) to `path` as PNG (atomically).
inline void write_contact_sheet(const std::filesystem::path& path, std::size_t per_class, std::uint64_t seed,
                                int size = default_image_size, int zoom = 2) {
  io::write_png(path, contact_sheet(per_class, seed, size, zoom));
}

}  // namespace actatlas::demo
