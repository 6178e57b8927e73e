/// @file sampler/random_position.hpp
/// The article's sampler: one random spatial position per image, away from the edges.
///
/// @code
/// actatlas::sampler::random_position s({.seed = 7, .margin = 1});
/// auto where = s.positions(image_index, 14, 14);  // one position, rows/cols 1..12
/// @endcode
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../concepts/sampler.hpp"
#include "../detail/position_hash.hpp"

namespace actatlas::sampler {

//! One position per image, drawn uniformly from the map with `margin` rows and columns
//! left out on every edge (the article excludes the border, where padding distorts the
//! activations). The position is a pure function of (seed, image, h, w).
class random_position {
 public:
  using role = actatlas::role::sampler;
  static constexpr std::string_view name = "random_position";

  struct options {
    std::uint64_t seed = 0;    //!< same seed, same positions
    std::int32_t margin = 1;   //!< rows/columns excluded on each edge; shrunk on maps too small for it
  };

  // Two constructors rather than `options o = {}`: a default argument cannot use the
  // nested aggregate's member initialisers before the class is complete (GCC).
  random_position() : random_position(options{}) {}
  explicit random_position(options o) : opts_(o) {}
  const options& opts() const { return opts_; }

  std::vector<position> positions(std::uint64_t image, std::size_t h, std::size_t w) const {
    if (h == 0 || w == 0) return {};
    const auto y_range = allowed(h), x_range = allowed(w);
    const std::uint64_t hy = detail::hash_words(opts_.seed, image, h, w, 0);
    const std::uint64_t hx = detail::hash_words(opts_.seed, image, h, w, 1);
    return {position{static_cast<std::int32_t>(y_range.first + detail::below(hy, y_range.second)),
                     static_cast<std::int32_t>(x_range.first + detail::below(hx, x_range.second))}};
  }

 private:
  //! (first allowed index, number of allowed indices) along an axis of length n. A margin
  //! that would leave nothing is reduced to keep at least the middle row/column, so a 1×1
  //! or 2×2 map still yields a sample rather than none.
  std::pair<std::uint64_t, std::uint64_t> allowed(std::size_t n) const {
    const auto m = static_cast<std::size_t>(std::max<std::int32_t>(0, opts_.margin));
    const std::size_t margin = std::min(m, (n - 1) / 2);
    return {margin, n - 2 * margin};
  }
  options opts_;
};

static_assert(sampler_policy<random_position>);

}  // namespace actatlas::sampler
