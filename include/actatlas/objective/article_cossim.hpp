/// @file objective/article_cossim.hpp
/// The article's objective, "Activation Atlas" §"Aggregating activations":
///
///     f(h, v) = (h·v)^(n+1) / (‖h‖ ‖v‖)^n  =  (h·v) · cos(h, v)^n
///
/// **Sign convention.** For odd n the formula as written is an even power of h·v, so it
/// would reward an activation pointing *away* from v as much as one pointing towards it.
/// We evaluate it as (h·v) · |cos(h, v)|^n, which is the article's formula wherever h·v ≥ 0
/// (and for every even n everywhere) and keeps the sign of h·v otherwise: maximising it
/// never rewards anti-alignment. Unlike lucid's form there is no floor on the cosine, so a
/// start orthogonal to v gets a weak pull (∝ |cos|^n); that is the article's choice.
///
/// @code
/// actatlas::objective::article_cossim<2> obj;
/// torch::Tensor value = obj(h, v);   // h, v: B×D; value: B
/// @endcode
#pragma once

#include <string_view>

#include "../concepts/objective.hpp"
#include "detail/row_ops.hpp"

namespace actatlas::objective {

//! The article's (h·v)^(n+1) / (‖h‖‖v‖)^n, sign kept from h·v (see the file comment).
//! @tparam n the cosine power (the article: "n" between 2 and 4).
template <int n = 4>
struct article_cossim {
  using role = actatlas::role::objective;
  static constexpr std::string_view name = "article_cossim";
  static constexpr int power = n;
  //! No numbers to set: n is a template parameter because it changes the code.
  struct options {};

  explicit article_cossim(options o = {}) : opts_(o) {}
  const options& opts() const { return opts_; }

  //! h, v: B×D. Returns B values.
  template <class Tensor>
  Tensor operator()(const Tensor& h, const Tensor& v) const {
    const Tensor d = actatlas::detail::objective_row_dot(h, v);
    const Tensor cos = d / (actatlas::detail::objective_row_norm(h) * actatlas::detail::objective_row_norm(v));
    return d * actatlas::detail::objective_int_power<n>(cos.abs());
  }

 private:
  options opts_;
};

}  // namespace actatlas::objective
