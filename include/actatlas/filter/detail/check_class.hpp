/// @file filter/detail/check_class.hpp
/// What the class filters share: the check of their class option and the cut to the N
/// samples with the largest attribution to a class.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../../error.hpp"
#include "../../matrix.hpp"

namespace actatlas::filter::detail {

//! A class index beyond the attribution columns is bad input, not an internal error. The
//! message names the library's option (`<policy>.cls`); the command line adds its flag.
inline void check_class(std::size_t cls, matrix_cref attributions, const std::string& policy, const char* field = "cls") {
  if (cls >= attributions.cols())
    throw input_error(policy + "." + field, "class index " + std::to_string(cls) + " is out of range (the attributions have " +
                                                std::to_string(attributions.cols()) + " classes)");
}

//! Keeps the `top_n` ids of `kept` with the largest attribution to `cls` (equal values keep
//! the lower id, so the choice is deterministic); the result is sorted by id.
inline void keep_largest(std::vector<std::uint32_t>& kept, matrix_cref attributions, std::size_t cls, std::size_t top_n) {
  if (kept.size() > top_n) {
    auto larger = [&](std::uint32_t a, std::uint32_t b) {
      return attributions(a, cls) > attributions(b, cls) || (attributions(a, cls) == attributions(b, cls) && a < b);
    };
    std::nth_element(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(top_n), kept.end(), larger);
    kept.resize(top_n);
  }
  std::sort(kept.begin(), kept.end());
}

}  // namespace actatlas::filter::detail
