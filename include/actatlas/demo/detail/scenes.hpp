/// @file demo/detail/scenes.hpp
/// The backgrounds and objects of the procedural image set, and one painter per class.
/// Sizes are written for a 64-pixel image and scaled by `u` = size / 64, so the same
/// seed draws the same scene at any size.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "raster.hpp"

namespace actatlas::detail {

inline constexpr double demo_pi = 3.141592653589793;

//! What every painter receives: the canvas, its random stream and the unit u.
struct scene {
  canvas& c;
  demo_rng& rng;
  double u;  //!< pixels per unit of a 64-pixel image
  std::uint64_t salt;  //!< for per-pixel hashes, drawn from rng so it follows the seed
  double size() const { return c.width(); }
  //! A random position with a margin (in 64-pixel units) from the border.
  vec2 position(double margin) { return {rng.uniform(margin, 64 - margin) * u, rng.uniform(margin, 64 - margin) * u}; }
};

// ------------------------------------------------------------------ backgrounds

//! Per-pixel grain: a fraction `amount` of brightness noise that stays put for a seed.
inline float grain(const scene& s, double x, double y, std::uint64_t salt_offset = 0) {
  return hash01(static_cast<std::int64_t>(x), static_cast<std::int64_t>(y), s.salt + salt_offset) - 0.5f;
}

//! Sky above `bottom` (pixels): a vertical gradient with a few soft clouds.
inline void paint_sky(scene& s, double bottom, int max_clouds = 3) {
  const rgbf high = hsv(s.rng.uniform(0.55, 0.62), s.rng.uniform(0.45, 0.7), s.rng.uniform(0.75, 0.95));
  const rgbf low = mix(high, rgbf{0.95f, 0.97f, 1.0f}, static_cast<float>(s.rng.uniform(0.35, 0.65)));
  const double h = std::max(bottom, 1.0);
  s.c.paint(0, 0, s.size(), bottom, [](vec2) { return -1.0; },
            [&](vec2 p) { return mix(high, low, static_cast<float>(std::clamp(p.y / h, 0.0, 1.0))); });
  const int clouds = s.rng.integer(0, max_clouds);
  for (int k = 0; k < clouds; ++k) {
    const vec2 centre{s.rng.uniform(0, 64) * s.u, s.rng.uniform(0, std::max(bottom / s.u - 6, 4.0)) * s.u};
    const int puffs = s.rng.integer(3, 5);
    const double r = s.rng.uniform(3, 6);
    for (int q = 0; q < puffs; ++q) {
      const placement at{centre + vec2{(q - puffs / 2.0) * r * 0.9 * s.u, s.rng.uniform(-1.5, 1.5) * s.u}, 0,
                         r * s.rng.uniform(0.7, 1.1) * s.u};
      s.c.paint_shape(at, 1.0, [](vec2 p) { return sd_circle(p, 1.0); }, rgbf{0.97f, 0.97f, 0.98f}, 0.85f);
    }
  }
}

//! Water below `top` (pixels): wavy horizontal bands of two blues, as seen on a lake or sea.
inline void paint_water(scene& s, double top) {
  const double hue = s.rng.uniform(0.52, 0.6);
  const rgbf deep = hsv(hue, s.rng.uniform(0.65, 0.85), s.rng.uniform(0.35, 0.5));
  const rgbf light = hsv(hue - 0.02, s.rng.uniform(0.35, 0.55), s.rng.uniform(0.65, 0.85));
  const double freq = s.rng.uniform(0.35, 0.6) / s.u, wobble = s.rng.uniform(0.08, 0.16) / s.u;
  const double amp = s.rng.uniform(1.0, 2.5), phase = s.rng.uniform(0, 6.3), tilt = s.rng.uniform(-0.15, 0.15);
  s.c.paint(0, top, s.size(), s.size(), [](vec2) { return -1.0; }, [&](vec2 p) {
    const double t = std::sin((p.y + tilt * p.x) * freq + amp * std::sin(p.x * wobble + phase));
    const float band = static_cast<float>(0.5 + 0.5 * t);
    return scale(mix(deep, light, band * band * band), 1.0f + 0.08f * grain(s, p.x, p.y));
  });
}

//! Grass: a green field with grain and short blades, as under a ball, a flower or a zebra.
inline void paint_grass(scene& s, double top = 0) {
  const double hue = s.rng.uniform(0.24, 0.32);
  const rgbf base = hsv(hue, s.rng.uniform(0.55, 0.75), s.rng.uniform(0.4, 0.6));
  s.c.paint(0, top, s.size(), s.size(), [](vec2) { return -1.0; },
            [&](vec2 p) { return scale(base, 1.0f + 0.35f * grain(s, p.x, p.y)); });
  const int blades = static_cast<int>(70 * s.u * s.u);
  for (int k = 0; k < blades; ++k) {
    const vec2 root{s.rng.uniform(0, s.size()), s.rng.uniform(top, s.size() + 2 * s.u)};
    const double len = s.rng.uniform(2.5, 5.0) * s.u, lean = s.rng.uniform(-0.5, 0.5);
    const vec2 tip = root + vec2{lean * len, -len};
    const rgbf colour = hsv(hue + s.rng.uniform(-0.03, 0.03), 0.7, s.rng.uniform(0.3, 0.8));
    s.c.paint(std::min(root.x, tip.x) - 2, tip.y - 2, std::max(root.x, tip.x) + 2, root.y + 2,
              [&](vec2 p) { return sd_segment(p, root, tip, 0.35 * s.u); }, colour, 0.8f);
  }
}

//! Sand: warm beige with strong speckle (grains) and faint ripples.
inline void paint_sand(scene& s) {
  const rgbf base = hsv(s.rng.uniform(0.08, 0.12), s.rng.uniform(0.3, 0.45), s.rng.uniform(0.72, 0.88));
  const double freq = s.rng.uniform(0.5, 0.9) / s.u, angle = s.rng.uniform(0, demo_pi);
  const double ca = std::cos(angle), sa = std::sin(angle);
  s.c.fill([&](double x, double y) {
    const float ripple = static_cast<float>(0.06 * std::sin((ca * x + sa * y) * freq));
    const float g = grain(s, x, y);
    const float speck = g > 0.42f ? -0.35f : (g < -0.45f ? 0.2f : 0.0f);
    return scale(base, 1.0f + ripple + 0.15f * g + speck);
  });
}

//! Night: a dark blue gradient with a dust of faint points.
inline void paint_night(scene& s) {
  const rgbf top = hsv(s.rng.uniform(0.6, 0.7), s.rng.uniform(0.5, 0.8), s.rng.uniform(0.08, 0.18));
  const rgbf bottom = hsv(s.rng.uniform(0.6, 0.7), s.rng.uniform(0.4, 0.7), s.rng.uniform(0.2, 0.32));
  s.c.fill([&](double x, double y) {
    const float g = grain(s, x, y);
    const rgbf sky = mix(top, bottom, static_cast<float>(y / s.size()));
    return g > 0.485f ? mix(sky, rgbf{0.9f, 0.9f, 0.8f}, 0.6f) : sky;
  });
}

//! Road: grey asphalt with grain and a dashed lane line.
inline void paint_road(scene& s, double lane_y) {
  const rgbf asphalt = hsv(s.rng.uniform(0.0, 1.0), s.rng.uniform(0.0, 0.08), s.rng.uniform(0.3, 0.5));
  const double dash = s.rng.uniform(6, 10) * s.u, offset = s.rng.uniform(0, 20);
  const rgbf paint = s.rng.chance(0.5) ? rgbf{0.95f, 0.95f, 0.92f} : rgbf{0.95f, 0.8f, 0.2f};
  s.c.fill([&](double x, double y) {
    const bool on_line = std::abs(y - lane_y) < 1.0 * s.u && std::fmod(x + offset * s.u, 2 * dash) < dash;
    return on_line ? paint : scale(asphalt, 1.0f + 0.4f * grain(s, x, y));
  });
}

//! Rows of glyphs (a made-up script of 3×5 bitmaps) in local units: 1 where ink is.
//! `line` is the line pitch; each pixel is sampled at 4 points so small glyphs stay legible.
inline float glyph_ink(double u, double v, double line, std::uint64_t salt) {
  const double char_w = line * 0.6;
  const std::int64_t row = static_cast<std::int64_t>(std::floor(v / line));
  const std::int64_t col = static_cast<std::int64_t>(std::floor(u / char_w));
  const double fy = v / line - static_cast<double>(row), fx = u / char_w - static_cast<double>(col);
  if (fx < 0.1 || fx >= 0.85 || fy < 0.2 || fy >= 0.8) return 0.0f;
  if (hash01(row, col, salt ^ 0x5bd1e995u) < 0.2f) return 0.0f;  // spaces between words
  const auto bits = demo_hash(salt, static_cast<std::uint64_t>(row), static_cast<std::uint64_t>(col)) | 0x2;
  const int gx = static_cast<int>((fx - 0.1) / 0.75 * 3), gy = static_cast<int>((fy - 0.2) / 0.6 * 5);
  return ((bits >> (gy * 3 + gx)) & 1u) ? 1.0f : 0.0f;
}
inline float glyph_cover(const placement& where, vec2 p, double line, std::uint64_t salt) {
  float ink = 0;
  for (const vec2 d : {vec2{-0.25, -0.25}, vec2{0.25, -0.25}, vec2{-0.25, 0.25}, vec2{0.25, 0.25}}) {
    const vec2 q = where.to_local(p + d);
    ink += glyph_ink(q.x, q.y, line, salt);
  }
  return ink * 0.25f;
}

//! A random vivid colour, avoiding the greens and blues of grass, water and sky when asked.
inline rgbf vivid(demo_rng& rng, bool avoid_green_blue = true) {
  double h = rng.uniform();
  if (avoid_green_blue && h > 0.2 && h < 0.65) h = rng.uniform(-0.2, 0.2);
  return hsv(h, rng.uniform(0.6, 0.95), rng.uniform(0.7, 0.98));
}

// ------------------------------------------------------------------ objects

//! A boat: hull (a trapezoid), a mast and a triangular sail, in units of the hull half-width.
inline void paint_boat(scene& s, const placement& at) {
  const rgbf hull = s.rng.chance(0.3) ? rgbf{0.93f, 0.93f, 0.9f} : vivid(s.rng);
  const rgbf sail = s.rng.chance(0.6) ? rgbf{0.97f, 0.96f, 0.92f} : vivid(s.rng);
  const std::array<vec2, 4> hull_shape{vec2{-1.0, -0.05}, vec2{1.0, -0.05}, vec2{0.7, 0.3}, vec2{-0.65, 0.3}};
  const double sail_h = s.rng.uniform(1.0, 1.5);
  const std::array<vec2, 3> sail_shape{vec2{0.05, -0.12}, vec2{0.05, -0.12 - sail_h}, vec2{0.8, -0.12}};
  const std::array<vec2, 3> jib{vec2{-0.05, -0.12}, vec2{-0.05, -0.12 - sail_h * 0.85}, vec2{-0.6, -0.12}};
  s.c.paint_shape(at, 2.0, [&](vec2 p) { return sd_segment(p, {0, 0}, {0, -0.15 - sail_h}, 0.03); },
                  rgbf{0.25f, 0.2f, 0.15f});
  s.c.paint_shape(at, 2.0, [&](vec2 p) { return sd_polygon(p, sail_shape); }, sail);
  if (s.rng.chance(0.5)) s.c.paint_shape(at, 2.0, [&](vec2 p) { return sd_polygon(p, jib); }, mix(sail, {1, 1, 1}, 0.3f));
  s.c.paint_shape(at, 1.2, [&](vec2 p) { return sd_polygon(p, hull_shape); }, hull);
}

//! A fish: an oval body, a forked tail, a fin and an eye, in units of the half body length.
inline void paint_fish(scene& s, const placement& at) {
  const rgbf body = s.rng.chance(0.25) ? hsv(0.55, 0.1, s.rng.uniform(0.7, 0.9)) : vivid(s.rng);
  const rgbf fin = mix(body, {0, 0, 0}, 0.3f);
  const std::array<vec2, 4> tail{vec2{-0.8, 0.0}, vec2{-1.45, -0.55}, vec2{-1.25, 0.0}, vec2{-1.45, 0.55}};
  const std::array<vec2, 3> dorsal{vec2{-0.3, -0.35}, vec2{0.25, -0.42}, vec2{-0.45, -0.7}};
  const double thin = s.rng.uniform(0.35, 0.5);
  s.c.paint_shape(at, 1.6, [&](vec2 p) { return sd_polygon(p, tail); }, fin);
  s.c.paint_shape(at, 1.6, [&](vec2 p) { return sd_polygon(p, dorsal); }, fin);
  const bool striped = s.rng.chance(0.4);
  s.c.paint_shape(at, 1.1, [&](vec2 p) { return sd_ellipse(p, 1.0, thin); }, [&](vec2 p) {
    if (!striped) return body;
    const vec2 q = at.to_local(p);
    return std::sin(q.x * 9.0) > 0.4 ? rgbf{0.95f, 0.95f, 0.95f} : body;
  });
  s.c.paint_shape(at, 1.1, [&](vec2 p) { return sd_circle(p - vec2{0.6, -0.08}, 0.09); }, rgbf{0.05f, 0.05f, 0.05f});
}

//! A disc with a pattern: the shape shared by the ball, the sun, the lifebuoy and the moon.
inline void paint_ball(scene& s, const placement& at) {
  const int style = s.rng.integer(0, 2);
  const rgbf a = vivid(s.rng, false), b = vivid(s.rng, false);
  const double spin = s.rng.uniform(0, 2 * demo_pi);
  s.c.paint_shape(placement{at.centre + vec2{0.3 * at.scale, 0.9 * at.scale}, 0, at.scale},
                  1.2, [](vec2 p) { return sd_ellipse(p, 1.0, 0.3); }, rgbf{0.05f, 0.15f, 0.02f}, 0.5f);
  s.c.paint_shape(at, 1.05, [](vec2 p) { return sd_circle(p, 1.0); }, [&](vec2 p) {
    const vec2 q = at.to_local(p);
    const float shade = static_cast<float>(1.0 - 0.35 * std::clamp(length(q - vec2{-0.35, -0.35}) - 0.3, 0.0, 1.0));
    rgbf colour;
    if (style == 0) {  // football: white with dark patches
      const double ang = std::atan2(q.y, q.x) + spin, rad = length(q);
      const bool patch = rad < 0.3 || (rad > 0.62 && std::fmod(ang + 10 * demo_pi, 2 * demo_pi / 5) < 0.55);
      colour = patch ? rgbf{0.1f, 0.1f, 0.1f} : rgbf{0.96f, 0.96f, 0.96f};
    } else if (style == 1) {  // beach ball: coloured segments
      const double ang = std::atan2(q.y, q.x) + spin;
      colour = std::fmod(ang + 10 * demo_pi, demo_pi / 3) < demo_pi / 6 ? a : b;
    } else {  // tennis-like: one colour and a curved seam
      colour = std::abs(length(q - vec2{1.1, 0.0}) - 0.8) < 0.07 ? rgbf{0.95f, 0.95f, 0.95f} : a;
    }
    return scale(colour, shade);
  });
}

//! A flower: petals around a centre, on a stem.
inline void paint_flower(scene& s, const placement& at) {
  const rgbf petal = vivid(s.rng);
  const rgbf heart = s.rng.chance(0.7) ? hsv(0.13, 0.9, 0.95) : hsv(0.08, 0.8, 0.35);
  const int petals = s.rng.integer(5, 8);
  const double spin = s.rng.uniform(0, 2 * demo_pi), long_ = s.rng.uniform(0.45, 0.6);
  s.c.paint_shape(at, 3.5, [&](vec2 p) { return sd_segment(p, {0, 0.3}, {0.2, 3.2}, 0.08); }, rgbf{0.1f, 0.35f, 0.08f});
  for (int k = 0; k < petals; ++k) {
    const double a = spin + 2 * demo_pi * k / petals;
    const vec2 centre{0.6 * std::cos(a), 0.6 * std::sin(a)};
    const double c = std::cos(a), sn = std::sin(a);
    s.c.paint_shape(at, 1.3, [&](vec2 p) {
      const vec2 d = p - centre;
      return sd_ellipse({c * d.x + sn * d.y, -sn * d.x + c * d.y}, long_, 0.28);
    }, scale(petal, static_cast<float>(0.85 + 0.15 * (k % 2))));
  }
  s.c.paint_shape(at, 0.5, [](vec2 p) { return sd_circle(p, 0.32); }, heart);
}

//! A zebra: body, neck, head and legs filled with wavy black and white stripes.
inline void paint_zebra(scene& s, const placement& at, bool facing_right) {
  const double freq = s.rng.uniform(7.0, 10.0), wob = s.rng.uniform(0.2, 0.5);
  const double f = facing_right ? 1.0 : -1.0;
  auto stripes = [&](vec2 p) {
    const vec2 q = at.to_local(p);
    return std::sin(q.x * freq + wob * std::sin(q.y * 6.0) * 3.0) > 0 ? rgbf{0.06f, 0.06f, 0.06f}
                                                                       : rgbf{0.95f, 0.95f, 0.93f};
  };
  auto shape = [&](vec2 p) {
    vec2 q{p.x * f, p.y};
    double d = sd_ellipse(q, 1.0, 0.45);
    d = std::min(d, sd_segment(q, {0.75, -0.15}, {1.2, -0.75}, 0.17));         // neck
    d = std::min(d, sd_segment(q, {1.2, -0.8}, {1.55, -0.5}, 0.14));           // head
    for (double x : {-0.7, -0.45, 0.45, 0.7}) d = std::min(d, sd_segment(q, {x, 0.2}, {x, 1.05}, 0.08));
    d = std::min(d, sd_segment(q, {-0.95, -0.1}, {-1.25, 0.4}, 0.04));        // tail
    return d;
  };
  s.c.paint_shape(at, 1.8, shape, stripes);
}

//! A sun: a bright disc with a crown of rays.
inline void paint_sun(scene& s, const placement& at) {
  const rgbf disc = hsv(s.rng.uniform(0.1, 0.16), s.rng.uniform(0.7, 1.0), 1.0);
  const rgbf rays = mix(disc, rgbf{1.0f, 0.6f, 0.1f}, static_cast<float>(s.rng.uniform(0, 0.6)));
  const int n = s.rng.integer(8, 14);
  const double spin = s.rng.uniform(0, 1), reach = s.rng.uniform(1.5, 1.9);
  s.c.paint_shape(at, 2.0, [&](vec2 p) {
    double d = 1e9;
    for (int k = 0; k < n; ++k) {
      const double a = 2 * demo_pi * (k + spin) / n;
      d = std::min(d, sd_segment(p, {1.25 * std::cos(a), 1.25 * std::sin(a)}, {reach * std::cos(a), reach * std::sin(a)}, 0.1));
    }
    return d;
  }, rays);
  s.c.paint_shape(at, 1.05, [](vec2 p) { return sd_circle(p, 1.0); }, disc);
}

//! A kite: a four-sided sail in two colours, crossed spars and a tail with bows.
inline void paint_kite(scene& s, const placement& at) {
  const rgbf a = vivid(s.rng, false), b = vivid(s.rng, false);
  const std::array<vec2, 4> sail{vec2{0, -1.0}, vec2{0.75, -0.3}, vec2{0, 1.3}, vec2{-0.75, -0.3}};
  s.c.paint_shape(at, 1.4, [&](vec2 p) { return sd_polygon(p, sail); }, [&](vec2 p) {
    const vec2 q = at.to_local(p);
    return ((q.x > 0) != (q.y > -0.3)) ? a : b;
  });
  const rgbf spar{0.2f, 0.15f, 0.1f};
  s.c.paint_shape(at, 1.4, [](vec2 p) {
    return std::min(sd_segment(p, {0, -1.0}, {0, 1.3}, 0.04), sd_segment(p, {-0.75, -0.3}, {0.75, -0.3}, 0.04));
  }, spar);
  vec2 prev{0, 1.3};
  const double phase = s.rng.uniform(0, 6.3);
  for (int k = 1; k <= 5; ++k) {
    const vec2 next{0.3 * std::sin(phase + k * 1.1), 1.3 + 0.5 * k};
    s.c.paint_shape(at, 4.0, [&](vec2 p) { return sd_segment(p, prev, next, 0.035); }, spar);
    s.c.paint_shape(at, 4.0, [&](vec2 p) { return sd_box(p - next, 0.14, 0.07); }, k % 2 ? a : b);
    prev = next;
  }
}

//! A flag on a pole: a field with a Nordic cross, waving gently.
inline void paint_flag(scene& s, const placement& at) {
  const rgbf field = vivid(s.rng, false);
  const rgbf cross = s.rng.chance(0.6) ? rgbf{0.97f, 0.97f, 0.97f} : hsv(0.14, 0.9, 0.95);
  const double wave = s.rng.uniform(0.0, 0.12), phase = s.rng.uniform(0, 6.3);
  s.c.paint_shape(at, 3.0, [](vec2 p) { return sd_segment(p, {0, -0.1}, {0, 3.5}, 0.06); }, rgbf{0.35f, 0.3f, 0.28f});
  auto waved = [=](vec2 p) { return vec2{p.x, p.y - wave * std::sin(p.x * 3.0 + phase)}; };
  s.c.paint_shape(at, 2.0, [&](vec2 p) { return sd_box(waved(p) - vec2{0.85, 0.55}, 0.8, 0.55); }, [&](vec2 p) {
    const vec2 q = waved(at.to_local(p));
    return (std::abs(q.x - 0.6) < 0.14 || std::abs(q.y - 0.55) < 0.14) ? cross : field;
  });
}

//! A starfish: a five-armed star with lighter dots.
inline void paint_starfish(scene& s, const placement& at) {
  const rgbf body = hsv(s.rng.uniform(-0.08, 0.1), s.rng.uniform(0.6, 0.9), s.rng.uniform(0.6, 0.9));
  const double inner = s.rng.uniform(0.38, 0.5);
  s.c.paint_shape(placement{at.centre + vec2{0.12 * at.scale, 0.15 * at.scale}, at.angle, at.scale}, 1.1,
                  [&](vec2 p) { return sd_star(p, 5, inner); }, rgbf{0.3f, 0.22f, 0.12f}, 0.4f);
  s.c.paint_shape(at, 1.05, [&](vec2 p) { return sd_star(p, 5, inner); }, [&](vec2 p) {
    const vec2 q = at.to_local(p) * 7.0;
    const bool dot = length(vec2{q.x - std::round(q.x), q.y - std::round(q.y)}) < 0.22;
    return dot ? mix(body, {1, 0.95f, 0.8f}, 0.6f) : body;
  });
}

//! A car: body, cabin with windows and two wheels (dark rings around a hub).
inline void paint_car(scene& s, const placement& at) {
  const rgbf body = vivid(s.rng, false);
  const std::array<vec2, 4> cabin{vec2{-0.55, -0.3}, vec2{0.45, -0.3}, vec2{0.25, -0.75}, vec2{-0.4, -0.75}};
  const std::array<vec2, 4> window{vec2{-0.45, -0.35}, vec2{0.35, -0.35}, vec2{0.2, -0.67}, vec2{-0.35, -0.67}};
  s.c.paint_shape(at, 1.3, [&](vec2 p) { return std::min(sd_polygon(p, cabin), sd_box(p, 1.0, 0.28) - 0.05); }, body);
  s.c.paint_shape(at, 1.3, [&](vec2 p) { return std::max(sd_polygon(p, window), -std::abs(p.x + 0.05) + 0.03); },
                  rgbf{0.6f, 0.8f, 0.95f});
  for (double x : {-0.6, 0.6}) {
    s.c.paint_shape(at, 1.3, [&](vec2 p) { return sd_circle(p - vec2{x, 0.3}, 0.26); }, rgbf{0.08f, 0.08f, 0.08f});
    s.c.paint_shape(at, 1.3, [&](vec2 p) { return sd_ring(p - vec2{x, 0.3}, 0.11, 0.04); }, rgbf{0.75f, 0.75f, 0.75f});
  }
}

}  // namespace actatlas::detail
