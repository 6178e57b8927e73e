/// @file objective/dot.hpp
/// The plain objective of feature visualisation: the dot product of the activation h at
/// the centre of the layer's map with the target direction v, one value per batch row.
///
/// @code
/// actatlas::objective::dot obj;
/// torch::Tensor value = obj(h, v);   // h, v: B×D; value: B
/// @endcode
#pragma once

#include <string_view>

#include "../concepts/objective.hpp"
#include "detail/row_ops.hpp"

namespace actatlas::objective {

//! f(h, v) = h·v. Rewards magnitude as much as angle, so icons tend towards whatever
//! drives the layer hardest in roughly the right direction.
struct dot {
  using role = actatlas::role::objective;
  static constexpr std::string_view name = "dot";
  //! No numbers to set.
  struct options {};

  explicit dot(options o = {}) : opts_(o) {}
  const options& opts() const { return opts_; }

  //! h, v: B×D (same dtype and device). Returns the B row-wise dot products.
  template <class Tensor>
  Tensor operator()(const Tensor& h, const Tensor& v) const {
    return actatlas::detail::objective_row_dot(h, v);
  }

 private:
  options opts_;
};

}  // namespace actatlas::objective
