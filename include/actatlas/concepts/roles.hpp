/// @file concepts/roles.hpp
/// The five roles a policy can play in a pipeline. A policy says which one it plays
/// with a member alias, `using role = actatlas::role::reducer;`, and carries a
/// `static constexpr std::string_view name` and a nested `options` aggregate.
#pragma once

#include <concepts>
#include <string_view>

namespace actatlas::role {

//! Which spatial positions of a layer's map become samples.
struct sampler { static constexpr std::string_view name = "sampler"; };
//! N×D activations to an N×2 (or N×1) layout.
struct reducer { static constexpr std::string_view name = "reducer"; };
//! A unit-square layout to grid cells.
struct binning { static constexpr std::string_view name = "binning"; };
//! Which samples enter an atlas (all of them, or those of one class).
struct filter { static constexpr std::string_view name = "filter"; };
//! What feature inversion maximises.
struct objective { static constexpr std::string_view name = "objective"; };

}  // namespace actatlas::role

namespace actatlas {

//! What every policy has, whatever its role: a role tag, a name and an options aggregate.
template <class P>
concept policy = requires {
  typename P::role;
  typename P::options;
  { P::name } -> std::convertible_to<std::string_view>;
};

//! True when `P` is a policy that declares role `R`.
template <class P, class R>
concept plays_role = policy<P> && std::same_as<typename P::role, R>;

}  // namespace actatlas
