/// @file filter/rank.hpp
/// `filter::rank`: the samples whose largest attribution is to class c (the article's
/// first class activation atlas: what contributes *mostly* to c, even weakly, as
/// background detectors do). With `top_n`, only the N of those with the largest
/// attribution to c are kept (the rank filter and then the magnitude filter's cut, for
/// classes whose rank-filtered samples are too many to lay out).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../concepts/filter.hpp"
#include "detail/check_class.hpp"

namespace actatlas::filter {

class rank {
 public:
  using role = actatlas::role::filter;
  static constexpr std::string_view name = "rank";
  struct options {
    std::size_t cls = 0;    //!< the class c (logit index)
    std::size_t top_n = 0;  //!< when > 0, keep only the N kept samples with the largest attribution to c
  };

  // Two constructors rather than `options o = {}`: GCC rejects a default argument
  // built from a nested aggregate's member initialisers inside the enclosing class.
  rank() = default;
  explicit rank(options o) : options_(o) {}
  const options& opts() const noexcept { return options_; }

  std::vector<std::uint32_t> select(matrix_cref attributions) const {
    detail::check_class(options_.cls, attributions, "filter::rank");
    std::vector<std::uint32_t> kept;
    for (std::size_t i = 0; i < attributions.rows(); ++i) {
      auto row = attributions.row(i);
      std::size_t best = 0;
      for (std::size_t c = 1; c < row.size(); ++c)
        if (row[c] > row[best]) best = c;  // ties go to the lower index, as numpy's argmax
      if (best == options_.cls) kept.push_back(static_cast<std::uint32_t>(i));
    }
    if (options_.top_n > 0) detail::keep_largest(kept, attributions, options_.cls, options_.top_n);
    return kept;
  }

 private:
  options options_{};
};

}  // namespace actatlas::filter
