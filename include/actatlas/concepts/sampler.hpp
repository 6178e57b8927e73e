/// @file concepts/sampler.hpp
/// The sampler role: which spatial positions of an h×w activation map become samples.
///
/// Minimal complete definition:
/// @code
/// struct my_sampler {
///   using role = actatlas::role::sampler;
///   static constexpr std::string_view name = "my_sampler";
///   struct options {};
///   // Positions for image number `image` of a map of h rows and w columns. A pure
///   // function of (options, image, h, w): that is what makes a killed collection
///   // resume with the same samples.
///   std::vector<actatlas::position> positions(std::uint64_t image, std::size_t h, std::size_t w) const;
/// };
/// @endcode
/// Models: `sampler::random_position`, `sampler::center_position`, `sampler::all_positions`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "roles.hpp"

namespace actatlas {

//! A position in an activation map: row y, column x.
struct position {
  std::int32_t y = 0;
  std::int32_t x = 0;
  friend bool operator==(const position&, const position&) = default;
};

template <class S>
concept sampler_policy = plays_role<S, role::sampler> &&
                         requires(const S& s, std::uint64_t image, std::size_t h, std::size_t w) {
                           { s.positions(image, h, w) } -> std::same_as<std::vector<position>>;
                         };

}  // namespace actatlas
