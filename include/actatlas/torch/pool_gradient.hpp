/// @file torch/pool_gradient.hpp
/// Max-pooling whose gradient can be swapped for a continuous relaxation.
///
/// Why: the gradient of max-pool is a hard switch: it flows only to the arg-max of each
/// window. Attribution (h · ∂logit/∂h) through several max-pools then becomes noisy and
/// concentrates on single pixels. Lucid, which the Activation Atlas article used, replaces
/// max-pool's gradient during attribution by the gradient of a smooth stand-in whose value
/// is close to the max:
///
///     l2_relaxation:   avgpool(x²) / (1e-2 + avgpool(|x|))   (a soft maximum: a weighted mean
///                                                             of x with weights |x|)
///     avg_relaxation:  avgpool(x)
///
/// The forward *value* is always max-pool's; only the backward pass changes. It is built
/// with the identity `relaxed + (maxpool(x) − relaxed).detach()`, made of native ops only,
/// so it also works for double backward and for forward-mode derivatives (the tangent of a
/// detached tensor is zero), which the attribution stage relies on. The forward value
/// equals max-pool's up to one float rounding (|error| ≤ 1 ulp of max(|max|, |relaxed|)).
///
/// Averages follow TensorFlow's SAME-padding convention, which lucid's override used:
/// padded positions are left out of each window's count.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

namespace actatlas {

//! What max-pool's backward pass computes.
enum class pool_gradient {
  exact,          //!< max-pool's own gradient (to the arg-max of each window)
  l2_relaxation,  //!< gradient of avgpool(x²) / (1e-2 + avgpool(|x|)), lucid's attribution override
  avg_relaxation  //!< gradient of avgpool(x)
};

inline std::string_view to_string(pool_gradient g) {
  switch (g) {
    case pool_gradient::exact: return "exact";
    case pool_gradient::l2_relaxation: return "l2";
    case pool_gradient::avg_relaxation: return "avg";
  }
  return "?";
}

//! A square pooling window and its padding, in F.pad order {left, right, top, bottom}.
struct pool_window {
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  std::array<std::int64_t, 4> padding{0, 0, 0, 0};
};

//! TensorFlow's SAME padding for a square window over an `height`×`width` map: output
//! size ceil(n / stride), the odd pixel of padding going after (right, bottom).
inline std::array<std::int64_t, 4> same_padding(std::int64_t height, std::int64_t width, std::int64_t kernel,
                                                std::int64_t stride) {
  auto along = [&](std::int64_t n) {
    const std::int64_t out = (n + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + kernel - n, 0);
    return std::array<std::int64_t, 2>{total / 2, total - total / 2};
  };
  const auto h = along(height), w = along(width);
  return {w[0], w[1], h[0], h[1]};
}

namespace detail {

//! avgpool over the window with padded positions excluded from the count (TF SAME).
//! `inv_count` is 1/count per output position, shape [1,1,h,w], and carries no gradient.
inline torch::Tensor masked_avg_pool(const torch::Tensor& x, const pool_window& w, const torch::Tensor& inv_count) {
  namespace F = torch::nn::functional;
  const auto padded = F::pad(x, F::PadFuncOptions({w.padding[0], w.padding[1], w.padding[2], w.padding[3]}));
  // sum over the window = avg (counting padding) × kernel²; divisor_override=1 gives the sum.
  const auto sum = torch::avg_pool2d(padded, {w.kernel, w.kernel}, {w.stride, w.stride}, {0, 0}, false, true, 1);
  return sum * inv_count;
}

inline torch::Tensor inverse_window_count(const torch::Tensor& x, const pool_window& w) {
  namespace F = torch::nn::functional;
  torch::NoGradGuard no_grad;
  const auto ones = torch::ones({1, 1, x.size(2), x.size(3)}, x.options().requires_grad(false));
  const auto padded = F::pad(ones, F::PadFuncOptions({w.padding[0], w.padding[1], w.padding[2], w.padding[3]}));
  const auto count = torch::avg_pool2d(padded, {w.kernel, w.kernel}, {w.stride, w.stride}, {0, 0}, false, true, 1);
  return count.reciprocal();
}

//! Whether anything will ever ask for a derivative of `x`: reverse mode (requires_grad
//! under grad mode) or forward mode (a tangent at the default level).
inline bool wants_derivative(const torch::Tensor& x) {
  return (torch::GradMode::is_enabled() && x.requires_grad()) || x._fw_grad(/*level=*/0).defined();
}

}  // namespace detail

//! The relaxed stand-in itself (a smooth function of x with max-pool's output shape).
//! Exposed so that tests and users can compare gradients against it directly.
inline torch::Tensor relaxed_max_pool2d(const torch::Tensor& x, const pool_window& w, pool_gradient g) {
  const auto inv_count = detail::inverse_window_count(x, w);
  if (g == pool_gradient::avg_relaxation) return detail::masked_avg_pool(x, w, inv_count);
  // l2: lucid's constant 1e-2 keeps the ratio finite where a window is all zeros.
  return detail::masked_avg_pool(x * x, w, inv_count) / (1e-2 + detail::masked_avg_pool(x.abs(), w, inv_count));
}

//! Max-pool of `x` ([B,C,H,W]) over `w`, padded with −∞ (so padding never wins), whose
//! gradient is max-pool's own (`exact`) or the chosen relaxation's. When no derivative of
//! `x` can be asked for, the relaxation is skipped and this is a plain max-pool.
inline torch::Tensor max_pool2d(const torch::Tensor& x, const pool_window& w, pool_gradient g = pool_gradient::exact) {
  namespace F = torch::nn::functional;
  const bool padded = w.padding != std::array<std::int64_t, 4>{0, 0, 0, 0};
  const auto input = padded ? F::pad(x, F::PadFuncOptions({w.padding[0], w.padding[1], w.padding[2], w.padding[3]})
                                            .value(-std::numeric_limits<double>::infinity()))
                            : x;
  auto pooled = torch::max_pool2d(input, {w.kernel, w.kernel}, {w.stride, w.stride});
  if (g == pool_gradient::exact || !detail::wants_derivative(x)) return pooled;
  const auto relaxed = relaxed_max_pool2d(x, w, g);
  return relaxed + (pooled - relaxed).detach();
}

}  // namespace actatlas
