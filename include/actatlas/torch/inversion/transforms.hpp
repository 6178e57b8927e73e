/// @file torch/inversion/transforms.hpp
/// Transformation robustness ("Feature Visualization", Olah et al. 2017): at every step
/// the image is padded, jittered, scaled and rotated at random before the network sees it,
/// so the optimiser cannot exploit pixel-exact patterns. A transform list is applied to a
/// batch of images; offsets and angles are drawn per icon, the scale factor once per step
/// for the whole batch (it sets the size the network sees, as in lucid).
///
/// Steps (each the lucid/lucent transform of the same name):
///  - `pad{w, value}`: w pixels on each side, constant `value` (lucid's mode='constant')
///    or, with `reflect`, mirrored.
///  - `jitter{d, jitter_mode::crop}`: lucid's jitter, a random crop of size − d (offset in
///    [0, d] on each axis): the image *shrinks* by d.
///  - `jitter{d, jitter_mode::translate}`: lucent's jitter, a translation by [0, d) pixels
///    on each axis; the size is kept, uncovered pixels read as the fill.
///  - `random_scale{factors}`: resize by a factor drawn from the list (bilinear); the size
///    becomes floor(factor · size).
///  - `random_rotate{degrees}`: rotation about the centre by an angle drawn from the list.
///  - `crop_or_pad_to{h, w}`: centred crop or pad to a fixed size.
///
/// Implementation: every step is an affine map of pixel coordinates, so a whole list is
/// composed into one 2×3 matrix per icon and applied with a single bilinear
/// `grid_sample`: one pass over the pixels per optimisation step whatever the list's
/// length, batched over icons, the same code on the CPU and on CUDA. Integer crops and
/// translations land on pixel centres and so copy pixels exactly. Everything outside the
/// source image reads as the first pad's fill (lucid fills rotated-in corners with black).
/// Random numbers come from a CPU generator, so a seed gives the same draws on any device.
#pragma once

#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>  // at::detail::createCPUGenerator

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <variant>
#include <vector>

#include "../../error.hpp"

