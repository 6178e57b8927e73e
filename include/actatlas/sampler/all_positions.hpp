/// @file sampler/all_positions.hpp
/// Every position of the map (optionally without a border), row by row: h·w samples per
/// image, for small image sets or for looking at one image's whole map.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../concepts/sampler.hpp"

namespace actatlas::sampler {

//! All positions, row-major, with `margin` rows and columns left out on every edge
//! (default 0: the whole map). A margin too large for the map is shrunk as in random_position.
class all_positions {
 public:
  using role = actatlas::role::sampler;
  static constexpr std::string_view name = "all_positions";
  struct options {
    std::int32_t margin = 0;  //!< rows/columns excluded on each edge
  };

  // Two constructors rather than `options o = {}`: a default argument cannot use the
  // nested aggregate's member initialisers before the class is complete (GCC).
  all_positions() : all_positions(options{}) {}
  explicit all_positions(options o) : opts_(o) {}
  const options& opts() const { return opts_; }

  std::vector<position> positions(std::uint64_t /*image*/, std::size_t h, std::size_t w) const {
    std::vector<position> out;
    if (h == 0 || w == 0) return out;
    const auto m = static_cast<std::size_t>(std::max<std::int32_t>(0, opts_.margin));
    const std::size_t my = std::min(m, (h - 1) / 2), mx = std::min(m, (w - 1) / 2);
    out.reserve((h - 2 * my) * (w - 2 * mx));
    for (std::size_t y = my; y < h - my; ++y)
      for (std::size_t x = mx; x < w - mx; ++x)
        out.push_back(position{static_cast<std::int32_t>(y), static_cast<std::int32_t>(x)});
    return out;
  }

 private:
  options opts_;
};

static_assert(sampler_policy<all_positions>);

}  // namespace actatlas::sampler
