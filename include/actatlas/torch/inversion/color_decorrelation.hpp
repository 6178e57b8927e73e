/// @file torch/inversion/color_decorrelation.hpp
/// Colour decorrelation for feature inversion (lucid's `_linear_decorrelate_color`): the
/// optimiser works in a space whose three channels are uncorrelated colours, and a pixel t
/// becomes RGB (before the sigmoid) as C̃ t, with C̃ = C / max_j ‖C_:,j‖ and C the "square
/// root" of the colour covariance of natural images, C = U Λ^½ (U, Λ its eigenvectors
/// and eigenvalues, largest first). Equal steps in every decorrelated channel then make
/// natural-looking colour changes instead of saturated per-channel noise.
///
/// Two matrices: ImageNet's (lucid's constant), and one estimated from any image set with
/// `color_statistics` / `estimate_color_sqrt` (for the demo images, or a user's data set).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "../../error.hpp"

namespace actatlas::inversion {

//! lucid's square root of ImageNet's colour correlation matrix (3×3, rows R, G, B; columns
//! the decorrelated channels, brightest first), float32 on the CPU.
inline torch::Tensor imagenet_color_sqrt() {
  return torch::tensor({0.26f, 0.09f, 0.02f, 0.27f, 0.00f, -0.05f, 0.27f, -0.09f, 0.03f}).reshape({3, 3});
}

//! Streaming estimate of the colour covariance of images in [0, 1] (float64 sums).
class color_statistics {
 public:
  //! Adds a batch of images, [N, 3, H, W] (or [3, H, W]) with values in [0, 1].
  void add(const torch::Tensor& images) {
    auto x = images.dim() == 3 ? images.unsqueeze(0) : images;
    if (x.dim() != 4 || x.size(1) != 3) throw input_error("color statistics", "images must be [N, 3, H, W]");
    auto pixels = x.detach().to(torch::kCPU, torch::kFloat64).permute({0, 2, 3, 1}).reshape({-1, 3});
    sum_ += pixels.sum(0);
    outer_ += pixels.t().mm(pixels);
    count_ += pixels.size(0);
  }

  std::int64_t pixels() const { return count_; }

  //! The 3×3 covariance of the pixels added so far.
  torch::Tensor covariance() const {
    if (count_ < 2) throw input_error("color statistics", "needs at least two pixels");
    const auto n = static_cast<double>(count_);
    auto mean = sum_ / n;
    return outer_ / n - mean.unsqueeze(1) * mean.unsqueeze(0);
  }

  //! C = U Λ^½ (columns largest eigenvalue first, each column's red entry made ≥ 0 so the
  //! result is unique), float32 3×3: the same form as imagenet_color_sqrt().
  torch::Tensor sqrt_correlation() const {
    auto [eigenvalues, eigenvectors] = torch::linalg_eigh(covariance(), "L");  // ascending
    auto order = torch::arange(2, -1, -1, torch::kLong);
    auto values = eigenvalues.index_select(0, order).clamp_min(0.0);
    auto vectors = eigenvectors.index_select(1, order);
    auto signs = torch::where(vectors[0] < 0, torch::full({3}, -1.0, torch::kFloat64), torch::ones({3}, torch::kFloat64));
    return (vectors * signs.unsqueeze(0) * values.sqrt().unsqueeze(0)).to(torch::kFloat32);
  }

 private:
  torch::Tensor sum_ = torch::zeros({3}, torch::kFloat64);
  torch::Tensor outer_ = torch::zeros({3, 3}, torch::kFloat64);
  std::int64_t count_ = 0;
};

//! C = U Λ^½ estimated from one batch of images [N, 3, H, W] in [0, 1].
inline torch::Tensor estimate_color_sqrt(const torch::Tensor& images) {
  color_statistics stats;
  stats.add(images);
  return stats.sqrt_correlation();
}

//! Maps decorrelated images [B, 3, H, W] to RGB pre-activations with C̃ = C / max column norm.
inline torch::Tensor decorrelated_to_rgb(const torch::Tensor& t, const torch::Tensor& color_sqrt) {
  if (color_sqrt.sizes() != torch::IntArrayRef({3, 3}))
    throw input_error("color decorrelation", "colour matrix must be 3×3");
  auto c = color_sqrt.to(t.device(), t.scalar_type());
  auto normalised = c / c.norm(2, {0}).max();
  // rgb[b, i, y, x] = Σ_j C̃[i, j] t[b, j, y, x]
  return torch::einsum("ij,bjhw->bihw", {normalised, t});
}

}  // namespace actatlas::inversion