namespace actatlas::inversion {

//! How jitter moves the image (the two libraries differ).
enum class jitter_mode {
  crop,       //!< lucid: random crop, the image shrinks by d
  translate,  //!< lucent: random translation by [0, d), the size is kept
};

//! Pads `width` pixels on every side.
struct pad {
  std::int64_t width = 0;
  double value = 0.5;    //!< constant fill (lucid's default grey)
  bool reflect = false;  //!< mirror the image instead of a constant
};
//! Random crop (lucid) or translation (lucent) by up to `d` pixels.
struct jitter {
  std::int64_t d = 0;
  jitter_mode mode = jitter_mode::crop;
};
//! Resize by a factor drawn uniformly from `factors`.
struct random_scale {
  std::vector<double> factors;
};
//! Rotate by an angle (degrees) drawn uniformly from `degrees`.
struct random_rotate {
  std::vector<double> degrees;
};
//! Centred crop or pad to height × width.
struct crop_or_pad_to {
  std::int64_t height = 0;
  std::int64_t width = 0;
};

using transform_step = std::variant<pad, jitter, random_scale, random_rotate, crop_or_pad_to>;
using transform_list = std::vector<transform_step>;

namespace detail {
inline std::vector<double> powers(double base, int from, int to, int repeat = 1) {  // base^n, n ∈ [from, to)
  std::vector<double> out;
  for (int r = 0; r < repeat; ++r)
    for (int n = from; n < to; ++n) out.push_back(std::pow(base, n));
  return out;
}
inline std::vector<double> range(int from, int to) {  // Python's range(from, to)
  std::vector<double> out;
  for (int n = from; n < to; ++n) out.push_back(n);
  return out;
}
inline std::vector<double> concat(std::initializer_list<std::vector<double>> parts) {
  std::vector<double> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
}  // namespace detail

//! The article's reference list: lucid's `recipes/activation_atlas` render_icons ("holy
//! mother of transforms"): pad 16 (constant), jitter 4, 4, 8, 8, 8 (crops), scale by
//! 0.998^n for n in [20, 40), rotate by an angle from range(−20, 20) ∪ range(−10, 10) ∪
//! range(−5, 5) ∪ 5×{0}, jitter 2, then crop or pad back to `size`. The network sees
//! size × size; this is render_icons' default.
inline transform_list article_reference_transforms(std::int64_t size) {
  return {pad{16, 0.5},
          jitter{4},
          jitter{4},
          jitter{8},
          jitter{8},
          jitter{8},
          random_scale{detail::powers(0.998, 20, 40)},
          random_rotate{detail::concat({detail::range(-20, 20), detail::range(-10, 10), detail::range(-5, 5),
                                        std::vector<double>(5, 0.0)})},
          jitter{2},
          crop_or_pad_to{size, size}};
}

//! The list of lucid's activation-atlas notebooks (the notebooks the article links): pad 2
//! (constant white), jitter 4, 4, 8, 8, 8 (crops), scale by 0.995^n for n in [−5, 80) and
//! 0.998^n (twice) for n in [20, 40), the same rotations, jitter 2, and no final crop: an
//! 80 px icon reaches the network at roughly 33–51 px.
inline transform_list article_notebook_transforms() {
  return {pad{2, 1.0},
          jitter{4},
          jitter{4},
          jitter{8},
          jitter{8},
          jitter{8},
          random_scale{detail::concat({detail::powers(0.995, -5, 80), detail::powers(0.998, 20, 40, 2)})},
          random_rotate{detail::concat({detail::range(-20, 20), detail::range(-10, 10), detail::range(-5, 5),
                                        std::vector<double>(5, 0.0)})},
          jitter{2}};
}

//! lucent's `standard_transforms`: pad 12 (grey), jitter 8 (translation), scale by
//! 1 + (i − 5)/50 for i in [0, 11), rotate by range(−10, 11) ∪ 5×{0}, jitter 4 (translation).
inline transform_list lucent_standard_transforms() {
  std::vector<double> scales;
  for (int i = 0; i < 11; ++i) scales.push_back(1.0 + (i - 5) / 50.0);
  return {pad{12, 0.5},
          jitter{8, jitter_mode::translate},
          random_scale{scales},
          random_rotate{detail::concat({detail::range(-10, 11), std::vector<double>(5, 0.0)})},
          jitter{4, jitter_mode::translate}};
}

//! The size (height, width) a list turns an input of `height` × `width` into when the
//! random scale is `scale` (1 when there is none). Throws when a step empties the image.
inline std::array<std::int64_t, 2> transformed_size(const transform_list& steps, std::int64_t height,
                                                    std::int64_t width, double scale = 1.0) {
  std::int64_t h = height, w = width;
  for (const auto& step : steps) {
    if (const auto* p = std::get_if<pad>(&step)) {
      h += 2 * p->width;
      w += 2 * p->width;
    } else if (const auto* j = std::get_if<jitter>(&step)) {
      if (j->mode == jitter_mode::crop) {
        h -= j->d;
        w -= j->d;
      }
    } else if (std::holds_alternative<random_scale>(step)) {
      h = static_cast<std::int64_t>(std::floor(scale * static_cast<double>(h)));
      w = static_cast<std::int64_t>(std::floor(scale * static_cast<double>(w)));
    } else if (const auto* c = std::get_if<crop_or_pad_to>(&step)) {
      h = c->height;
      w = c->width;
    }
    if (h < 1 || w < 1) throw input_error("transforms", "the transform list shrinks the image to nothing");
  }
  return {h, w};
}

//! Applies a transform list to a batch of images [B, C, H, W], drawing from `gen` (a CPU
//! generator). Differentiable in `images`.
inline torch::Tensor apply_transforms(const transform_list& steps, const torch::Tensor& images, at::Generator& gen) {
  if (steps.empty()) return images;
  const std::int64_t b = images.size(0), h0 = images.size(2), w0 = images.size(3);
  // Per icon, the map from the current canvas' pixel coordinates (x, y; pixel centres at
  // i + 0.5) to the source image's: source = A · (x, y, 1). Kept as B×3×3 in float64.
  auto a = torch::eye(3, torch::kFloat64).unsqueeze(0).repeat({b, 1, 1});
  auto compose = [&](const torch::Tensor& step) { a = a.bmm(step); };  // source ← canvas_old ← canvas_new
  auto translation = [&](const torch::Tensor& tx, const torch::Tensor& ty) {
    auto m = torch::eye(3, torch::kFloat64).unsqueeze(0).repeat({b, 1, 1});
    m.select(1, 0).select(1, 2).copy_(tx);
    m.select(1, 1).select(1, 2).copy_(ty);
    return m;
  };
  auto randint_b = [&](std::int64_t high) {  // B values uniform in [0, high)
    return torch::randint(high, {b}, gen, torch::kFloat64);
  };
  double ch = static_cast<double>(h0), cw = static_cast<double>(w0);  // current canvas size
  double fill = 0.5;
  bool reflect = false, fill_set = false;
  for (const auto& step : steps) {
    if (const auto* p = std::get_if<pad>(&step)) {
      if (!fill_set) {
        fill = p->value;
        reflect = p->reflect;
        fill_set = true;
      }
      const double wp = static_cast<double>(p->width);
      compose(translation(torch::full({b}, -wp, torch::kFloat64), torch::full({b}, -wp, torch::kFloat64)));
      ch += 2 * wp;
      cw += 2 * wp;
    } else if (const auto* j = std::get_if<jitter>(&step)) {
      if (j->d <= 0) continue;
      if (j->mode == jitter_mode::crop) {
        // Offset in [0, d]: the crop of size − d starts anywhere it fits.
        compose(translation(randint_b(j->d + 1), randint_b(j->d + 1)));
        ch -= static_cast<double>(j->d);
        cw -= static_cast<double>(j->d);
      } else {
        // Content moves by +[0, d): the new pixel x shows the old x − dx.
        compose(translation(-randint_b(j->d), -randint_b(j->d)));
      }
    } else if (const auto* s = std::get_if<random_scale>(&step)) {
      if (s->factors.empty()) continue;
      const auto pick = torch::randint(static_cast<std::int64_t>(s->factors.size()), {1}, gen, torch::kLong).item<std::int64_t>();
      const double factor = s->factors[static_cast<std::size_t>(pick)];
      const double nh = std::floor(factor * ch), nw = std::floor(factor * cw);
      if (nh < 1 || nw < 1) throw input_error("transforms", "random_scale shrinks the image to nothing");
      auto m = torch::eye(3, torch::kFloat64).unsqueeze(0).repeat({b, 1, 1});
      m.select(1, 0).select(1, 0).fill_(cw / nw);
      m.select(1, 1).select(1, 1).fill_(ch / nh);
      compose(m);
      ch = nh;
      cw = nw;
    } else if (const auto* r = std::get_if<random_rotate>(&step)) {
      if (r->degrees.empty()) continue;
      auto table = torch::tensor(r->degrees, torch::kFloat64);
      auto angles = table.index_select(0, torch::randint(static_cast<std::int64_t>(r->degrees.size()), {b}, gen, torch::kLong)) *
                    (std::numbers::pi / 180.0);
      // old = R(θ)(new − c) + c, c the canvas centre.
      auto cos = angles.cos(), sin = angles.sin();
      auto m = torch::zeros({b, 3, 3}, torch::kFloat64);
      const double cx = cw / 2, cy = ch / 2;
      m.select(1, 0).select(1, 0).copy_(cos);
      m.select(1, 0).select(1, 1).copy_(-sin);
      m.select(1, 0).select(1, 2).copy_(cx - cos * cx + sin * cy);
      m.select(1, 1).select(1, 0).copy_(sin);
      m.select(1, 1).select(1, 1).copy_(cos);
      m.select(1, 1).select(1, 2).copy_(cy - sin * cx - cos * cy);
      m.select(1, 2).select(1, 2).fill_(1.0);
      compose(m);
    } else if (const auto* c = std::get_if<crop_or_pad_to>(&step)) {
      // Centred, with lucid's integer offset (old − new) // 2.
      const double oy = std::floor((ch - static_cast<double>(c->height)) / 2);
      const double ox = std::floor((cw - static_cast<double>(c->width)) / 2);
      compose(translation(torch::full({b}, ox, torch::kFloat64), torch::full({b}, oy, torch::kFloat64)));
      ch = static_cast<double>(c->height);
      cw = static_cast<double>(c->width);
    }
    if (ch < 1 || cw < 1) throw input_error("transforms", "the transform list shrinks the image to nothing");
  }
  // grid_sample wants, per output pixel, the source position in [−1, 1] (align_corners =
  // false: −1 and 1 are the outer edges). theta = N_src · A · N_out⁻¹.
  auto n_out_inv = torch::zeros({3, 3}, torch::kFloat64);
  n_out_inv[0][0] = cw / 2;
  n_out_inv[0][2] = cw / 2;
  n_out_inv[1][1] = ch / 2;
  n_out_inv[1][2] = ch / 2;
  n_out_inv[2][2] = 1.0;
  auto n_src = torch::zeros({3, 3}, torch::kFloat64);
  n_src[0][0] = 2.0 / static_cast<double>(w0);
  n_src[0][2] = -1.0;
  n_src[1][1] = 2.0 / static_cast<double>(h0);
  n_src[1][2] = -1.0;
  n_src[2][2] = 1.0;
  auto theta = n_src.unsqueeze(0).matmul(a).matmul(n_out_inv.unsqueeze(0)).narrow(1, 0, 2);
  theta = theta.to(images.device(), images.scalar_type());
  const auto oh = static_cast<std::int64_t>(ch), ow = static_cast<std::int64_t>(cw);
  auto grid = torch::nn::functional::affine_grid(theta, {b, images.size(1), oh, ow}, /*align_corners=*/false);
  namespace F = torch::nn::functional;
  if (reflect) {
    return F::grid_sample(images, grid,
                          F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kReflection).align_corners(false));
  }
  // Zero padding around (image − fill), then + fill: a constant fill outside the source.
  return F::grid_sample(images - fill, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false)) +
         fill;
}

//! Resizes a batch [B, C, H, W] to height × width: bilinear (pixel centres at +0.5), with
//! the antialiasing kernel when an axis shrinks, so that an icon larger than the input is
//! averaged rather than aliased. Differentiable in `images`. Feature inversion puts it last,
//! after the transform list, for models that take one input size only (a ViT's position
//! embeddings fix the patch grid): the icon is optimised at its own size and the network
//! sees it at the size it was trained on (docs/decisions.md, "Vision transformers").
inline torch::Tensor resize_to(const torch::Tensor& images, std::int64_t height, std::int64_t width) {
  if (images.size(2) == height && images.size(3) == width) return images;
  namespace F = torch::nn::functional;
  return F::interpolate(images, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{height, width})
                                    .mode(torch::kBilinear)
                                    .align_corners(false)
                                    .antialias(height < images.size(2) || width < images.size(3)));
}

}  // namespace actatlas::inversion
