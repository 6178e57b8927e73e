/// @file concepts/filter.hpp
/// The filter role: which samples enter an atlas, decided from their attributions
/// (N×C). Returns the kept row ids in increasing order.
///
/// Minimal complete definition:
/// @code
/// struct my_filter {
///   using role = actatlas::role::filter;
///   static constexpr std::string_view name = "my_filter";
///   struct options {};
///   std::vector<std::uint32_t> select(actatlas::matrix_cref attributions) const;
/// };
/// @endcode
/// Models: `filter::no_filter`, `filter::rank`, `filter::magnitude`.
#pragma once

#include <cstdint>
#include <vector>

#include "../matrix.hpp"
#include "roles.hpp"

namespace actatlas {

template <class F>
concept filter_policy = plays_role<F, role::filter> && requires(const F& f, matrix_cref attributions) {
  { f.select(attributions) } -> std::same_as<std::vector<std::uint32_t>>;
};

}  // namespace actatlas
