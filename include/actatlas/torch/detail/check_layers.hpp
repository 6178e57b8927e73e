/// @file torch/detail/check_layers.hpp
/// The one message for "no such layer", shared by every classifier and stage.
#pragma once

#include <string>
#include <vector>

#include "../../error.hpp"
#include "../classifier.hpp"

namespace actatlas::detail {

//! "a, b, c" for error messages.
inline std::string join_layer_names(const std::vector<layer_info>& layers) {
  std::string out;
  for (const auto& l : layers) out += (out.empty() ? "" : ", ") + l.name;
  return out.empty() ? "(none)" : out;
}

//! Throws input_error unless every name in `asked` is one of `info.layers`.
inline void check_layers_exist(const model_info& info, const std::vector<std::string>& asked,
                               const std::string& where) {
  for (const auto& name : asked) {
    bool found = false;
    for (const auto& l : info.layers) found = found || l.name == name;
    if (!found)
      throw input_error(where, "no layer '" + name + "'; the layers are: " + join_layer_names(info.layers));
  }
}

}  // namespace actatlas::detail
