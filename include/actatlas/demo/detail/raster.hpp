/// @file demo/detail/raster.hpp
/// The small drawing kit behind the procedural images: a float RGB canvas, a seeded
/// random stream, and shapes given as signed distance functions (SDFs), which makes
/// rotation, scaling and anti-aliased edges one formula each instead of one rasteriser
/// per shape.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace actatlas::detail {

//! splitmix64: a tiny generator whose sequence is fixed by its seed on every platform
//! (std::uniform_*_distribution is implementation-defined, so it is not used here).
class demo_rng {
 public:
  explicit demo_rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  //! Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  //! Uniform integer in [lo, hi].
  int integer(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
  bool chance(double p) { return uniform() < p; }
  //! Standard normal (Box–Muller; one value per call keeps the stream simple).
  double normal() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

//! Mixes several words into one seed (so (seed, class, index) streams never overlap).
inline std::uint64_t demo_hash(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0, std::uint64_t d = 0) {
  demo_rng r(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull));
  std::uint64_t h = r.next() ^ (c * 0xD6E8FEB86659FD93ull);
  demo_rng r2(h + d * 0xA0761D6478BD642Full);
  return r2.next();
}

//! A stateless hash of integer coordinates to [0, 1): per-pixel and per-cell noise.
inline float hash01(std::int64_t x, std::int64_t y, std::uint64_t salt) {
  return static_cast<float>(demo_hash(salt, static_cast<std::uint64_t>(x), static_cast<std::uint64_t>(y)) >> 40) *
         (1.0f / 16777216.0f);
}

struct rgbf {
  float r = 0, g = 0, b = 0;
};
inline rgbf mix(rgbf a, rgbf b, float t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }
inline rgbf scale(rgbf a, float s) { return {a.r * s, a.g * s, a.b * s}; }

//! HSV (h in turns, s and v in [0,1]) to RGB: how the generator varies colours around a hue.
inline rgbf hsv(double h, double s, double v) {
  h = h - std::floor(h);
  const double i = std::floor(h * 6.0), f = h * 6.0 - i;
  const double p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  switch (static_cast<int>(i) % 6) {
    case 0: return {float(v), float(t), float(p)};
    case 1: return {float(q), float(v), float(p)};
    case 2: return {float(p), float(v), float(t)};
    case 3: return {float(p), float(q), float(v)};
    case 4: return {float(t), float(p), float(v)};
    default: return {float(v), float(p), float(q)};
  }
}

struct vec2 {
  double x = 0, y = 0;
};
inline vec2 operator-(vec2 a, vec2 b) { return {a.x - b.x, a.y - b.y}; }
inline vec2 operator+(vec2 a, vec2 b) { return {a.x + b.x, a.y + b.y}; }
inline vec2 operator*(vec2 a, double s) { return {a.x * s, a.y * s}; }
inline double dot(vec2 a, vec2 b) { return a.x * b.x + a.y * b.y; }
inline double length(vec2 a) { return std::sqrt(dot(a, a)); }

//! A placement of a shape: centre, rotation (radians) and uniform scale. Shapes are
//! written in their own unit coordinates; `to_local` maps a pixel into them.
struct placement {
  vec2 centre;
  double angle = 0;
  double scale = 1;
  vec2 to_local(vec2 p) const {
    const vec2 d = p - centre;
    const double c = std::cos(angle), s = std::sin(angle);
    return {(c * d.x + s * d.y) / scale, (-s * d.x + c * d.y) / scale};
  }
  vec2 to_world(vec2 q) const {
    const double c = std::cos(angle), s = std::sin(angle);
    return {centre.x + (c * q.x - s * q.y) * scale, centre.y + (s * q.x + c * q.y) * scale};
  }
};

// ---- signed distance functions in local units (negative inside) ----

inline double sd_circle(vec2 p, double r) { return length(p) - r; }
inline double sd_ring(vec2 p, double r, double half_width) { return std::abs(length(p) - r) - half_width; }
inline double sd_box(vec2 p, double hx, double hy) {
  const double dx = std::abs(p.x) - hx, dy = std::abs(p.y) - hy;
  const double ox = std::max(dx, 0.0), oy = std::max(dy, 0.0);
  return std::sqrt(ox * ox + oy * oy) + std::min(std::max(dx, dy), 0.0);
}
//! An ellipse's distance, approximated by scaling a circle's (exact enough for edges).
inline double sd_ellipse(vec2 p, double a, double b) {
  const double k = length({p.x / a, p.y / b});
  return (k - 1.0) * std::min(a, b);
}
//! Distance to a thick segment from a to b.
inline double sd_segment(vec2 p, vec2 a, vec2 b, double half_width) {
  const vec2 pa = p - a, ba = b - a;
  const double h = std::clamp(dot(pa, ba) / std::max(dot(ba, ba), 1e-12), 0.0, 1.0);
  return length(pa - ba * h) - half_width;
}
//! Distance to a closed polygon (any simple polygon, convex or not).
template <std::size_t N>
inline double sd_polygon(vec2 p, const std::array<vec2, N>& v) {
  double d = dot(p - v[0], p - v[0]);
  double s = 1.0;
  for (std::size_t i = 0, j = N - 1; i < N; j = i, ++i) {
    const vec2 e = v[j] - v[i], w = p - v[i];
    const double h = std::clamp(dot(w, e) / std::max(dot(e, e), 1e-12), 0.0, 1.0);
    const vec2 b = w - e * h;
    d = std::min(d, dot(b, b));
    const bool c1 = p.y >= v[i].y, c2 = p.y < v[j].y, c3 = e.x * w.y > e.y * w.x;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
  }
  return s * std::sqrt(d);
}
//! An n-pointed star with outer radius 1 and inner radius `inner` (n ≤ 8).
inline double sd_star(vec2 p, int points, double inner) {
  std::array<vec2, 16> v{};
  const int n = std::clamp(points, 3, 8);
  for (int i = 0; i < 2 * n; ++i) {
    const double a = -1.5707963267948966 + 3.141592653589793 * i / n;
    const double r = (i % 2 == 0) ? 1.0 : inner;
    v[static_cast<std::size_t>(i)] = {r * std::cos(a), r * std::sin(a)};
  }
  // Repeat the last vertex to fill the fixed-size array (zero-length edges are harmless).
  for (int i = 2 * n; i < 16; ++i) v[static_cast<std::size_t>(i)] = v[0];
  return sd_polygon(p, v);
}

//! A float RGB image in [0,1] (values may overshoot while drawing; clamped on output).
class canvas {
 public:
  canvas(int width, int height) : width_(width), height_(height), px_(static_cast<std::size_t>(width) * height) {}
  int width() const { return width_; }
  int height() const { return height_; }
  rgbf& at(int x, int y) { return px_[static_cast<std::size_t>(y) * width_ + x]; }
  const rgbf& at(int x, int y) const { return px_[static_cast<std::size_t>(y) * width_ + x]; }

