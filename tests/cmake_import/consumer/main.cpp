// A user of the installed library: defines a reducer policy of its own (a fixed linear
// projection), composes it into a pipeline with a grid of its choosing and runs the CPU
// stages on data it makes. Exits non-zero if any result is wrong.
#include <actatlas/actatlas.hpp>

#include <cstdio>
#include <random>

// The custom policy: the first two coordinates, as a researcher might try as a baseline.
struct first_two_coordinates {
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "first_two_coordinates";
  struct options {};

  actatlas::matrix reduce(actatlas::matrix_cref x, std::size_t dims, const actatlas::progress_fn& = {}) const {
    actatlas::matrix y = actatlas::matrix::from_shape({x.rows(), dims});
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < dims; ++j) y(i, j) = x(i, j);
    return y;
  }
};

static_assert(actatlas::reducer_policy<first_two_coordinates>);

int main() {
  // Four clusters at the corners of a square in the first two coordinates, 8 dimensions.
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.f, 0.05f);
  const std::size_t n = 400, d = 8;
  actatlas::matrix x = actatlas::matrix::from_shape({n, d});
  for (std::size_t i = 0; i < n; ++i) {
    const int corner = static_cast<int>(i % 4);
    for (std::size_t j = 0; j < d; ++j) x(i, j) = noise(rng);
    x(i, 0) += corner % 2 ? 1.f : 0.f;
    x(i, 1) += corner / 2 ? 1.f : 0.f;
  }

  actatlas::pipeline<actatlas::binning::grid, first_two_coordinates> atlas(
      actatlas::binning::grid({.grid_size = 2, .min_count = 1}));
  static_assert(std::is_same_v<decltype(atlas)::reducer_type, first_two_coordinates>);
  const auto result = atlas.run(x, {});

  // Every corner cluster must fill exactly one of the four cells, whole.
  const auto& cells = result.cells.at(0);
  if (cells.size() != 4) {
    std::fprintf(stderr, "expected 4 cells, got %zu\n", cells.size());
    return 1;
  }
  for (const auto& c : cells) {
    if (c.count != n / 4) {
      std::fprintf(stderr, "cell (%u,%u) holds %zu samples, expected %zu\n", c.ix, c.iy, c.count, n / 4);
      return 1;
    }
  }
  std::printf("consumer: %zu cells of %zu samples each, as expected\n", cells.size(), n / 4);
  return 0;
}
