// Helpers shared by the tests: a self-removing temporary folder and matrix comparisons.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include <unistd.h>

#include <actatlas/matrix.hpp>

namespace actatlas::test {

//! A fresh folder under the system temp dir, removed with everything in it at scope exit.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("actatlas-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

//! Every element of `a` within `tol` of `b`.
inline bool all_close(matrix_cref a, matrix_cref b, double tol) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < a.cols(); ++j)
      if (std::abs(double(a(i, j)) - double(b(i, j))) > tol) return false;
  return true;
}

//! N×D uniform random values in [lo, hi), seeded.
inline matrix random_matrix(std::size_t n, std::size_t d, unsigned seed, float lo = 0.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  matrix m = matrix::from_shape({n, d});
  for (auto& v : m) v = u(rng);
  return m;
}

}  // namespace actatlas::test
