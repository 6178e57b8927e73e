/// @file filter/magnitude.hpp
/// `filter::magnitude`: the samples that contribute most strongly to class c, whatever
/// they contribute to other classes (the article's filter for comparisons: it keeps
/// correlated concepts, like fish next to snorkels). Two forms: the top N by attribution
/// to c (positive ones only), or every sample above a threshold.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "../concepts/filter.hpp"
#include "detail/check_class.hpp"

namespace actatlas::filter {

class magnitude {
 public:
  using role = actatlas::role::filter;
  static constexpr std::string_view name = "magnitude";
  struct options {
    std::size_t cls = 0;               //!< the class c (logit index)
    std::size_t top_n = 2000;          //!< keep the N largest positive attributions to c
    std::optional<float> threshold{};  //!< when set, keep attributions to c above it instead of the top N
  };

  // Two constructors rather than `options o = {}`: GCC rejects a default argument
  // built from a nested aggregate's member initialisers inside the enclosing class.
  magnitude() = default;
  explicit magnitude(options o) : options_(o) {}
  const options& opts() const noexcept { return options_; }

  std::vector<std::uint32_t> select(matrix_cref attributions) const {
    detail::check_class(options_.cls, attributions, "filter::magnitude");
    const std::size_t c = options_.cls;
    std::vector<std::uint32_t> kept;
    if (options_.threshold) {
      for (std::size_t i = 0; i < attributions.rows(); ++i)
        if (attributions(i, c) > *options_.threshold) kept.push_back(static_cast<std::uint32_t>(i));
      return kept;
    }
    for (std::size_t i = 0; i < attributions.rows(); ++i)
      if (attributions(i, c) > 0.f) kept.push_back(static_cast<std::uint32_t>(i));
    detail::keep_largest(kept, attributions, c, options_.top_n);
    return kept;
  }

 private:
  options options_{};
};

}  // namespace actatlas::filter