  //! Sets every pixel to colour(x, y) (pixel centres at +0.5).
  template <class F>
  void fill(F&& colour) {
    for (int y = 0; y < height_; ++y)
      for (int x = 0; x < width_; ++x) at(x, y) = colour(x + 0.5, y + 0.5);
  }

  //! Paints the region where `sd(pixel)` (distance in pixels) is negative with `colour`
  //! (an rgbf, or a function of the pixel),
  //! edges anti-aliased by one pixel, only inside the bounding box [x0,x1)×[y0,y1).
  template <class SD, class C>
  void paint(double x0, double y0, double x1, double y1, SD&& sd, C&& colour, float opacity = 1.0f) {
    const int ix0 = std::max(0, static_cast<int>(std::floor(x0))), iy0 = std::max(0, static_cast<int>(std::floor(y0)));
    const int ix1 = std::min(width_, static_cast<int>(std::ceil(x1))), iy1 = std::min(height_, static_cast<int>(std::ceil(y1)));
    for (int y = iy0; y < iy1; ++y)
      for (int x = ix0; x < ix1; ++x) {
        const vec2 p{x + 0.5, y + 0.5};
        const double d = sd(p);
        const float cover = static_cast<float>(std::clamp(0.5 - d, 0.0, 1.0)) * opacity;
        if (cover <= 0.0f) continue;
        if constexpr (std::is_same_v<std::decay_t<C>, rgbf>)
          at(x, y) = mix(at(x, y), colour, cover);
        else
          at(x, y) = mix(at(x, y), colour(p), cover);
      }
  }

  //! Paints a shape given in local units under `where`; `radius` bounds it in local units.
  template <class SD, class C>
  void paint_shape(const placement& where, double radius, SD&& local_sd, C&& colour, float opacity = 1.0f) {
    const double r = radius * where.scale + 2.0;
    paint(where.centre.x - r, where.centre.y - r, where.centre.x + r, where.centre.y + r,
          [&](vec2 p) { return local_sd(where.to_local(p)) * where.scale; }, colour, opacity);
  }

 private:
  int width_, height_;
  std::vector<rgbf> px_;
};

}  // namespace actatlas::detail
