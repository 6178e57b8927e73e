/// @file reducer/comparison.hpp
/// `reducer::comparison`: the layout of the article's two-class comparison. Each sample is
/// placed horizontally by how much more it supports class A than class B, and vertically
/// by a 1-D t-SNE of its activation, so that concepts pulling toward A sit on the left,
/// those pulling toward B on the right, and similar concepts share a row band:
///
///   x = (1 − compare_axis(A, B)) / 2   (compare_axis.hpp: A at 0, B at 1)
///   y = the 1-D t-SNE (lucid's class settings), clipped to its 1st..99th percentile, in [0, 1]
///
/// It is a reducer that reads the attributions as well as the activations: the pipeline
/// passes both to a reducer that asks for them. Its layout is already framed in the unit
/// square, so a comparison pipeline normalises with `normalise_options::full_range()`
/// (any clipping would move x away from its meaning); `presets.hpp` does so.
#pragma once

#include <cstddef>
#include <string_view>

#include "../compare_axis.hpp"
#include "../error.hpp"
#include "../layout/normalise.hpp"
#include "../matrix.hpp"
#include "../progress.hpp"
#include "tsne.hpp"

namespace actatlas::reducer {

class comparison {
 public:
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "comparison";
  static constexpr bool reads_attributions = true;
  struct options {
    std::size_t class_a = 0;                      //!< on the left
    std::size_t class_b = 1;                      //!< on the right
    tsne::options vertical = tsne::lucid_class();  //!< the 1-D t-SNE of the vertical axis
  };

  comparison() : comparison(options{}) {}
  explicit comparison(options o) : opts_(o) {}
  const options& opts() const noexcept { return opts_; }

  //! N×D activations and their N×C attributions → N×2 in the unit square.
  matrix reduce(matrix_cref x, matrix_cref attributions, std::size_t dims, const progress_fn& progress = {}) const {
    if (dims != 2) throw input_error("reducer::comparison", "lays out in 2 dimensions only, not " + std::to_string(dims));
    if (attributions.rows() != x.rows())
      throw input_error("reducer::comparison", "needs the attributions of every sample (got " +
                                                   std::to_string(attributions.rows()) + " rows for " + std::to_string(x.rows()) + ")");
    if (opts_.class_a == opts_.class_b)
      throw input_error("reducer::comparison.class_b", "is the same class as class_a (" + std::to_string(opts_.class_a) + ")");
    const auto axis = compare_axis(attributions, opts_.class_a, opts_.class_b);
    const matrix y = normalise_layout(tsne(opts_.vertical).reduce(x, 1, progress));
    matrix layout = matrix::from_shape({x.rows(), 2});
    for (std::size_t i = 0; i < x.rows(); ++i) {
      layout(i, 0) = 0.5f * (1.0f - axis[i]);
      layout(i, 1) = y(i, 0);
    }
    return layout;
  }

 private:
  options opts_;
};

}  // namespace actatlas::reducer
