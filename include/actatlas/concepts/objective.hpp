/// @file concepts/objective.hpp
/// The objective role: what feature inversion maximises, given the activation h (B×D)
/// at the centre of the layer's map and the target directions v (B×D), one value per row.
///
/// The objectives are templates over the tensor type so that these headers stay free of
/// LibTorch; `objective_for<O, torch::Tensor>` is checked where the inversion runs.
///
/// Minimal complete definition:
/// @code
/// struct my_objective {
///   using role = actatlas::role::objective;
///   static constexpr std::string_view name = "my_objective";
///   struct options {};
///   template <class Tensor> Tensor operator()(const Tensor& h, const Tensor& v) const;  // B values
/// };
/// @endcode
/// Models: `objective::dot`, `objective::cossim_dot<n>`, `objective::article_cossim<n>`.
#pragma once

#include "roles.hpp"

namespace actatlas {

template <class O>
concept objective_policy = plays_role<O, role::objective>;

//! An objective that can be evaluated on tensors of type `Tensor`.
template <class O, class Tensor>
concept objective_for = objective_policy<O> && requires(const O& o, const Tensor& h, const Tensor& v) {
  { o(h, v) } -> std::convertible_to<Tensor>;
};

}  // namespace actatlas
