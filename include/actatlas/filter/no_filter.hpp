/// @file filter/no_filter.hpp
/// `filter::no_filter`: every sample enters the atlas (the article's full atlas).
#pragma once

#include <cstdint>
#include <numeric>
#include <string_view>
#include <vector>

#include "../concepts/filter.hpp"

namespace actatlas::filter {

class no_filter {
 public:
  using role = actatlas::role::filter;
  static constexpr std::string_view name = "no_filter";
  struct options {};

  // Two constructors rather than `options o = {}`: GCC rejects a default argument
  // built from a nested aggregate's member initialisers inside the enclosing class.
  no_filter() = default;
  explicit no_filter(options o) : options_(o) {}
  const options& opts() const noexcept { return options_; }

  std::vector<std::uint32_t> select(matrix_cref attributions) const {
    std::vector<std::uint32_t> all(attributions.rows());
    std::iota(all.begin(), all.end(), 0u);
    return all;
  }

 private:
  options options_{};
};

}  // namespace actatlas::filter
