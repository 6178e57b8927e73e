/// @file filter/class_pair.hpp
/// `filter::class_pair`: the samples of the article's two-class comparison ("snorkel" vs
/// "scuba diver"): the top N by positive attribution to class A, together with the top N
/// to class B (the magnitude filter of each, merged). A sample strong for both enters once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "../concepts/filter.hpp"
#include "magnitude.hpp"

namespace actatlas::filter {

class class_pair {
 public:
  using role = actatlas::role::filter;
  static constexpr std::string_view name = "class_pair";
  struct options {
    std::size_t class_a = 0;    //!< A, drawn on the left of a comparison
    std::size_t class_b = 1;    //!< B, on the right
    std::size_t top_n = 2000;   //!< per class
  };

  // Two constructors rather than `options o = {}`: GCC rejects a default argument
  // built from a nested aggregate's member initialisers inside the enclosing class.
  class_pair() = default;
  explicit class_pair(options o) : options_(o) {}
  const options& opts() const noexcept { return options_; }

  std::vector<std::uint32_t> select(matrix_cref attributions) const {
    if (options_.class_a == options_.class_b)
      throw input_error("filter::class_pair.class_b", "is the same class as class_a (" + std::to_string(options_.class_a) + ")");
    detail::check_class(options_.class_a, attributions, "filter::class_pair", "class_a");
    detail::check_class(options_.class_b, attributions, "filter::class_pair", "class_b");
    const auto a = magnitude({.cls = options_.class_a, .top_n = options_.top_n}).select(attributions);
    const auto b = magnitude({.cls = options_.class_b, .top_n = options_.top_n}).select(attributions);
    for (const auto& [kept, field] : {std::pair{&a, "class_a"}, std::pair{&b, "class_b"}})
      if (kept->empty())
        throw input_error(std::string("filter::class_pair.") + field, "no sample has a positive attribution to this class");
    std::vector<std::uint32_t> both;
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
    return both;
  }

 private:
  options options_{};
};

}  // namespace actatlas::filter
