/// @file torch/inversion/fourier_image.hpp
/// The image parameterisation of feature inversion (Olah et al., "Feature Visualization",
/// Distill 2017; lucid's `param.fft_image`): each icon is stored as its 2-D Fourier
/// spectrum, and each frequency f is scaled by 1 / max(f, 1/max(H, W))^decay_power before
/// the inverse FFT. Gradient steps on the spectrum then change low frequencies as readily
/// as high ones, which removes most of the high-frequency noise that optimising raw
/// pixels produces.
///
/// Shape: a batch of B images (the batch dimension is the icons), C channels (3 for RGB,
/// 4 with an alpha channel), H×W pixels. The parameter is real, [B, C, H, W/2+1, 2]
/// (real and imaginary parts), drawn from N(0, sd²); `image()` returns the [B, C, H, W]
/// *pre-activation* image (colour decorrelation and the sigmoid come after, in
/// render_icons). The inverse FFT is orthonormal, which is what lucid's
/// `irfft2d(spectrum · scale · sqrt(H·W))` amounts to, and the result is divided by 4 as
/// lucid and lucent do (it keeps the sigmoid in its linear range at the start).
///
/// Each icon's initial spectrum is drawn from its own generator seeded with its own seed,
/// so an icon's start does not depend on the device or on the other icons' seeds.
#pragma once

#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>  // at::detail::createCPUGenerator

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "../../error.hpp"

namespace actatlas::inversion {

//! The numbers of the Fourier parameterisation; lucid's defaults.
struct fourier_image_options {
  double sd = 0.01;          //!< standard deviation of the initial spectrum
  double decay_power = 1.0;  //!< frequency f is scaled by 1/f^decay_power
};

//! B images held as scaled Fourier spectra (see the file comment).
class fourier_image {
 public:
  using options = fourier_image_options;

  //! One image per entry of `seeds`, each `channels` × `height` × `width`, on `device`.
  fourier_image(const std::vector<std::uint64_t>& seeds, std::int64_t channels, std::int64_t height,
                std::int64_t width, torch::Device device, options o = {})
      : opts_(o), height_(height), width_(width) {
    if (seeds.empty()) throw input_error("fourier_image", "needs at least one image");
    if (height < 2 || width < 2 || channels < 1)
      throw input_error("fourier_image", "image must be at least 2×2 with one channel");
    const std::int64_t wf = width / 2 + 1;
    std::vector<torch::Tensor> per_icon;
    per_icon.reserve(seeds.size());
    for (std::uint64_t seed : seeds) {
      // Drawn on the CPU from a per-icon generator, then moved: the same start on every device.
      auto gen = at::detail::createCPUGenerator(seed);
      per_icon.push_back(torch::randn({channels, height, wf, 2}, gen, torch::kFloat32) * o.sd);
    }
    spectrum_ = torch::stack(per_icon).to(device).set_requires_grad(true);
    scale_ = frequency_scale(height, width, o.decay_power).to(device);
  }

  //! The trainable parameter, [B, C, H, W/2+1, 2].
  torch::Tensor& spectrum() { return spectrum_; }
  const options& opts() const { return opts_; }
  std::int64_t batch() const { return spectrum_.size(0); }
  std::int64_t channels() const { return spectrum_.size(1); }

  //! The pre-activation images, [B, C, H, W] (differentiable in spectrum()).
  torch::Tensor image() const {
    const auto complex = torch::view_as_complex(spectrum_) * scale_;
    return torch::fft::irfft2(complex, std::vector<std::int64_t>{height_, width_}, {-2, -1}, "ortho") / 4.0;
  }

  //! 1 / max(f, 1/max(H, W))^decay for the rfft2 frequency grid, [H, W/2+1]. The floor keeps
  //! the constant term (f = 0) finite at the scale of the lowest non-zero frequency.
  static torch::Tensor frequency_scale(std::int64_t height, std::int64_t width, double decay_power) {
    const std::int64_t wf = width / 2 + 1;
    auto fy = torch::fft::fftfreq(height, torch::kFloat64).unsqueeze(1);          // [H, 1]
    auto fx = torch::arange(wf, torch::kFloat64).div(static_cast<double>(width)).unsqueeze(0);  // [1, wf]
    auto f = torch::sqrt(fx * fx + fy * fy);
    const double floor = 1.0 / static_cast<double>(std::max(height, width));
    return torch::pow(torch::clamp_min(f, floor), -decay_power).to(torch::kFloat32);
  }

 private:
  options opts_;
  std::int64_t height_;
  std::int64_t width_;
  torch::Tensor spectrum_;
  torch::Tensor scale_;
};

}  // namespace actatlas::inversion
