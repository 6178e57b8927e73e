// An atlas whose reducer is a policy written here: a PCA onto the two leading principal
// axes (by power iteration on the covariance), in place of UMAP. The pipeline collects,
// bins and renders with it exactly as with its own policies.
//
//   custom_policy OUT_DIR
#include <actatlas/actatlas.hpp>
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/pipeline.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

// [snippet:custom-reducer]
// A reducer: a role, a name, an options struct and reduce(). `describe()` lets the pipeline
// record its options, so that a rerun with the same options reuses the layout.
struct pca {
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "pca";
  struct options {
    int iterations = 200;  // power-iteration steps per axis
  } opts;

  nlohmann::json describe() const { return {{"iterations", opts.iterations}}; }

  actatlas::matrix reduce(actatlas::matrix_cref x, std::size_t dims, const actatlas::progress_fn& = {}) const {
    const std::size_t n = x.rows(), d = x.cols();
    std::vector<double> mean(d, 0.0), cov(d * d, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) mean[j] += x(i, j) / double(n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t k = 0; k < d; ++k) cov[j * d + k] += (x(i, j) - mean[j]) * (x(i, k) - mean[k]) / double(n);
    actatlas::matrix y = actatlas::matrix::from_shape({n, dims});
    for (std::size_t axis = 0; axis < dims; ++axis) {
      std::vector<double> v(d, 1.0 / std::sqrt(double(d) + axis)), w(d);
      for (int it = 0; it < opts.iterations; ++it) {  // the leading eigenvector of cov
        double norm = 0;
        for (std::size_t j = 0; j < d; ++j) {
          w[j] = 0;
          for (std::size_t k = 0; k < d; ++k) w[j] += cov[j * d + k] * v[k];
          norm += w[j] * w[j];
        }
        for (std::size_t j = 0; j < d; ++j) v[j] = w[j] / std::sqrt(norm);
      }
      double lambda = 0;  // deflate: the next axis is the leading one of what remains
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t k = 0; k < d; ++k) lambda += v[j] * cov[j * d + k] * v[k];
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t k = 0; k < d; ++k) cov[j * d + k] -= lambda * v[j] * v[k];
      for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < d; ++j) s += (x(i, j) - mean[j]) * v[j];
        y(i, axis) = static_cast<float>(s);
      }
    }
    return y;
  }
};
// [end]

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: custom_policy OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  auto model = actatlas::load_or_train_demo_model(actatlas::default_demo_cache_dir());
  actatlas::demo::write_folder(out / "images", 25, 11);

  // [snippet:custom-pipeline]
  actatlas::pipeline<pca, actatlas::sampler::center_position> p;  // our reducer, the centre of each map
  p.collection().layer = "conv3";
  p.binning() = actatlas::binning::grid({.grid_size = 8, .min_count = 2});
  p.icons().steps = 48;
  p.icons().attempts = 1;
  const auto result = p.atlas(*model, out / "images", out / "atlas");
  // [end]

  std::printf("PCA atlas: %zu cells with an icon: %s\n", result.atlas.cells.at(0), result.atlas.atlas_png.c_str());
  return result.atlas.cells.at(0) > 0 ? 0 : 1;
}
