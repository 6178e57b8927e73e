// The fully trained demo model, shared by the tests that need a network that has really
// learned the demo set. Under ctest it is the file the `demo.train_model` fixture trained
// into the build tree (ACTATLAS_CACHE points there); run by hand, it is trained once into
// the user's cache (~/.cache/actatlas) and reused afterwards.
#pragma once

#include <actatlas/torch/demo_model.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>

namespace actatlas::test {

inline demo_model& trained_demo_model() {
  static std::unique_ptr<demo_model> model = load_or_train_demo_model(default_demo_cache_dir());
  return *model;
}

//! The suite's small demo budget (narrow layers, 150 steps; >= 80% held-out accuracy), shared
//! by the tests that need a trained network but not the full one. One definition, so that they
//! all hit the same cache entry and the suite trains it once.
inline demo_model_options small_demo_budget() {
  demo_model_options o;
  o.widths = {8, 16, 32, 32};
  o.steps = 150;
  o.batch_size = 32;
  o.learning_rate = 6e-3;
  o.heldout_per_class = 24;
  return o;
}

//! Where the small model is cached: $ACTATLAS_TEST_DATA/inversion-demo (the build tree under ctest).
inline std::filesystem::path small_demo_cache() {
  const char* base = std::getenv("ACTATLAS_TEST_DATA");
  return std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) / "inversion-demo";
}

}  // namespace actatlas::test
