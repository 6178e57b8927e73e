/// @file sampler/center_position.hpp
/// One sample per image at the centre of the map (row h/2, column w/2): for
/// object-centred photos this is where the object usually is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../concepts/sampler.hpp"

namespace actatlas::sampler {

//! The centre position (h/2, w/2): for even sizes the lower-right of the four middle cells.
class center_position {
 public:
  using role = actatlas::role::sampler;
  static constexpr std::string_view name = "center_position";
  struct options {};

  // Two constructors rather than `options o = {}`: a default argument cannot use the
  // nested aggregate's member initialisers before the class is complete (GCC).
  center_position() : center_position(options{}) {}
  explicit center_position(options o) : opts_(o) {}
  const options& opts() const { return opts_; }

  std::vector<position> positions(std::uint64_t /*image*/, std::size_t h, std::size_t w) const {
    if (h == 0 || w == 0) return {};
    return {position{static_cast<std::int32_t>(h / 2), static_cast<std::int32_t>(w / 2)}};
  }

 private:
  options opts_;
};

static_assert(sampler_policy<center_position>);

}  // namespace actatlas::sampler
