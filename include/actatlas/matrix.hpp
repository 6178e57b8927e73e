/// @file matrix.hpp
/// The two array types every CPU stage speaks: an owning row-major float matrix
/// (`actatlas::matrix`, an xtensor container) and a non-owning read-only view of one
/// (`actatlas::matrix_cref`), which can also sit on a memory-mapped `.npy` file or on a
/// contiguous CPU torch tensor without a copy.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "detail/xtensor_compat.hpp"
#include "error.hpp"

namespace actatlas {

//! N×D float32, row-major. Activation sets, attributions and layouts are all matrices.
using matrix = xt::xtensor<float, 2>;

//! A read-only view of a row-major float matrix that someone else owns.
class matrix_cref {
 public:
  matrix_cref() = default;
  matrix_cref(const float* data, std::size_t rows, std::size_t cols) noexcept
      : data_(data), rows_(rows), cols_(cols) {}
  //! Views an owning matrix (which must outlive the view).
  matrix_cref(const matrix& m) noexcept  // NOLINT(google-explicit-constructor): a view converts freely
      : data_(m.data()), rows_(m.shape(0)), cols_(m.shape(1)) {}

  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return cols_; }
  const float* data() const noexcept { return data_; }
  bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }

  std::span<const float> row(std::size_t i) const noexcept { return {data_ + i * cols_, cols_}; }
  float operator()(std::size_t i, std::size_t j) const noexcept { return data_[i * cols_ + j]; }

  //! An owning copy of the viewed data.
  matrix to_matrix() const {
    matrix m = matrix::from_shape({rows_, cols_});
    std::copy(data_, data_ + rows_ * cols_, m.data());
    return m;
  }

 private:
  const float* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
};

//! The rows `rows` of `m`, in that order, as an owning matrix.
inline matrix gather_rows(matrix_cref m, const std::vector<std::uint32_t>& rows) {
  matrix out = matrix::from_shape({rows.size(), m.cols()});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] >= m.rows()) throw input_error("samples", "row " + std::to_string(rows[i]) + " is out of range");
    std::copy_n(m.data() + static_cast<std::size_t>(rows[i]) * m.cols(), m.cols(), out.data() + i * m.cols());
  }
  return out;
}

}  // namespace actatlas
