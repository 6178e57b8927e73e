/// @file filter/detail/check_class.hpp
#pragma once

#include <cstddef>
#include <string>

#include "../../error.hpp"
#include "../../matrix.hpp"

namespace actatlas::filter::detail {

//! A class index beyond the attribution columns is bad input, not an internal error.
inline void check_class(std::size_t cls, matrix_cref attributions) {
  if (cls >= attributions.cols())
    throw input_error("--class", "class index " + std::to_string(cls) + " is out of range (the model has " +
                                     std::to_string(attributions.cols()) + " classes)");
}

}  // namespace actatlas::filter::detail
