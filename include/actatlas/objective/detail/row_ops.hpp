/// @file objective/detail/row_ops.hpp
/// Row-wise helpers shared by the objectives. They only call member functions that
/// torch::Tensor has (`sum`, `sqrt`, `clamp_min`, ...), so the objective headers stay free
/// of LibTorch and the same code runs on the CPU and on CUDA, in float32 or float64.
#pragma once

namespace actatlas::detail {

//! Squared norms are floored at this before the square root: the gradient of sqrt at 0
//! is infinite, and ∞·0 would turn a dead (all-zero) activation row into NaN. The floor
//! (a norm of 1e-6) is far below any activation norm that matters.
inline constexpr double squared_norm_floor = 1e-12;

//! h·v per row: B×D, B×D → B.
template <class Tensor>
Tensor objective_row_dot(const Tensor& h, const Tensor& v) {
  return (h * v).sum(1);
}

//! ‖x‖ per row, with the floor above.
template <class Tensor>
Tensor objective_row_norm(const Tensor& x) {
  return (x * x).sum(1).clamp_min(squared_norm_floor).sqrt();
}

//! x^n for a small non-negative integer n, by repeated products: exact, and its gradient
//! is defined everywhere (pow(x, 0) would need special cases).
template <int n, class Tensor>
Tensor objective_int_power(const Tensor& x) {
  static_assert(n >= 0, "actatlas::objective: the cosine power n must be >= 0");
  if constexpr (n == 0) {
    return x * 0 + 1;
  } else {
    Tensor result = x;
    for (int i = 1; i < n; ++i) result = result * x;
    return result;
  }
}

}  // namespace actatlas::detail
