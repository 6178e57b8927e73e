/// @file objective/cossim_dot.hpp
/// lucid's activation-atlas objective: the dot product weighted by the cosine similarity
/// to the power n, with the cosine floored at 0.1 so that a direction the activation does
/// not yet point at still pulls (the dot term's gradient never vanishes).
///
///     f(h, v) = (h·v) · max(0.1, cos(h, v))^n,   cos(h, v) = h·v / (‖h‖ ‖v‖)
///
/// This is the pipeline's default objective, with n = 4: lucid's activation-atlas
/// notebooks (the ones the article links as its reference implementation) call
/// `direction_neuron_cossim_S(..., cossim_pow=4)`; lucid's later `recipes/activation_atlas`
/// module defaults to 2. Where lucid divides by (1e-4 + ‖h‖) and uses a mean over D, this
/// is the true cosine and the true dot product (a constant factor and ‖v‖ apart, the same).
///
/// @code
/// actatlas::objective::cossim_dot<4> obj;
/// torch::Tensor value = obj(h, v);   // h, v: B×D; value: B
/// @endcode
#pragma once

#include <string_view>

#include "../concepts/objective.hpp"
#include "detail/row_ops.hpp"

namespace actatlas::objective {

//! The numbers of cossim_dot. At namespace scope (as `cossim_dot<n>::options`) because gcc
//! cannot use a nested class's default member initialisers in a default argument of the
//! enclosing class (`options o = {}`) before that class is complete.
struct cossim_dot_options {
  //! The floor on the cosine. lucid's value: below it the objective is the plain dot
  //! product scaled by 0.1^n, so it still rewards turning towards v.
  double cos_floor = 0.1;
};

//! lucid's form, dot · max(0.1, cos)^n.
//! @tparam n the cosine power (the activation-atlas notebooks use 4; 2 to 4 is the usual range).
template <int n = 4>
struct cossim_dot {
  using role = actatlas::role::objective;
  static constexpr std::string_view name = "cossim_dot";
  static constexpr int power = n;
  using options = cossim_dot_options;

  explicit cossim_dot(options o = {}) : opts_(o) {}
  const options& opts() const { return opts_; }

  //! h, v: B×D. Returns B values.
  template <class Tensor>
  Tensor operator()(const Tensor& h, const Tensor& v) const {
    const Tensor d = actatlas::detail::objective_row_dot(h, v);
    const Tensor cos = d / (actatlas::detail::objective_row_norm(h) * actatlas::detail::objective_row_norm(v));
    return d * actatlas::detail::objective_int_power<n>(cos.clamp_min(opts_.cos_floor));
  }

 private:
  options opts_;
};

}  // namespace actatlas::objective
